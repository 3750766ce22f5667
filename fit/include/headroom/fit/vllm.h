// vLLM's memory accounting on CUDA GPUs: per GPU, gpu_memory_utilization x total is the budget;
// weights (split by tensor parallelism), the profile run's activation peak, the CUDA-graph
// reserve and non-torch memory come off it; what is left becomes KV blocks of block_size
// tokens, which decide max_model_len and how many sequences of that length run at once.
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "headroom/fit/model_tensors.h"
#include "headroom/fit/plan.h"

namespace headroom::fit {

// `vllm serve` flags. Zero means vLLM's default: for max_num_seqs and max_num_batched_tokens
// the OpenAI server's defaults of vLLM's V1 engine (EngineArgs._set_default_args): 1024 and
// 8192 on GPUs with at least 70 GiB that are not an A100, 256 and 2048 otherwise.
struct VllmOptions {
  double gpu_memory_utilization = 0.9;
  uint32_t max_model_len = 0;           // 0 = trained context
  uint32_t max_num_seqs = 0;            // 0 = vLLM's default for the GPU
  uint32_t max_num_batched_tokens = 0;  // 0 = vLLM's default for the GPU
  bool kv_fp8 = false;                  // --kv-cache-dtype fp8
  bool enforce_eager = false;
  uint32_t tensor_parallel_size = 0;  // 0 = every GPU of the machine
  uint32_t block_size = 16;
};

struct VllmPlan {
  bool fits = false;          // weights + reserves fit and at least one max_model_len sequence fits
  uint64_t budget_bytes = 0;  // per GPU
  uint64_t weights_bytes = 0;       // per GPU
  uint64_t activation_bytes = 0;    // per GPU
  uint64_t cuda_graph_bytes = 0;    // per GPU
  uint64_t non_torch_bytes = 0;     // per GPU
  uint64_t kv_cache_bytes = 0;      // per GPU
  uint64_t kv_bytes_per_token = 0;  // per GPU
  uint64_t num_blocks = 0;
  uint32_t block_size = 16;
  uint64_t kv_tokens = 0;
  uint32_t max_model_len = 0;    // longest single sequence that fits (<= trained context)
  uint32_t max_concurrency = 0;  // whole sequences of the requested max_model_len at once
  double concurrency = 0;        // vLLM's "Maximum concurrency for N tokens per request: 1.30x"
  uint32_t requested_max_model_len = 0;  // the options' max_model_len, or the trained context
  uint32_t max_num_batched_tokens = 0;   // as resolved
  uint32_t max_num_seqs = 0;             // as resolved
  uint32_t tensor_parallel_size = 0;     // as resolved
  double decode_tok_s = 0;               // one sequence
  // "fits: ..." with the numbers, or vLLM's own refusal text with ours.
  std::string reason;
};

// The plan, or InvalidArgument naming the field (options.gpu_memory_utilization,
// options.tensor_parallel_size, options.max_model_len, machine.gpus). A configuration vLLM
// refuses to start is not an error: fits is false and reason carries vLLM's message.
absl::StatusOr<VllmPlan> PlanVllm(const ModelTensors& model, const Machine& machine,
                                  const VllmOptions& options);

}  // namespace headroom::fit
