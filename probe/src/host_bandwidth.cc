// The host read benchmark. Compiled with -O2 in every build type (see CMakeLists.txt).
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "headroom/probe/bandwidth.h"

namespace headroom::probe {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kMinBufferBytes = 512 * kMiB;
constexpr uint64_t kPageBytes = 4096;

// Eight independent accumulators keep the loads from queuing behind one add chain, so a single
// core issues reads as fast as its memory path allows.
uint64_t ReadSlice(const uint64_t* data, size_t words) {
  // NOLINTNEXTLINE(readability-isolate-declaration): eight accumulators read as one idea.
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  size_t i = 0;
  for (; i + 8 <= words; i += 8) {
    a0 += data[i];
    a1 += data[i + 1];
    a2 += data[i + 2];
    a3 += data[i + 3];
    a4 += data[i + 4];
    a5 += data[i + 5];
    a6 += data[i + 6];
    a7 += data[i + 7];
  }
  for (; i < words; ++i) a0 += data[i];
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

uint64_t BufferBytes(const HostBandwidthOptions& options, uint64_t llc_bytes,
                     uint64_t available_bytes, uint32_t threads) {
  uint64_t bytes = options.buffer_bytes;
  if (bytes == 0) {
    bytes = std::max(kMinBufferBytes, 4 * llc_bytes);
    if (available_bytes > 0) bytes = std::min(bytes, available_bytes / 8);
  }
  const uint64_t per_thread = std::max(kPageBytes, bytes / threads / kPageBytes * kPageBytes);
  return per_thread * threads;
}

struct Shared {
  explicit Shared(uint32_t threads) : sync(threads + 1) {}
  std::barrier<> sync;
  bool run_pass = true;           // written by the coordinator before the start barrier
  std::atomic<uint64_t> sink{0};  // keeps the reads observable
  std::atomic<uint32_t> bind_failures{0};
};

void Worker(const Topology& topology, uint32_t core, size_t words, Shared& shared) {
  // Bind first, then touch: Linux places each page on the node of the thread touching it.
  if (!topology.BindCurrentThreadToCore(core).ok()) shared.bind_failures.fetch_add(1);
  std::vector<uint64_t> slice(words);
  // vector zero-fills (touching every page); distinct values keep the sum honest.
  for (size_t i = 0; i < words; ++i) slice[i] = i;
  shared.sync.arrive_and_wait();  // ready
  for (;;) {
    shared.sync.arrive_and_wait();  // start
    if (!shared.run_pass) break;
    shared.sink.fetch_add(ReadSlice(slice.data(), words), std::memory_order_relaxed);
    shared.sync.arrive_and_wait();  // end
  }
}

}  // namespace

absl::StatusOr<HostBandwidth> MeasureHostReadBandwidth(const Topology& topology, uint64_t llc_bytes,
                                                       uint64_t available_bytes,
                                                       const HostBandwidthOptions& options) {
  if (!topology.IsThisSystem()) {
    return absl::FailedPreconditionError("host bandwidth: the topology is not this machine");
  }
  using Clock = std::chrono::steady_clock;
  const Clock::time_point begin = Clock::now();
  HostBandwidth result;
  result.threads = std::max<uint32_t>(1, topology.CoreCount());
  result.buffer_bytes = BufferBytes(options, llc_bytes, available_bytes, result.threads);
  const size_t words = result.buffer_bytes / result.threads / sizeof(uint64_t);

  Shared shared(result.threads);
  std::vector<std::thread> workers;
  workers.reserve(result.threads);
  for (uint32_t t = 0; t < result.threads; ++t) {
    workers.emplace_back(Worker, std::cref(topology), t, words, std::ref(shared));
  }
  shared.sync.arrive_and_wait();  // every slice allocated and touched

  // One untimed pass warms the TLB and the page tables, then timed passes until the budget
  // or the pass limit is spent.
  double best_s = 0;
  double timed_s = 0;
  for (uint32_t pass = 0; pass <= options.max_passes; ++pass) {
    shared.sync.arrive_and_wait();  // the workers start reading now
    const Clock::time_point start = Clock::now();
    shared.sync.arrive_and_wait();  // the slowest worker is done
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (pass == 0) continue;
    ++result.passes;
    timed_s += seconds;
    if (best_s == 0 || seconds < best_s) best_s = seconds;
    if (timed_s >= options.time_budget_s && result.passes >= 3) break;
  }
  shared.run_pass = false;
  shared.sync.arrive_and_wait();
  for (std::thread& w : workers) w.join();

  result.bound = shared.bind_failures.load() == 0;
  result.best_pass_s = best_s;
  result.gbps = best_s > 0 ? static_cast<double>(result.buffer_bytes) / best_s / 1e9 : 0;
  result.total_s = std::chrono::duration<double>(Clock::now() - begin).count();
  if (result.gbps <= 0) return absl::InternalError("host bandwidth: no pass completed");
  return result;
}

}  // namespace headroom::probe
