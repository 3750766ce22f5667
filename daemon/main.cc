// headroomd: the Headroom daemon. Parses flags over the config file, starts the daemon and
// waits for SIGTERM / SIGINT.
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "CLI/CLI.hpp"
#include "headroom/daemon/daemon.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct Flags {
  std::string config_path;
  std::vector<std::string> listen;
  std::optional<uint32_t> refresh_seconds;
  std::optional<std::string> fixture;
  std::optional<std::string> state_dir;
  std::optional<std::string> log_level;
  std::optional<std::string> catalog_dir;
  bool allow_remote = false;
  bool allow_paths_over_tcp = false;
  bool skip_bandwidth = false;
};

void AddFlags(CLI::App& app, Flags& f) {
  // A repeated scalar flag keeps its last value, as a later flag overrides an earlier one.
  const auto last = CLI::MultiOptionPolicy::TakeLast;
  app.add_option("--config", f.config_path,
                 "Config file, a text-format headroom.v1.DaemonConfig (default "
                 "$XDG_CONFIG_HOME/headroom/headroomd.txtpb; flags override it)")
      ->multi_option_policy(last);
  app.add_option("--listen", f.listen,
                 "Endpoint to serve, repeatable: unix:/path or HOST:PORT (loopback). Default "
                 "unix:$XDG_RUNTIME_DIR/headroom/headroomd.sock");
  app.add_option("--refresh-seconds", f.refresh_seconds, "Seconds between refreshes (default 2)")
      ->check(CLI::Range(1, 3600))
      ->multi_option_policy(last);
  app.add_option("--fixture", f.fixture,
                 "Serve a recorded machine (probe fixture file or directory) instead of the "
                 "live one; its free memory is re-read on every refresh")
      ->multi_option_policy(last);
  app.add_option("--state-dir", f.state_dir,
                 "Calibration store directory (default $XDG_STATE_HOME/headroom)")
      ->multi_option_policy(last);
  app.add_option("--log-level", f.log_level, "debug, info, warning or error (default info)")
      ->multi_option_policy(last);
  app.add_option("--catalog-dir", f.catalog_dir, "Also load DIR/models/*.txtpb")
      ->multi_option_policy(last);
  app.add_flag("--allow-remote", f.allow_remote,
               "Allow a non-loopback TCP address in --listen (no authentication: take care)");
  app.add_flag("--allow-paths-over-tcp", f.allow_paths_over_tcp,
               "Open gguf_path/config_json_path for TCP callers too (uid not checkable)");
  app.add_flag("--skip-bandwidth-measurement", f.skip_bandwidth,
               "Do not measure bandwidth when the cache has no entry (faster start)");
}

// The config file, then every flag that was given on top.
std::optional<headroom::v1::DaemonConfig> BuildConfig(const Flags& f) {
  headroom::v1::DaemonConfig config;
  const bool explicit_path = !f.config_path.empty();
  const std::string path = explicit_path ? f.config_path : headroom::daemon::DefaultConfigPath();
  absl::StatusOr<headroom::v1::DaemonConfig> loaded = headroom::daemon::LoadConfigFile(path);
  if (loaded.ok()) {
    config = *std::move(loaded);
  } else if (explicit_path || !absl::IsNotFound(loaded.status())) {
    std::cerr << "headroomd: " << loaded.status().message() << "\n";
    return std::nullopt;
  }
  if (!f.listen.empty()) {
    config.clear_listen();
    for (const std::string& l : f.listen) config.add_listen(l);
  }
  if (f.refresh_seconds) config.set_refresh_seconds(*f.refresh_seconds);
  if (f.fixture) config.set_fixture(*f.fixture);
  if (f.state_dir) config.set_state_dir(*f.state_dir);
  if (f.log_level) config.set_log_level(*f.log_level);
  if (f.catalog_dir) config.set_catalog_dir(*f.catalog_dir);
  if (f.allow_remote) config.set_allow_remote(true);
  if (f.allow_paths_over_tcp) config.set_allow_paths_over_tcp(true);
  if (f.skip_bandwidth) config.set_skip_bandwidth_measurement(true);
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "headroomd: serves Headroom's fit, speed and hardware answers over gRPC (unix socket by\n"
      "default, loopback TCP on request), with health checking and server reflection."};
  app.name("headroomd");
  app.set_version_flag("--version", std::string("headroomd ") + HEADROOM_VERSION);
  Flags flags;
  AddFlags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  std::optional<headroom::v1::DaemonConfig> config = BuildConfig(flags);
  if (!config) return kExitUsage;

  // gRPC's sync server grows and shrinks its thread pool; glibc gives threads their own malloc
  // arenas (up to 8 per core) and keeps what they free, so RSS would ratchet up under bursts.
  // Two arenas keep it flat at no measurable cost for sub-millisecond calls.
  mallopt(M_ARENA_MAX, 2);

  // Block the stop signals in every thread (gRPC's included) before any starts; main takes
  // them synchronously below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<headroom::daemon::Daemon>> daemon =
      headroom::daemon::Daemon::Start(*config);
  if (!daemon.ok()) {
    std::cerr << "headroomd: error: " << daemon.status().message() << "\n";
    return kExitFailure;
  }
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  (*daemon)->Shutdown();
  return 0;
}
