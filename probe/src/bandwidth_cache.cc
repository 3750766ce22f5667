// Hardware fingerprint and the bandwidth cache files.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/text_format.h"
#include "headroom/probe/bandwidth.h"

namespace headroom::probe {
namespace {

namespace fs = std::filesystem;

// FNV-1a, 64 bit: tiny and stable across builds and runs (absl::Hash is seeded per process).
class Fnv1a {
 public:
  void Add(std::string_view text) {
    for (const char c : text) {
      hash_ ^= static_cast<unsigned char>(c);
      hash_ *= 0x100000001b3ULL;
    }
    // A separator, so ("ab", "c") and ("a", "bc") differ.
    hash_ ^= 0xff;
    hash_ *= 0x100000001b3ULL;
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

bool SameGpu(const headroom::v1::GpuDevice& a, const headroom::v1::GpuDevice& b) {
  return a.vendor_id() == b.vendor_id() && a.device_id() == b.device_id() &&
         a.pci_address() == b.pci_address() && a.name() == b.name();
}

}  // namespace

std::string HardwareFingerprint(const headroom::v1::Hardware& hardware) {
  Fnv1a h;
  h.Add(hardware.cpu().model());
  h.Add(absl::StrCat(hardware.cpu().cores()));
  // Rounded, so kernel reservations moving MemTotal by a few MiB between boots do not
  // invalidate a measurement; a DIMM added or removed does.
  const uint64_t gib = uint64_t{1} << 30;
  h.Add(absl::StrCat((hardware.ram().total_bytes() + gib / 2) / gib));
  for (const headroom::v1::GpuDevice& gpu : hardware.gpus()) {
    h.Add(absl::StrFormat("%04x:%04x@%s", gpu.vendor_id(), gpu.device_id(), gpu.pci_address()));
  }
  return absl::StrFormat("%016x", h.value());
}

std::string DefaultCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return absl::StrCat(xdg, "/headroom");
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return absl::StrCat(home, "/.cache/headroom");
  return "";
}

std::string BandwidthCachePath(const std::string& dir, const std::string& fingerprint) {
  return absl::StrCat(dir, "/bandwidth-", fingerprint, ".txtpb");
}

absl::StatusOr<std::optional<headroom::v1::Hardware>> LoadBandwidthCache(
    const std::string& dir, const std::string& fingerprint) {
  const std::string path = BandwidthCachePath(dir, fingerprint);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<headroom::v1::Hardware>();
  std::ostringstream text;
  text << in.rdbuf();
  headroom::v1::Hardware cached;
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), &cached)) {
    return absl::DataLossError(absl::StrCat(path, ": not a text-format headroom.v1.Hardware"));
  }
  if (cached.fingerprint() != fingerprint) {
    return absl::DataLossError(absl::StrCat(path, ": holds fingerprint '", cached.fingerprint(),
                                            "', expected '", fingerprint, "'"));
  }
  return std::optional<headroom::v1::Hardware>(std::move(cached));
}

absl::Status StoreBandwidthCache(const std::string& dir, const headroom::v1::Hardware& hardware) {
  headroom::v1::Hardware entry;
  entry.set_fingerprint(hardware.fingerprint());
  if (hardware.host_bandwidth_source() == headroom::v1::SOURCE_MEASURED) {
    entry.set_host_bandwidth_gbps(hardware.host_bandwidth_gbps());
    entry.set_host_bandwidth_source(headroom::v1::SOURCE_MEASURED);
  }
  for (const headroom::v1::GpuDevice& gpu : hardware.gpus()) {
    if (gpu.bandwidth_source() != headroom::v1::SOURCE_MEASURED) continue;
    headroom::v1::GpuDevice* g = entry.add_gpus();
    g->set_name(gpu.name());
    g->set_vendor_id(gpu.vendor_id());
    g->set_device_id(gpu.device_id());
    g->set_pci_address(gpu.pci_address());
    g->set_bandwidth_gbps(gpu.bandwidth_gbps());
    g->set_bandwidth_source(headroom::v1::SOURCE_MEASURED);
  }
  std::string text;
  google::protobuf::TextFormat::PrintToString(entry, &text);

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": cannot create: ", ec.message()));
  const std::string path = BandwidthCachePath(dir, hardware.fingerprint());
  std::string temp = absl::StrCat(path, ".XXXXXX");
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return absl::InternalError(absl::StrCat(temp, ": cannot create"));
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const bool ok = written == text.size() && ::fsync(fd) == 0;
  ::close(fd);
  // rename() is atomic: a reader sees the old file or the whole new one, never a torn one.
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return absl::InternalError(absl::StrCat(path, ": cannot write"));
  }
  return absl::OkStatus();
}

bool ApplyBandwidthCache(const headroom::v1::Hardware& cached, headroom::v1::Hardware& hardware) {
  for (headroom::v1::GpuDevice& gpu : *hardware.mutable_gpus()) {
    for (const headroom::v1::GpuDevice& entry : cached.gpus()) {
      if (SameGpu(gpu, entry)) {
        gpu.set_bandwidth_gbps(entry.bandwidth_gbps());
        gpu.set_bandwidth_source(headroom::v1::SOURCE_MEASURED);
        break;
      }
    }
  }
  if (cached.host_bandwidth_source() != headroom::v1::SOURCE_MEASURED) return false;
  hardware.set_host_bandwidth_gbps(cached.host_bandwidth_gbps());
  hardware.set_host_bandwidth_source(headroom::v1::SOURCE_MEASURED);
  return true;
}

}  // namespace headroom::probe
