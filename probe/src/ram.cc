// /proc/meminfo and the memory cgroup (v1 or v2) of this process.
#include "headroom/probe/ram.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace headroom::probe {
namespace {

// Above this a cgroup v1 limit means "unlimited" (the kernel stores LONG_MAX rounded to a page).
constexpr uint64_t kUnlimited = uint64_t{1} << 62;

// Plain read(2): these files are small and re-read every few seconds, so no streams.
std::optional<std::string> ReadSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  std::array<char, 4096> buf;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

std::optional<uint64_t> ReadNumber(const std::string& path) {
  std::optional<std::string> text = ReadSmallFile(path);
  uint64_t value = 0;
  if (!text || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value)) return std::nullopt;
  return value;
}

// "key value" lines (memory.stat); 0 when absent.
uint64_t StatValue(const std::string& path, absl::string_view key) {
  std::optional<std::string> text = ReadSmallFile(path);
  if (!text) return 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, ' ');
    uint64_t value = 0;
    if (kv.first == key && absl::SimpleAtoi(kv.second, &value)) return value;
  }
  return 0;
}

std::string Gib(uint64_t bytes) {
  return absl::StrFormat("%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
}

struct Mount {
  std::string root;
  std::string mount_point;
};

// cgroup2 and cgroup-v1-with-memory mounts from /proc/self/mountinfo.
void FindMounts(const std::string& mountinfo, std::optional<Mount>& v1, std::optional<Mount>& v2) {
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
    const absl::string_view fstype = *(dash + 1);
    const absl::string_view super_options = *(dash + 3);
    Mount m{std::string(f[3]), std::string(f[4])};
    if (fstype == "cgroup2" && !v2) v2 = m;
    if (fstype == "cgroup" && !v1) {
      for (absl::string_view opt : absl::StrSplit(super_options, ',')) {
        if (opt == "memory") v1 = m;
      }
    }
  }
}

}  // namespace

absl::StatusOr<MemInfo> ParseMemInfo(const std::string& text) {
  MemInfo info;
  uint64_t free_kib = 0;
  uint64_t buffers_kib = 0;
  uint64_t cached_kib = 0;
  bool has_total = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t kib = 0;
    if (f.size() < 2 || !absl::SimpleAtoi(f[1], &kib)) continue;
    const absl::string_view key = f[0];
    if (key == "MemTotal:") {
      info.total_bytes = kib * 1024;
      has_total = true;
    } else if (key == "MemAvailable:") {
      info.available_bytes = kib * 1024;
      info.has_mem_available = true;
    } else if (key == "MemFree:") {
      free_kib = kib;
    } else if (key == "Buffers:") {
      buffers_kib = kib;
    } else if (key == "Cached:") {
      cached_kib = kib;
    } else if (key == "SwapTotal:") {
      info.swap_total_bytes = kib * 1024;
    } else if (key == "SwapFree:") {
      info.swap_free_bytes = kib * 1024;
    }
  }
  if (!has_total) return absl::DataLossError("meminfo: no MemTotal line");
  if (!info.has_mem_available) {
    // Old kernels: the pre-3.14 approximation (free + reclaimable page cache).
    info.available_bytes = std::min(info.total_bytes, (free_kib + buffers_kib + cached_kib) * 1024);
  }
  return info;
}

RamReader::RamReader(SystemPaths paths) : paths_(std::move(paths)) {
  std::optional<std::string> cgroups = ReadSmallFile(paths_.proc_dir + "/self/cgroup");
  if (!cgroups) return;
  std::optional<std::string> v1_path;
  std::optional<std::string> v2_path;
  for (absl::string_view line : absl::StrSplit(*cgroups, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    if (f[0] == "0" && f[1].empty()) v2_path = std::string(f[2]);
    for (absl::string_view controller : absl::StrSplit(f[1], ',')) {
      if (controller == "memory") v1_path = std::string(f[2]);
    }
  }
  std::optional<Mount> v1_mount;
  std::optional<Mount> v2_mount;
  if (std::optional<std::string> mountinfo = ReadSmallFile(paths_.proc_dir + "/self/mountinfo")) {
    FindMounts(*mountinfo, v1_mount, v2_mount);
  } else {
    v1_mount = Mount{"/", "/sys/fs/cgroup/memory"};
    v2_mount = Mount{"/", "/sys/fs/cgroup"};
  }
  int version = 0;
  Mount mount;
  std::string path;
  // A v1 memory hierarchy, when mounted, is the one the kernel enforces; the v2 tree of a
  // hybrid system then carries no memory controller.
  if (v1_path && v1_mount) {
    version = 1, mount = *v1_mount, path = *v1_path;
  } else if (v2_path && v2_mount) {
    version = 2, mount = *v2_mount, path = *v2_path;
  } else {
    return;
  }
  std::string base = mount.mount_point;
  if (base == "/sys" || base.starts_with("/sys/")) base = paths_.sys_dir + base.substr(4);
  // The cgroup path is relative to the hierarchy's root; a mount of a sub-tree (containers)
  // shows that sub-tree as its root. A path outside the mounted sub-tree (another namespace)
  // leaves only the mount itself to read.
  std::string relative;
  if (mount.root == "/") {
    relative = path;
  } else if (path.starts_with(mount.root)) {
    relative = path.substr(mount.root.size());
  }
  if (relative == "/") relative.clear();
  std::string dir = base + relative;
  while (dir.size() > base.size()) {
    levels_.push_back({dir, version});
    dir = dir.substr(0, dir.rfind('/'));
  }
  levels_.push_back({base, version});
}

std::string RamReader::Describe() const {
  if (levels_.empty()) return "no memory cgroup";
  return absl::StrCat("cgroup v", levels_.front().version, " ", levels_.front().dir);
}

absl::StatusOr<headroom::v1::RamInfo> RamReader::Read() const {
  const std::string meminfo_path = paths_.proc_dir + "/meminfo";
  std::optional<std::string> text = ReadSmallFile(meminfo_path);
  if (!text) return absl::NotFoundError(absl::StrCat(meminfo_path, ": cannot read"));
  absl::StatusOr<MemInfo> mem = ParseMemInfo(*text);
  if (!mem.ok())
    return absl::DataLossError(absl::StrCat(meminfo_path, ": ", mem.status().message()));

  headroom::v1::RamInfo ram;
  ram.set_total_bytes(mem->total_bytes);
  ram.set_swap_total_bytes(mem->swap_total_bytes);
  ram.set_swap_free_bytes(mem->swap_free_bytes);
  std::string source = mem->has_mem_available
                           ? "/proc/meminfo MemTotal, MemAvailable"
                           : "/proc/meminfo MemTotal, MemFree + Buffers + Cached (no MemAvailable)";
  uint64_t available = mem->available_bytes;
  uint64_t limit = 0;
  std::string binding;  // the cgroup level that caps `available`, if any
  for (const Level& level : levels_) {
    const bool v2 = level.version == 2;
    std::optional<uint64_t> level_limit =
        ReadNumber(level.dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes"));
    // v2 writes "max" for no limit, which does not parse as a number.
    if (!level_limit || *level_limit >= kUnlimited) continue;
    const uint64_t usage =
        ReadNumber(level.dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes")).value_or(0);
    const uint64_t inactive_file =
        StatValue(level.dir + "/memory.stat", v2 ? "inactive_file" : "total_inactive_file");
    const uint64_t working_set = usage > inactive_file ? usage - inactive_file : 0;
    const uint64_t headroom = *level_limit > working_set ? *level_limit - working_set : 0;
    if (limit == 0 || *level_limit < limit) limit = *level_limit;
    if (headroom < available) {
      available = headroom;
      binding = absl::StrCat(
          v2 ? "cgroup v2 memory.max - (memory.current - inactive_file)"
             : "cgroup v1 memory.limit_in_bytes - (memory.usage_in_bytes - total_inactive_file)",
          " of ", level.dir);
    }
  }
  ram.set_limit_bytes(limit);
  ram.set_available_bytes(available);
  if (!binding.empty()) {
    absl::StrAppend(&source, "; available capped by ", binding);
  } else if (limit != 0) {
    absl::StrAppend(&source, "; cgroup v", levels_.front().version, " limit ", Gib(limit),
                    " not binding");
  }
  ram.set_source(source);
  return ram;
}

}  // namespace headroom::probe
