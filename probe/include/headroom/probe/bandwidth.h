// Measured memory bandwidth: the host read benchmark (one thread per core, bound with hwloc)
// and the per-machine cache of measured figures, keyed by a hardware fingerprint so a
// measurement is redone only when the hardware changes or when asked.
// Thread-safety: free functions; MeasureHostReadBandwidth() starts and joins its own threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headroom/probe/topology.h"
#include "headroom/v1/hardware.pb.h"

namespace headroom::probe {

struct HostBandwidthOptions {
  // Buffer read by all threads together, bytes; 0 = 4x the last-level cache, at least
  // 512 MiB, at most an eighth of the available memory.
  uint64_t buffer_bytes = 0;
  // Wall-clock budget for the timed passes, seconds (allocation and first touch come on top).
  double time_budget_s = 1.0;
  // Timed passes at most; the best pass is reported (noise only ever slows a pass down).
  uint32_t max_passes = 20;
};

struct HostBandwidth {
  double gbps = 0;  // bytes read / seconds / 1e9, best pass
  uint32_t threads = 0;
  uint64_t buffer_bytes = 0;
  uint32_t passes = 0;  // timed passes run
  double best_pass_s = 0;
  double total_s = 0;  // allocation, first touch and all passes
  bool bound = false;  // every thread was bound to its core
};

// Reads a buffer much larger than the last-level cache with one thread per core of
// `topology` (which must describe this machine), each thread reading the slice it touched
// first (so it sits on the thread's NUMA node).
absl::StatusOr<HostBandwidth> MeasureHostReadBandwidth(const Topology& topology, uint64_t llc_bytes,
                                                       uint64_t available_bytes,
                                                       const HostBandwidthOptions& options = {});

// Stable hex hash (FNV-1a 64) of what the bandwidth depends on: CPU model, core count, RAM
// total rounded to GiB, and each GPU's vendor:device id and PCI address.
std::string HardwareFingerprint(const headroom::v1::Hardware& hardware);

// $XDG_CACHE_HOME/headroom, else $HOME/.cache/headroom; empty when neither is set.
std::string DefaultCacheDir();

// The cache file of a fingerprint: <dir>/bandwidth-<fingerprint>.txtpb.
std::string BandwidthCachePath(const std::string& dir, const std::string& fingerprint);

// A stored measurement (a headroom.v1.Hardware holding fingerprint, host_bandwidth_gbps and
// the GPUs' bandwidth_gbps); nullopt when there is none for this fingerprint. A corrupt file
// is an error naming it.
absl::StatusOr<std::optional<headroom::v1::Hardware>> LoadBandwidthCache(
    const std::string& dir, const std::string& fingerprint);

// Stores the measured figures of `hardware` (only those with SOURCE_MEASURED) atomically:
// a temporary file in `dir`, then rename().
absl::Status StoreBandwidthCache(const std::string& dir, const headroom::v1::Hardware& hardware);

// Copies cached measured figures into `hardware` (host, and GPUs matched by vendor, device
// id and PCI address). Returns whether the host figure was present.
bool ApplyBandwidthCache(const headroom::v1::Hardware& cached, headroom::v1::Hardware& hardware);

}  // namespace headroom::probe
