#include "vulkan_device.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace headroom::probe::vk {
namespace {

using headroom::v1::DeviceType;
using headroom::v1::GpuDevice;

std::set<std::string> DeviceExtensions(const InstanceFunctions& fns, VkPhysicalDevice handle,
                                       const std::string& name, std::vector<std::string>& notes) {
  uint32_t count = 0;
  VkResult result = fns.vkEnumerateDeviceExtensionProperties(handle, nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> properties(count);
  if (result == VK_SUCCESS && count > 0) {
    result = fns.vkEnumerateDeviceExtensionProperties(handle, nullptr, &count, properties.data());
  }
  if (result != VK_SUCCESS && result != VK_INCOMPLETE) {
    notes.push_back(absl::StrCat(name, ": listing device extensions failed (", ResultName(result),
                                 "); budget, PCI address and driver name unknown"));
    return {};
  }
  std::set<std::string> names;
  for (uint32_t i = 0; i < std::min<uint32_t>(count, static_cast<uint32_t>(properties.size()));
       ++i) {
    names.insert(properties[i].extensionName);
  }
  return names;
}

DeviceType MapType(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return headroom::v1::DEVICE_TYPE_DISCRETE_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return headroom::v1::DEVICE_TYPE_INTEGRATED_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return headroom::v1::DEVICE_TYPE_VIRTUAL_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return headroom::v1::DEVICE_TYPE_CPU;
    default:
      return headroom::v1::DEVICE_TYPE_UNSPECIFIED;
  }
}

// Drivers encode driverVersion their own way; only used when VK_KHR_driver_properties is
// missing, since driverInfo then gives the version as the vendor writes it.
std::string DriverVersionString(uint32_t vendor_id, uint32_t version) {
  if (vendor_id == 0x10de) {  // NVIDIA: 10.8.8.6 bits
    return absl::StrFormat("%u.%u.%u", version >> 22, (version >> 14) & 0xffu,
                           (version >> 6) & 0xffu);
  }
  return ApiVersionString(version);
}

// Software rasterizers that expose the CPU as a Vulkan device. Some report a non-CPU type in
// older releases, so the driver id is checked too.
bool IsSoftwareDriver(VkDriverId driver_id) {
  return driver_id == VK_DRIVER_ID_MESA_LLVMPIPE || driver_id == VK_DRIVER_ID_GOOGLE_SWIFTSHADER;
}

struct ExtendedProperties {
  VkPhysicalDeviceDriverProperties driver{};
  VkPhysicalDevicePCIBusInfoPropertiesEXT pci{};
  bool has_driver = false;
  bool has_pci = false;
};

ExtendedProperties ReadExtendedProperties(const InstanceFunctions& fns,
                                          const PhysicalDeviceInfo& info,
                                          const std::set<std::string>& extensions) {
  ExtendedProperties out;
  if (!info.has_properties2) return out;
  out.has_driver = info.usable_api_version >= VK_API_VERSION_1_2 ||
                   extensions.contains(VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
  out.has_pci = extensions.contains(VK_EXT_PCI_BUS_INFO_EXTENSION_NAME);
  VkPhysicalDeviceProperties2 properties2{};
  properties2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  void** next = &properties2.pNext;
  if (out.has_driver) {
    out.driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
    *next = &out.driver;
    next = &out.driver.pNext;
  }
  if (out.has_pci) {
    out.pci.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PCI_BUS_INFO_PROPERTIES_EXT;
    *next = &out.pci;
  }
  fns.vkGetPhysicalDeviceProperties2(info.handle, &properties2);
  return out;
}

// Which heaps make up the device's memory. Like llama.cpp's Vulkan backend: the device-local
// heaps, and for an integrated GPU every heap, since it allocates from system memory as well.
void ChooseHeaps(PhysicalDeviceInfo& info, GpuDevice& device) {
  const VkPhysicalDeviceMemoryProperties& memory = info.memory;
  const bool integrated = info.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU;
  bool device_local_host_visible = false;
  uint64_t total_bytes = 0;
  for (uint32_t h = 0; h < memory.memoryHeapCount && h < VK_MAX_MEMORY_HEAPS; ++h) {
    const VkMemoryHeap& heap = memory.memoryHeaps[h];
    headroom::v1::GpuMemoryHeap* out = device.add_heaps();
    out->set_size_bytes(heap.size);
    out->set_device_local((heap.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0);
    for (uint32_t t = 0; t < memory.memoryTypeCount && t < VK_MAX_MEMORY_TYPES; ++t) {
      if (memory.memoryTypes[t].heapIndex == h &&
          (memory.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0) {
        out->set_host_visible(true);
      }
    }
    if (out->device_local() && out->host_visible()) device_local_host_visible = true;
    if (out->device_local() || integrated) {
      out->set_counted(true);
      total_bytes += heap.size;
    }
  }
  device.set_memory_total_bytes(total_bytes);
  device.set_memory_free_bytes(total_bytes);
  device.set_memory_source(headroom::v1::SOURCE_ASSUMED);
  // A discrete card with resizable BAR also has host-visible device-local memory; only a
  // device that is the host's memory (iGPU, software device) shares it.
  device.set_unified_memory(device_local_host_visible &&
                            (device.type() == headroom::v1::DEVICE_TYPE_INTEGRATED_GPU ||
                             device.type() == headroom::v1::DEVICE_TYPE_CPU));
}

void SetPlacement(GpuDevice& device) {
  device.set_placeable(false);
  if (device.type() == headroom::v1::DEVICE_TYPE_CPU) {
    device.set_not_placeable_reason(
        absl::StrCat("software Vulkan device (", device.driver(), ") running on the CPU"));
  } else if (device.type() == headroom::v1::DEVICE_TYPE_UNSPECIFIED) {
    device.set_not_placeable_reason("Vulkan reports device type OTHER");
  } else if (device.memory_total_bytes() == 0) {
    device.set_not_placeable_reason("no device-local memory heap");
  } else {
    device.set_placeable(true);
  }
}

}  // namespace

void ReadPhysicalDevice(const InstanceFunctions& fns, VkPhysicalDevice handle,
                        uint32_t instance_api_version, PhysicalDeviceInfo& info, GpuDevice& device,
                        std::vector<std::string>& notes) {
  info.handle = handle;
  fns.vkGetPhysicalDeviceProperties(handle, &info.properties);
  fns.vkGetPhysicalDeviceMemoryProperties(handle, &info.memory);
  const VkPhysicalDeviceProperties& props = info.properties;
  info.usable_api_version = std::min(props.apiVersion, instance_api_version);
  info.has_properties2 = fns.vkGetPhysicalDeviceProperties2 != nullptr &&
                         fns.vkGetPhysicalDeviceMemoryProperties2 != nullptr;
  const std::string name(props.deviceName, strnlen(props.deviceName, sizeof(props.deviceName)));
  device.set_name(name);
  device.set_vendor_id(props.vendorID);
  device.set_device_id(props.deviceID);
  device.set_api_version(ApiVersionString(props.apiVersion));
  device.set_numa_node(-1);

  const std::set<std::string> extensions = DeviceExtensions(fns, handle, name, notes);
  const ExtendedProperties extended = ReadExtendedProperties(fns, info, extensions);
  DeviceType type = MapType(props.deviceType);
  if (extended.has_driver) {
    const VkPhysicalDeviceDriverProperties& d = extended.driver;
    device.set_driver(
        absl::StrCat(std::string(d.driverName, strnlen(d.driverName, sizeof(d.driverName))), " ",
                     std::string(d.driverInfo, strnlen(d.driverInfo, sizeof(d.driverInfo)))));
    if (IsSoftwareDriver(d.driverID)) type = headroom::v1::DEVICE_TYPE_CPU;
  } else {
    device.set_driver(
        absl::StrCat("driver ", DriverVersionString(props.vendorID, props.driverVersion)));
    notes.push_back(absl::StrCat(name, ": no VK_KHR_driver_properties, driver name unknown"));
  }
  device.set_type(type);
  if (extended.has_pci) {
    device.set_pci_address(absl::StrFormat("%04x:%02x:%02x.%x", extended.pci.pciDomain,
                                           extended.pci.pciBus, extended.pci.pciDevice,
                                           extended.pci.pciFunction));
  } else if (type != headroom::v1::DEVICE_TYPE_CPU) {
    // A software device has no PCI address to miss.
    notes.push_back(absl::StrCat(name, ": no VK_EXT_pci_bus_info, NUMA locality unknown"));
  }

  ChooseHeaps(info, device);
  info.has_memory_budget =
      info.has_properties2 && extensions.contains(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  if (info.has_memory_budget) {
    ReadBudgets(fns, info, device);
  } else {
    notes.push_back(
        absl::StrCat(name, ": no VK_EXT_memory_budget, free memory assumed to be the heap size"));
  }
  SetPlacement(device);
}

void ReadBudgets(const InstanceFunctions& fns, const PhysicalDeviceInfo& info, GpuDevice& device) {
  if (!info.has_memory_budget) return;
  VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{};
  budget.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT;
  VkPhysicalDeviceMemoryProperties2 memory2{};
  memory2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2;
  memory2.pNext = &budget;
  fns.vkGetPhysicalDeviceMemoryProperties2(info.handle, &memory2);
  uint64_t free_bytes = 0;
  const int heap_count = std::min(device.heaps_size(), static_cast<int>(VK_MAX_MEMORY_HEAPS));
  for (int h = 0; h < heap_count; ++h) {
    headroom::v1::GpuMemoryHeap& heap = *device.mutable_heaps(h);
    const auto index = static_cast<size_t>(h);
    heap.set_budget_bytes(budget.heapBudget[index]);
    heap.set_usage_bytes(budget.heapUsage[index]);
    // Another process may push usage past the budget; free is then zero, not a wrap-around.
    if (heap.counted() && budget.heapBudget[index] > budget.heapUsage[index]) {
      free_bytes += budget.heapBudget[index] - budget.heapUsage[index];
    }
  }
  device.set_memory_free_bytes(free_bytes);
  device.set_memory_source(headroom::v1::SOURCE_REPORTED);
}

std::string DeviceKey(const GpuDevice& device) {
  return absl::StrCat(device.name(), "|", device.vendor_id(), "|", device.device_id(), "|",
                      device.pci_address());
}

}  // namespace headroom::probe::vk
