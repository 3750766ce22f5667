// The Vulkan probe against the real loader and Mesa's lavapipe (a Vulkan device that runs on
// the CPU), and its degraded paths: the loader pointed at no driver, and no loader at all.
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "headroom/probe/vulkan.h"

namespace headroom::probe {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Sets an environment variable for the scope of a test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name); old != nullptr) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Index of lavapipe among the probe's devices; fails the test when it is missing.
int FindLavapipe(const VulkanProbe& probe) {
  for (size_t i = 0; i < probe.devices().size(); ++i) {
    if (absl::StrContains(probe.devices()[i].name(), "llvmpipe")) return static_cast<int>(i);
  }
  ADD_FAILURE() << "lavapipe (mesa-vulkan-drivers) not among " << probe.devices().size()
                << " Vulkan devices";
  return -1;
}

bool HasNote(const std::vector<std::string>& notes, const std::string& needle) {
  for (const std::string& note : notes) {
    if (absl::StrContains(note, needle)) return true;
  }
  return false;
}

TEST(VulkanProbeTest, ReportsLavapipeAsCpuDeviceThatIsNotPlaceable) {
  absl::StatusOr<std::unique_ptr<VulkanProbe>> probe = VulkanProbe::Open();
  ASSERT_TRUE(probe.ok()) << probe.status();
  const int index = FindLavapipe(**probe);
  ASSERT_GE(index, 0);
  const v1::GpuDevice& device = (*probe)->devices()[static_cast<size_t>(index)];

  EXPECT_EQ(device.type(), v1::DEVICE_TYPE_CPU);
  EXPECT_FALSE(device.placeable());
  EXPECT_THAT(device.not_placeable_reason(), HasSubstr("software Vulkan device"));
  EXPECT_THAT(device.driver(), HasSubstr("llvmpipe"));
  EXPECT_THAT(device.api_version(), StartsWith("1."));
  EXPECT_EQ(device.vendor_id(), 0x10005u);  // VK_VENDOR_ID_MESA
  EXPECT_TRUE(device.unified_memory());
  EXPECT_TRUE(device.pci_address().empty());
  EXPECT_EQ(device.numa_node(), -1);
  EXPECT_EQ(device.bandwidth_source(), v1::SOURCE_UNSPECIFIED);

  // Heaps: the counted ones add up to the total, and each carries its budget when the
  // driver has VK_EXT_memory_budget.
  ASSERT_GT(device.heaps_size(), 0);
  uint64_t counted_bytes = 0;
  for (const v1::GpuMemoryHeap& heap : device.heaps()) {
    EXPECT_GT(heap.size_bytes(), 0u);
    if (heap.counted()) counted_bytes += heap.size_bytes();
  }
  EXPECT_GT(counted_bytes, 0u);
  EXPECT_EQ(device.memory_total_bytes(), counted_bytes);
  EXPECT_GT(device.memory_free_bytes(), 0u);
  EXPECT_LE(device.memory_free_bytes(), device.memory_total_bytes());
  if (device.memory_source() == v1::SOURCE_REPORTED) {
    EXPECT_GT(device.heaps(0).budget_bytes(), 0u);
  } else {
    EXPECT_EQ(device.memory_source(), v1::SOURCE_ASSUMED);
    EXPECT_EQ(device.memory_free_bytes(), device.memory_total_bytes());
    EXPECT_TRUE(HasNote((*probe)->notes(), device.name() + ": no VK_EXT_memory_budget"));
  }
}

TEST(VulkanProbeTest, AddVulkanDevicesAppendsDevicesAndNotes) {
  v1::Hardware hardware;
  hardware.add_notes("earlier note");
  std::unique_ptr<VulkanProbe> probe = AddVulkanDevices({}, hardware);
  ASSERT_NE(probe, nullptr);
  ASSERT_EQ(static_cast<size_t>(hardware.gpus_size()), probe->devices().size());
  for (size_t i = 0; i < probe->devices().size(); ++i) {
    EXPECT_EQ(hardware.gpus(static_cast<int>(i)).name(), probe->devices()[i].name());
  }
  EXPECT_EQ(hardware.notes(0), "earlier note");
  EXPECT_EQ(static_cast<size_t>(hardware.notes_size()), 1 + probe->notes().size());
}

TEST(VulkanProbeTest, RefreshBudgetsTouchesOnlyItsOwnDevices) {
  v1::Hardware hardware;
  v1::GpuDevice* table_gpu = hardware.add_gpus();
  table_gpu->set_name("NVIDIA GeForce RTX 4090");
  table_gpu->set_memory_free_bytes(123);
  std::unique_ptr<VulkanProbe> probe = AddVulkanDevices({}, hardware);
  ASSERT_NE(probe, nullptr);
  const int index = FindLavapipe(*probe);
  ASSERT_GE(index, 0);
  v1::GpuDevice& entry = *hardware.mutable_gpus(1 + index);
  ASSERT_EQ(entry.name(), probe->devices()[static_cast<size_t>(index)].name());
  entry.set_memory_free_bytes(7);

  ASSERT_TRUE(probe->RefreshBudgets(hardware).ok());
  EXPECT_EQ(hardware.gpus(0).memory_free_bytes(), 123u);
  if (entry.memory_source() == v1::SOURCE_REPORTED) {
    // A live budget replaces the stale figure.
    EXPECT_NE(entry.memory_free_bytes(), 7u);
    EXPECT_LE(entry.memory_free_bytes(), entry.memory_total_bytes());
  } else {
    // Nothing to re-read: an assumed figure is left as the caller has it.
    EXPECT_EQ(entry.memory_source(), v1::SOURCE_ASSUMED);
    EXPECT_EQ(entry.memory_free_bytes(), 7u);
  }
}

TEST(VulkanProbeTest, LoaderWithoutDriverGivesCpuOnlySnapshotWithReason) {
  {
    // The loader reads these at vkCreateInstance time, so setting them here is enough even
    // though other tests already loaded it.
    ScopedEnv driver_files("VK_DRIVER_FILES", "/nonexistent/headroom_no_icd.json");
    ScopedEnv icd_filenames("VK_ICD_FILENAMES", "/nonexistent/headroom_no_icd.json");
    absl::StatusOr<std::unique_ptr<VulkanProbe>> probe = VulkanProbe::Open();
    ASSERT_FALSE(probe.ok());
    EXPECT_THAT(std::string(probe.status().message()), StartsWith("no Vulkan driver"));
    EXPECT_THAT(std::string(probe.status().message()), HasSubstr("headroom_no_icd.json"));

    v1::Hardware hardware;
    EXPECT_EQ(AddVulkanDevices({}, hardware), nullptr);
    EXPECT_EQ(hardware.gpus_size(), 0);
    ASSERT_EQ(hardware.notes_size(), 1);
    EXPECT_THAT(hardware.notes(0), StartsWith("no Vulkan driver"));
  }
  // And the same process finds the driver again once the variables are gone.
  absl::StatusOr<std::unique_ptr<VulkanProbe>> probe = VulkanProbe::Open();
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_GE(FindLavapipe(**probe), 0);
}

TEST(VulkanProbeTest, MissingLoaderGivesCpuOnlySnapshotWithReason) {
  VulkanOptions options;
  options.loader_path = "/nonexistent/libvulkan.so.1";
  absl::StatusOr<std::unique_ptr<VulkanProbe>> probe = VulkanProbe::Open(options);
  ASSERT_FALSE(probe.ok());
  EXPECT_THAT(std::string(probe.status().message()), StartsWith("no Vulkan loader"));
  EXPECT_THAT(std::string(probe.status().message()), HasSubstr("/nonexistent/libvulkan.so.1"));

  v1::Hardware hardware;
  EXPECT_EQ(AddVulkanDevices(options, hardware), nullptr);
  EXPECT_EQ(hardware.gpus_size(), 0);
  ASSERT_EQ(hardware.notes_size(), 1);
  EXPECT_THAT(hardware.notes(0), StartsWith("no Vulkan loader"));
}

TEST(VulkanProbeTest, LibraryWithoutVulkanEntryPointIsNoLoader) {
  // A real shared library that is not a Vulkan loader.
  VulkanOptions options;
  options.loader_path = "libm.so.6";
  absl::StatusOr<std::unique_ptr<VulkanProbe>> probe = VulkanProbe::Open(options);
  ASSERT_FALSE(probe.ok());
  EXPECT_THAT(std::string(probe.status().message()), StartsWith("no Vulkan loader"));
  EXPECT_THAT(std::string(probe.status().message()), HasSubstr("vkGetInstanceProcAddr"));
}

}  // namespace
}  // namespace headroom::probe
