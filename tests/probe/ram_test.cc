// RAM from fake /proc and /sys trees: no cgroup, cgroup v2 and v1 limits, "max", nesting,
// container mounts, old kernels; and the live machine.
#include "headroom/probe/ram.h"

#include "fake_system.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace headroom::probe {
namespace {

using fake::FakeSystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kGiBInKiB = uint64_t{1} << 20;
constexpr char kV2Mount[] =
    "24 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
constexpr char kV1Mounts[] =
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

headroom::v1::RamInfo Read(const FakeSystem& fs) {
  absl::StatusOr<headroom::v1::RamInfo> ram = RamReader(fs.paths()).Read();
  EXPECT_TRUE(ram.ok()) << ram.status();
  return ram.ok() ? *ram : headroom::v1::RamInfo();
}

TEST(Ram, NoCgroupIsMeminfo) {
  FakeSystem fs;
  fs.WriteMemInfo(24 * kGiBInKiB, 20 * kGiBInKiB, 2 * kGiBInKiB, kGiBInKiB);
  const headroom::v1::RamInfo ram = Read(fs);
  EXPECT_EQ(ram.total_bytes(), 24 * kGiB);
  EXPECT_EQ(ram.available_bytes(), 20 * kGiB);
  EXPECT_EQ(ram.limit_bytes(), 0u);
  EXPECT_EQ(ram.swap_total_bytes(), 2 * kGiB);
  EXPECT_EQ(ram.swap_free_bytes(), kGiB);
  EXPECT_EQ(ram.source(), "/proc/meminfo MemTotal, MemAvailable");
  EXPECT_EQ(RamReader(fs.paths()).Describe(), "no memory cgroup");
}

TEST(Ram, CgroupV2LimitCapsAvailable) {
  FakeSystem fs;
  fs.WriteMemInfo(64 * kGiBInKiB, 40 * kGiBInKiB);
  fs.Write("proc/self/cgroup", "0::/user.slice/app.scope\n");
  fs.Write("proc/self/mountinfo", kV2Mount);
  const std::string dir = "sys/fs/cgroup/user.slice/app.scope/";
  fs.Write(dir + "memory.max", "4294967296\n");
  fs.Write(dir + "memory.current", "1073741824\n");
  fs.Write(dir + "memory.stat", "anon 700000000\nfile 373741824\ninactive_file 268435456\n");
  const headroom::v1::RamInfo ram = Read(fs);
  EXPECT_EQ(ram.total_bytes(), 64 * kGiB);
  EXPECT_EQ(ram.limit_bytes(), 4 * kGiB);
  // 4 GiB - (1 GiB used - 256 MiB reclaimable cache)
  EXPECT_EQ(ram.available_bytes(), 4 * kGiB - kGiB + 268435456);
  EXPECT_THAT(ram.source(), HasSubstr("capped by cgroup v2 memory.max - (memory.current"));
  EXPECT_THAT(ram.source(), HasSubstr("user.slice/app.scope"));
  EXPECT_THAT(RamReader(fs.paths()).Describe(),
              HasSubstr("cgroup v2 " + fs.root() + "/sys/fs/cgroup/user.slice/app.scope"));

  // The reader re-reads usage on every call (what Refresh relies on).
  RamReader reader(fs.paths());
  fs.Write(dir + "memory.current", "3221225472\n");
  absl::StatusOr<headroom::v1::RamInfo> later = reader.Read();
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->available_bytes(), 4 * kGiB - 3 * kGiB + 268435456);
}

TEST(Ram, CgroupV2MaxMeansNoLimit) {
  FakeSystem fs;
  fs.WriteMemInfo(16 * kGiBInKiB, 10 * kGiBInKiB);
  fs.Write("proc/self/cgroup", "0::/user.slice\n");
  fs.Write("proc/self/mountinfo", kV2Mount);
  fs.Write("sys/fs/cgroup/user.slice/memory.max", "max\n");
  fs.Write("sys/fs/cgroup/user.slice/memory.current", "5000000000\n");
  const headroom::v1::RamInfo ram = Read(fs);
  EXPECT_EQ(ram.limit_bytes(), 0u);
  EXPECT_EQ(ram.available_bytes(), 10 * kGiB);
  EXPECT_EQ(ram.source(), "/proc/meminfo MemTotal, MemAvailable");
}

TEST(Ram, CgroupV2TightestAncestorWins) {
  FakeSystem fs;
  fs.WriteMemInfo(64 * kGiBInKiB, 60 * kGiBInKiB);
  fs.Write("proc/self/cgroup", "0::/batch.slice/job.scope\n");
  fs.Write("proc/self/mountinfo", kV2Mount);
  fs.Write("sys/fs/cgroup/batch.slice/job.scope/memory.max", "max\n");
  fs.Write("sys/fs/cgroup/batch.slice/memory.max", "2147483648\n");
  fs.Write("sys/fs/cgroup/batch.slice/memory.current", "1610612736\n");
  const headroom::v1::RamInfo ram = Read(fs);
  EXPECT_EQ(ram.limit_bytes(), 2 * kGiB);
  EXPECT_EQ(ram.available_bytes(), 2 * kGiB - 1610612736);
  EXPECT_THAT(ram.source(), HasSubstr("batch.slice"));
  EXPECT_THAT(ram.source(), Not(HasSubstr("job.scope")));
}

TEST(Ram, CgroupV2LimitAboveFreeMemoryIsNotBinding) {
  FakeSystem fs;
  fs.WriteMemInfo(64 * kGiBInKiB, 10 * kGiBInKiB);
  fs.Write("proc/self/cgroup", "0::/user.slice\n");
  fs.Write("proc/self/mountinfo", kV2Mount);
  fs.Write("sys/fs/cgroup/user.slice/memory.max", "34359738368\n");
  fs.Write("sys/fs/cgroup/user.slice/memory.current", "1073741824\n");
  const headroom::v1::RamInfo ram = Read(fs);
  EXPECT_EQ(ram.limit_bytes(), 32 * kGiB);
  EXPECT_EQ(ram.available_bytes(), 10 * kGiB);
  EXPECT_EQ(ram.source(),
            "/proc/meminfo MemTotal, MemAvailable; cgroup v2 limit 32.0 GiB not binding");
}

TEST(Ram, CgroupV2ContainerMountOfASubtree) {
  // A container sees its own cgroup as the root of the mount.
  FakeSystem fs;
  fs.WriteMemInfo(128 * kGiBInKiB, 100 * kGiBInKiB);
  fs.Write("proc/self/cgroup", "0::/kubepods/pod1/ctr\n");
  fs.Write("proc/self/mountinfo",
           "700 650 0:30 /kubepods/pod1/ctr /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw\n");
  fs.Write("sys/fs/cgroup/memory.max", "8589934592\n");
  fs.Write("sys/fs/cgroup/memory.current", "2147483648\n");
  const headroom::v1::RamInfo ram = Read(fs);
  EXPECT_EQ(ram.limit_bytes(), 8 * kGiB);
  EXPECT_EQ(ram.available_bytes(), 6 * kGiB);
}

TEST(Ram, CgroupV1LimitInBytes) {
  FakeSystem fs;
  fs.WriteMemInfo(32 * kGiBInKiB, 30 * kGiBInKiB);
  fs.Write("proc/self/cgroup", "5:devices:/docker/abc\n4:memory:/docker/abc\n0::/\n");
  fs.Write("proc/self/mountinfo", kV1Mounts);
  const std::string dir = "sys/fs/cgroup/memory/docker/abc/";
  fs.Write(dir + "memory.limit_in_bytes", "8589934592\n");
  fs.Write(dir + "memory.usage_in_bytes", "3221225472\n");
  fs.Write(dir + "memory.stat",
           "cache 1073741824\ninactive_file 5\ntotal_inactive_file 1073741824\n");
  const headroom::v1::RamInfo ram = Read(fs);
  EXPECT_EQ(ram.limit_bytes(), 8 * kGiB);
  EXPECT_EQ(ram.available_bytes(), 6 * kGiB);
  EXPECT_THAT(ram.source(), HasSubstr("cgroup v1 memory.limit_in_bytes"));
  EXPECT_THAT(RamReader(fs.paths()).Describe(), HasSubstr("cgroup v1 "));
}

TEST(Ram, CgroupV1UnlimitedIsNoLimit) {
  // What this project's own build machine shows: v1 memory cgroup with LONG_MAX page-rounded.
  FakeSystem fs;
  fs.WriteMemInfo(24 * kGiBInKiB, 23 * kGiBInKiB);
  fs.Write("proc/self/cgroup", "4:memory:/process_api/d603\n0::/\n");
  fs.Write("proc/self/mountinfo", kV1Mounts);
  fs.Write("sys/fs/cgroup/memory/process_api/d603/memory.limit_in_bytes", "9223372036854771712\n");
  fs.Write("sys/fs/cgroup/memory/process_api/d603/memory.usage_in_bytes", "2981888\n");
  fs.Write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  const headroom::v1::RamInfo ram = Read(fs);
  EXPECT_EQ(ram.limit_bytes(), 0u);
  EXPECT_EQ(ram.available_bytes(), 23 * kGiB);
}

TEST(Ram, NoMountinfoFallsBackToUsualMountPoints) {
  FakeSystem fs;
  fs.WriteMemInfo(32 * kGiBInKiB, 30 * kGiBInKiB);
  fs.Write("proc/self/cgroup", "0::/app\n");
  fs.Write("sys/fs/cgroup/app/memory.max", "1073741824\n");
  fs.Write("sys/fs/cgroup/app/memory.current", "0\n");
  EXPECT_EQ(Read(fs).available_bytes(), kGiB);
}

TEST(Ram, OldKernelWithoutMemAvailable) {
  FakeSystem fs;
  fs.Write("proc/meminfo",
           "MemTotal: 4000 kB\nMemFree: 1000 kB\nBuffers: 100 kB\nCached: 900 kB\n");
  const headroom::v1::RamInfo ram = Read(fs);
  EXPECT_EQ(ram.available_bytes(), 2000u * 1024);
  EXPECT_THAT(ram.source(), HasSubstr("no MemAvailable"));
}

TEST(Ram, MissingOrBrokenMeminfoIsAnErrorNamingTheFile) {
  FakeSystem fs;
  absl::StatusOr<headroom::v1::RamInfo> ram = RamReader(fs.paths()).Read();
  ASSERT_FALSE(ram.ok());
  EXPECT_THAT(std::string(ram.status().message()), HasSubstr(fs.paths().proc_dir + "/meminfo"));
  fs.Write("proc/meminfo", "MemFree: 12 kB\n");
  ram = RamReader(fs.paths()).Read();
  ASSERT_FALSE(ram.ok());
  EXPECT_THAT(std::string(ram.status().message()), HasSubstr("no MemTotal"));
}

TEST(Ram, LiveMachine) {
  absl::StatusOr<headroom::v1::RamInfo> ram = RamReader().Read();
  ASSERT_TRUE(ram.ok()) << ram.status();
  EXPECT_GT(ram->total_bytes(), 0u);
  EXPECT_GT(ram->available_bytes(), 0u);
  EXPECT_LE(ram->available_bytes(), ram->total_bytes());
  EXPECT_THAT(ram->source(), HasSubstr("/proc/meminfo"));
}

}  // namespace
}  // namespace headroom::probe
