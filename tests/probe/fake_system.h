// A fake /proc and /sys tree in a temporary directory, for the RAM reader and the live source.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "headroom/probe/ram.h"

namespace headroom::probe::fake {

class FakeSystem {
 public:
  FakeSystem() {
    root_ =
        std::filesystem::temp_directory_path() /
        ("headroom-fake-system-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "proc/self");
    std::filesystem::create_directories(root_ / "sys");
  }
  ~FakeSystem() { std::filesystem::remove_all(root_); }
  FakeSystem(const FakeSystem&) = delete;
  FakeSystem& operator=(const FakeSystem&) = delete;

  // Writes `text` at `relative` (e.g. "proc/meminfo"), creating directories.
  void Write(const std::string& relative, const std::string& text) const {
    const std::filesystem::path path = root_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  }

  // A meminfo with the given figures in KiB.
  void WriteMemInfo(uint64_t total_kib, uint64_t available_kib, uint64_t swap_total_kib = 0,
                    uint64_t swap_free_kib = 0) const {
    Write("proc/meminfo",
          "MemTotal:       " + std::to_string(total_kib) +
              " kB\nMemFree:        1000 kB\nMemAvailable:   " + std::to_string(available_kib) +
              " kB\nBuffers:          10 kB\n" +
              "Cached:         2000 kB\nSwapTotal:      " + std::to_string(swap_total_kib) +
              " kB\nSwapFree:       " + std::to_string(swap_free_kib) + " kB\n");
  }

  SystemPaths paths() const { return {(root_ / "proc").string(), (root_ / "sys").string()}; }
  std::string root() const { return root_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path root_;
};

}  // namespace headroom::probe::fake
