// Decode and prefill speed of a placement: what each device reads and computes per token, and
// the rates that turn it into seconds. The rates and efficiencies are documented in speed.cc
// with where they come from. Private to headroom::fit; pure, thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "headroom/fit/estimate.h"
#include "headroom/fit/model_tensors.h"
#include "headroom/fit/plan.h"

namespace headroom::fit::internal {

// What one token costs on the tensors of one part of the model; parts add up.
struct TokenWork {
  uint64_t read_bytes = 0;   // weight bytes a decoded token reads (active experts only)
  double flops = 0;          // 2 x active parameters
  double cpu_decode_s = 0;   // one CPU thread's kernel time for a decoded token
  double cpu_prefill_s = 0;  // one CPU thread's kernel time per prompt token (batched)
  uint32_t tensors = 0;      // graph nodes that read a weight (per-node overhead on the CPU)

  TokenWork& operator+=(const TokenWork& o);
};

// The work of one tensor of which `active` (0..1] is read per token (n_expert_used / n_expert
// for routed experts, 1 otherwise). `repacked`: the CPU keeps it in CPU_REPACK layout.
TokenWork TensorWork(const WeightTensor& t, double active, bool repacked);

// Where each part of the model runs for one placement.
struct SpeedInput {
  struct Layer {
    int device = -1;                     // attention (and dense FFN) device; -1 = host
    int expert_device = -1;              // routed experts' device
    TokenWork dense;                     // everything but routed experts
    TokenWork experts;                   // routed experts, active share
    uint64_t kv_bytes_per_position = 0;  // K + V bytes of one cached token (one sequence)
    uint32_t window = 0;                 // sliding window, tokens; 0 = full attention
    double attn_flops_per_position = 0;  // QK and PV FLOPs per cached token attended
  };
  // Inline up to 128 layers (every model in the catalog): one plan builds this once, and a
  // heap block of a few KB per plan showed in the recommender's profile.
  absl::InlinedVector<Layer, 128> layers;
  int output_device = -1;
  TokenWork output;  // output norm and head (the tied embedding when there is no head)
  bool flash_attn = true;
  uint32_t decode_depth = 0;  // tokens in the context while decoding
  uint32_t n_prompt = 512;    // prompt tokens for prefill and time to first token
  uint32_t n_ubatch = 512;
};

Speed EstimateSpeed(const SpeedInput& in, const Machine& machine);
double DecodeBandwidthEfficiency(bool gpu);  // kGpuDecodeEfficiency or kCpuMemoryEfficiency

}  // namespace headroom::fit::internal
