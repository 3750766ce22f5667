// The web calculators' "tok/s by memory system" table, counted the way the estimator counts
// decode: a token reads the weights it uses (MoE: the dense part, the shared experts and only
// the routed experts it is sent to) plus the KV cache it attends to, at the share of the rated
// bandwidth llama.cpp reaches on that kind of memory. Each row is a memory-bound ceiling for
// the case that the whole model fits in that memory; compute, per-node costs and hops between
// devices are left out. Pure functions over a constexpr table; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace headroom::fit {

// Which of the speed model's efficiencies applies: host DRAM is read by the CPU backend;
// unified memory (Apple silicon) and discrete GPUs by a GPU backend (Metal, CUDA, Vulkan).
enum class MemoryKind { kHostDram, kUnified, kGpu };

struct MemorySystem {
  const char* label;      // "DDR5-5600, 2 channels (desktop)"
  double bandwidth_gbps;  // rated peak, 1e9 bytes/s (sources in bandwidth_matrix.cc)
  MemoryKind kind;
};

struct BandwidthRow {
  std::string label;
  double bandwidth_gbps = 0;  // rated peak, 1e9 bytes/s
  double efficiency = 0;      // share of the peak decode reaches (the speed model's constant)
  double decode_tok_s = 0;    // 1e9 x bandwidth_gbps x efficiency / bytes per token
};

// The fixed list of memory systems, slowest first.
std::span<const MemorySystem> MemorySystems();

// One row per MemorySystems() entry, in that order. decode_tok_s is 0 when a token reads
// nothing (both byte counts 0).
std::vector<BandwidthRow> BandwidthMatrix(uint64_t weights_read_per_token_bytes,
                                          uint64_t kv_read_per_token_bytes);

}  // namespace headroom::fit
