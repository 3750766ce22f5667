// The machine's layout as hwloc sees it: packages, cores, threads, NUMA nodes and their
// memory, caches, PCI devices, CPU kinds (hybrid P/E cores). Loaded from the live system or
// from an exported hwloc XML file (fixtures, `headroom hw --capture`).
// Thread-safety: a loaded Topology is read-only; Summarize() and the binding calls may run
// from several threads at once (hwloc allows concurrent reads of a loaded topology).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headroom/v1/hardware.pb.h"

struct hwloc_topology;

namespace headroom::probe {

// Info attribute of hwloc's root object holding the CPU feature list ("avx2 fma ..."), written
// by CaptureFixture() because hwloc itself does not record instruction-set flags.
inline constexpr char kCpuFeaturesInfo[] = "HeadroomCpuFeatures";

struct NumaNodeSummary {
  uint32_t os_index = 0;
  uint64_t memory_bytes = 0;  // hwloc's local memory (can lag hot-plugged memory)
  uint32_t threads = 0;       // PUs local to the node
};

// One cache level and kind, over the whole machine.
struct CacheSummary {
  uint32_t level = 0;        // 1, 2, 3 ...
  std::string kind;          // "data", "instruction" or "unified"
  uint64_t size_bytes = 0;   // size of one instance
  uint32_t count = 0;        // instances
  uint64_t total_bytes = 0;  // over all instances (caches of different sizes summed)
};

struct PciDeviceSummary {
  std::string address;  // "dddd:bb:dd.f"
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
  uint32_t class_id = 0;                // 0x0300 VGA, 0x0302 3D controller, ...
  int32_t numa_node = -1;               // os index of the nearest NUMA node; -1 when unknown
  std::vector<std::string> os_devices;  // "card0", "nvme0n1", ...
};

// A kind of core on hybrid CPUs (hwloc cpukinds), most efficient (smallest) first.
struct CpuKindSummary {
  int32_t efficiency = -1;  // hwloc's ranking; higher = faster, -1 when unknown
  std::string core_type;    // "IntelCore", "IntelAtom", ... (empty when unknown)
  uint32_t cores = 0;
  uint32_t threads = 0;
  uint32_t max_frequency_mhz = 0;  // 0 when unknown
};

struct TopologySummary {
  // model, packages, cores, threads, numa_nodes, llc_bytes; features only when the topology
  // carries them (kCpuFeaturesInfo); the live source adds them from /proc/cpuinfo.
  headroom::v1::CpuInfo cpu;
  std::vector<NumaNodeSummary> numa_nodes;
  uint64_t numa_memory_bytes = 0;             // sum over the NUMA nodes
  std::vector<CacheSummary> caches;           // by level, then data/instruction/unified
  std::vector<PciDeviceSummary> pci_devices;  // in bus order
  std::vector<CpuKindSummary> cpu_kinds;      // empty on homogeneous CPUs
  bool has_pci_info = false;
  // What is missing ("hwloc has no PCI info", "no cache information").
  std::vector<std::string> notes;
};

class Topology {
 public:
  // This machine, with PCI devices (I/O discovery of important devices only).
  static absl::StatusOr<Topology> LoadLive();
  // An exported topology; the error names the file.
  static absl::StatusOr<Topology> LoadXml(const std::string& path);

  Topology(Topology&& other) noexcept;
  Topology& operator=(Topology&& other) noexcept;
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
  ~Topology();

  TopologySummary Summarize() const;

  // Writes the topology as hwloc v2 XML with `cpu_features` (space-separated) stored in the
  // root object's kCpuFeaturesInfo attribute.
  absl::Status ExportXml(const std::string& path, const std::vector<std::string>& cpu_features);

  // Whether the topology describes the machine this process runs on (binding is meaningful).
  bool IsThisSystem() const;
  // Cores usable by this process.
  uint32_t CoreCount() const;
  // Binds the calling thread to the `index`-th core (all of its hardware threads).
  absl::Status BindCurrentThreadToCore(uint32_t index) const;

 private:
  explicit Topology(hwloc_topology* topology) : topology_(topology) {}
  hwloc_topology* topology_ = nullptr;
};

// The CPU model and inference-relevant features from /proc/cpuinfo text (x86 "model name" and
// "flags"; Arm "Features", where "asimd" is reported as "neon"). Features are sorted.
struct CpuInfoText {
  std::string model;
  std::vector<std::string> features;
};
CpuInfoText ParseCpuInfo(std::string_view cpuinfo);

}  // namespace headroom::probe
