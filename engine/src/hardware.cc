// HardwareRef -> headroom.v1.Hardware: the live snapshot, a caller's snapshot, or a
// hypothetical machine assembled from the catalog's GPU table.
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "headroom/engine/engine.h"

namespace headroom::engine {
namespace {

namespace v1 = headroom::v1;

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kDefaultRamBytes = 64 * kGiB;
constexpr double kDefaultHostBandwidthGbps = 60;
constexpr uint32_t kDefaultCpuThreads = 8;
// Beyond these a value is a typo or garbage, not a machine: 1 PiB of RAM, 100 TB/s, 64k threads.
constexpr uint64_t kMaxRamBytes = uint64_t{1} << 50;
constexpr double kMaxBandwidthGbps = 1e5;
constexpr uint32_t kMaxCpuThreads = 65536;
constexpr int kMaxGpus = 64;

v1::GpuDevice DeviceFromSpec(const v1::GpuSpec& spec) {
  v1::GpuDevice gpu;
  gpu.set_name(spec.name());
  gpu.set_vendor_id(spec.pci_vendor_id());
  gpu.set_device_id(spec.pci_device_ids().empty() ? 0 : spec.pci_device_ids(0));
  gpu.set_type(spec.type());
  gpu.set_placeable(true);
  gpu.set_memory_total_bytes(spec.memory_bytes());
  // Nobody else uses a machine that does not exist: all of its memory is free.
  gpu.set_memory_free_bytes(spec.memory_bytes());
  gpu.set_memory_source(v1::SOURCE_ASSUMED);
  gpu.set_bandwidth_gbps(spec.bandwidth_gbps());
  gpu.set_bandwidth_source(v1::SOURCE_TABLE);
  gpu.set_fp16_tflops(spec.fp16_tflops());
  // The table's usual llama.cpp backend ("cuda", "metal", ...) stands in for a driver name.
  gpu.set_driver(spec.backend());
  gpu.set_numa_node(-1);
  gpu.set_unified_memory(spec.unified_memory());
  gpu.set_catalog_id(spec.id());
  return gpu;
}

constexpr char kField[] = "hardware.hypothetical";

absl::Status CheckHypothetical(const v1::HypotheticalMachine& m, const Context& context) {
  if (m.gpu_ids_size() > kMaxGpus) {
    return absl::InvalidArgumentError(
        absl::StrCat(kField, ".gpu_ids: ", m.gpu_ids_size(), " GPUs, at most ", kMaxGpus));
  }
  if (m.ram_bytes() > kMaxRamBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(kField, ".ram_bytes: ", m.ram_bytes(), " is beyond 1 PiB"));
  }
  if (!std::isfinite(m.host_bandwidth_gbps()) || m.host_bandwidth_gbps() < 0 ||
      m.host_bandwidth_gbps() > kMaxBandwidthGbps) {
    return absl::InvalidArgumentError(absl::StrCat(
        kField, ".host_bandwidth_gbps: ", m.host_bandwidth_gbps(), " is outside 0..100000 GB/s"));
  }
  if (m.cpu_threads() > kMaxCpuThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat(kField, ".cpu_threads: ", m.cpu_threads(), " is beyond ", kMaxCpuThreads));
  }
  if (context.catalog == nullptr && m.gpu_ids_size() > 0) {
    return absl::FailedPreconditionError(absl::StrCat(kField, ": no GPU table loaded"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Hardware> Hypothetical(const v1::HypotheticalMachine& m,
                                          const Context& context) {
  if (absl::Status s = CheckHypothetical(m, context); !s.ok()) return s;
  v1::Hardware hw;
  const uint32_t threads = m.cpu_threads() == 0 ? kDefaultCpuThreads : m.cpu_threads();
  v1::CpuInfo& cpu = *hw.mutable_cpu();
  cpu.set_model("hypothetical CPU");
  cpu.set_packages(1);
  cpu.set_cores(threads);
  cpu.set_threads(threads);
  cpu.set_numa_nodes(1);
  const bool bw_given = m.host_bandwidth_gbps() > 0;
  hw.set_host_bandwidth_gbps(bw_given ? m.host_bandwidth_gbps() : kDefaultHostBandwidthGbps);
  hw.set_host_bandwidth_source(bw_given ? v1::SOURCE_USER : v1::SOURCE_ASSUMED);

  std::vector<std::string> ids;
  const v1::GpuSpec* unified = nullptr;  // the largest unified-memory GPU
  for (int i = 0; i < m.gpu_ids_size(); ++i) {
    const v1::GpuSpec* spec = context.catalog->FindGpu(m.gpu_ids(i));
    if (spec == nullptr) {
      return absl::NotFoundError(absl::StrCat(kField, ".gpu_ids[", i, "]: no GPU \"", m.gpu_ids(i),
                                              "\" in the catalog's table"));
    }
    if (spec->unified_memory() &&
        (unified == nullptr || spec->memory_bytes() > unified->memory_bytes())) {
      unified = spec;
    }
    *hw.add_gpus() = DeviceFromSpec(*spec);
    ids.push_back(spec->id());
  }
  // A unified-memory machine (Apple, DGX Spark) is a whole computer whose GPU allocations come
  // out of its own memory: unless RAM is stated, that memory is its RAM, not the 64 GiB default
  // (which would refuse a 512 GB Mac Studio any model larger). As `headroom gpus` asks.
  uint64_t ram = m.ram_bytes();
  std::string ram_source = "stated";
  if (ram == 0 && unified != nullptr && unified->memory_bytes() > 0) {
    ram = unified->memory_bytes();
    ram_source = absl::StrCat("assumed (the unified memory of ", unified->id(), ")");
  } else if (ram == 0) {
    ram = kDefaultRamBytes;
    ram_source = "assumed (64 GiB)";
  }
  hw.mutable_ram()->set_total_bytes(ram);
  hw.mutable_ram()->set_available_bytes(ram);
  hw.mutable_ram()->set_source(ram_source);
  hw.set_fingerprint(absl::StrCat("hypothetical:", absl::StrJoin(ids, "+"), ":", ram));
  hw.add_notes("hypothetical machine: GPUs from the catalog's table, all memory free");
  return hw;
}

}  // namespace

absl::StatusOr<v1::Hardware> ResolveHardware(const v1::HardwareRef& ref, const Context& context) {
  switch (ref.source_case()) {
    case v1::HardwareRef::kSnapshot:
      return ref.snapshot();
    case v1::HardwareRef::kHypothetical:
      return Hypothetical(ref.hypothetical(), context);
    case v1::HardwareRef::kLive:
    case v1::HardwareRef::SOURCE_NOT_SET:
      break;
  }
  if (context.live == nullptr) {
    return absl::FailedPreconditionError(
        "hardware.live: no live snapshot here; give hardware.snapshot or hardware.hypothetical");
  }
  return *context.live;
}

}  // namespace headroom::engine
