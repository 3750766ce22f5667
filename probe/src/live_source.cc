// The live machine: hwloc, /proc, cgroups, Vulkan, and measured (or cached) bandwidth.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "assemble.h"
#include "google/protobuf/text_format.h"
#include "headroom/probe/source.h"

namespace headroom::probe {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class LiveSource : public HardwareSource {
 public:
  explicit LiveSource(LiveOptions options) : options_(std::move(options)), ram_(options_.system) {}

  absl::StatusOr<headroom::v1::Hardware> Snapshot(bool remeasure_bandwidth) override {
    absl::StatusOr<headroom::v1::Hardware> hardware = Probe();
    if (!hardware.ok()) return hardware;
    AddBandwidth(remeasure_bandwidth, *hardware);
    return hardware;
  }

  absl::Status Refresh(headroom::v1::Hardware& hardware) override {
    absl::StatusOr<headroom::v1::RamInfo> ram = ram_.Read();
    if (!ram.ok()) return ram.status();
    *hardware.mutable_ram() = *std::move(ram);
    if (vulkan_ != nullptr) return vulkan_->RefreshBudgets(hardware);
    return absl::OkStatus();
  }

  std::string Describe() const override { return "live"; }

  absl::StatusOr<headroom::v1::Hardware> Probe() {
    headroom::v1::Hardware hardware;
    absl::StatusOr<headroom::v1::RamInfo> ram = ram_.Read();
    if (!ram.ok()) return ram.status();  // no RAM figure: nothing worth answering with
    *hardware.mutable_ram() = *std::move(ram);

    const CpuInfoText cpuinfo = ParseCpuInfo(ReadText(options_.system.proc_dir + "/cpuinfo"));
    absl::StatusOr<Topology> topology = Topology::LoadLive();
    if (topology.ok()) {
      topology_.emplace(*std::move(topology));
      summary_ = topology_->Summarize();
      AddTopology(summary_, hardware);
      NoteNumaDisagreement(summary_, hardware);
    } else {
      // Degrade to what /proc tells: one package, one NUMA node, threads as cores.
      topology_.reset();
      summary_ = {};
      const uint32_t threads = std::max(1u, std::thread::hardware_concurrency());
      hardware.mutable_cpu()->set_packages(1);
      hardware.mutable_cpu()->set_cores(threads);
      hardware.mutable_cpu()->set_threads(threads);
      hardware.mutable_cpu()->set_numa_nodes(1);
      hardware.add_notes(absl::StrCat(topology.status().message(), ": CPU layout from /proc only"));
    }
    if (hardware.cpu().model().empty()) hardware.mutable_cpu()->set_model(cpuinfo.model);
    hardware.mutable_cpu()->clear_features();
    for (const std::string& f : cpuinfo.features) hardware.mutable_cpu()->add_features(f);
    if (cpuinfo.features.empty()) hardware.add_notes("no CPU feature flags in /proc/cpuinfo");
    last_cpu_features_ = cpuinfo.features;

    if (options_.enable_vulkan) {
      vulkan_ = AddVulkanDevices(options_.vulkan, hardware);
    } else {
      vulkan_.reset();
      hardware.add_notes("Vulkan probe disabled: CPU-only snapshot");
    }
    JoinGpusToPci(summary_, hardware);
    hardware.set_fingerprint(HardwareFingerprint(hardware));
    return hardware;
  }

  Topology* topology() { return topology_ ? &*topology_ : nullptr; }
  const TopologySummary& summary() const { return summary_; }
  const std::vector<std::string>& cpu_features() const { return last_cpu_features_; }

 private:
  void AddBandwidth(bool remeasure, headroom::v1::Hardware& hardware) {
    const std::string dir = options_.cache_dir.empty() ? DefaultCacheDir() : options_.cache_dir;
    bool host_known = false;
    if (!remeasure && !dir.empty()) {
      absl::StatusOr<std::optional<headroom::v1::Hardware>> cached =
          LoadBandwidthCache(dir, hardware.fingerprint());
      if (!cached.ok()) {
        hardware.add_notes(std::string(cached.status().message()));
      } else if (cached->has_value()) {
        host_known = ApplyBandwidthCache(**cached, hardware);
      }
    }
    bool measured = false;
    if (remeasure || options_.measure_bandwidth) {
      if (!host_known) measured |= MeasureHost(hardware);
      const int known_gpus = CountMeasuredGpus(hardware);
      if (vulkan_ != nullptr && (remeasure || known_gpus < hardware.gpus_size())) {
        MeasureVulkanBandwidth(*vulkan_, options_.gpu_bandwidth, hardware);
        measured |= CountMeasuredGpus(hardware) > (remeasure ? 0 : known_gpus);
      }
    }
    if (measured && !dir.empty()) {
      if (absl::Status s = StoreBandwidthCache(dir, hardware); !s.ok()) {
        hardware.add_notes(std::string(s.message()));
      }
    }
    if (!catalog_) {
      absl::StatusOr<headroom::catalog::Catalog> catalog =
          headroom::catalog::Catalog::LoadBuiltin();
      if (catalog.ok()) catalog_.emplace(*std::move(catalog));
    }
    if (catalog_) ApplyGpuTable(*catalog_, hardware);
    AssumeHostBandwidthIfUnknown(hardware);
  }

  bool MeasureHost(headroom::v1::Hardware& hardware) {
    if (!topology_) return false;
    absl::StatusOr<HostBandwidth> bw =
        MeasureHostReadBandwidth(*topology_, hardware.cpu().llc_bytes(),
                                 hardware.ram().available_bytes(), options_.host_bandwidth);
    if (!bw.ok()) {
      hardware.add_notes(std::string(bw.status().message()));
      return false;
    }
    hardware.set_host_bandwidth_gbps(bw->gbps);
    hardware.set_host_bandwidth_source(headroom::v1::SOURCE_MEASURED);
    if (!bw->bound) hardware.add_notes("host bandwidth: threads could not be bound to cores");
    return true;
  }

  static int CountMeasuredGpus(const headroom::v1::Hardware& hardware) {
    int n = 0;
    for (const auto& gpu : hardware.gpus()) {
      if (gpu.bandwidth_source() == headroom::v1::SOURCE_MEASURED) ++n;
    }
    return n;
  }

  LiveOptions options_;
  RamReader ram_;
  std::optional<Topology> topology_;
  TopologySummary summary_;
  std::vector<std::string> last_cpu_features_;
  std::unique_ptr<VulkanProbe> vulkan_;
  std::optional<headroom::catalog::Catalog> catalog_;
};

}  // namespace

std::unique_ptr<HardwareSource> MakeLiveSource(const LiveOptions& options) {
  return std::make_unique<LiveSource>(options);
}

absl::Status CaptureFixture(const std::string& directory, const LiveOptions& options) {
  LiveOptions capture_options = options;
  capture_options.measure_bandwidth = false;
  LiveSource source(capture_options);
  absl::StatusOr<headroom::v1::Hardware> hardware = source.Snapshot(false);
  if (!hardware.ok()) return hardware.status();
  if (source.topology() == nullptr) {
    return absl::FailedPreconditionError("hwloc could not read this machine: nothing to capture");
  }
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return absl::InternalError(absl::StrCat(directory, ": cannot create: ", ec.message()));
  if (absl::Status s =
          source.topology()->ExportXml(directory + "/topology.xml", source.cpu_features());
      !s.ok()) {
    return s;
  }
  // What the topology cannot carry: RAM as /proc and the cgroup see it, the GPUs, measured
  // bandwidth, and the notes that do not come back from the topology itself.
  headroom::v1::Hardware recorded;
  *recorded.mutable_ram() = hardware->ram();
  *recorded.mutable_gpus() = hardware->gpus();
  for (const std::string& f : source.cpu_features()) recorded.mutable_cpu()->add_features(f);
  if (hardware->host_bandwidth_source() == headroom::v1::SOURCE_MEASURED) {
    recorded.set_host_bandwidth_gbps(hardware->host_bandwidth_gbps());
    recorded.set_host_bandwidth_source(headroom::v1::SOURCE_MEASURED);
  }
  const std::vector<std::string>& topology_notes = source.summary().notes;
  for (const std::string& note : hardware->notes()) {
    const bool from_topology =
        std::find(topology_notes.begin(), topology_notes.end(), note) != topology_notes.end();
    if (!from_topology && !absl::StartsWith(note, "host bandwidth not measured") &&
        !absl::StartsWith(note, "hwloc's NUMA nodes hold")) {
      recorded.add_notes(note);
    }
  }
  std::string text;
  google::protobuf::TextFormat::PrintToString(recorded, &text);
  const std::string path = directory + "/gpus.txtpb";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << "# headroom.v1.Hardware: RAM, GPUs and bandwidth recorded by `headroom hw --capture`\n"
      << "# beside topology.xml (hwloc). Edit the free-memory fields to ask \"what if\".\n"
      << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat(path, ": cannot write"));
  return absl::OkStatus();
}

}  // namespace headroom::probe
