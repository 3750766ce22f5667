// Finds the GGUF models a user has: llama.cpp's download cache (~/.cache/llama.cpp), LM
// Studio's library (~/.lmstudio/models), Ollama's manifests (~/.ollama/models/manifests,
// resolved to their blobs) and configured folders. Split models count once (first shard);
// multimodal projector files (mmproj) are skipped. Reads the file system; thread-compatible.
#pragma once

#include <string>
#include <vector>

namespace headroom::tray {

struct LocalModel {
  std::string key;           // stable: the resolved GGUF path
  std::string display_name;  // "Qwen3-8B-Q4_K_M" or "ollama qwen3:8b"
  std::string gguf_path;
  std::string library;  // "llama.cpp cache", "LM Studio", "Ollama", or the folder
};

struct LibraryRoots {
  std::string home;                     // $HOME; empty = skip the default libraries
  std::vector<std::string> extra_dirs;  // searched recursively
};

// Sorted by key, without duplicates. Unreadable folders and malformed Ollama manifests are
// skipped and named in `problems`.
std::vector<LocalModel> FindLocalModels(const LibraryRoots& roots,
                                        std::vector<std::string>* problems);

}  // namespace headroom::tray
