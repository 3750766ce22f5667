// A recorded machine: hwloc XML + a recorded headroom.v1.Hardware (RAM, GPUs, bandwidth).
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "assemble.h"
#include "google/protobuf/text_format.h"
#include "headroom/catalog/catalog.h"
#include "headroom/probe/source.h"

namespace headroom::probe {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<headroom::v1::Hardware> ReadHardwareText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ostringstream text;
  text << in.rdbuf();
  headroom::v1::Hardware hardware;
  // The catalog's parser reports file:line:column of a syntax error.
  if (absl::Status s = headroom::catalog::ParseTextProto(path, text.str(), &hardware); !s.ok()) {
    return s;
  }
  return hardware;
}

class FixtureSource : public HardwareSource {
 public:
  FixtureSource(std::string path, std::string topology_path, std::string recorded_path,
                headroom::catalog::Catalog catalog)
      : path_(std::move(path)),
        topology_path_(std::move(topology_path)),
        recorded_path_(std::move(recorded_path)),
        catalog_(std::move(catalog)) {}

  absl::StatusOr<headroom::v1::Hardware> Snapshot(bool /*remeasure_bandwidth*/) override {
    std::optional<headroom::v1::Hardware> recorded;
    if (!recorded_path_.empty()) {
      absl::StatusOr<headroom::v1::Hardware> r = ReadHardwareText(recorded_path_);
      if (!r.ok()) return r.status();
      recorded = *std::move(r);
    }
    // A hypothetical machine written as one Hardware message is taken as written.
    if (topology_path_.empty()) return Complete(*std::move(recorded));

    absl::StatusOr<Topology> topology = Topology::LoadXml(topology_path_);
    if (!topology.ok()) return topology.status();
    const TopologySummary summary = topology->Summarize();
    headroom::v1::Hardware hardware;
    AddTopology(summary, hardware);
    if (recorded) {
      if (hardware.cpu().features().empty()) {
        *hardware.mutable_cpu()->mutable_features() = recorded->cpu().features();
      }
      *hardware.mutable_ram() = recorded->ram();
      *hardware.mutable_gpus() = recorded->gpus();
      hardware.set_host_bandwidth_gbps(recorded->host_bandwidth_gbps());
      hardware.set_host_bandwidth_source(recorded->host_bandwidth_source());
      for (const std::string& note : recorded->notes()) hardware.add_notes(note);
    }
    if (hardware.ram().total_bytes() == 0) {
      // Only the topology is known: its NUMA memory is all the RAM there is to report.
      hardware.mutable_ram()->set_total_bytes(summary.numa_memory_bytes);
      hardware.mutable_ram()->set_available_bytes(summary.numa_memory_bytes);
      hardware.mutable_ram()->set_source(absl::StrCat("hwloc NUMA memory of ", topology_path_));
    }
    if (hardware.cpu().features().empty()) {
      hardware.add_notes("CPU features unknown: the fixture records none");
    }
    NoteNumaDisagreement(summary, hardware);
    JoinGpusToPci(summary, hardware);
    return Complete(std::move(hardware));
  }

  absl::Status Refresh(headroom::v1::Hardware& hardware) override {
    if (recorded_path_.empty()) return absl::OkStatus();
    absl::StatusOr<headroom::v1::Hardware> recorded = ReadHardwareText(recorded_path_);
    if (!recorded.ok()) return recorded.status();
    if (recorded->has_ram()) {
      hardware.mutable_ram()->set_available_bytes(recorded->ram().available_bytes());
      hardware.mutable_ram()->set_limit_bytes(recorded->ram().limit_bytes());
      hardware.mutable_ram()->set_swap_free_bytes(recorded->ram().swap_free_bytes());
    }
    // GPUs are matched by position and name: a fixture describes a fixed set of devices.
    for (int i = 0; i < hardware.gpus_size() && i < recorded->gpus_size(); ++i) {
      headroom::v1::GpuDevice& gpu = *hardware.mutable_gpus(i);
      const headroom::v1::GpuDevice& now = recorded->gpus(i);
      if (gpu.name() != now.name()) continue;
      gpu.set_memory_free_bytes(now.memory_free_bytes());
    }
    return absl::OkStatus();
  }

  std::string Describe() const override { return absl::StrCat("fixture:", path_); }

 private:
  headroom::v1::Hardware Complete(headroom::v1::Hardware hardware) {
    ApplyGpuTable(catalog_, hardware);
    AssumeHostBandwidthIfUnknown(hardware);
    if (hardware.fingerprint().empty()) hardware.set_fingerprint(HardwareFingerprint(hardware));
    return hardware;
  }

  std::string path_;
  std::string topology_path_;  // empty for a bare Hardware file
  std::string recorded_path_;  // empty for a bare topology
  headroom::catalog::Catalog catalog_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HardwareSource>> MakeFixtureSource(const std::string& path) {
  std::string topology_path;
  std::string recorded_path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    topology_path = path + "/topology.xml";
    if (!fs::exists(topology_path, ec)) {
      return absl::NotFoundError(absl::StrCat(path, ": fixture directory has no topology.xml"));
    }
    if (fs::exists(path + "/gpus.txtpb", ec)) recorded_path = path + "/gpus.txtpb";
  } else if (!fs::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such fixture"));
  } else if (absl::EndsWith(path, ".xml")) {
    topology_path = path;
  } else if (absl::EndsWith(path, ".txtpb")) {
    recorded_path = path;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a fixture is a directory, an hwloc .xml or a Hardware .txtpb"));
  }
  absl::StatusOr<headroom::catalog::Catalog> catalog = headroom::catalog::Catalog::LoadBuiltin();
  if (!catalog.ok()) return catalog.status();
  auto source =
      std::make_unique<FixtureSource>(path, topology_path, recorded_path, *std::move(catalog));
  // Fail now on an unreadable fixture rather than at the first snapshot.
  if (absl::StatusOr<headroom::v1::Hardware> probe = source->Snapshot(false); !probe.ok()) {
    return probe.status();
  }
  return std::unique_ptr<HardwareSource>(std::move(source));
}

}  // namespace headroom::probe
