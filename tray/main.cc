// headroom-tray: a tray icon and desktop notifications that say whether the user's models
// still fit this machine, fed by headroomd's WatchFit stream.
#include <gtk/gtk.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "headroom/catalog/catalog.h"
#include "headroom/endpoint/default_endpoint.h"
#include "headroom/tray/model_library.h"
#include "headroom/v1/tray_config.pb.h"
#include "tray_app.h"

namespace {

std::string ConfigPath() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  if (xdg != nullptr && *xdg != '\0') return std::string(xdg) + "/headroom/tray.txtpb";
  if (home != nullptr) return std::string(home) + "/.config/headroom/tray.txtpb";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"headroom-tray: tray icon and notifications of whether your models still fit"};
  app.name("headroom-tray");
  app.set_version_flag("--version", std::string("headroom-tray ") + HEADROOM_VERSION);
  std::string config_path = ConfigPath();
  std::string endpoint;
  std::vector<std::string> model_dirs;
  bool no_default = false;
  bool list_only = false;
  uint32_t n_ctx = 0;
  app.add_option("--config", config_path, "Configuration file (text-format TrayConfig)");
  app.add_option("--endpoint", endpoint, "Daemon endpoint (default: the daemon's socket)");
  app.add_option("--model-dir", model_dirs, "Also watch GGUF files under DIR (repeatable)");
  app.add_flag("--no-default-libraries", no_default,
               "Do not search ~/.cache/llama.cpp, ~/.lmstudio and ~/.ollama");
  app.add_option("--ctx", n_ctx, "Context to check the fit at, tokens (default 8192)");
  app.add_flag("--list", list_only, "Print the watched models and exit (no tray)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  headroom::v1::TrayConfig config;
  if (std::ifstream in(config_path); !config_path.empty() && in) {
    std::stringstream text;
    text << in.rdbuf();
    if (absl::Status s = headroom::catalog::ParseTextProto(config_path, text.str(), &config);
        !s.ok()) {
      std::cerr << "headroom-tray: " << s.message() << "\n";
      return 2;
    }
  }
  if (endpoint.empty()) {
    endpoint = config.endpoint().empty() ? headroom::endpoint::EndpointFromEnvironment()
                                         : config.endpoint();
  }
  if (n_ctx == 0) n_ctx = config.n_ctx() == 0 ? 8192 : config.n_ctx();
  for (const std::string& dir : config.model_dirs()) model_dirs.push_back(dir);

  headroom::tray::LibraryRoots roots;
  if (!no_default && !config.skip_default_libraries()) {
    if (const char* home = std::getenv("HOME"); home != nullptr) roots.home = home;
  }
  roots.extra_dirs = model_dirs;
  std::vector<std::string> problems;
  const auto local = headroom::tray::FindLocalModels(roots, &problems);
  for (const std::string& p : problems) std::cerr << "headroom-tray: skipped " << p << "\n";

  headroom::tray::TrayAppOptions options;
  options.endpoint = endpoint;
  options.board.min_interval_s =
      config.min_notify_interval_s() == 0 ? 30 : config.min_notify_interval_s();
  if (config.margin_bytes() != 0) options.watch.set_margin_bytes(config.margin_bytes());
  auto watch = [&](const std::string& key, const std::string& name,
                   const headroom::v1::ModelRef& ref) {
    headroom::v1::WatchedModel* w = options.watch.add_models();
    w->set_key(key);
    *w->mutable_estimate()->mutable_model() = ref;
    w->mutable_estimate()->mutable_llama_cpp()->set_n_ctx(n_ctx);
    options.names.emplace_back(key, name);
  };
  for (const auto& model : local) {
    headroom::v1::ModelRef ref;
    ref.set_gguf_path(model.gguf_path);
    watch(model.key, model.display_name, ref);
  }
  for (const auto& ref : config.models()) {
    const std::string key =
        ref.has_architecture() ? "inline"
        : ref.catalog_id().empty()
            ? (ref.gguf_path().empty() ? ref.config_json_path() : ref.gguf_path())
            : ref.catalog_id() + ":" + ref.file_type();
    watch(key, key, ref);
  }
  if (list_only) {
    for (const auto& [key, name] : options.names) std::cout << name << "\t" << key << "\n";
    return 0;
  }
  if (!gtk_init_check(&argc, &argv)) {
    std::cerr << "headroom-tray: no display (set DISPLAY or WAYLAND_DISPLAY)\n";
    return 1;
  }
  return headroom::tray::RunTrayApp(options);
}
