// The two hardware sources: fixtures (directory, bare XML, hypothetical Hardware) and the live
// machine with a fake /proc, no Vulkan and a temporary bandwidth cache; capture round trip.
#include "headroom/probe/source.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fake_system.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace headroom::probe {
namespace {

using fake::FakeSystem;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

constexpr uint64_t kGiB = uint64_t{1} << 30;

std::string Fixture(const std::string& name) {
  return std::string(HEADROOM_FIXTURES_DIR) + "/hwloc/" + name;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()))).string();
}

headroom::v1::Hardware SnapshotOf(HardwareSource& source) {
  absl::StatusOr<headroom::v1::Hardware> hw = source.Snapshot(false);
  EXPECT_TRUE(hw.ok()) << hw.status();
  return hw.ok() ? *hw : headroom::v1::Hardware();
}

TEST(FixtureSource, DesktopDirectoryJoinsGpuToPciAndTable) {
  absl::StatusOr<std::unique_ptr<HardwareSource>> source =
      MakeFixtureSource(Fixture("desktop-rtx4090"));
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->Describe(), "fixture:" + Fixture("desktop-rtx4090"));
  const headroom::v1::Hardware hw = SnapshotOf(**source);
  EXPECT_EQ(hw.cpu().model(), "AMD Ryzen 9 7950X 16-Core Processor");
  EXPECT_EQ(hw.cpu().cores(), 16u);
  EXPECT_EQ(hw.cpu().threads(), 32u);
  EXPECT_EQ(hw.cpu().llc_bytes(), uint64_t{64} << 20);
  EXPECT_THAT(hw.cpu().features(), Contains("avx512f"));
  EXPECT_EQ(hw.ram().total_bytes(), 66428358656u);
  EXPECT_EQ(hw.ram().available_bytes(), 55834574848u);
  EXPECT_EQ(hw.ram().source(), "/proc/meminfo MemTotal, MemAvailable");
  ASSERT_EQ(hw.gpus_size(), 1);
  const headroom::v1::GpuDevice& gpu = hw.gpus(0);
  EXPECT_EQ(gpu.numa_node(), 0);  // from hwloc's PCI tree at 0000:01:00.0
  EXPECT_EQ(gpu.catalog_id(), "rtx-4090");
  EXPECT_EQ(gpu.bandwidth_gbps(), 1008);
  EXPECT_EQ(gpu.bandwidth_source(), headroom::v1::SOURCE_TABLE);
  EXPECT_DOUBLE_EQ(gpu.fp16_tflops(), 165.2);
  EXPECT_EQ(gpu.memory_free_bytes(), 24693964800u);
  // Nothing measured the host: assumed, and said so.
  EXPECT_EQ(hw.host_bandwidth_source(), headroom::v1::SOURCE_ASSUMED);
  EXPECT_THAT(hw.notes(), Contains(HasSubstr("host bandwidth not measured")));
  // 64 GiB of NUMA memory against a 61.9 GiB MemTotal is normal kernel reservation.
  EXPECT_THAT(hw.notes(), Not(Contains(HasSubstr("NUMA nodes hold"))));
  EXPECT_EQ(hw.fingerprint().size(), 16u);
  EXPECT_EQ(hw.fingerprint(), SnapshotOf(**source).fingerprint());
}

TEST(FixtureSource, RefreshRereadsFreeMemory) {
  const std::string dir = TempPath("headroom-fixture-refresh");
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(Fixture("desktop-rtx4090/topology.xml"), dir + "/topology.xml");
  fs::copy_file(Fixture("desktop-rtx4090/gpus.txtpb"), dir + "/gpus.txtpb");
  absl::StatusOr<std::unique_ptr<HardwareSource>> source = MakeFixtureSource(dir);
  ASSERT_TRUE(source.ok()) << source.status();
  headroom::v1::Hardware hw = SnapshotOf(**source);

  std::string text = Slurp(dir + "/gpus.txtpb");
  text.replace(text.find("available_bytes: 55834574848"), 28, "available_bytes: 1073741824");
  text.replace(text.find("memory_free_bytes: 24693964800"), 30, "memory_free_bytes: 2147483648");
  std::ofstream(dir + "/gpus.txtpb", std::ios::trunc) << text;
  ASSERT_TRUE((*source)->Refresh(hw).ok());
  EXPECT_EQ(hw.ram().available_bytes(), kGiB);
  EXPECT_EQ(hw.gpus(0).memory_free_bytes(), 2 * kGiB);
  EXPECT_EQ(hw.ram().total_bytes(), 66428358656u);  // only what changes is re-read

  std::ofstream(dir + "/gpus.txtpb", std::ios::trunc) << "ram { total_bytes: oops }";
  absl::Status broken = (*source)->Refresh(hw);
  EXPECT_FALSE(broken.ok());
  EXPECT_THAT(std::string(broken.message()), HasSubstr("gpus.txtpb:1"));
  fs::remove_all(dir);
}

TEST(FixtureSource, LaptopIntegratedGpuSharesHostBandwidth) {
  absl::StatusOr<std::unique_ptr<HardwareSource>> source =
      MakeFixtureSource(Fixture("laptop-hybrid"));
  ASSERT_TRUE(source.ok()) << source.status();
  const headroom::v1::Hardware hw = SnapshotOf(**source);
  EXPECT_EQ(hw.cpu().cores(), 12u);
  EXPECT_EQ(hw.cpu().threads(), 16u);
  EXPECT_THAT(hw.notes(), Contains(HasSubstr("hybrid CPU: 8 IntelAtom cores")));
  ASSERT_EQ(hw.gpus_size(), 1);
  EXPECT_EQ(hw.gpus(0).numa_node(), 0);
  EXPECT_TRUE(hw.gpus(0).unified_memory());
  EXPECT_EQ(hw.gpus(0).bandwidth_gbps(), hw.host_bandwidth_gbps());
  EXPECT_EQ(hw.gpus(0).bandwidth_source(), headroom::v1::SOURCE_ASSUMED);
  EXPECT_THAT(hw.notes(), Contains(HasSubstr("unified memory, host bandwidth used")));
}

TEST(FixtureSource, BareServerXmlTakesRamFromNumaNodes) {
  absl::StatusOr<std::unique_ptr<HardwareSource>> source =
      MakeFixtureSource(Fixture("server-2s-cod.xml"));
  ASSERT_TRUE(source.ok()) << source.status();
  const headroom::v1::Hardware hw = SnapshotOf(**source);
  EXPECT_EQ(hw.cpu().packages(), 2u);
  EXPECT_EQ(hw.cpu().numa_nodes(), 4u);
  EXPECT_EQ(hw.ram().total_bytes(), 68439207936u);
  EXPECT_EQ(hw.ram().available_bytes(), 68439207936u);
  EXPECT_THAT(hw.ram().source(), HasSubstr("hwloc NUMA memory"));
  EXPECT_EQ(hw.gpus_size(), 0);
  EXPECT_THAT(hw.notes(), Contains("CPU features unknown: the fixture records none"));
}

TEST(FixtureSource, HypotheticalHardwareIsTakenAsWritten) {
  const std::string path = TempPath("headroom-what-if") + ".txtpb";
  std::ofstream(path) << R"(cpu { model: "what if" cores: 8 threads: 16 }
ram { total_bytes: 34359738368 available_bytes: 30000000000 source: "user" }
gpus { name: "NVIDIA GeForce RTX 4090" vendor_id: 0x10de device_id: 0x2684 placeable: true
       memory_total_bytes: 25769803776 memory_free_bytes: 25000000000 }
gpus { name: "RTX 4090" placeable: true }
host_bandwidth_gbps: 80 host_bandwidth_source: SOURCE_USER
)";
  absl::StatusOr<std::unique_ptr<HardwareSource>> source = MakeFixtureSource(path);
  ASSERT_TRUE(source.ok()) << source.status();
  const headroom::v1::Hardware hw = SnapshotOf(**source);
  fs::remove(path);
  EXPECT_EQ(hw.cpu().model(), "what if");
  EXPECT_EQ(hw.host_bandwidth_gbps(), 80);
  EXPECT_EQ(hw.host_bandwidth_source(), headroom::v1::SOURCE_USER);
  ASSERT_EQ(hw.gpus_size(), 2);
  EXPECT_EQ(hw.gpus(0).bandwidth_source(), headroom::v1::SOURCE_TABLE);
  EXPECT_EQ(hw.gpus(1).catalog_id(), "rtx-4090");  // matched by name when ids are absent
  EXPECT_EQ(hw.gpus(1).bandwidth_gbps(), 1008);
}

TEST(FixtureSource, BadPathsAreErrorsNamingThem) {
  absl::StatusOr<std::unique_ptr<HardwareSource>> missing = MakeFixtureSource("/nonexistent/x");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::unique_ptr<HardwareSource>> not_fixture =
      MakeFixtureSource(Fixture("make_synthetic.py"));
  ASSERT_FALSE(not_fixture.ok());
  EXPECT_THAT(std::string(not_fixture.status().message()), HasSubstr("make_synthetic.py"));
  absl::StatusOr<std::unique_ptr<HardwareSource>> no_topology = MakeFixtureSource(Fixture(""));
  ASSERT_FALSE(no_topology.ok());
  EXPECT_THAT(std::string(no_topology.status().message()), HasSubstr("no topology.xml"));
}

LiveOptions FakeLive(const FakeSystem& system, const std::string& cache_dir) {
  LiveOptions options;
  options.system = system.paths();
  options.enable_vulkan = false;
  options.measure_bandwidth = false;
  options.cache_dir = cache_dir;
  return options;
}

TEST(LiveSource, FakeProcGivesRamAndNotesHwlocDisagreement) {
  FakeSystem system;
  // Far more RAM than hwloc's NUMA nodes of this machine hold: the hot-plug case.
  system.WriteMemInfo(uint64_t{4096} << 20, uint64_t{4000} << 20);
  system.Write("proc/cpuinfo", "model name\t: Fake CPU\nflags\t\t: avx2 fma f16c sse2\n");
  const std::string cache = TempPath("headroom-live-cache");
  fs::remove_all(cache);
  std::unique_ptr<HardwareSource> source = MakeLiveSource(FakeLive(system, cache));
  EXPECT_EQ(source->Describe(), "live");
  headroom::v1::Hardware hw = SnapshotOf(*source);
  EXPECT_EQ(hw.ram().total_bytes(), uint64_t{4096} << 30);
  EXPECT_THAT(hw.cpu().features(), ::testing::ElementsAre("avx2", "f16c", "fma"));
  EXPECT_GE(hw.cpu().cores(), 1u);
  EXPECT_THAT(hw.notes(), Contains(HasSubstr("NUMA nodes hold")));
  EXPECT_THAT(hw.notes(), Contains(HasSubstr("Vulkan probe disabled")));
  EXPECT_EQ(hw.gpus_size(), 0);
  EXPECT_EQ(hw.host_bandwidth_source(), headroom::v1::SOURCE_ASSUMED);
  EXPECT_FALSE(fs::exists(cache));  // nothing measured, nothing written

  system.WriteMemInfo(uint64_t{4096} << 20, uint64_t{1000} << 20);
  ASSERT_TRUE(source->Refresh(hw).ok());
  EXPECT_EQ(hw.ram().available_bytes(), uint64_t{1000} << 30);
}

TEST(LiveSource, NoVulkanLoaderIsCpuOnlyWithTheReason) {
  FakeSystem system;
  system.WriteMemInfo(uint64_t{8} << 20, uint64_t{6} << 20);
  LiveOptions options = FakeLive(system, TempPath("headroom-live-cache-3"));
  options.enable_vulkan = true;
  options.vulkan.loader_path = "/nonexistent/libvulkan.so.1";
  const headroom::v1::Hardware hw = SnapshotOf(*MakeLiveSource(options));
  EXPECT_EQ(hw.gpus_size(), 0);
  EXPECT_THAT(hw.notes(), Contains(HasSubstr("no Vulkan loader")));
  EXPECT_GT(hw.ram().total_bytes(), 0u);
}

TEST(LiveSource, LoaderWithoutDriverIsCpuOnlyWithTheReason) {
  FakeSystem system;
  system.WriteMemInfo(uint64_t{8} << 20, uint64_t{6} << 20);
  LiveOptions options = FakeLive(system, TempPath("headroom-live-cache-4"));
  options.enable_vulkan = true;
  // The loader reads its ICD list when an instance is created: point it at nothing.
  ::setenv("VK_ICD_FILENAMES", "/nonexistent/icd.json", 1);
  ::setenv("VK_DRIVER_FILES", "/nonexistent/icd.json", 1);
  const headroom::v1::Hardware hw = SnapshotOf(*MakeLiveSource(options));
  ::unsetenv("VK_ICD_FILENAMES");
  ::unsetenv("VK_DRIVER_FILES");
  EXPECT_EQ(hw.gpus_size(), 0);
  EXPECT_THAT(hw.notes(), Contains(HasSubstr("no Vulkan driver")));
}

TEST(LiveSource, SoftwareVulkanDeviceIsReportedButNotPlaceable) {
  FakeSystem system;
  system.WriteMemInfo(uint64_t{8} << 20, uint64_t{6} << 20);
  LiveOptions options = FakeLive(system, TempPath("headroom-live-cache-5"));
  options.enable_vulkan = true;
  std::unique_ptr<HardwareSource> source = MakeLiveSource(options);
  headroom::v1::Hardware hw = SnapshotOf(*source);
  bool found_software = false;
  for (const headroom::v1::GpuDevice& gpu : hw.gpus()) {
    if (gpu.type() != headroom::v1::DEVICE_TYPE_CPU) continue;
    found_software = true;
    EXPECT_FALSE(gpu.placeable());
    EXPECT_FALSE(gpu.not_placeable_reason().empty());
    EXPECT_GT(gpu.memory_total_bytes(), 0u);
  }
  if (!found_software) GTEST_SKIP() << "no lavapipe/llvmpipe ICD installed";
  ASSERT_TRUE(source->Refresh(hw).ok());  // budgets re-read through the open instance
}

TEST(LiveSource, MeasuresOnceThenUsesTheCache) {
  FakeSystem system;
  system.WriteMemInfo(uint64_t{8} << 20, uint64_t{6} << 20);
  const std::string cache = TempPath("headroom-live-cache-2");
  fs::remove_all(cache);
  LiveOptions options = FakeLive(system, cache);
  options.measure_bandwidth = true;
  options.host_bandwidth.buffer_bytes = 32 << 20;
  options.host_bandwidth.time_budget_s = 0.01;
  options.host_bandwidth.max_passes = 3;
  headroom::v1::Hardware first = SnapshotOf(*MakeLiveSource(options));
  EXPECT_EQ(first.host_bandwidth_source(), headroom::v1::SOURCE_MEASURED);
  EXPECT_GT(first.host_bandwidth_gbps(), 0);
  const std::string file = BandwidthCachePath(cache, first.fingerprint());
  ASSERT_TRUE(fs::exists(file));

  // A planted figure proves the second snapshot read the cache instead of measuring.
  std::ofstream(file, std::ios::trunc) << "fingerprint: \"" << first.fingerprint()
                                       << "\"\nhost_bandwidth_gbps: 123.5\n"
                                          "host_bandwidth_source: SOURCE_MEASURED\n";
  headroom::v1::Hardware second = SnapshotOf(*MakeLiveSource(options));
  EXPECT_EQ(second.host_bandwidth_gbps(), 123.5);
  absl::StatusOr<headroom::v1::Hardware> remeasured = MakeLiveSource(options)->Snapshot(true);
  ASSERT_TRUE(remeasured.ok());
  EXPECT_NE(remeasured->host_bandwidth_gbps(), 123.5);
  EXPECT_EQ(remeasured->host_bandwidth_source(), headroom::v1::SOURCE_MEASURED);
  fs::remove_all(cache);
}

TEST(LiveSource, CaptureThenReplayGivesTheSameMachine) {
  FakeSystem system;
  system.WriteMemInfo(uint64_t{24} << 20, uint64_t{20} << 20, 1024, 512);
  system.Write("proc/cpuinfo", "model name\t: Fake CPU\nflags\t\t: avx2 fma\n");
  const std::string dir = TempPath("headroom-capture");
  fs::remove_all(dir);
  const LiveOptions options = FakeLive(system, TempPath("headroom-capture-cache"));
  ASSERT_TRUE(CaptureFixture(dir, options).ok());
  ASSERT_TRUE(fs::exists(dir + "/topology.xml"));
  ASSERT_TRUE(fs::exists(dir + "/gpus.txtpb"));

  const headroom::v1::Hardware live = SnapshotOf(*MakeLiveSource(options));
  absl::StatusOr<std::unique_ptr<HardwareSource>> replay = MakeFixtureSource(dir);
  ASSERT_TRUE(replay.ok()) << replay.status();
  const headroom::v1::Hardware fixture = SnapshotOf(**replay);
  EXPECT_EQ(fixture.cpu().SerializeAsString(), live.cpu().SerializeAsString());
  EXPECT_EQ(fixture.ram().SerializeAsString(), live.ram().SerializeAsString());
  EXPECT_EQ(fixture.fingerprint(), live.fingerprint());
  EXPECT_EQ(fixture.gpus_size(), live.gpus_size());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace headroom::probe
