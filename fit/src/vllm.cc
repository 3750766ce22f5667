// vLLM's V1 memory accounting (vllm/v1/worker/gpu_worker.py determine_available_memory and
// vllm/v1/core/kv_cache_utils.py): per GPU,
//   kv_cache = gpu_memory_utilization x total - (weights + activation peak + non-torch)
// and the KV cache becomes blocks of block_size tokens. The CUDA graphs are captured after the
// KV cache is allocated, so they come out of the (1 - utilization) slack, not out of the KV
// cache: the llm-d-benchmark logs below satisfy kv = budget - weights - activation - non-torch
// to 0.01 GiB with the CUDA-graph figure left out.
#include "headroom/fit/vllm.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "headroom/catalog/ggml_types.h"
#include "kv_cache.h"
#include "vllm_memory.h"

namespace headroom::fit {
namespace internal {
namespace {

using headroom::v1::Architecture;

constexpr uint64_t kMiB = uint64_t{1} << 20;

uint64_t Elements(const WeightTensor& t) {
  uint64_t n = 1;
  for (uint32_t d = 0; d < t.n_dims && d < t.dims.size(); ++d) n *= t.dims[d];
  return n;
}

// vLLM loads an unquantized checkpoint in its dtype (bf16 for every catalog model).
uint64_t LoadedBytes(const WeightTensor& t) {
  const catalog::GgmlTypeTraits* traits = catalog::FindGgmlType(t.ggml_type);
  if (traits != nullptr && traits->quantized) return t.bytes;
  return Elements(t) * 2;
}

uint64_t RotaryCacheBytes(const Architecture& arch) {
  uint64_t rot = arch.rope_dimension_count() != 0 ? arch.rope_dimension_count() : arch.key_length();
  if (arch.attention() == headroom::v1::ATTENTION_KIND_MLA) rot = arch.mla().qk_rope_head_dim();
  return arch.context_length() * rot * 2;
}

uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

uint64_t VllmWeightsBytes(const ModelTensors& model, uint32_t tp) {
  uint64_t total = 0;
  for (const WeightTensor& t : model.tensors) total += LoadedBytes(t);
  return CeilDiv(total, std::max(1u, tp)) + RotaryCacheBytes(model.arch);
}

uint64_t VllmActiveWeightsBytes(const ModelTensors& model, uint32_t tp) {
  const auto& moe = model.arch.moe();
  double total = 0;
  for (const WeightTensor& t : model.tensors) {
    if (t.role == headroom::v1::TENSOR_ROLE_EMBEDDING) continue;
    double bytes = static_cast<double>(LoadedBytes(t));
    if (t.role == headroom::v1::TENSOR_ROLE_FFN_EXPERTS && moe.expert_count() > 0) {
      bytes *= static_cast<double>(moe.expert_used_count()) / moe.expert_count();
    }
    total += bytes;
  }
  return static_cast<uint64_t>(total / std::max(1u, tp));
}

// The profile run (gpu_model_runner.py profile_run) runs one forward pass of
// max_num_batched_tokens tokens, then the sampler over min(max_num_seqs, tokens) rows of
// logits with top-k/top-p on (sorts, softmax, fp32 copies). Fitted to the five vLLM logs of
// llm-d/llm-d-benchmark config_explorer/empirical-vllm-memory-results.md (H100, 8192 tokens,
// 1024 seqs): 32 MiB + tokens x hidden x 2.5 B + seqs x vocab x 38 B reproduces the logged
// "Peak activation memory" of Llama-3.1-8B (4.76 GiB), Llama-3.3-70B TP=2 (4.84), Qwen3-0.6B
// (5.56), Qwen3-32B (5.64) and gpt-oss-20b (7.38) within 0.01 GiB each. The sampler term
// dominates: the peak follows the vocabulary, not the model's size.
uint64_t VllmActivationBytes(const Architecture& arch, uint32_t max_num_batched_tokens,
                             uint32_t max_num_seqs) {
  const uint64_t rows = std::min(max_num_seqs, max_num_batched_tokens);
  return 32 * kMiB + uint64_t{max_num_batched_tokens} * arch.embedding_length() * 5 / 2 +
         rows * arch.vocab_size() * 38;
}

// Per layer and token: K and V of the layer's KV heads on this rank (vLLM replicates KV heads
// when tp exceeds them: max(1, n_kv / tp)); MLA caches one latent of kv_lora_rank + rope dims,
// the same on every rank (vLLM's MLAAttentionSpec, no V).
VllmKvLayout VllmKvPerToken(const Architecture& arch, uint32_t tp, uint32_t kv_bytes) {
  VllmKvLayout layout;
  layout.window_tokens = arch.has_sliding_window() ? arch.sliding_window().window_tokens() : 0;
  const bool mla = arch.attention() == headroom::v1::ATTENTION_KIND_MLA;
  for (uint32_t il = 0; il < arch.block_count(); ++il) {
    uint64_t per_token = 0;
    if (mla) {
      per_token = (uint64_t{arch.mla().kv_lora_rank()} + arch.mla().qk_rope_head_dim()) * kv_bytes;
    } else {
      const uint64_t k = KWidth(arch, il);  // n_kv x key_length, all ranks
      const uint64_t v = VWidth(arch, il);
      const uint64_t heads = arch.key_length() == 0 ? 0 : k / arch.key_length();
      if (heads == 0) continue;  // a layer without attention
      const uint64_t local = std::max<uint64_t>(1, heads / std::max(1u, tp));
      per_token = (k + v) / heads * local * kv_bytes;
    }
    if (IsSlidingLayer(arch, il)) {
      layout.swa_bytes_per_token += per_token;
    } else {
      layout.full_bytes_per_token += per_token;
    }
  }
  return layout;
}

uint64_t VllmSequenceKvBytes(const VllmKvLayout& layout, uint64_t tokens, uint32_t block_size,
                             uint32_t max_num_batched_tokens) {
  const uint64_t block = std::max(1u, block_size);
  uint64_t bytes = CeilDiv(tokens, block) * block * layout.full_bytes_per_token;
  if (layout.swa_bytes_per_token > 0) {
    const uint64_t window = layout.window_tokens == 0
                                ? tokens
                                : uint64_t{layout.window_tokens} - 1 + max_num_batched_tokens;
    bytes += (CeilDiv(std::min(window, tokens), block) + 1) * block * layout.swa_bytes_per_token;
  }
  return bytes;
}

uint32_t VllmMaxModelLen(const VllmKvLayout& layout, uint64_t kv_cache_bytes, uint32_t cap,
                         uint32_t block_size, uint32_t max_num_batched_tokens) {
  // The need is monotone in the length: bisect on [0, cap].
  uint64_t lo = 0;
  uint64_t hi = cap;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo + 1) / 2;
    if (VllmSequenceKvBytes(layout, mid, block_size, max_num_batched_tokens) <= kv_cache_bytes) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return static_cast<uint32_t>(lo);
}

}  // namespace internal

namespace {

using internal::VllmKvLayout;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr uint64_t kGiBBytes = uint64_t{1} << 30;

// Non-torch memory (CUDA context, cuBLAS, NCCL buffers) as vLLM logs it: 0.13-0.14 GiB on one
// H100, 0.55 GiB per rank with tensor_parallel_size 2 (llm-d-benchmark, the logs named above).
constexpr uint64_t kNonTorchSingleBytes = 133 * (uint64_t{1} << 20);
constexpr uint64_t kNonTorchParallelBytes = 563 * (uint64_t{1} << 20);
// CUDA-graph capture, per GPU: the same logs show 0.10 to 1.03 GiB for the positive readings
// (Qwen3-0.6B 0.10, gpt-oss-20b 0.39, gpt-oss-120b 1.03); we take 0.5 GiB. It is not taken
// from the KV cache (captured after it), so it must fit in the memory left above the budget.
constexpr uint64_t kCudaGraphBytes = 512 * (uint64_t{1} << 20);
// Share of the memory bandwidth one decode stream reaches. No vLLM single-stream measurement
// is at hand; we take the 0.72 measured for llama.cpp's CUDA decode (speed.cc: PR #15802,
// RTX 3090), which a CUDA-graph decode of bf16 weights should not fall short of.
constexpr double kDecodeEfficiency = 0.72;

std::string Gib(uint64_t bytes) {
  return absl::StrFormat("%.2f GiB", static_cast<double>(bytes) / kGiB);
}

bool IsBigGpu(const Gpu& gpu) {
  return gpu.total_bytes >= 70 * kGiBBytes &&
         absl::AsciiStrToLower(gpu.name).find("a100") == std::string::npos;
}

absl::Status Validate(const ModelTensors& model, const Machine& machine,
                      const VllmOptions& options) {
  if (machine.gpus.empty()) return absl::InvalidArgumentError("machine.gpus: vLLM needs a GPU");
  if (!(options.gpu_memory_utilization > 0 && options.gpu_memory_utilization <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.gpu_memory_utilization: ", options.gpu_memory_utilization, " is not in (0, 1]"));
  }
  if (options.tensor_parallel_size > machine.gpus.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.tensor_parallel_size: ", options.tensor_parallel_size,
                     " exceeds the ", machine.gpus.size(), " GPUs of the machine"));
  }
  const uint32_t bs = options.block_size;
  if (bs == 0 || bs > 256 || (bs & (bs - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.block_size: ", bs, " is not a power of two up to 256"));
  }
  if (absl::Status s = CheckModelTensors(model); !s.ok()) return s;
  for (size_t i = 0; i < machine.gpus.size(); ++i) {
    if (machine.gpus[i].total_bytes == 0) {
      return absl::InvalidArgumentError(absl::StrCat("machine.gpus[", i, "].total_bytes: 0"));
    }
  }
  if (options.max_model_len > model.arch.context_length() && model.arch.context_length() > 0) {
    // vLLM: "User-specified max_model_len (N) is greater than the derived max_model_len".
    return absl::InvalidArgumentError(
        absl::StrCat("options.max_model_len: ", options.max_model_len,
                     " is greater than the model's max_position_embeddings (",
                     model.arch.context_length(), ")"));
  }
  return absl::OkStatus();
}

// Resolves the defaults into `plan` and returns the tensor-parallel size.
absl::StatusOr<uint32_t> Resolve(const ModelTensors& model, const Machine& machine,
                                 const VllmOptions& options, VllmPlan& plan) {
  const uint32_t tp = options.tensor_parallel_size != 0
                          ? options.tensor_parallel_size
                          : static_cast<uint32_t>(machine.gpus.size());
  if (model.arch.head_count() % tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.tensor_parallel_size: total number of attention heads (", model.arch.head_count(),
        ") must be divisible by tensor parallel size (", tp, ")"));
  }
  const bool big = IsBigGpu(machine.gpus[0]);
  plan.tensor_parallel_size = tp;
  plan.max_num_seqs = options.max_num_seqs != 0 ? options.max_num_seqs : (big ? 1024u : 256u);
  plan.max_num_batched_tokens =
      options.max_num_batched_tokens != 0 ? options.max_num_batched_tokens : (big ? 8192u : 2048u);
  plan.block_size = options.block_size;
  plan.requested_max_model_len =
      options.max_model_len != 0
          ? options.max_model_len
          : static_cast<uint32_t>(std::min<uint64_t>(model.arch.context_length(), UINT32_MAX));
  if (plan.requested_max_model_len == 0) {
    return absl::InvalidArgumentError(
        "options.max_model_len: 0 and the model has no context_length");
  }
  return tp;
}

// The GPU of the first `tp` with the least memory decides (every rank holds the same shard).
const Gpu& SmallestGpu(const Machine& machine, uint32_t tp) {
  const Gpu* smallest = &machine.gpus[0];
  for (uint32_t i = 1; i < tp; ++i) {
    if (machine.gpus[i].total_bytes < smallest->total_bytes) smallest = &machine.gpus[i];
  }
  return *smallest;
}

void FillKv(const VllmKvLayout& layout, int64_t kv_signed, VllmPlan& plan) {
  plan.kv_cache_bytes = kv_signed > 0 ? static_cast<uint64_t>(kv_signed) : 0;
  plan.kv_bytes_per_token = layout.bytes_per_token();
  const uint64_t block_bytes = uint64_t{plan.block_size} * layout.bytes_per_token();
  plan.num_blocks = block_bytes == 0 ? 0 : plan.kv_cache_bytes / block_bytes;
  plan.kv_tokens = plan.num_blocks * plan.block_size;
  plan.max_model_len =
      internal::VllmMaxModelLen(layout, plan.kv_cache_bytes, plan.requested_max_model_len,
                                plan.block_size, plan.max_num_batched_tokens);
  const uint64_t per_seq = internal::VllmSequenceKvBytes(
      layout, plan.requested_max_model_len, plan.block_size, plan.max_num_batched_tokens);
  const uint64_t blocks_per_seq = per_seq / std::max<uint64_t>(1, block_bytes);
  plan.concurrency = blocks_per_seq == 0 ? 0
                                         : static_cast<double>(plan.num_blocks) /
                                               static_cast<double>(blocks_per_seq);
  plan.max_concurrency = static_cast<uint32_t>(std::min(plan.concurrency, 4294967295.0));
}

}  // namespace

absl::StatusOr<VllmPlan> PlanVllm(const ModelTensors& model, const Machine& machine,
                                  const VllmOptions& options) {
  if (absl::Status s = Validate(model, machine, options); !s.ok()) return s;
  VllmPlan plan;
  absl::StatusOr<uint32_t> tp = Resolve(model, machine, options, plan);
  if (!tp.ok()) return tp.status();
  const Gpu& gpu = SmallestGpu(machine, *tp);

  plan.budget_bytes = static_cast<uint64_t>(
      std::floor(options.gpu_memory_utilization * static_cast<double>(gpu.total_bytes)));
  plan.weights_bytes = internal::VllmWeightsBytes(model, *tp);
  plan.activation_bytes =
      internal::VllmActivationBytes(model.arch, plan.max_num_batched_tokens, plan.max_num_seqs);
  plan.non_torch_bytes = *tp > 1 ? kNonTorchParallelBytes : kNonTorchSingleBytes;
  plan.cuda_graph_bytes = options.enforce_eager ? 0 : kCudaGraphBytes;
  const VllmKvLayout layout = internal::VllmKvPerToken(model.arch, *tp, options.kv_fp8 ? 1 : 2);
  const int64_t kv =
      static_cast<int64_t>(plan.budget_bytes) -
      static_cast<int64_t>(plan.weights_bytes + plan.activation_bytes + plan.non_torch_bytes);
  FillKv(layout, kv, plan);
  // One sequence at an empty context: every rank reads its shard of the active weights in
  // parallel; the all-reduces between ranks are not counted.
  const double bandwidth = gpu.bandwidth_gbps * 1e9 * kDecodeEfficiency;
  if (bandwidth > 0) {
    plan.decode_tok_s =
        bandwidth / static_cast<double>(internal::VllmActiveWeightsBytes(model, *tp));
  }

  // vLLM's checks, in the order it makes them.
  if (gpu.free_bytes != 0 && gpu.free_bytes < plan.budget_bytes) {
    plan.reason = absl::StrFormat(
        "Free memory on device (%.2f/%.2f GiB) on startup is less than desired GPU memory "
        "utilization (%.2f, %.2f GiB). Decrease GPU memory utilization or reduce GPU memory "
        "used by other processes.",
        static_cast<double>(gpu.free_bytes) / kGiB, static_cast<double>(gpu.total_bytes) / kGiB,
        options.gpu_memory_utilization, static_cast<double>(plan.budget_bytes) / kGiB);
    return plan;
  }
  if (kv <= 0) {
    plan.reason = absl::StrCat(
        "No available memory for the cache blocks. Try increasing `gpu_memory_utilization` "
        "when initializing the engine. (weights ",
        Gib(plan.weights_bytes), " + activation ", Gib(plan.activation_bytes), " + non-torch ",
        Gib(plan.non_torch_bytes), " per GPU exceed the budget of ", Gib(plan.budget_bytes), ")");
    return plan;
  }
  const uint64_t needed = internal::VllmSequenceKvBytes(
      layout, plan.requested_max_model_len, plan.block_size, plan.max_num_batched_tokens);
  if (needed > plan.kv_cache_bytes) {
    plan.reason = absl::StrFormat(
        "To serve at least one request with the model's max seq len (%u), (%.2f GiB KV cache "
        "is needed, which is larger than the available KV cache memory (%.2f GiB). Based on "
        "the available memory, the estimated maximum model length is %u. Try increasing "
        "`gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.",
        plan.requested_max_model_len, static_cast<double>(needed) / kGiB,
        static_cast<double>(plan.kv_cache_bytes) / kGiB, plan.max_model_len);
    return plan;
  }
  if (plan.budget_bytes + plan.cuda_graph_bytes > gpu.total_bytes) {
    plan.reason =
        absl::StrCat("the CUDA graphs (", Gib(plan.cuda_graph_bytes),
                     ") do not fit above the budget of ", Gib(plan.budget_bytes), " on ",
                     Gib(gpu.total_bytes), "; lower gpu_memory_utilization or use --enforce-eager");
    return plan;
  }
  plan.fits = true;
  plan.reason = absl::StrFormat(
      "fits: Available KV cache memory: %.2f GiB; GPU KV cache size: %u tokens; Maximum "
      "concurrency for %u tokens per request: %.2fx",
      static_cast<double>(plan.kv_cache_bytes) / kGiB, plan.kv_tokens, plan.requested_max_model_len,
      plan.concurrency);
  return plan;
}

}  // namespace headroom::fit
