// hwloc topology loading and the summary the snapshot needs.
#include "headroom/probe/topology.h"

#include <hwloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace headroom::probe {
namespace {

absl::StatusOr<hwloc_topology_t> NewTopology() {
  hwloc_topology_t topology = nullptr;
  if (hwloc_topology_init(&topology) != 0) {
    return absl::InternalError("hwloc_topology_init failed");
  }
  // PCI devices are how GPUs are placed on NUMA nodes; "important" keeps GPUs, NICs and
  // storage and skips bridges nobody asked about, which keeps the cold probe fast.
  hwloc_topology_set_io_types_filter(topology, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  // hwloc drops instruction caches by default; the summary lists every cache.
  hwloc_topology_set_icache_types_filter(topology, HWLOC_TYPE_FILTER_KEEP_ALL);
  return topology;
}

std::string CacheKind(hwloc_obj_cache_type_t type) {
  switch (type) {
    case HWLOC_OBJ_CACHE_DATA:
      return "data";
    case HWLOC_OBJ_CACHE_INSTRUCTION:
      return "instruction";
    case HWLOC_OBJ_CACHE_UNIFIED:
      return "unified";
  }
  return "unified";
}

uint32_t Count(hwloc_topology_t topology, hwloc_obj_type_t type) {
  const int n = hwloc_get_nbobjs_by_type(topology, type);
  return n > 0 ? static_cast<uint32_t>(n) : 0;
}

std::string CpuModel(hwloc_topology_t topology) {
  for (hwloc_obj_t obj = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_PACKAGE, nullptr);
       obj != nullptr; obj = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_PACKAGE, obj)) {
    if (const char* model = hwloc_obj_get_info_by_name(obj, "CPUModel")) return model;
  }
  const char* model = hwloc_obj_get_info_by_name(hwloc_get_root_obj(topology), "CPUModel");
  return model != nullptr ? model : "";
}

std::vector<CacheSummary> Caches(hwloc_topology_t topology) {
  // (level, kind, size) -> count, so caches of different sizes at one level stay apart
  // (hybrid CPUs: 1.25 MiB L2 per P-core, 2 MiB per E-core module).
  std::map<std::tuple<uint32_t, std::string, uint64_t>, uint32_t> counts;
  for (int type = HWLOC_OBJ_L1CACHE; type <= HWLOC_OBJ_L3ICACHE; ++type) {
    const auto obj_type = static_cast<hwloc_obj_type_t>(type);
    if (hwloc_obj_type_is_cache(obj_type) == 0) continue;
    for (hwloc_obj_t obj = hwloc_get_next_obj_by_type(topology, obj_type, nullptr); obj != nullptr;
         obj = hwloc_get_next_obj_by_type(topology, obj_type, obj)) {
      ++counts[{obj->attr->cache.depth, CacheKind(obj->attr->cache.type), obj->attr->cache.size}];
    }
  }
  std::vector<CacheSummary> caches;
  for (const auto& [key, count] : counts) {
    const auto& [level, kind, size] = key;
    caches.push_back({level, kind, size, count, size * count});
  }
  return caches;
}

uint64_t LastLevelCacheBytes(const std::vector<CacheSummary>& caches) {
  uint32_t top_level = 0;
  for (const CacheSummary& c : caches) {
    if (c.kind != "instruction") top_level = std::max(top_level, c.level);
  }
  uint64_t total = 0;
  for (const CacheSummary& c : caches) {
    if (c.level == top_level && c.kind != "instruction") total += c.total_bytes;
  }
  return total;
}

int32_t NearestNumaNode(hwloc_topology_t topology, hwloc_obj_t io_object) {
  hwloc_obj_t parent = hwloc_get_non_io_ancestor_obj(topology, io_object);
  if (parent == nullptr || parent->nodeset == nullptr) return -1;
  // Attached to the whole machine (one node, or no locality known among several).
  if (hwloc_bitmap_weight(parent->nodeset) != 1) return -1;
  return hwloc_bitmap_first(parent->nodeset);
}

std::vector<PciDeviceSummary> PciDevices(hwloc_topology_t topology) {
  std::vector<PciDeviceSummary> devices;
  for (hwloc_obj_t obj = hwloc_get_next_pcidev(topology, nullptr); obj != nullptr;
       obj = hwloc_get_next_pcidev(topology, obj)) {
    const hwloc_obj_attr_u::hwloc_pcidev_attr_s& pci = obj->attr->pcidev;
    PciDeviceSummary d;
    d.address = absl::StrFormat("%04x:%02x:%02x.%x", pci.domain, pci.bus, pci.dev, pci.func);
    d.vendor_id = pci.vendor_id;
    d.device_id = pci.device_id;
    d.class_id = pci.class_id;
    d.numa_node = NearestNumaNode(topology, obj);
    for (hwloc_obj_t child = obj->io_first_child; child != nullptr; child = child->next_sibling) {
      if (child->type == HWLOC_OBJ_OS_DEVICE && child->name != nullptr) {
        d.os_devices.emplace_back(child->name);
      }
    }
    devices.push_back(std::move(d));
  }
  std::sort(devices.begin(), devices.end(),
            [](const auto& a, const auto& b) { return a.address < b.address; });
  return devices;
}

std::vector<CpuKindSummary> CpuKinds(hwloc_topology_t topology) {
  std::vector<CpuKindSummary> kinds;
  const int n = hwloc_cpukinds_get_nr(topology, 0);
  if (n <= 1) return kinds;  // one kind = a homogeneous CPU
  hwloc_bitmap_t cpuset = hwloc_bitmap_alloc();
  for (int i = 0; i < n; ++i) {
    int efficiency = -1;
    unsigned nr_infos = 0;
    hwloc_info_s* infos = nullptr;
    if (hwloc_cpukinds_get_info(topology, static_cast<unsigned>(i), cpuset, &efficiency, &nr_infos,
                                &infos, 0) != 0) {
      continue;
    }
    CpuKindSummary kind;
    kind.efficiency = efficiency;
    for (unsigned j = 0; j < nr_infos; ++j) {
      const std::string name = infos[j].name;
      if (name == "CoreType") kind.core_type = infos[j].value;
      if (name == "FrequencyMaxMHz") {
        kind.max_frequency_mhz = static_cast<uint32_t>(std::strtoul(infos[j].value, nullptr, 10));
      }
    }
    kind.threads = static_cast<uint32_t>(std::max(0, hwloc_bitmap_weight(cpuset)));
    for (hwloc_obj_t core = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_CORE, nullptr);
         core != nullptr; core = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_CORE, core)) {
      if (hwloc_bitmap_isincluded(core->cpuset, cpuset) != 0) ++kind.cores;
    }
    kinds.push_back(std::move(kind));
  }
  hwloc_bitmap_free(cpuset);
  return kinds;
}

std::vector<std::string> FeaturesFromInfo(hwloc_topology_t topology) {
  const char* text = hwloc_obj_get_info_by_name(hwloc_get_root_obj(topology), kCpuFeaturesInfo);
  if (text == nullptr) return {};
  std::vector<std::string> features = absl::StrSplit(text, ' ', absl::SkipEmpty());
  std::sort(features.begin(), features.end());
  return features;
}

}  // namespace

absl::StatusOr<Topology> Topology::LoadLive() {
  absl::StatusOr<hwloc_topology_t> topology = NewTopology();
  if (!topology.ok()) return topology.status();
  if (hwloc_topology_load(*topology) != 0) {
    hwloc_topology_destroy(*topology);
    return absl::InternalError("hwloc could not read this machine's topology");
  }
  return Topology(*topology);
}

absl::StatusOr<Topology> Topology::LoadXml(const std::string& path) {
  absl::StatusOr<hwloc_topology_t> topology = NewTopology();
  if (!topology.ok()) return topology.status();
  if (hwloc_topology_set_xml(*topology, path.c_str()) != 0 || hwloc_topology_load(*topology) != 0) {
    hwloc_topology_destroy(*topology);
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a readable hwloc XML topology"));
  }
  return Topology(*topology);
}

Topology::Topology(Topology&& other) noexcept
    : topology_(std::exchange(other.topology_, nullptr)) {}

Topology& Topology::operator=(Topology&& other) noexcept {
  if (this != &other) {
    if (topology_ != nullptr) hwloc_topology_destroy(topology_);
    topology_ = std::exchange(other.topology_, nullptr);
  }
  return *this;
}

Topology::~Topology() {
  if (topology_ != nullptr) hwloc_topology_destroy(topology_);
}

TopologySummary Topology::Summarize() const {
  TopologySummary s;
  headroom::v1::CpuInfo& cpu = s.cpu;
  cpu.set_model(CpuModel(topology_));
  cpu.set_threads(Count(topology_, HWLOC_OBJ_PU));
  // Some VMs expose no package or core level; a PU is then all we know.
  cpu.set_packages(std::max<uint32_t>(1, Count(topology_, HWLOC_OBJ_PACKAGE)));
  const uint32_t cores = Count(topology_, HWLOC_OBJ_CORE);
  cpu.set_cores(cores > 0 ? cores : cpu.threads());
  for (hwloc_obj_t obj = hwloc_get_next_obj_by_type(topology_, HWLOC_OBJ_NUMANODE, nullptr);
       obj != nullptr; obj = hwloc_get_next_obj_by_type(topology_, HWLOC_OBJ_NUMANODE, obj)) {
    NumaNodeSummary node;
    node.os_index = obj->os_index;
    node.memory_bytes = obj->attr->numanode.local_memory;
    node.threads = obj->cpuset != nullptr
                       ? static_cast<uint32_t>(std::max(0, hwloc_bitmap_weight(obj->cpuset)))
                       : 0;
    s.numa_memory_bytes += node.memory_bytes;
    s.numa_nodes.push_back(node);
  }
  cpu.set_numa_nodes(static_cast<uint32_t>(std::max<size_t>(1, s.numa_nodes.size())));
  for (const std::string& f : FeaturesFromInfo(topology_)) cpu.add_features(f);
  s.caches = Caches(topology_);
  cpu.set_llc_bytes(LastLevelCacheBytes(s.caches));
  s.pci_devices = PciDevices(topology_);
  s.has_pci_info = !s.pci_devices.empty();
  s.cpu_kinds = CpuKinds(topology_);
  if (cpu.model().empty()) s.notes.emplace_back("hwloc reports no CPU model");
  if (s.caches.empty()) s.notes.emplace_back("hwloc reports no caches: last-level cache unknown");
  if (!s.has_pci_info) {
    s.notes.emplace_back("hwloc has no PCI info: GPUs cannot be joined to their NUMA node");
  }
  if (!s.cpu_kinds.empty()) {
    std::vector<std::string> parts;
    for (const CpuKindSummary& k : s.cpu_kinds) {
      parts.push_back(absl::StrCat(k.cores, " ", k.core_type.empty() ? "unnamed" : k.core_type,
                                   " cores (", k.threads, " threads, efficiency ", k.efficiency,
                                   ")"));
    }
    s.notes.push_back(absl::StrCat("hybrid CPU: ", absl::StrJoin(parts, " + ")));
  }
  return s;
}

absl::Status Topology::ExportXml(const std::string& path,
                                 const std::vector<std::string>& cpu_features) {
  hwloc_obj_t root = hwloc_get_root_obj(topology_);
  if (!cpu_features.empty() && hwloc_obj_get_info_by_name(root, kCpuFeaturesInfo) == nullptr) {
    hwloc_obj_add_info(root, kCpuFeaturesInfo, absl::StrJoin(cpu_features, " ").c_str());
  }
  if (hwloc_topology_export_xml(topology_, path.c_str(), 0) != 0) {
    return absl::InternalError(absl::StrCat(path, ": hwloc could not write the topology"));
  }
  return absl::OkStatus();
}

bool Topology::IsThisSystem() const { return hwloc_topology_is_thissystem(topology_) != 0; }

uint32_t Topology::CoreCount() const {
  const uint32_t cores = Count(topology_, HWLOC_OBJ_CORE);
  return cores > 0 ? cores : Count(topology_, HWLOC_OBJ_PU);
}

absl::Status Topology::BindCurrentThreadToCore(uint32_t index) const {
  hwloc_obj_t core = hwloc_get_obj_by_type(topology_, HWLOC_OBJ_CORE, index);
  if (core == nullptr) core = hwloc_get_obj_by_type(topology_, HWLOC_OBJ_PU, index);
  if (core == nullptr) return absl::OutOfRangeError(absl::StrCat("no core ", index));
  if (hwloc_set_cpubind(topology_, core->cpuset, HWLOC_CPUBIND_THREAD) != 0) {
    return absl::InternalError(absl::StrCat("hwloc_set_cpubind to core ", index, " failed"));
  }
  return absl::OkStatus();
}

}  // namespace headroom::probe
