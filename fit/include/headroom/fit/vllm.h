// vLLM's memory accounting on CUDA GPUs: per GPU, gpu_memory_utilization x total is the budget;
// weights (split by tensor parallelism), the profile run's activation peak, the CUDA-graph
// reserve and non-torch memory come off it; what is left becomes KV blocks of block_size
// tokens, which decide max_model_len and how many sequences of that length run at once.
// Pure; thread-safe.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "headroom/fit/model_tensors.h"
#include "headroom/fit/plan.h"

namespace headroom::fit {

struct VllmOptions {
  double gpu_memory_utilization = 0.9;
  uint32_t max_model_len = 0;      // 0 = trained context
  uint32_t max_num_seqs = 256;
  uint32_t max_num_batched_tokens = 0;  // 0 = vLLM's default for the mode
  bool kv_fp8 = false;             // --kv-cache-dtype fp8
  bool enforce_eager = false;
  uint32_t tensor_parallel_size = 0;  // 0 = every GPU of the machine
  uint32_t block_size = 16;
};

struct VllmPlan {
  bool fits = false;  // weights + reserves fit and at least one max_model_len sequence fits
  uint64_t budget_bytes = 0;      // per GPU
  uint64_t weights_bytes = 0;     // per GPU
  uint64_t activation_bytes = 0;  // per GPU
  uint64_t cuda_graph_bytes = 0;  // per GPU
  uint64_t non_torch_bytes = 0;   // per GPU
  uint64_t kv_cache_bytes = 0;    // per GPU
  uint64_t kv_bytes_per_token = 0;  // per GPU
  uint64_t num_blocks = 0;
  uint32_t block_size = 16;
  uint64_t kv_tokens = 0;
  uint32_t max_model_len = 0;     // longest single sequence that fits (<= trained context)
  uint32_t max_concurrency = 0;   // sequences of the requested max_model_len at once
  double decode_tok_s = 0;        // one sequence
  std::string reason;
};

absl::StatusOr<VllmPlan> PlanVllm(const ModelTensors& model, const Machine& machine,
                                  const VllmOptions& options);

}  // namespace headroom::fit
