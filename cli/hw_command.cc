// `headroom hw`: the machine as the probe sees it: CPU, RAM, GPUs, bandwidth, and where each
// figure came from.
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "fit_client.h"
#include "format.h"
#include "headroom/probe/source.h"

namespace headroom::cli {
namespace {

namespace v1 = headroom::v1;

std::string SourceName(v1::Source source) {
  switch (source) {
    case v1::SOURCE_MEASURED:
      return "measured";
    case v1::SOURCE_TABLE:
      return "table";
    case v1::SOURCE_ASSUMED:
      return "assumed";
    case v1::SOURCE_REPORTED:
      return "reported";
    case v1::SOURCE_USER:
      return "user";
    default:
      return "unknown";
  }
}

std::string TypeName(v1::DeviceType type) {
  switch (type) {
    case v1::DEVICE_TYPE_DISCRETE_GPU:
      return "discrete";
    case v1::DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated";
    case v1::DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual";
    case v1::DEVICE_TYPE_CPU:
      return "cpu (software)";
    default:
      return "unknown";
  }
}

std::string Plural(uint64_t n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

void PrintCpu(const v1::CpuInfo& cpu, std::ostream& out) {
  out << "CPU   " << (cpu.model().empty() ? "(model unknown)" : cpu.model()) << "\n";
  out << fmt::format("      {}, {}, {}, {}, last-level cache {}\n",
                     Plural(cpu.packages(), "package"), Plural(cpu.cores(), "core"),
                     Plural(cpu.threads(), "thread"), Plural(cpu.numa_nodes(), "NUMA node"),
                     cpu.llc_bytes() > 0 ? HumanBytes(cpu.llc_bytes()) : "unknown");
  std::string features;
  for (const std::string& f : cpu.features()) features += (features.empty() ? "" : " ") + f;
  out << "      features: " << (features.empty() ? "unknown" : features) << "\n";
}

void PrintRam(const v1::Hardware& hw, std::ostream& out) {
  const v1::RamInfo& ram = hw.ram();
  out << fmt::format("RAM   {} available of {}", HumanBytes(ram.available_bytes()),
                     HumanBytes(ram.total_bytes()));
  if (ram.limit_bytes() > 0) out << fmt::format(", cgroup limit {}", HumanBytes(ram.limit_bytes()));
  out << "\n      source: " << ram.source() << "\n";
  out << fmt::format("      swap {} ({} free)\n", HumanBytes(ram.swap_total_bytes()),
                     HumanBytes(ram.swap_free_bytes()));
  out << fmt::format("      host read bandwidth {:.1f} GB/s ({})\n", hw.host_bandwidth_gbps(),
                     SourceName(hw.host_bandwidth_source()));
}

void PrintGpus(const v1::Hardware& hw, std::ostream& out) {
  if (hw.gpus().empty()) {
    out << "GPUs  none\n";
    return;
  }
  out << "GPUs\n";
  Table t(
      {"#", "name", "type", "placeable", "free", "total", "bandwidth", "source", "NUMA", "PCI"});
  int index = 0;
  for (const v1::GpuDevice& gpu : hw.gpus()) {
    t.AddRow({std::to_string(index++), gpu.name(), TypeName(gpu.type()),
              gpu.placeable() ? "yes" : "no", HumanBytes(gpu.memory_free_bytes()),
              HumanBytes(gpu.memory_total_bytes()),
              gpu.bandwidth_gbps() > 0 ? fmt::format("{:.1f} GB/s", gpu.bandwidth_gbps()) : "-",
              gpu.bandwidth_gbps() > 0 ? SourceName(gpu.bandwidth_source()) : "-",
              gpu.numa_node() >= 0 ? std::to_string(gpu.numa_node()) : "-",
              gpu.pci_address().empty() ? "-" : gpu.pci_address()});
  }
  out << t.Render();
  for (const v1::GpuDevice& gpu : hw.gpus()) {
    if (!gpu.placeable() && !gpu.not_placeable_reason().empty()) {
      out << fmt::format("  {}: not placeable: {}\n", gpu.name(), gpu.not_placeable_reason());
    }
  }
}

void PrintHuman(const v1::Hardware& hw, const std::string& origin, std::ostream& out) {
  out << "Machine: " << origin << " (fingerprint " << hw.fingerprint() << ")\n";
  PrintCpu(hw.cpu(), out);
  PrintRam(hw, out);
  PrintGpus(hw, out);
  if (!hw.notes().empty()) {
    out << "Notes\n";
    for (const std::string& note : hw.notes()) out << "  - " << note << "\n";
  }
  out << "\nGiB = 2^30 bytes; GB/s = 1e9 bytes per second. Sources: measured on this machine, "
         "reported by the\ndriver or OS, table = the GPU reference table, assumed = a default "
         "(`headroom hw --bench`\nmeasures).\n";
}

}  // namespace

namespace {

// "calibration  ..." from the daemon when one answers at the default endpoint.
std::string CalibrationLine() {
  const std::string endpoint = EndpointFromEnvironment();
  if (SocketFileAbsent(endpoint)) {
    return "calibration  unknown: no headroomd running (it keeps launchers' run reports)";
  }
  absl::StatusOr<std::unique_ptr<FitClient>> daemon = MakeDaemonClient(endpoint, 500);
  if (!daemon.ok()) return "calibration  unknown: " + std::string(daemon.status().message());
  absl::StatusOr<v1::Calibration> c = (*daemon)->GetCalibration();
  if (!c.ok()) return "calibration  unknown: " + std::string(c.status().message());
  if (c->samples() == 0) return "calibration  none yet: no run reports for this machine";
  return fmt::format(
      "calibration  {} run report(s): decode x{:.2f}, prefill x{:.2f}, GPU overhead {:+.0f} MiB, "
      "host overhead {:+.0f} MiB",
      c->samples(), c->decode_scale(), c->prefill_scale(),
      static_cast<double>(c->gpu_overhead_delta_bytes()) / (1024.0 * 1024.0),
      static_cast<double>(c->host_overhead_delta_bytes()) / (1024.0 * 1024.0));
}

}  // namespace

int RunHw(const HwOptions& options, std::ostream& out, std::ostream& err) {
  if (!options.capture_dir.empty()) {
    if (!options.fixture.empty()) {
      err << "headroom hw: --capture records this machine; it cannot be combined with --fixture\n";
      return kExitUsage;
    }
    if (absl::Status s = probe::CaptureFixture(options.capture_dir); !s.ok()) {
      err << "headroom hw: " << s.message() << "\n";
      return kExitError;
    }
    out << "Captured this machine to " << options.capture_dir
        << " (topology.xml, gpus.txtpb); replay it with `headroom hw --fixture "
        << options.capture_dir << "`.\n";
    return kExitOk;
  }
  std::unique_ptr<probe::HardwareSource> source;
  if (!options.fixture.empty()) {
    absl::StatusOr<std::unique_ptr<probe::HardwareSource>> fixture =
        probe::MakeFixtureSource(options.fixture);
    if (!fixture.ok()) {
      err << "headroom hw: " << fixture.status().message() << "\n";
      return kExitError;
    }
    source = *std::move(fixture);
  } else {
    probe::LiveOptions live;
    // Measuring takes seconds: only when asked, or when the cache has no figure for --bench.
    live.measure_bandwidth = options.bench;
    source = probe::MakeLiveSource(live);
  }
  absl::StatusOr<v1::Hardware> hw = source->Snapshot(options.bench);
  if (!hw.ok()) {
    err << "headroom hw: " << hw.status().message() << "\n";
    return kExitError;
  }
  if (options.json) {
    out << ToJson(*hw);
  } else {
    PrintHuman(*hw, source->Describe(), out);
    // Calibration belongs to the live machine and lives in the daemon.
    if (options.fixture.empty()) out << CalibrationLine() << "\n";
  }
  return kExitOk;
}

}  // namespace headroom::cli
