// Vulkan devices of this machine: what each one is, how much of its memory is free right now,
// and how fast that memory is. The loader (libvulkan.so.1) is opened with dlopen(), so a
// machine without it still runs; every missing piece (no loader, no driver, an extension a
// driver lacks, a device that fails to open) becomes a note, never a crash.
// Thread-safety: a VulkanProbe is used from one thread at a time; distinct probes are
// independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headroom/v1/hardware.pb.h"

namespace headroom::probe {

struct VulkanOptions {
  // The loader library given to dlopen(); a name is searched the usual way, a path is taken
  // as is. Tests name a missing file to check the no-loader path.
  std::string loader_path = "libvulkan.so.1";
};

struct VulkanBandwidthOptions {
  // Upper bound of each of the two buffers (source and destination), bytes. The buffers are
  // also capped at an eighth of the device-local heap and at the device's storage-buffer and
  // allocation limits.
  uint64_t max_buffer_bytes = uint64_t{256} << 20;
  // Wall-clock budget of the timed copies, seconds; device set-up (about 0.1 s) comes on top.
  double time_budget_s = 2.0;
};

// One bandwidth measurement. GB/s counts the bytes read plus the bytes written (a copy of N
// bytes moves 2N), as STREAM's Copy and most GPU bandwidth tests do.
struct VulkanBandwidth {
  // 2 x copy_bytes x passes / seconds / 1e9, the best of the timed runs.
  double gbps = 0;
  // Size of each buffer, bytes.
  uint64_t buffer_bytes = 0;
  // Bytes copied per pass: the whole buffer, or a prefix of at least 1 MiB on a device too
  // slow to copy the whole buffer within the time budget.
  uint64_t copy_bytes = 0;
  // Copies in the best run.
  uint32_t passes = 0;
  // Duration of the best run, seconds.
  double seconds = 0;
  // Timed with GPU timestamp queries (else: wall clock around vkQueueSubmit + fence).
  bool gpu_timestamps = false;
};

// An open Vulkan instance and the facts read from its physical devices. Keeping it open makes
// RefreshBudgets() cheap: it re-reads only the memory budgets.
class VulkanProbe {
 public:
  // Loads the loader, creates an instance and reads every physical device. Errors (the
  // snapshot then has no Vulkan GPU) start with "no Vulkan loader" or "no Vulkan driver".
  static absl::StatusOr<std::unique_ptr<VulkanProbe>> Open(const VulkanOptions& options = {});
  ~VulkanProbe();
  VulkanProbe(const VulkanProbe&) = delete;
  VulkanProbe& operator=(const VulkanProbe&) = delete;

  // Physical devices in the loader's order, with memory as of Open() or the last refresh.
  // bandwidth_gbps is left 0 (SOURCE_UNSPECIFIED): measuring is MeasureBandwidth()'s job.
  const std::vector<headroom::v1::GpuDevice>& devices() const;

  // Why facts are missing ("llvmpipe (...): no VK_EXT_memory_budget, free memory assumed to
  // be the heap size"); device notes start with the device name.
  const std::vector<std::string>& notes() const;

  // Re-reads the memory budgets (VK_EXT_memory_budget) into devices() and into the entries
  // of `hardware.gpus` that describe these devices (same name, vendor and device id and PCI
  // address, matched in order). Entries from elsewhere are left alone.
  absl::Status RefreshBudgets(headroom::v1::Hardware& hardware);

  // Measures the memory bandwidth of devices()[index] with a compute-shader copy between two
  // device-local buffers. Opens a logical device for the duration of the call.
  absl::StatusOr<VulkanBandwidth> MeasureBandwidth(
      size_t index, const VulkanBandwidthOptions& options = {}) const;

 private:
  struct Impl;
  explicit VulkanProbe(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// For the live source: appends the Vulkan devices and notes to `hardware`. Returns the open
// probe for later refreshes, or nullptr when Vulkan is unavailable (the reason is then in
// hardware.notes and the snapshot is CPU-only).
std::unique_ptr<VulkanProbe> AddVulkanDevices(const VulkanOptions& options,
                                              headroom::v1::Hardware& hardware);

// Measures each of `probe`'s devices found in hardware.gpus (matched as RefreshBudgets()
// does) and sets bandwidth_gbps with SOURCE_MEASURED; a failure leaves the entry as it was
// and adds a note naming the device.
void MeasureVulkanBandwidth(const VulkanProbe& probe, const VulkanBandwidthOptions& options,
                            headroom::v1::Hardware& hardware);

}  // namespace headroom::probe
