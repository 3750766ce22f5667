// Probe costs: a cold snapshot without bandwidth, the live refresh the daemon runs every few
// seconds, and the host bandwidth measurement next to an independent STREAM-style loop.
// Run from a Release build (docs/PERFORMANCE.md): the STREAM loops here are compiled with the
// build's flags, while the probe's own read loop is always -O2.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "headroom/probe/bandwidth.h"
#include "headroom/probe/source.h"
#include "headroom/probe/topology.h"

namespace {

namespace probe = headroom::probe;

std::string EmptyCacheDir() {
  const auto dir = std::filesystem::temp_directory_path() / "headroom-probe-bench-cache";
  std::filesystem::remove_all(dir);
  return dir.string();
}

probe::LiveOptions NoMeasurement(bool vulkan) {
  probe::LiveOptions options;
  options.measure_bandwidth = false;
  options.enable_vulkan = vulkan;
  options.cache_dir = EmptyCacheDir();
  return options;
}

// Everything `headroom hw` does on a machine with no cached bandwidth: hwloc with PCI,
// /proc, cgroups, Vulkan instance and devices, the catalog's GPU table.
void BM_ColdProbe(benchmark::State& state) {
  const bool vulkan = state.range(0) != 0;
  for (auto _ : state) {
    std::unique_ptr<probe::HardwareSource> source = probe::MakeLiveSource(NoMeasurement(vulkan));
    absl::StatusOr<headroom::v1::Hardware> hw = source->Snapshot(false);
    if (!hw.ok()) state.SkipWithError(std::string(hw.status().message()).c_str());
    benchmark::DoNotOptimize(hw);
  }
  state.SetLabel(vulkan ? "with Vulkan" : "without Vulkan");
}
BENCHMARK(BM_ColdProbe)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

// What the daemon calls every few seconds: RAM (meminfo + cgroup) and Vulkan budgets.
void BM_LiveRefresh(benchmark::State& state) {
  std::unique_ptr<probe::HardwareSource> source = probe::MakeLiveSource(NoMeasurement(true));
  absl::StatusOr<headroom::v1::Hardware> hw = source->Snapshot(false);
  if (!hw.ok()) {
    state.SkipWithError(std::string(hw.status().message()).c_str());
    return;
  }
  for (auto _ : state) {
    absl::Status s = source->Refresh(*hw);
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
    benchmark::DoNotOptimize(*hw);
  }
  state.counters["gpus"] = static_cast<double>(hw->gpus_size());
}
BENCHMARK(BM_LiveRefresh)->Unit(benchmark::kMicrosecond)->UseRealTime();

// An independent STREAM-style measurement (after McCalpin's STREAM: static split of plain
// arrays over plain threads, first touch by the owning thread, no hwloc, best of N): Sum is a
// read-only reduction (comparable with the probe's read benchmark), Copy and Triad count
// bytes as STREAM does (2 and 3 arrays of 8-byte doubles per element).
struct StreamResult {
  double sum_gbps = 0, copy_gbps = 0, triad_gbps = 0;
};

StreamResult RunStream(size_t elements_per_array, unsigned threads, int repetitions) {
  std::vector<std::unique_ptr<double[]>> a(threads), b(threads), c(threads);
  const size_t chunk = elements_per_array / threads;
  std::vector<double> partial(threads * 8, 0.0);  // 64 bytes apart: no false sharing
  auto parallel = [&](auto&& body) {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back([&, t] { body(t); });
    for (std::thread& th : pool) th.join();
  };
  parallel([&](unsigned t) {
    a[t].reset(new double[chunk]);
    b[t].reset(new double[chunk]);
    c[t].reset(new double[chunk]);
    for (size_t i = 0; i < chunk; ++i) a[t][i] = 1.0, b[t][i] = 2.0, c[t][i] = 0.0;
  });
  auto best = [&](auto&& body) {
    double best_s = 1e30;
    for (int r = 0; r < repetitions; ++r) {
      const auto start = std::chrono::steady_clock::now();
      parallel(body);
      best_s = std::min(
          best_s, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best_s;
  };
  const double bytes = static_cast<double>(chunk * threads * sizeof(double));
  StreamResult r;
  // Four partial sums: one FP add chain would time the adder's latency, not the memory.
  r.sum_gbps = bytes / best([&](unsigned t) {
                 double s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // NOLINT(readability-isolate-declaration)
                 size_t i = 0;
                 for (; i + 4 <= chunk; i += 4) {
                   s0 += a[t][i];
                   s1 += a[t][i + 1];
                   s2 += a[t][i + 2];
                   s3 += a[t][i + 3];
                 }
                 for (; i < chunk; ++i) s0 += a[t][i];
                 partial[t * 8] = s0 + s1 + s2 + s3;
               }) /
               1e9;
  r.copy_gbps = 2 * bytes / best([&](unsigned t) {
                  for (size_t i = 0; i < chunk; ++i) c[t][i] = a[t][i];
                }) /
                1e9;
  r.triad_gbps = 3 * bytes / best([&](unsigned t) {
                   for (size_t i = 0; i < chunk; ++i) a[t][i] = b[t][i] + 3.0 * c[t][i];
                 }) /
                 1e9;
  benchmark::DoNotOptimize(partial);
  return r;
}

// The probe's measurement (its wall time is the benchmark's time), then STREAM-style loops on
// an array of the same size, outside the timing.
void BM_HostBandwidth(benchmark::State& state) {
  absl::StatusOr<probe::Topology> topology = probe::Topology::LoadLive();
  if (!topology.ok()) {
    state.SkipWithError("hwloc failed");
    return;
  }
  const probe::TopologySummary summary = topology->Summarize();
  probe::HostBandwidth last;
  for (auto _ : state) {
    absl::StatusOr<probe::HostBandwidth> bw = probe::MeasureHostReadBandwidth(
        *topology, summary.cpu.llc_bytes(), 0, probe::HostBandwidthOptions{});
    if (!bw.ok()) {
      state.SkipWithError(std::string(bw.status().message()).c_str());
      return;
    }
    last = *bw;
  }
  const StreamResult stream = RunStream(last.buffer_bytes / sizeof(double), last.threads, 10);
  state.counters["probe_gbps"] = last.gbps;
  state.counters["stream_sum_gbps"] = stream.sum_gbps;
  state.counters["stream_copy_gbps"] = stream.copy_gbps;
  state.counters["stream_triad_gbps"] = stream.triad_gbps;
  state.counters["probe_vs_sum"] = last.gbps / stream.sum_gbps;
  state.counters["threads"] = last.threads;
  state.counters["buffer_mib"] = static_cast<double>(last.buffer_bytes >> 20);
  state.counters["passes"] = last.passes;
}
BENCHMARK(BM_HostBandwidth)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
