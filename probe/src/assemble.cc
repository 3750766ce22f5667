#include "assemble.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace headroom::probe {
namespace {

std::string Gib(uint64_t bytes) {
  return absl::StrFormat("%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
}

const headroom::v1::GpuSpec* FindSpec(const headroom::catalog::Catalog& catalog,
                                      const headroom::v1::GpuDevice& gpu) {
  if (gpu.vendor_id() != 0 && gpu.device_id() != 0) {
    for (const headroom::v1::GpuSpec& spec : catalog.gpus().gpus()) {
      if (spec.pci_vendor_id() != gpu.vendor_id()) continue;
      for (uint32_t id : spec.pci_device_ids()) {
        if (id == gpu.device_id()) return &spec;
      }
    }
  }
  return gpu.name().empty() ? nullptr : catalog.FindGpu(gpu.name());
}

}  // namespace

void AddTopology(const TopologySummary& topology, headroom::v1::Hardware& hardware) {
  *hardware.mutable_cpu() = topology.cpu;
  for (const std::string& note : topology.notes) hardware.add_notes(note);
}

void NoteNumaDisagreement(const TopologySummary& topology, headroom::v1::Hardware& hardware) {
  const uint64_t numa = topology.numa_memory_bytes;
  const uint64_t total = hardware.ram().total_bytes();
  if (numa == 0 || total == 0) return;
  const double ratio = static_cast<double>(numa) / static_cast<double>(total);
  if (std::fabs(ratio - 1.0) <= 0.10) return;
  hardware.add_notes(absl::StrCat("hwloc's NUMA nodes hold ", Gib(numa), " but RAM total is ",
                                  Gib(total), " (", hardware.ram().source(),
                                  "); memory hot-plugged after boot is missing from hwloc's "
                                  "view, so RAM figures come from the RAM source"));
}

void JoinGpusToPci(const TopologySummary& topology, headroom::v1::Hardware& hardware) {
  for (headroom::v1::GpuDevice& gpu : *hardware.mutable_gpus()) {
    if (gpu.pci_address().empty()) continue;
    for (const PciDeviceSummary& pci : topology.pci_devices) {
      if (pci.address == gpu.pci_address()) {
        gpu.set_numa_node(pci.numa_node);
        break;
      }
    }
  }
}

void ApplyGpuTable(const headroom::catalog::Catalog& catalog, headroom::v1::Hardware& hardware) {
  for (headroom::v1::GpuDevice& gpu : *hardware.mutable_gpus()) {
    const headroom::v1::GpuSpec* spec = FindSpec(catalog, gpu);
    if (spec != nullptr) {
      if (gpu.catalog_id().empty()) gpu.set_catalog_id(spec->id());
      if (gpu.fp16_tflops() == 0) gpu.set_fp16_tflops(spec->fp16_tflops());
    }
    if (gpu.bandwidth_gbps() > 0) continue;
    if (spec != nullptr && spec->bandwidth_gbps() > 0) {
      gpu.set_bandwidth_gbps(spec->bandwidth_gbps());
      gpu.set_bandwidth_source(headroom::v1::SOURCE_TABLE);
    } else if (gpu.placeable() && !gpu.unified_memory()) {
      hardware.add_notes(
          absl::StrCat(gpu.name(), ": bandwidth not measured and not in the GPU table"));
    }
  }
}

void AssumeHostBandwidthIfUnknown(headroom::v1::Hardware& hardware) {
  if (hardware.host_bandwidth_gbps() <= 0) {
    hardware.set_host_bandwidth_gbps(kAssumedHostBandwidthGbps);
    hardware.set_host_bandwidth_source(headroom::v1::SOURCE_ASSUMED);
    hardware.add_notes(absl::StrFormat(
        "host bandwidth not measured: %.0f GB/s assumed (`headroom hw --bench` measures it)",
        kAssumedHostBandwidthGbps));
  }
  for (headroom::v1::GpuDevice& gpu : *hardware.mutable_gpus()) {
    if (!gpu.unified_memory() || gpu.bandwidth_gbps() > 0) continue;
    gpu.set_bandwidth_gbps(hardware.host_bandwidth_gbps());
    gpu.set_bandwidth_source(hardware.host_bandwidth_source());
    hardware.add_notes(absl::StrCat(gpu.name(), ": unified memory, host bandwidth used"));
  }
}

}  // namespace headroom::probe
