// What the probe keeps about one Vulkan physical device between calls, and the readers that
// turn the driver's answers into a headroom.v1.GpuDevice. Private to probe/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "headroom/v1/hardware.pb.h"
#include "vulkan_loader.h"

namespace headroom::probe::vk {

struct PhysicalDeviceInfo {
  VkPhysicalDevice handle = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties properties{};
  VkPhysicalDeviceMemoryProperties memory{};
  // min(device API version, the instance's): what may be used of this device.
  uint32_t usable_api_version = VK_API_VERSION_1_0;
  bool has_properties2 = false;
  bool has_memory_budget = false;
};

// Reads one physical device: identity, type, driver, heaps, PCI address and, when the driver
// has VK_EXT_memory_budget, the budgets. Appends reasons for missing facts to `notes`.
void ReadPhysicalDevice(const InstanceFunctions& fns, VkPhysicalDevice handle,
                        uint32_t instance_api_version, PhysicalDeviceInfo& info,
                        headroom::v1::GpuDevice& device, std::vector<std::string>& notes);

// Re-reads the budgets of `info` into `device` (heaps[].budget_bytes/usage_bytes and
// memory_free_bytes). Does nothing for a device without VK_EXT_memory_budget.
void ReadBudgets(const InstanceFunctions& fns, const PhysicalDeviceInfo& info,
                 headroom::v1::GpuDevice& device);

// The key that matches a snapshot entry to a probed device.
std::string DeviceKey(const headroom::v1::GpuDevice& device);

}  // namespace headroom::probe::vk
