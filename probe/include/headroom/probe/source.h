// Where hardware snapshots come from: the live machine (hwloc, /proc, cgroups, Vulkan,
// measured bandwidth) or a fixture (hwloc XML + a recorded GPU description) for tests and
// "what if" questions. The daemon owns one source and calls Refresh() every few seconds.
// A source is used from one thread at a time; snapshots are values.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headroom/probe/bandwidth.h"
#include "headroom/probe/ram.h"
#include "headroom/probe/vulkan.h"
#include "headroom/v1/hardware.pb.h"

namespace headroom::probe {

class HardwareSource {
 public:
  virtual ~HardwareSource() = default;

  // A full snapshot: topology, RAM, GPUs, bandwidth (from the cache when the fingerprint
  // matches, measured otherwise or when `remeasure_bandwidth`). Missing pieces degrade to a
  // smaller snapshot with the reason in Hardware.notes; an error only when nothing at all can
  // be read.
  virtual absl::StatusOr<headroom::v1::Hardware> Snapshot(bool remeasure_bandwidth) = 0;

  // Re-reads only what changes (available RAM, cgroup usage, GPU budgets) into `hardware`, a
  // snapshot this source made. Cheap: meant to run every few seconds.
  virtual absl::Status Refresh(headroom::v1::Hardware& hardware) = 0;

  // "live" or "fixture:<path>", for logs and `headroom hw`.
  virtual std::string Describe() const = 0;
};

struct LiveOptions {
  // Bandwidth cache directory; empty = $XDG_CACHE_HOME/headroom (or ~/.cache/headroom).
  std::string cache_dir;
  // Measure bandwidth when the cache has no entry for this machine (else: GPU table / assumed).
  bool measure_bandwidth = true;
  // Where /proc and /sys are (tests point these at fake trees).
  SystemPaths system;
  // The Vulkan loader to open; enable_vulkan = false gives a CPU-only snapshot with a note.
  bool enable_vulkan = true;
  VulkanOptions vulkan;
  HostBandwidthOptions host_bandwidth;
  VulkanBandwidthOptions gpu_bandwidth;
};

// The machine this process runs on.
std::unique_ptr<HardwareSource> MakeLiveSource(const LiveOptions& options = {});

// A recorded machine: a directory holding `topology.xml` (hwloc) and optionally `gpus.txtpb`
// (a headroom.v1.Hardware whose ram, gpus, host bandwidth, cpu.features and notes are used),
// a bare hwloc `.xml` file (RAM from its NUMA nodes), or a text-format headroom.v1.Hardware
// file (`.txtpb`: a hypothetical machine taken as written). The recorded free memory (RAM and
// GPUs) is re-read from disk on Refresh(), so tests can change it.
absl::StatusOr<std::unique_ptr<HardwareSource>> MakeFixtureSource(const std::string& path);

// Records the live snapshot as a fixture directory (topology.xml + gpus.txtpb), creating the
// directory. Bandwidth comes from the cache (or is left out); nothing is measured.
absl::Status CaptureFixture(const std::string& directory, const LiveOptions& options = {});

}  // namespace headroom::probe
