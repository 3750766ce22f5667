#include <algorithm>
#include <array>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "headroom/probe/vulkan.h"
#include "vulkan_bandwidth.h"
#include "vulkan_device.h"
#include "vulkan_loader.h"

namespace headroom::probe {

namespace {

// An instance and the loader it came from, released in that order.
struct Instance {
  // Declared first so that it is destroyed last: the instance's code lives in the library.
  std::unique_ptr<vk::Library> library;
  VkInstance handle = VK_NULL_HANDLE;
  uint32_t api_version = VK_API_VERSION_1_0;
  vk::InstanceFunctions fns;

  Instance() = default;
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  ~Instance() {
    if (handle != VK_NULL_HANDLE) fns.vkDestroyInstance(handle, nullptr);
  }
};

// Names the driver-selection variables when set: they are the usual reason a machine with a
// driver installed still finds none.
std::string DriverEnvironment() {
  std::string out;
  for (const char* name : {"VK_DRIVER_FILES", "VK_ICD_FILENAMES"}) {
    if (const char* value = std::getenv(name); value != nullptr) {
      absl::StrAppend(&out, out.empty() ? " (" : ", ", name, "=", value);
    }
  }
  return out.empty() ? out : out + ")";
}

bool HasInstanceExtension(const vk::Library& library, const char* wanted) {
  uint32_t count = 0;
  if (library.vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr) != VK_SUCCESS) {
    return false;
  }
  std::vector<VkExtensionProperties> properties(count);
  const VkResult result =
      library.vkEnumerateInstanceExtensionProperties(nullptr, &count, properties.data());
  if (result != VK_SUCCESS && result != VK_INCOMPLETE) return false;
  properties.resize(std::min<size_t>(count, properties.size()));
  return std::any_of(properties.begin(), properties.end(), [&](const VkExtensionProperties& p) {
    return std::string(p.extensionName) == wanted;
  });
}

// Creates the instance into `impl` (api_version and fns set). Vulkan 1.1+ loaders get the
// highest version this code knows (1.3), so 1.2 core structs can be queried; a 1.0 loader
// needs VK_KHR_get_physical_device_properties2 for anything beyond the basic properties.
absl::Status CreateInstance(Instance& instance, std::vector<std::string>& notes) {
  const vk::Library& library = *instance.library;
  uint32_t loader_version = VK_API_VERSION_1_0;
  if (library.enumerate_instance_version != nullptr &&
      library.enumerate_instance_version(&loader_version) != VK_SUCCESS) {
    loader_version = VK_API_VERSION_1_0;
  }
  const bool legacy = loader_version < VK_API_VERSION_1_1;
  const bool properties2_extension =
      legacy &&
      HasInstanceExtension(library, VK_KHR_GET_PHYSICAL_DEVICE_PROPERTIES_2_EXTENSION_NAME);
  const std::array<const char*, 1> extensions = {
      VK_KHR_GET_PHYSICAL_DEVICE_PROPERTIES_2_EXTENSION_NAME};

  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "headroom";
  app.pEngineName = "headroom";
  app.apiVersion = legacy ? VK_API_VERSION_1_0 : std::min(loader_version, VK_API_VERSION_1_3);
  VkInstanceCreateInfo create{};
  create.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  create.pApplicationInfo = &app;
  create.enabledExtensionCount = properties2_extension ? 1 : 0;
  create.ppEnabledExtensionNames = properties2_extension ? extensions.data() : nullptr;
  const VkResult result = library.vkCreateInstance(&create, nullptr, &instance.handle);
  if (result != VK_SUCCESS) {
    instance.handle = VK_NULL_HANDLE;
    return absl::UnavailableError(absl::StrCat(
        "no Vulkan driver: vkCreateInstance failed with ", vk::ResultName(result),
        result == VK_ERROR_INCOMPATIBLE_DRIVER ? ", the loader found no usable driver" : "",
        DriverEnvironment()));
  }
  instance.api_version = app.apiVersion;
  absl::StatusOr<vk::InstanceFunctions> fns =
      vk::LoadInstanceFunctions(library, instance.handle, properties2_extension);
  if (!fns.ok()) {
    auto destroy = reinterpret_cast<PFN_vkDestroyInstance>(
        library.get_instance_proc_addr(instance.handle, "vkDestroyInstance"));
    if (destroy != nullptr) destroy(instance.handle, nullptr);  // else a broken loader: leak
    instance.handle = VK_NULL_HANDLE;
    return fns.status();
  }
  instance.fns = *fns;
  if (legacy && !properties2_extension) {
    notes.emplace_back(
        "Vulkan 1.0 loader without VK_KHR_get_physical_device_properties2: no budgets, PCI "
        "addresses or driver names");
  }
  return absl::OkStatus();
}

absl::Status EnumerateDevices(const Instance& instance,
                              std::vector<vk::PhysicalDeviceInfo>& physical,
                              std::vector<headroom::v1::GpuDevice>& devices,
                              std::vector<std::string>& notes) {
  uint32_t count = 0;
  VkResult result = instance.fns.vkEnumeratePhysicalDevices(instance.handle, &count, nullptr);
  std::vector<VkPhysicalDevice> handles(count);
  if (result == VK_SUCCESS && count > 0) {
    result = instance.fns.vkEnumeratePhysicalDevices(instance.handle, &count, handles.data());
  }
  if (result != VK_SUCCESS && result != VK_INCOMPLETE) {
    return absl::UnavailableError(absl::StrCat(
        "no Vulkan driver: vkEnumeratePhysicalDevices failed with ", vk::ResultName(result)));
  }
  handles.resize(std::min<size_t>(count, handles.size()));
  if (handles.empty()) {
    return absl::UnavailableError(
        absl::StrCat("no Vulkan driver: the loader found no physical device", DriverEnvironment()));
  }
  physical.resize(handles.size());
  devices.resize(handles.size());
  for (size_t i = 0; i < handles.size(); ++i) {
    vk::ReadPhysicalDevice(instance.fns, handles[i], instance.api_version, physical[i], devices[i],
                           notes);
  }
  return absl::OkStatus();
}

// For each probed device, the index of its entry in `gpus`, or -1. Identical devices (same
// key) pair up in order.
std::vector<int> MatchDevices(
    const std::vector<headroom::v1::GpuDevice>& devices,
    const google::protobuf::RepeatedPtrField<headroom::v1::GpuDevice>& gpus) {
  std::vector<int> match(devices.size(), -1);
  std::vector<bool> taken(static_cast<size_t>(gpus.size()), false);
  for (size_t d = 0; d < devices.size(); ++d) {
    const std::string key = vk::DeviceKey(devices[d]);
    for (int g = 0; g < gpus.size(); ++g) {
      if (!taken[static_cast<size_t>(g)] && vk::DeviceKey(gpus[g]) == key) {
        taken[static_cast<size_t>(g)] = true;
        match[d] = g;
        break;
      }
    }
  }
  return match;
}

}  // namespace

struct VulkanProbe::Impl {
  Instance instance;
  std::vector<vk::PhysicalDeviceInfo> physical;
  std::vector<headroom::v1::GpuDevice> devices;
  std::vector<std::string> notes;
};

VulkanProbe::VulkanProbe(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VulkanProbe::~VulkanProbe() = default;

absl::StatusOr<std::unique_ptr<VulkanProbe>> VulkanProbe::Open(const VulkanOptions& options) {
  auto impl = std::make_unique<Impl>();
  absl::StatusOr<std::unique_ptr<vk::Library>> library = vk::Library::Open(options.loader_path);
  if (!library.ok()) return library.status();
  impl->instance.library = *std::move(library);
  if (absl::Status status = CreateInstance(impl->instance, impl->notes); !status.ok())
    return status;
  if (absl::Status status =
          EnumerateDevices(impl->instance, impl->physical, impl->devices, impl->notes);
      !status.ok()) {
    return status;
  }
  return std::unique_ptr<VulkanProbe>(new VulkanProbe(std::move(impl)));
}

const std::vector<headroom::v1::GpuDevice>& VulkanProbe::devices() const { return impl_->devices; }

const std::vector<std::string>& VulkanProbe::notes() const { return impl_->notes; }

absl::Status VulkanProbe::RefreshBudgets(headroom::v1::Hardware& hardware) {
  const std::vector<int> match = MatchDevices(impl_->devices, hardware.gpus());
  for (size_t d = 0; d < impl_->devices.size(); ++d) {
    headroom::v1::GpuDevice& device = impl_->devices[d];
    if (!impl_->physical[d].has_memory_budget) continue;
    vk::ReadBudgets(impl_->instance.fns, impl_->physical[d], device);
    if (match[d] < 0) continue;
    headroom::v1::GpuDevice& entry = *hardware.mutable_gpus(match[d]);
    entry.set_memory_free_bytes(device.memory_free_bytes());
    entry.set_memory_source(device.memory_source());
    if (entry.heaps_size() == device.heaps_size()) *entry.mutable_heaps() = device.heaps();
  }
  return absl::OkStatus();
}

absl::StatusOr<VulkanBandwidth> VulkanProbe::MeasureBandwidth(
    size_t index, const VulkanBandwidthOptions& options) const {
  if (index >= impl_->physical.size()) {
    return absl::OutOfRangeError(absl::StrCat("Vulkan device index ", index, " out of range (",
                                              impl_->physical.size(), " devices)"));
  }
  absl::StatusOr<VulkanBandwidth> result =
      vk::MeasureCopyBandwidth(impl_->instance.fns, impl_->physical[index], options);
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat(impl_->devices[index].name(),
                                     ": bandwidth measurement: ", result.status().message()));
  }
  return result;
}

std::unique_ptr<VulkanProbe> AddVulkanDevices(const VulkanOptions& options,
                                              headroom::v1::Hardware& hardware) {
  absl::StatusOr<std::unique_ptr<VulkanProbe>> probe = VulkanProbe::Open(options);
  if (!probe.ok()) {
    hardware.add_notes(std::string(probe.status().message()));
    return nullptr;
  }
  for (const headroom::v1::GpuDevice& device : (*probe)->devices()) *hardware.add_gpus() = device;
  for (const std::string& note : (*probe)->notes()) hardware.add_notes(note);
  return *std::move(probe);
}

void MeasureVulkanBandwidth(const VulkanProbe& probe, const VulkanBandwidthOptions& options,
                            headroom::v1::Hardware& hardware) {
  const std::vector<int> match = MatchDevices(probe.devices(), hardware.gpus());
  for (size_t d = 0; d < match.size(); ++d) {
    if (match[d] < 0) continue;
    absl::StatusOr<VulkanBandwidth> bandwidth = probe.MeasureBandwidth(d, options);
    if (!bandwidth.ok()) {
      hardware.add_notes(std::string(bandwidth.status().message()));
      continue;
    }
    headroom::v1::GpuDevice& entry = *hardware.mutable_gpus(match[d]);
    entry.set_bandwidth_gbps(bandwidth->gbps);
    entry.set_bandwidth_source(headroom::v1::SOURCE_MEASURED);
  }
}

}  // namespace headroom::probe
