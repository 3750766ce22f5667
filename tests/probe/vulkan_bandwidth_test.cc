// The Vulkan compute-copy bandwidth benchmark on lavapipe (where it measures the CPU's memory
// through the software driver; the device stays not placeable). No timing assertions: the
// figures are checked for consistency, the speed itself is bench/vulkan_bench.cc's job.
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "headroom/probe/vulkan.h"

namespace headroom::probe {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMiB = uint64_t{1} << 20;

VulkanBandwidthOptions SmallRun() {
  VulkanBandwidthOptions options;
  options.max_buffer_bytes = 16 * kMiB;
  options.time_budget_s = 0.5;
  return options;
}

int FindLavapipe(const VulkanProbe& probe) {
  for (size_t i = 0; i < probe.devices().size(); ++i) {
    if (absl::StrContains(probe.devices()[i].name(), "llvmpipe")) return static_cast<int>(i);
  }
  ADD_FAILURE() << "lavapipe (mesa-vulkan-drivers) not found";
  return -1;
}

TEST(VulkanBandwidthTest, MeasuresLavapipeCopy) {
  absl::StatusOr<std::unique_ptr<VulkanProbe>> probe = VulkanProbe::Open();
  ASSERT_TRUE(probe.ok()) << probe.status();
  const int index = FindLavapipe(**probe);
  ASSERT_GE(index, 0);
  absl::StatusOr<VulkanBandwidth> bandwidth =
      (*probe)->MeasureBandwidth(static_cast<size_t>(index), SmallRun());
  ASSERT_TRUE(bandwidth.ok()) << bandwidth.status();
  EXPECT_GT(bandwidth->gbps, 0);
  EXPECT_EQ(bandwidth->buffer_bytes, 16 * kMiB);
  EXPECT_GE(bandwidth->copy_bytes, kMiB);
  EXPECT_LE(bandwidth->copy_bytes, bandwidth->buffer_bytes);
  EXPECT_GE(bandwidth->passes, 1u);
  EXPECT_GT(bandwidth->seconds, 0);
  // GB/s counts the bytes read plus the bytes written.
  const double expected_gbps = 2.0 * static_cast<double>(bandwidth->copy_bytes) *
                               bandwidth->passes / bandwidth->seconds / 1e9;
  EXPECT_DOUBLE_EQ(bandwidth->gbps, expected_gbps);
}

TEST(VulkanBandwidthTest, BuffersAreCappedByTheDeviceLimits) {
  absl::StatusOr<std::unique_ptr<VulkanProbe>> probe = VulkanProbe::Open();
  ASSERT_TRUE(probe.ok()) << probe.status();
  const int index = FindLavapipe(**probe);
  ASSERT_GE(index, 0);
  const v1::GpuDevice& device = (*probe)->devices()[static_cast<size_t>(index)];
  VulkanBandwidthOptions options = SmallRun();
  options.max_buffer_bytes = uint64_t{1} << 40;
  options.time_budget_s = 0.2;
  absl::StatusOr<VulkanBandwidth> bandwidth =
      (*probe)->MeasureBandwidth(static_cast<size_t>(index), options);
  ASSERT_TRUE(bandwidth.ok()) << bandwidth.status();
  EXPECT_LE(bandwidth->buffer_bytes, device.memory_total_bytes() / 8);
  EXPECT_EQ(bandwidth->buffer_bytes % 4096, 0u);
  EXPECT_GT(bandwidth->gbps, 0);
}

TEST(VulkanBandwidthTest, RejectsBadRequestsWithoutTouchingTheDevice) {
  absl::StatusOr<std::unique_ptr<VulkanProbe>> probe = VulkanProbe::Open();
  ASSERT_TRUE(probe.ok()) << probe.status();
  const size_t count = (*probe)->devices().size();

  absl::StatusOr<VulkanBandwidth> out_of_range = (*probe)->MeasureBandwidth(count, SmallRun());
  EXPECT_EQ(out_of_range.status().code(), absl::StatusCode::kOutOfRange);

  VulkanBandwidthOptions tiny = SmallRun();
  tiny.max_buffer_bytes = 1000;
  absl::StatusOr<VulkanBandwidth> too_small = (*probe)->MeasureBandwidth(0, tiny);
  EXPECT_EQ(too_small.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(too_small.status().message()), HasSubstr("1 MiB"));
  EXPECT_THAT(std::string(too_small.status().message()), HasSubstr((*probe)->devices()[0].name()));

  VulkanBandwidthOptions no_time = SmallRun();
  no_time.time_budget_s = 0;
  EXPECT_EQ((*probe)->MeasureBandwidth(0, no_time).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(VulkanBandwidthTest, MeasureVulkanBandwidthFillsSnapshotEntries) {
  v1::Hardware hardware;
  std::unique_ptr<VulkanProbe> probe = AddVulkanDevices({}, hardware);
  ASSERT_NE(probe, nullptr);
  const int index = FindLavapipe(*probe);
  ASSERT_GE(index, 0);
  MeasureVulkanBandwidth(*probe, SmallRun(), hardware);
  const v1::GpuDevice& entry = hardware.gpus(index);
  EXPECT_EQ(entry.bandwidth_source(), v1::SOURCE_MEASURED);
  EXPECT_GT(entry.bandwidth_gbps(), 0);
  // Measured or not, a software device is never offered for placement.
  EXPECT_FALSE(entry.placeable());
}

TEST(VulkanBandwidthTest, FailedMeasurementBecomesNoteAndLeavesEntry) {
  v1::Hardware hardware;
  std::unique_ptr<VulkanProbe> probe = AddVulkanDevices({}, hardware);
  ASSERT_NE(probe, nullptr);
  const int notes_before = hardware.notes_size();
  VulkanBandwidthOptions tiny = SmallRun();
  tiny.max_buffer_bytes = 1000;
  MeasureVulkanBandwidth(*probe, tiny, hardware);
  for (const v1::GpuDevice& entry : hardware.gpus()) {
    EXPECT_EQ(entry.bandwidth_source(), v1::SOURCE_UNSPECIFIED);
    EXPECT_EQ(entry.bandwidth_gbps(), 0);
  }
  ASSERT_EQ(hardware.notes_size(), notes_before + hardware.gpus_size());
  EXPECT_THAT(hardware.notes(notes_before), HasSubstr("bandwidth measurement"));
}

}  // namespace
}  // namespace headroom::probe
