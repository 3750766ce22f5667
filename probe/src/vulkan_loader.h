// The Vulkan loader, opened with dlopen() so that a machine without libvulkan still runs the
// probe, and the entry points the probe uses, fetched through vkGetInstanceProcAddr and
// vkGetDeviceProcAddr. Nothing here links against libvulkan: VK_NO_PROTOTYPES keeps the
// headers to types only.
// Thread-safety: a loaded table is immutable after Load*(); use it from any thread as Vulkan
// itself allows.
#pragma once

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace headroom::probe::vk {

// Entry points that need no instance.
#define HEADROOM_VK_GLOBAL_FUNCTIONS(X) \
  X(vkCreateInstance)                   \
  X(vkEnumerateInstanceExtensionProperties)

// Entry points of an instance (physical-device queries included); all required.
#define HEADROOM_VK_INSTANCE_FUNCTIONS(X)     \
  X(vkDestroyInstance)                        \
  X(vkEnumeratePhysicalDevices)               \
  X(vkGetPhysicalDeviceProperties)            \
  X(vkGetPhysicalDeviceMemoryProperties)      \
  X(vkGetPhysicalDeviceQueueFamilyProperties) \
  X(vkEnumerateDeviceExtensionProperties)     \
  X(vkCreateDevice)                           \
  X(vkGetDeviceProcAddr)

// Instance entry points a Vulkan 1.0 instance without
// VK_KHR_get_physical_device_properties2 lacks.
#define HEADROOM_VK_INSTANCE_OPTIONAL_FUNCTIONS(X) \
  X(vkGetPhysicalDeviceProperties2)                \
  X(vkGetPhysicalDeviceMemoryProperties2)

// Entry points of a logical device (the bandwidth benchmark's).
#define HEADROOM_VK_DEVICE_FUNCTIONS(X) \
  X(vkDestroyDevice)                    \
  X(vkGetDeviceQueue)                   \
  X(vkDeviceWaitIdle)                   \
  X(vkCreateBuffer)                     \
  X(vkDestroyBuffer)                    \
  X(vkGetBufferMemoryRequirements)      \
  X(vkAllocateMemory)                   \
  X(vkFreeMemory)                       \
  X(vkBindBufferMemory)                 \
  X(vkCreateShaderModule)               \
  X(vkDestroyShaderModule)              \
  X(vkCreateDescriptorSetLayout)        \
  X(vkDestroyDescriptorSetLayout)       \
  X(vkCreatePipelineLayout)             \
  X(vkDestroyPipelineLayout)            \
  X(vkCreateComputePipelines)           \
  X(vkDestroyPipeline)                  \
  X(vkCreateDescriptorPool)             \
  X(vkDestroyDescriptorPool)            \
  X(vkAllocateDescriptorSets)           \
  X(vkUpdateDescriptorSets)             \
  X(vkCreateCommandPool)                \
  X(vkDestroyCommandPool)               \
  X(vkAllocateCommandBuffers)           \
  X(vkBeginCommandBuffer)               \
  X(vkEndCommandBuffer)                 \
  X(vkCmdBindPipeline)                  \
  X(vkCmdBindDescriptorSets)            \
  X(vkCmdPushConstants)                 \
  X(vkCmdDispatch)                      \
  X(vkCmdPipelineBarrier)               \
  X(vkCmdFillBuffer)                    \
  X(vkCmdWriteTimestamp)                \
  X(vkCmdResetQueryPool)                \
  X(vkCreateQueryPool)                  \
  X(vkDestroyQueryPool)                 \
  X(vkGetQueryPoolResults)              \
  X(vkQueueSubmit)                      \
  X(vkCreateFence)                      \
  X(vkDestroyFence)                     \
  X(vkWaitForFences)                    \
  X(vkResetFences)

#define HEADROOM_VK_DECLARE(name) PFN_##name name = nullptr;

// The dlopen()ed loader library; closes it on destruction. Everything fetched from it must be
// destroyed first.
class Library {
 public:
  // Opens `path` ("libvulkan.so.1" or a file path). The error names the path and dlerror().
  static absl::StatusOr<std::unique_ptr<Library>> Open(const std::string& path);
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  PFN_vkGetInstanceProcAddr get_instance_proc_addr = nullptr;
  // Null on a Vulkan 1.0 loader.
  PFN_vkEnumerateInstanceVersion enumerate_instance_version = nullptr;
  HEADROOM_VK_GLOBAL_FUNCTIONS(HEADROOM_VK_DECLARE)

 private:
  explicit Library(void* handle) : handle_(handle) {}
  void* handle_;
};

// Instance-level entry points; the optional ones may be null.
struct InstanceFunctions {
  HEADROOM_VK_INSTANCE_FUNCTIONS(HEADROOM_VK_DECLARE)
  HEADROOM_VK_INSTANCE_OPTIONAL_FUNCTIONS(HEADROOM_VK_DECLARE)
};

// Device-level entry points; all required.
struct DeviceFunctions {
  HEADROOM_VK_DEVICE_FUNCTIONS(HEADROOM_VK_DECLARE)
};

// Fetches the instance functions; an error names the first missing one. `khr_suffix` also
// tries the "KHR"-suffixed names of the properties2 queries (1.0 instance + extension).
absl::StatusOr<InstanceFunctions> LoadInstanceFunctions(const Library& library, VkInstance instance,
                                                        bool khr_suffix);

// Fetches the device functions; an error names the first missing one.
absl::StatusOr<DeviceFunctions> LoadDeviceFunctions(const InstanceFunctions& instance_functions,
                                                    VkDevice device);

// "VK_ERROR_OUT_OF_DEVICE_MEMORY" etc., or the number for codes this table does not name.
std::string ResultName(VkResult result);

// "1.3.230" from a VK_MAKE_API_VERSION value.
std::string ApiVersionString(uint32_t version);

}  // namespace headroom::probe::vk
