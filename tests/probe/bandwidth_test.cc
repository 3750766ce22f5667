// Host read bandwidth on this machine, the hardware fingerprint and the bandwidth cache.
#include "headroom/probe/bandwidth.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace headroom::probe {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

headroom::v1::Hardware Machine() {
  headroom::v1::Hardware hw;
  hw.mutable_cpu()->set_model("AMD Ryzen 9 7950X 16-Core Processor");
  hw.mutable_cpu()->set_cores(16);
  hw.mutable_ram()->set_total_bytes(66428358656);
  headroom::v1::GpuDevice* gpu = hw.add_gpus();
  gpu->set_name("NVIDIA GeForce RTX 4090");
  gpu->set_vendor_id(0x10de);
  gpu->set_device_id(0x2684);
  gpu->set_pci_address("0000:01:00.0");
  return hw;
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("headroom-bw-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(Fingerprint, StableAndSensitiveToWhatMatters) {
  const headroom::v1::Hardware base = Machine();
  // Fixed: FNV-1a over fixed fields; a change here invalidates every user's cache.
  EXPECT_EQ(HardwareFingerprint(base), "cb94cf6c22502722");
  EXPECT_EQ(HardwareFingerprint(base), HardwareFingerprint(Machine()));

  headroom::v1::Hardware small_ram_change = base;
  small_ram_change.mutable_ram()->set_total_bytes(base.ram().total_bytes() - (64 << 20));
  small_ram_change.mutable_ram()->set_available_bytes(12345);  // live figures do not count
  small_ram_change.mutable_gpus(0)->set_memory_free_bytes(999);
  small_ram_change.add_notes("anything");
  EXPECT_EQ(HardwareFingerprint(small_ram_change), HardwareFingerprint(base));

  headroom::v1::Hardware more_ram = base;
  more_ram.mutable_ram()->set_total_bytes(base.ram().total_bytes() * 2);
  headroom::v1::Hardware fewer_cores = base;
  fewer_cores.mutable_cpu()->set_cores(8);
  headroom::v1::Hardware other_cpu = base;
  other_cpu.mutable_cpu()->set_model("AMD Ryzen 9 7900X 12-Core Processor");
  headroom::v1::Hardware no_gpu = base;
  no_gpu.clear_gpus();
  headroom::v1::Hardware moved_gpu = base;
  moved_gpu.mutable_gpus(0)->set_pci_address("0000:02:00.0");
  for (const auto* changed : {&more_ram, &fewer_cores, &other_cpu, &no_gpu, &moved_gpu}) {
    EXPECT_NE(HardwareFingerprint(*changed), HardwareFingerprint(base));
  }
}

TEST(BandwidthCache, StoreThenLoadKeepsOnlyMeasuredFigures) {
  TempDir dir;
  headroom::v1::Hardware hw = Machine();
  hw.set_fingerprint(HardwareFingerprint(hw));
  hw.set_host_bandwidth_gbps(61.5);
  hw.set_host_bandwidth_source(headroom::v1::SOURCE_MEASURED);
  hw.mutable_gpus(0)->set_bandwidth_gbps(1008);
  hw.mutable_gpus(0)->set_bandwidth_source(headroom::v1::SOURCE_TABLE);  // not a measurement
  ASSERT_TRUE(StoreBandwidthCache(dir.str(), hw).ok());
  // Written by rename: no temporary file is left beside it.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir.str())) {
    ++files;
    EXPECT_EQ(entry.path().string(), BandwidthCachePath(dir.str(), hw.fingerprint()));
  }
  EXPECT_EQ(files, 1);

  absl::StatusOr<std::optional<headroom::v1::Hardware>> cached =
      LoadBandwidthCache(dir.str(), hw.fingerprint());
  ASSERT_TRUE(cached.ok()) << cached.status();
  ASSERT_TRUE(cached->has_value());
  EXPECT_EQ((*cached)->host_bandwidth_gbps(), 61.5);
  EXPECT_EQ((*cached)->gpus_size(), 0);

  headroom::v1::Hardware fresh = Machine();
  EXPECT_TRUE(ApplyBandwidthCache(**cached, fresh));
  EXPECT_EQ(fresh.host_bandwidth_gbps(), 61.5);
  EXPECT_EQ(fresh.host_bandwidth_source(), headroom::v1::SOURCE_MEASURED);
  EXPECT_EQ(fresh.gpus(0).bandwidth_source(), headroom::v1::SOURCE_UNSPECIFIED);
}

TEST(BandwidthCache, GpuMeasurementsMatchByIdentity) {
  TempDir dir;
  headroom::v1::Hardware hw = Machine();
  hw.set_fingerprint("00000000000000aa");
  hw.mutable_gpus(0)->set_bandwidth_gbps(912.4);
  hw.mutable_gpus(0)->set_bandwidth_source(headroom::v1::SOURCE_MEASURED);
  ASSERT_TRUE(StoreBandwidthCache(dir.str(), hw).ok());
  absl::StatusOr<std::optional<headroom::v1::Hardware>> cached =
      LoadBandwidthCache(dir.str(), "00000000000000aa");
  ASSERT_TRUE(cached.ok() && cached->has_value());
  headroom::v1::Hardware fresh = Machine();
  EXPECT_FALSE(ApplyBandwidthCache(**cached, fresh));  // no host figure in this entry
  EXPECT_EQ(fresh.gpus(0).bandwidth_gbps(), 912.4);
  EXPECT_EQ(fresh.gpus(0).bandwidth_source(), headroom::v1::SOURCE_MEASURED);
  headroom::v1::Hardware other = Machine();
  other.mutable_gpus(0)->set_pci_address("0000:41:00.0");
  ApplyBandwidthCache(**cached, other);
  EXPECT_EQ(other.gpus(0).bandwidth_gbps(), 0);
}

TEST(BandwidthCache, MissingCorruptAndMismatchedFiles) {
  TempDir dir;
  absl::StatusOr<std::optional<headroom::v1::Hardware>> none =
      LoadBandwidthCache(dir.str(), "0123456789abcdef");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  fs::create_directories(dir.str());
  std::ofstream(BandwidthCachePath(dir.str(), "0123456789abcdef")) << "host_bandwidth_gbps: {";
  absl::StatusOr<std::optional<headroom::v1::Hardware>> corrupt =
      LoadBandwidthCache(dir.str(), "0123456789abcdef");
  ASSERT_FALSE(corrupt.ok());
  EXPECT_THAT(std::string(corrupt.status().message()), HasSubstr("bandwidth-0123456789abcdef"));

  std::ofstream(BandwidthCachePath(dir.str(), "0123456789abcdef"))
      << "fingerprint: \"ffffffffffffffff\"\nhost_bandwidth_gbps: 3\n";
  absl::StatusOr<std::optional<headroom::v1::Hardware>> mismatch =
      LoadBandwidthCache(dir.str(), "0123456789abcdef");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(std::string(mismatch.status().message()), HasSubstr("ffffffffffffffff"));
}

TEST(BandwidthCache, DefaultDirFollowsXdg) {
  const char* old_xdg = std::getenv("XDG_CACHE_HOME");
  const std::string saved = old_xdg != nullptr ? old_xdg : "";
  ::setenv("XDG_CACHE_HOME", "/tmp/xdg-cache", 1);
  EXPECT_EQ(DefaultCacheDir(), "/tmp/xdg-cache/headroom");
  ::unsetenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') {
    EXPECT_EQ(DefaultCacheDir(), std::string(home) + "/.cache/headroom");
  }
  if (old_xdg != nullptr) ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
}

TEST(HostBandwidth, MeasuresThisMachineWithOneThreadPerCore) {
  absl::StatusOr<Topology> topology = Topology::LoadLive();
  ASSERT_TRUE(topology.ok()) << topology.status();
  HostBandwidthOptions options;
  options.buffer_bytes = 64 << 20;  // small: a unit test checks the mechanics, not the figure
  options.time_budget_s = 0.05;
  options.max_passes = 5;
  absl::StatusOr<HostBandwidth> bw = MeasureHostReadBandwidth(*topology, 0, 0, options);
  ASSERT_TRUE(bw.ok()) << bw.status();
  EXPECT_EQ(bw->threads, topology->CoreCount());
  EXPECT_EQ(bw->buffer_bytes % (uint64_t{4096} * bw->threads), 0u);
  EXPECT_LE(bw->buffer_bytes, uint64_t{64} << 20);
  EXPECT_GE(bw->passes, 3u);
  EXPECT_LE(bw->passes, 5u);
  EXPECT_TRUE(bw->bound);
  EXPECT_GT(bw->gbps, 0.1);
  EXPECT_NEAR(bw->gbps, static_cast<double>(bw->buffer_bytes) / bw->best_pass_s / 1e9, 1e-6);
}

TEST(HostBandwidth, DefaultBufferIsFourTimesTheCacheWithinAvailableMemory) {
  absl::StatusOr<Topology> topology = Topology::LoadLive();
  ASSERT_TRUE(topology.ok());
  HostBandwidthOptions options;
  options.time_budget_s = 0.01;
  options.max_passes = 3;
  // Available memory of 1 GiB caps the buffer at 128 MiB although 4 x 300 MiB was asked.
  absl::StatusOr<HostBandwidth> bw =
      MeasureHostReadBandwidth(*topology, uint64_t{300} << 20, uint64_t{1} << 30, options);
  ASSERT_TRUE(bw.ok()) << bw.status();
  EXPECT_LE(bw->buffer_bytes, uint64_t{128} << 20);
  EXPECT_GT(bw->buffer_bytes, uint64_t{120} << 20);
}

TEST(HostBandwidth, RefusesATopologyOfAnotherMachine) {
  absl::StatusOr<Topology> topology =
      Topology::LoadXml(std::string(HEADROOM_FIXTURES_DIR) + "/hwloc/server-2s-cod.xml");
  ASSERT_TRUE(topology.ok());
  absl::StatusOr<HostBandwidth> bw = MeasureHostReadBandwidth(*topology, 0, 0, {});
  ASSERT_FALSE(bw.ok());
  EXPECT_EQ(bw.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace headroom::probe
