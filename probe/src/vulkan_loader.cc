#include "vulkan_loader.h"

#include <dlfcn.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace headroom::probe::vk {
namespace {

// dlsym() returns void*; converting it to a function pointer is what POSIX guarantees works.
template <typename Fn>
Fn SymbolAs(void* symbol) {
  Fn fn;
  static_assert(sizeof(fn) == sizeof(symbol));
  std::memcpy(&fn, &symbol, sizeof(fn));
  return fn;
}

// Stores `proc` as the typed entry point `slot`; remembers the first name that was null.
template <typename Fn>
void Resolve(PFN_vkVoidFunction proc, const char* name, Fn& slot, const char*& missing) {
  slot = reinterpret_cast<Fn>(proc);
  if (slot == nullptr && missing == nullptr) missing = name;
}

template <typename Fn>
Fn InstanceProc(const Library& library, VkInstance instance, const char* name) {
  return reinterpret_cast<Fn>(library.get_instance_proc_addr(instance, name));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Library>> Library::Open(const std::string& path) {
  // RTLD_LOCAL keeps the loader's symbols out of the global namespace, so a launcher that
  // links its own libvulkan is not affected.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = dlerror();
    return absl::NotFoundError(absl::StrCat("no Vulkan loader: dlopen(\"", path, "\") failed: ",
                                            reason != nullptr ? reason : "unknown"));
  }
  std::unique_ptr<Library> library(new Library(handle));
  library->get_instance_proc_addr =
      SymbolAs<PFN_vkGetInstanceProcAddr>(dlsym(handle, "vkGetInstanceProcAddr"));
  if (library->get_instance_proc_addr == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no Vulkan loader: \"", path, "\" has no vkGetInstanceProcAddr"));
  }
  library->enumerate_instance_version = InstanceProc<PFN_vkEnumerateInstanceVersion>(
      *library, VK_NULL_HANDLE, "vkEnumerateInstanceVersion");
#define HEADROOM_VK_LOAD_GLOBAL(name)                                                      \
  library->name = InstanceProc<PFN_##name>(*library, VK_NULL_HANDLE, #name);               \
  if (library->name == nullptr) {                                                          \
    return absl::NotFoundError(absl::StrCat("Vulkan loader \"", path, "\" lacks " #name)); \
  }
  HEADROOM_VK_GLOBAL_FUNCTIONS(HEADROOM_VK_LOAD_GLOBAL)
#undef HEADROOM_VK_LOAD_GLOBAL
  return library;
}

Library::~Library() { dlclose(handle_); }

absl::StatusOr<InstanceFunctions> LoadInstanceFunctions(const Library& library, VkInstance instance,
                                                        bool khr_suffix) {
  InstanceFunctions fns;
  const char* missing = nullptr;
#define HEADROOM_VK_LOAD_INSTANCE(name) \
  Resolve(library.get_instance_proc_addr(instance, #name), #name, fns.name, missing);
  HEADROOM_VK_INSTANCE_FUNCTIONS(HEADROOM_VK_LOAD_INSTANCE)
#undef HEADROOM_VK_LOAD_INSTANCE
  if (missing != nullptr) {
    return absl::InternalError(absl::StrCat("Vulkan instance lacks ", missing));
  }
  // Vulkan 1.0 instances expose the properties2 queries under the extension's names.
  const char* optional_missing = nullptr;
#define HEADROOM_VK_LOAD_OPTIONAL(name)                                                      \
  Resolve(library.get_instance_proc_addr(instance, khr_suffix ? #name "KHR" : #name), #name, \
          fns.name, optional_missing);
  HEADROOM_VK_INSTANCE_OPTIONAL_FUNCTIONS(HEADROOM_VK_LOAD_OPTIONAL)
#undef HEADROOM_VK_LOAD_OPTIONAL
  return fns;
}

absl::StatusOr<DeviceFunctions> LoadDeviceFunctions(const InstanceFunctions& instance_functions,
                                                    VkDevice device) {
  DeviceFunctions fns;
  const char* missing = nullptr;
#define HEADROOM_VK_LOAD_DEVICE(name) \
  Resolve(instance_functions.vkGetDeviceProcAddr(device, #name), #name, fns.name, missing);
  HEADROOM_VK_DEVICE_FUNCTIONS(HEADROOM_VK_LOAD_DEVICE)
#undef HEADROOM_VK_LOAD_DEVICE
  if (missing != nullptr) return absl::InternalError(absl::StrCat("Vulkan device lacks ", missing));
  return fns;
}

std::string ResultName(VkResult result) {
  switch (result) {
    case VK_SUCCESS:
      return "VK_SUCCESS";
    case VK_NOT_READY:
      return "VK_NOT_READY";
    case VK_TIMEOUT:
      return "VK_TIMEOUT";
    case VK_INCOMPLETE:
      return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED:
      return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST:
      return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_LAYER_NOT_PRESENT:
      return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT:
      return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT:
      return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER:
      return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS:
      return "VK_ERROR_TOO_MANY_OBJECTS";
    default:
      return absl::StrCat("VkResult(", static_cast<int>(result), ")");
  }
}

std::string ApiVersionString(uint32_t version) {
  return absl::StrCat(VK_API_VERSION_MAJOR(version), ".", VK_API_VERSION_MINOR(version), ".",
                      VK_API_VERSION_PATCH(version));
}

}  // namespace headroom::probe::vk
