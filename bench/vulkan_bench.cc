// Benchmarks of the Vulkan probe. Run: build/bench/vulkan_bench
// - BM_VulkanOpen: dlopen the loader, create an instance, read every device (part of the cold
//   probe, target <= 300 ms with the rest of the snapshot).
// - BM_VulkanRefreshBudgets: re-read the memory budgets of an open probe (part of the live
//   refresh, target <= 2 ms).
// - BM_VulkanBandwidth/<device>: one compute-copy measurement per device with the default
//   options (target <= 3 s); counters give GB/s (read + write bytes, 1e9) and the buffer size.
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "headroom/probe/vulkan.h"

namespace {

using headroom::probe::VulkanBandwidth;
using headroom::probe::VulkanProbe;

void BM_VulkanOpen(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<VulkanProbe>> probe = VulkanProbe::Open();
    if (!probe.ok()) {
      state.SkipWithError(std::string(probe.status().message()).c_str());
      return;
    }
    state.counters["devices"] = static_cast<double>((*probe)->devices().size());
  }
}
BENCHMARK(BM_VulkanOpen)->Unit(benchmark::kMillisecond);

void BM_VulkanRefreshBudgets(benchmark::State& state) {
  headroom::v1::Hardware hardware;
  std::unique_ptr<VulkanProbe> probe = headroom::probe::AddVulkanDevices({}, hardware);
  if (probe == nullptr) {
    state.SkipWithError(hardware.notes(0).c_str());
    return;
  }
  for (auto _ : state) {
    absl::Status status = probe->RefreshBudgets(hardware);
    benchmark::DoNotOptimize(status);
  }
  state.counters["devices"] = static_cast<double>(probe->devices().size());
}
BENCHMARK(BM_VulkanRefreshBudgets)->Unit(benchmark::kMicrosecond);

void BM_VulkanBandwidth(benchmark::State& state, const VulkanProbe* probe, size_t index) {
  VulkanBandwidth last;
  for (auto _ : state) {
    absl::StatusOr<VulkanBandwidth> bandwidth = probe->MeasureBandwidth(index);
    if (!bandwidth.ok()) {
      state.SkipWithError(std::string(bandwidth.status().message()).c_str());
      return;
    }
    last = *bandwidth;
  }
  state.counters["gbps"] = last.gbps;
  state.counters["buffer_mib"] = static_cast<double>(last.buffer_bytes >> 20);
  state.counters["copy_mib"] = static_cast<double>(last.copy_bytes >> 20);
  state.counters["passes"] = last.passes;
  state.counters["gpu_timestamps"] = last.gpu_timestamps ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // The bandwidth cases are registered per device found; the probe outlives the run.
  absl::StatusOr<std::unique_ptr<VulkanProbe>> probe = VulkanProbe::Open();
  if (probe.ok()) {
    for (size_t i = 0; i < (*probe)->devices().size(); ++i) {
      benchmark::RegisterBenchmark(("BM_VulkanBandwidth/" + (*probe)->devices()[i].name()).c_str(),
                                   BM_VulkanBandwidth, probe->get(), i)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(1)
          ->UseRealTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
