// Host memory as a new allocation would see it: /proc/meminfo, capped by the memory cgroup
// this process lives in (v2 memory.max, v1 memory.limit_in_bytes, the tightest level of the
// hierarchy). The /proc and /sys roots are parameters so tests can feed fake trees.
// Thread-safety: a RamReader is immutable after construction; Read() may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headroom/v1/hardware.pb.h"

namespace headroom::probe {

struct SystemPaths {
  std::string proc_dir = "/proc";
  // Cgroup mount points under /sys (from mountinfo) are rebased onto this directory.
  std::string sys_dir = "/sys";
};

// The figures of /proc/meminfo the probe uses, bytes.
struct MemInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
  uint64_t swap_total_bytes = 0;
  uint64_t swap_free_bytes = 0;
  bool has_mem_available = false;  // kernels before 3.14 lack MemAvailable
};
absl::StatusOr<MemInfo> ParseMemInfo(const std::string& text);

class RamReader {
 public:
  // Finds this process's memory cgroup directories (leaf to mount root) once, so Read()
  // touches only a few small files.
  explicit RamReader(SystemPaths paths = {});

  // total = MemTotal; available = MemAvailable capped by, at each cgroup level with a limit,
  // limit - (usage - inactive file cache) (the cache the kernel reclaims before it OOM-kills);
  // limit_bytes = the tightest limit. `source` names where each figure came from.
  absl::StatusOr<headroom::v1::RamInfo> Read() const;

  // "cgroup v2 /sys/fs/cgroup/user.slice/...", "cgroup v1 ...", or "no memory cgroup".
  std::string Describe() const;

 private:
  struct Level {
    std::string dir;
    int version = 0;  // 1 or 2
  };
  SystemPaths paths_;
  std::vector<Level> levels_;  // leaf first
};

}  // namespace headroom::probe
