// hwloc topologies of bigger machines, checked field by field (tests/fixtures/hwloc/README.md
// says where each comes from), and the live machine.
#include "headroom/probe/topology.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace headroom::probe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;

std::string Fixture(const std::string& name) {
  return std::string(HEADROOM_FIXTURES_DIR) + "/hwloc/" + name;
}

TopologySummary Load(const std::string& name) {
  absl::StatusOr<Topology> topology = Topology::LoadXml(Fixture(name));
  EXPECT_TRUE(topology.ok()) << topology.status();
  if (!topology.ok()) return {};
  EXPECT_FALSE(topology->IsThisSystem());
  return topology->Summarize();
}

struct CacheRow {
  uint32_t level;
  std::string kind;
  uint64_t size_bytes;
  uint32_t count;
};

std::vector<CacheRow> Rows(const std::vector<CacheSummary>& caches) {
  std::vector<CacheRow> rows;
  for (const CacheSummary& c : caches) {
    EXPECT_EQ(c.total_bytes, c.size_bytes * c.count);
    rows.push_back({c.level, c.kind, c.size_bytes, c.count});
  }
  return rows;
}

MATCHER_P4(Cache, level, kind, size, count, "") {
  return arg.level == level && arg.kind == kind && arg.size_bytes == size && arg.count == count;
}

MATCHER_P5(Pci, address, vendor, device, class_id, numa, "") {
  return arg.address == address && arg.vendor_id == vendor && arg.device_id == device &&
         arg.class_id == class_id && arg.numa_node == numa;
}

// Cisco UCS B200 M4, two Xeon E5-2683 v3 in cluster-on-die mode: 2 NUMA nodes per socket.
TEST(Topology, DualSocketServerWithTwoNumaNodesPerSocket) {
  const TopologySummary s = Load("server-2s-cod.xml");
  EXPECT_EQ(s.cpu.model(), "Intel(R) Xeon(R) CPU E5-2683 v3 @ 2.00GHz");
  EXPECT_EQ(s.cpu.packages(), 2u);
  EXPECT_EQ(s.cpu.cores(), 28u);
  EXPECT_EQ(s.cpu.threads(), 28u);
  EXPECT_EQ(s.cpu.numa_nodes(), 4u);
  ASSERT_EQ(s.numa_nodes.size(), 4u);
  const uint64_t memory[] = {16899600384u, 17179869184u, 17179869184u, 17179869184u};
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(s.numa_nodes[i].os_index, i);
    EXPECT_EQ(s.numa_nodes[i].memory_bytes, memory[i]);
    EXPECT_EQ(s.numa_nodes[i].threads, 7u);
  }
  EXPECT_EQ(s.numa_memory_bytes, 68439207936u);
  // This export carries no caches and no CPU flags: both are reported missing, not invented.
  EXPECT_THAT(s.caches, IsEmpty());
  EXPECT_EQ(s.cpu.llc_bytes(), 0u);
  EXPECT_THAT(s.cpu.features(), IsEmpty());
  EXPECT_THAT(s.notes, testing::Contains(HasSubstr("no caches")));
  // Every I/O device hangs below the first die of socket 0.
  EXPECT_TRUE(s.has_pci_info);
  EXPECT_THAT(s.pci_devices, ElementsAre(Pci("0000:01:00.0", 0x1000u, 0x005du, 0x0104u, 0),
                                         Pci("0000:06:00.0", 0x1137u, 0x0043u, 0x0200u, 0),
                                         Pci("0000:07:00.0", 0x1137u, 0x0045u, 0x0c04u, 0),
                                         Pci("0000:0c:00.0", 0x1137u, 0x0043u, 0x0200u, 0),
                                         Pci("0000:0d:00.0", 0x1137u, 0x0045u, 0x0c04u, 0)));
  EXPECT_THAT(s.pci_devices[0].os_devices, ElementsAre("sda"));
  EXPECT_THAT(s.pci_devices[1].os_devices, ElementsAre("enp6s0"));
  EXPECT_THAT(s.cpu_kinds, IsEmpty());
}

// Ryzen 9 7950X desktop with a GeForce RTX 4090 in the x16 slot.
TEST(Topology, DesktopWithDiscreteNvidiaGpu) {
  const TopologySummary s = Load("desktop-rtx4090/topology.xml");
  EXPECT_EQ(s.cpu.model(), "AMD Ryzen 9 7950X 16-Core Processor");
  EXPECT_EQ(s.cpu.packages(), 1u);
  EXPECT_EQ(s.cpu.cores(), 16u);
  EXPECT_EQ(s.cpu.threads(), 32u);
  EXPECT_EQ(s.cpu.numa_nodes(), 1u);
  ASSERT_EQ(s.numa_nodes.size(), 1u);
  EXPECT_EQ(s.numa_nodes[0].memory_bytes, 64 * kGiB);
  EXPECT_EQ(s.numa_nodes[0].threads, 32u);
  EXPECT_THAT(
      Rows(s.caches),
      ElementsAre(Cache(1u, "data", 32 * kKiB, 16u), Cache(1u, "instruction", 32 * kKiB, 16u),
                  Cache(2u, "unified", 1 * kMiB, 16u), Cache(3u, "unified", 32 * kMiB, 2u)));
  EXPECT_EQ(s.cpu.llc_bytes(), 64 * kMiB);
  EXPECT_THAT(s.cpu.features(),
              ElementsAre("avx", "avx2", "avx512_bf16", "avx512_vnni", "avx512bw", "avx512cd",
                          "avx512dq", "avx512f", "avx512vl", "f16c", "fma"));
  // The HDMI audio function of the card is not an "important" device and is filtered out.
  EXPECT_THAT(s.pci_devices, ElementsAre(Pci("0000:01:00.0", 0x10deu, 0x2684u, 0x0300u, 0),
                                         Pci("0000:02:00.0", 0x144du, 0xa80au, 0x0108u, 0)));
  EXPECT_THAT(s.pci_devices[0].os_devices, ElementsAre("card0", "renderD128"));
  EXPECT_THAT(s.cpu_kinds, IsEmpty());
  EXPECT_THAT(s.notes, IsEmpty());
}

// Core i7-1260P laptop: 4 P-cores with SMT, 8 E-cores in two modules, an integrated GPU.
TEST(Topology, LaptopWithHybridCores) {
  const TopologySummary s = Load("laptop-hybrid/topology.xml");
  EXPECT_EQ(s.cpu.model(), "12th Gen Intel(R) Core(TM) i7-1260P");
  EXPECT_EQ(s.cpu.packages(), 1u);
  EXPECT_EQ(s.cpu.cores(), 12u);
  EXPECT_EQ(s.cpu.threads(), 16u);
  EXPECT_EQ(s.cpu.numa_nodes(), 1u);
  EXPECT_EQ(s.numa_memory_bytes, 16 * kGiB);
  EXPECT_THAT(
      Rows(s.caches),
      ElementsAre(Cache(1u, "data", 32 * kKiB, 8u), Cache(1u, "data", 48 * kKiB, 4u),
                  Cache(1u, "instruction", 32 * kKiB, 4u), Cache(1u, "instruction", 64 * kKiB, 8u),
                  Cache(2u, "unified", 1280 * kKiB, 4u), Cache(2u, "unified", 2 * kMiB, 2u),
                  Cache(3u, "unified", 18 * kMiB, 1u)));
  EXPECT_EQ(s.cpu.llc_bytes(), 18 * kMiB);
  EXPECT_THAT(s.cpu.features(), ElementsAre("avx", "avx2", "avx_vnni", "f16c", "fma"));
  ASSERT_EQ(s.cpu_kinds.size(), 2u);
  EXPECT_EQ(s.cpu_kinds[0].core_type, "IntelAtom");
  EXPECT_EQ(s.cpu_kinds[0].efficiency, 0);
  EXPECT_EQ(s.cpu_kinds[0].cores, 8u);
  EXPECT_EQ(s.cpu_kinds[0].threads, 8u);
  EXPECT_EQ(s.cpu_kinds[0].max_frequency_mhz, 3400u);
  EXPECT_EQ(s.cpu_kinds[1].core_type, "IntelCore");
  EXPECT_EQ(s.cpu_kinds[1].efficiency, 1);
  EXPECT_EQ(s.cpu_kinds[1].cores, 4u);
  EXPECT_EQ(s.cpu_kinds[1].threads, 8u);
  EXPECT_EQ(s.cpu_kinds[1].max_frequency_mhz, 4700u);
  EXPECT_THAT(s.notes, ElementsAre("hybrid CPU: 8 IntelAtom cores (8 threads, efficiency 0) + "
                                   "4 IntelCore cores (8 threads, efficiency 1)"));
  EXPECT_THAT(s.pci_devices, ElementsAre(Pci("0000:00:02.0", 0x8086u, 0x46a6u, 0x0300u, 0),
                                         Pci("0000:01:00.0", 0x1e0fu, 0x0001u, 0x0108u, 0)));
}

TEST(Topology, XmlWithoutPciSaysSo) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "headroom-topology-nopci.xml").string();
  std::ofstream(path) << R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE topology SYSTEM "hwloc2.dtd">
<topology version="2.0">
  <object type="Machine" os_index="0" cpuset="0x00000003" complete_cpuset="0x00000003" allowed_cpuset="0x00000003" nodeset="0x00000001" complete_nodeset="0x00000001" allowed_nodeset="0x00000001" gp_index="1">
    <object type="NUMANode" os_index="0" cpuset="0x00000003" complete_cpuset="0x00000003" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="2" local_memory="1073741824"/>
    <object type="PU" os_index="0" cpuset="0x00000001" complete_cpuset="0x00000001" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="3"/>
    <object type="PU" os_index="1" cpuset="0x00000002" complete_cpuset="0x00000002" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="4"/>
  </object>
</topology>
)";
  absl::StatusOr<Topology> topology = Topology::LoadXml(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(topology.ok()) << topology.status();
  const TopologySummary s = topology->Summarize();
  // No package and no core level: one package, PUs counted as cores.
  EXPECT_EQ(s.cpu.packages(), 1u);
  EXPECT_EQ(s.cpu.cores(), 2u);
  EXPECT_EQ(s.cpu.threads(), 2u);
  EXPECT_FALSE(s.has_pci_info);
  EXPECT_THAT(s.notes, testing::Contains(HasSubstr("hwloc has no PCI info")));
  EXPECT_THAT(s.notes, testing::Contains(HasSubstr("no CPU model")));
}

TEST(Topology, UnreadableXmlNamesTheFile) {
  const std::string path = Fixture("make_synthetic.py");  // exists, is not XML
  absl::StatusOr<Topology> topology = Topology::LoadXml(path);
  ASSERT_FALSE(topology.ok());
  EXPECT_THAT(std::string(topology.status().message()), HasSubstr(path));
}

TEST(Topology, LiveMachineRoundTripsThroughXml) {
  absl::StatusOr<Topology> live = Topology::LoadLive();
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_TRUE(live->IsThisSystem());
  const TopologySummary s = live->Summarize();
  EXPECT_GE(s.cpu.threads(), s.cpu.cores());
  EXPECT_GE(s.cpu.cores(), 1u);
  EXPECT_EQ(live->CoreCount(), s.cpu.cores());
  // On a thread of its own, so the test process itself stays unbound.
  std::thread([&] {
    EXPECT_TRUE(live->BindCurrentThreadToCore(0).ok());
    EXPECT_FALSE(live->BindCurrentThreadToCore(s.cpu.cores() + 1000).ok());
  }).join();

  const std::string path =
      (std::filesystem::temp_directory_path() / "headroom-topology-live.xml").string();
  ASSERT_TRUE(live->ExportXml(path, {"avx2", "fma"}).ok());
  absl::StatusOr<Topology> again = Topology::LoadXml(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(again.ok()) << again.status();
  const TopologySummary t = again->Summarize();
  EXPECT_EQ(t.cpu.model(), s.cpu.model());
  EXPECT_EQ(t.cpu.cores(), s.cpu.cores());
  EXPECT_EQ(t.cpu.threads(), s.cpu.threads());
  EXPECT_EQ(t.numa_memory_bytes, s.numa_memory_bytes);
  EXPECT_EQ(t.cpu.llc_bytes(), s.cpu.llc_bytes());
  EXPECT_EQ(t.pci_devices.size(), s.pci_devices.size());
  EXPECT_THAT(t.cpu.features(), ElementsAre("avx2", "fma"));
}

}  // namespace
}  // namespace headroom::probe
