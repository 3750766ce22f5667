// The pieces of vLLM's (V1 engine) memory accounting: weights as vLLM loads them, the
// profile run's activation peak, KV bytes per token and per sequence. Private to
// headroom::fit; vllm.cc assembles them into a VllmPlan.
#pragma once

#include <cstdint>

#include "headroom/fit/model_tensors.h"
#include "headroom/v1/model.pb.h"

namespace headroom::fit::internal {

// Weights one GPU holds under tensor parallelism `tp`: unquantized tensors (F32/F16/BF16 in a
// GGUF, or a catalog plan at F16) in the checkpoint dtype bf16, 2 bytes a parameter; quantized
// tensors at their own size; everything split evenly over the ranks. Plus the rotary cos/sin
// cache every rank keeps (max_position x rotary_dim, bf16).
uint64_t VllmWeightsBytes(const ModelTensors& model, uint32_t tp);

// Weights read per decoded token on one GPU: as VllmWeightsBytes, routed experts scaled by
// expert_used_count / expert_count, token embeddings not read (a row lookup).
uint64_t VllmActiveWeightsBytes(const ModelTensors& model, uint32_t tp);

// Peak memory of the profile run beyond the weights, bytes (see vllm.cc for the fit).
uint64_t VllmActivationBytes(const headroom::v1::Architecture& arch,
                             uint32_t max_num_batched_tokens, uint32_t max_num_seqs);

// KV cache bytes per token on one GPU, split into full-attention and sliding-window layers.
struct VllmKvLayout {
  uint64_t full_bytes_per_token = 0;  // layers attending to the whole sequence
  uint64_t swa_bytes_per_token = 0;   // sliding-window layers
  uint32_t window_tokens = 0;
  uint64_t bytes_per_token() const { return full_bytes_per_token + swa_bytes_per_token; }
};

// `kv_bytes`: 2 (bf16, --kv-cache-dtype auto) or 1 (fp8).
VllmKvLayout VllmKvPerToken(const headroom::v1::Architecture& arch, uint32_t tp, uint32_t kv_bytes);

// KV bytes one request of `tokens` needs (vLLM's KVCacheSpec.max_memory_usage_bytes summed
// over layers): full attention cdiv(tokens, block) blocks; a sliding-window layer
// cdiv(min(window - 1 + max_num_batched_tokens, tokens), block) + 1 blocks.
uint64_t VllmSequenceKvBytes(const VllmKvLayout& layout, uint64_t tokens, uint32_t block_size,
                             uint32_t max_num_batched_tokens);

// Longest sequence (<= cap) whose KV fits in `kv_cache_bytes` (vLLM's estimate_max_model_len
// bisects the same function); 0 when not even one token fits.
uint32_t VllmMaxModelLen(const VllmKvLayout& layout, uint64_t kv_cache_bytes, uint32_t cap,
                         uint32_t block_size, uint32_t max_num_batched_tokens);

}  // namespace headroom::fit::internal
