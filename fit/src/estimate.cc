#include "headroom/fit/estimate.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "compute_buffer.h"
#include "kv_cache.h"
#include "weights.h"

namespace headroom::fit {
namespace {

absl::Status CheckRequest(const ModelTensors& model, const Request& request) {
  if (absl::Status s = CheckModelTensors(model); !s.ok()) return s;
  if (request.n_batch == 0) return absl::InvalidArgumentError("request.n_batch: 0");
  if (request.n_ubatch == 0) return absl::InvalidArgumentError("request.n_ubatch: 0");
  if (request.n_prompt && *request.n_prompt == 0) {
    return absl::InvalidArgumentError("request.n_prompt: 0");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MemoryEstimate> EstimateCpuMemory(const ModelTensors& model, const Request& request,
                                                 const CpuRuntimeProfile& profile) {
  if (absl::Status s = CheckRequest(model, request); !s.ok()) return s;
  if (absl::Status s = internal::CheckKvTypes(model.arch, request); !s.ok()) return s;

  MemoryEstimate e;
  // llama_context: n_batch is capped by the requested context, n_ubatch by n_batch.
  const uint64_t requested_ctx = request.n_ctx == 0 ? model.arch.context_length() : request.n_ctx;
  e.n_batch = static_cast<uint32_t>(std::min<uint64_t>(request.n_batch, requested_ctx));
  e.n_ubatch = std::min(request.n_ubatch, e.n_batch);
  // The CPU backend supports flash attention for every layer type, so auto resolves to on.
  e.flash_attn = request.flash_attn != FlashAttention::kDisabled;

  absl::StatusOr<internal::KvGeometry> kv =
      internal::ComputeKvGeometry(model.arch, request, e.n_ubatch);
  if (!kv.ok()) return kv.status();
  e.n_ctx = kv->n_ctx;
  e.n_ctx_seq = kv->n_ctx_seq;
  e.kv_cells = kv->cells;
  e.kv_streams = kv->streams;
  e.k_bytes = kv->k_bytes;
  e.v_bytes = kv->v_bytes;
  e.kv_bytes = e.k_bytes + e.v_bytes;

  const internal::WeightBuffers w =
      internal::ComputeWeightBuffers(model, profile.cpu, request.use_mmap);
  e.weights_mapped_bytes = w.mapped_bytes;
  e.weights_repack_bytes = w.repack_bytes;
  e.weights_bytes = w.mapped_bytes + w.repack_bytes;

  // The reserve graph is a full ubatch with min(n_ubatch, n_outputs_max) outputs
  // (llama_context::sched_reserve).
  internal::GraphShape shape{.n_tokens = e.n_ubatch,
                             .n_outputs = request.n_outputs_max == 0
                                              ? e.n_ubatch
                                              : std::min(e.n_ubatch, request.n_outputs_max),
                             .n_kv = kv->cells,
                             .flash_attn = e.flash_attn,
                             .type_k = request.type_k,
                             .type_v = request.type_v};
  e.compute_bytes = internal::EstimateComputeStages(model.arch, shape).peak_bytes();

  // llama_context::output_reserve: n_vocab f32 logits for max(1, n_seq_max) outputs.
  const uint64_t n_seq = std::max(1u, request.n_parallel);
  e.output_bytes = model.arch.vocab_size() * 4 * n_seq;
  e.total_buffer_bytes = e.weights_bytes + e.kv_bytes + e.compute_bytes + e.output_bytes;

  // Resident memory. The compute buffer is a reservation: a completion touches only what its
  // prompt's ubatches use, with one row of logits. The KV cache and the repacked weights are
  // written in full (ggml_backend_buffer_clear, the repack copy). With mmap the whole tensor
  // data is read through the map (file-backed pages); without it the kept weights are anonymous.
  // The graph of a real ubatch attends to the cells in use, padded to 256
  // (llama_kv_cache::get_n_kv), not to the whole cache as the reserve graph does.
  const uint64_t prompt = request.n_prompt.value_or(e.n_ubatch);
  shape.n_tokens = std::min<uint64_t>(prompt, e.n_ubatch);
  shape.n_outputs = 1;
  shape.n_kv = std::min<uint64_t>(kv->cells, (prompt + internal::kKvPadCells - 1) /
                                                 internal::kKvPadCells * internal::kKvPadCells);
  const uint64_t compute_touched = internal::EstimateComputeStages(model.arch, shape).peak_bytes();
  e.rss_file_bytes = profile.code_resident_bytes + (request.use_mmap ? w.file_bytes : 0);
  e.rss_anon_bytes = profile.heap_resident_bytes + e.weights_repack_bytes + e.kv_bytes +
                     e.output_bytes + compute_touched +
                     (request.use_mmap ? 0 : e.weights_mapped_bytes);
  e.peak_rss_bytes = e.rss_file_bytes + e.rss_anon_bytes;
  return e;
}

absl::StatusOr<CpuFit> FitOnCpu(const ModelTensors& model, const Request& request,
                                const HostMemory& host, const CpuRuntimeProfile& profile) {
  if (host.total_bytes == 0) return absl::InvalidArgumentError("host.total_bytes: 0");
  if (host.available_bytes > host.total_bytes) {
    return absl::InvalidArgumentError("host.available_bytes: more than total_bytes");
  }
  absl::StatusOr<MemoryEstimate> memory = EstimateCpuMemory(model, request, profile);
  if (!memory.ok()) return memory.status();
  CpuFit fit;
  fit.memory = *memory;
  // The peak is taken at the request's prompt length: a full ubatch unless the caller says
  // its prompts are shorter.
  const uint64_t needed = memory->peak_rss_bytes;
  fit.headroom_bytes = static_cast<int64_t>(host.available_bytes) - static_cast<int64_t>(needed);
  fit.verdict = fit.headroom_bytes >= 0 ? Verdict::kCpuOnly : Verdict::kDoesNotFit;
  fit.reason = fit.verdict == Verdict::kCpuOnly
                   ? absl::StrCat("fits in host RAM with ", fit.headroom_bytes, " bytes to spare")
                   : absl::StrCat("needs ", needed, " bytes of host RAM, ", host.available_bytes,
                                  " available: short by ", -fit.headroom_bytes, " bytes");
  return fit;
}

}  // namespace headroom::fit
