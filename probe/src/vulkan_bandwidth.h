// The Vulkan memory-bandwidth benchmark: a compute shader (shaders/copy.comp, compiled to
// SPIR-V at build time) copies one device-local buffer into another, timed with timestamp
// queries. Private to probe/.
#pragma once

#include "absl/status/statusor.h"
#include "headroom/probe/vulkan.h"
#include "vulkan_device.h"
#include "vulkan_loader.h"

namespace headroom::probe::vk {

// Opens a logical device on `info`, measures, and tears everything down again. Bounded by
// options.time_budget_s plus set-up; every failure is a status naming the step.
absl::StatusOr<VulkanBandwidth> MeasureCopyBandwidth(const InstanceFunctions& fns,
                                                     const PhysicalDeviceInfo& info,
                                                     const VulkanBandwidthOptions& options);

}  // namespace headroom::probe::vk
