#include "headroom/tray/model_library.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace headroom::tray {
namespace {

namespace fs = std::filesystem;

// Split files are named NAME-00001-of-00003.gguf; only the first shard names the model.
bool IsLaterShard(const std::string& name) {
  const size_t of = name.rfind("-of-");
  if (of == std::string::npos || of < 6) return false;
  return name.compare(of - 5, 5, "00001") != 0 && name[of - 6] == '-';
}

bool IsModelFile(const fs::path& p) {
  const std::string name = p.filename().string();
  return absl::EndsWith(name, ".gguf") && !absl::StartsWithIgnoreCase(name, "mmproj") &&
         !IsLaterShard(name);
}

void ScanGguf(const fs::path& dir, const std::string& library, bool recursive,
              std::map<std::string, LocalModel>& out, std::vector<std::string>* problems) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  auto add = [&](const fs::directory_entry& entry) {
    std::error_code fec;
    if (!entry.is_regular_file(fec) || !IsModelFile(entry.path())) return;
    const std::string path = fs::weakly_canonical(entry.path(), fec).string();
    out.try_emplace(path, LocalModel{path, entry.path().stem().string(), path, library});
  };
  if (recursive) {
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) add(*it);
  } else {
    fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) add(*it);
  }
  if (ec && problems != nullptr) {
    problems->push_back(absl::StrCat(dir.string(), ": ", ec.message()));
  }
}

// Ollama: manifests/<registry>/<namespace>/<model>/<tag> is a JSON manifest whose layer of
// mediaType application/vnd.ollama.image.model names the GGUF blob by digest.
void ScanOllama(const fs::path& root, std::map<std::string, LocalModel>& out,
                std::vector<std::string>* problems) {
  std::error_code ec;
  const fs::path manifests = root / "manifests";
  if (!fs::is_directory(manifests, ec)) return;
  fs::recursive_directory_iterator it(manifests, fs::directory_options::skip_permission_denied,
                                      ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    const fs::path& path = it->path();
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    const nlohmann::json manifest = nlohmann::json::parse(text.str(), nullptr, false);
    std::string digest;
    if (manifest.is_object() && manifest.contains("layers") && manifest["layers"].is_array()) {
      for (const auto& layer : manifest["layers"]) {
        if (layer.is_object() && layer.value("mediaType", "") ==
                                     "application/vnd.ollama.image.model") {
          digest = layer.value("digest", "");
        }
      }
    }
    if (!absl::StartsWith(digest, "sha256:")) {
      if (problems != nullptr) {
        problems->push_back(absl::StrCat(path.string(), ": no model layer digest"));
      }
      continue;
    }
    const fs::path blob = root / "blobs" / absl::StrCat("sha256-", digest.substr(7));
    if (!fs::is_regular_file(blob, fec)) {
      if (problems != nullptr) {
        problems->push_back(absl::StrCat(path.string(), ": blob missing: ", blob.string()));
      }
      continue;
    }
    const std::string model = path.parent_path().filename().string();
    const std::string tag = path.filename().string();
    const std::string key = blob.string();
    out.try_emplace(key, LocalModel{key, absl::StrCat("ollama ", model, ":", tag), key,
                                    "Ollama"});
  }
}

}  // namespace

std::vector<LocalModel> FindLocalModels(const LibraryRoots& roots,
                                        std::vector<std::string>* problems) {
  std::map<std::string, LocalModel> found;
  if (!roots.home.empty()) {
    const fs::path home(roots.home);
    ScanGguf(home / ".cache" / "llama.cpp", "llama.cpp cache", false, found, problems);
    ScanGguf(home / ".lmstudio" / "models", "LM Studio", true, found, problems);
    ScanOllama(home / ".ollama" / "models", found, problems);
  }
  for (const std::string& dir : roots.extra_dirs) ScanGguf(dir, dir, true, found, problems);
  std::vector<LocalModel> models;
  models.reserve(found.size());
  for (auto& [key, model] : found) models.push_back(std::move(model));
  return models;
}

}  // namespace headroom::tray
