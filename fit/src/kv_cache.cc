#include "kv_cache.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "headroom/catalog/ggml_types.h"

namespace headroom::fit::internal {
namespace {

using headroom::v1::Architecture;

uint64_t PadTo(uint64_t n, uint64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

uint32_t HeadCountKv(const Architecture& arch, uint32_t layer) {
  if (layer < static_cast<uint32_t>(arch.head_count_kv_per_layer_size())) {
    return arch.head_count_kv_per_layer(static_cast<int>(layer));
  }
  return arch.head_count_kv();
}

bool IsMla(const Architecture& arch) {
  return arch.attention() == headroom::v1::ATTENTION_KIND_MLA;
}

}  // namespace

absl::StatusOr<uint64_t> RowBytes(uint32_t type, uint64_t n) {
  const catalog::GgmlTypeTraits* traits = catalog::FindGgmlType(type);
  if (traits == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("unknown ggml type ", type));
  if (n % traits->block_elements != 0) {
    return absl::InvalidArgumentError(absl::StrCat("row of ", n, " elements is not a multiple of ",
                                                   std::string(traits->name), "'s block of ",
                                                   traits->block_elements));
  }
  return n / traits->block_elements * traits->block_bytes;
}

// llama_hparams::n_embd_k_gqa: n_head_kv x key_length. MLA caches the compressed latent and
// the shared rope part once per token (llama-model.cpp builds DeepSeek2's cache with
// n_embd_head_k = kv_lora_rank + n_rot and one KV head).
uint64_t KWidth(const Architecture& arch, uint32_t layer) {
  if (IsMla(arch)) {
    return uint64_t{arch.mla().kv_lora_rank()} + arch.mla().qk_rope_head_dim();
  }
  return uint64_t{HeadCountKv(arch, layer)} * arch.key_length();
}

// MLA's V is a view into the K latent, so llama.cpp allocates no V tensor for it.
uint64_t VWidth(const Architecture& arch, uint32_t layer) {
  if (IsMla(arch)) return 0;
  return uint64_t{HeadCountKv(arch, layer)} * arch.value_length();
}

// llama_hparams::is_swa: explicit per-layer flags, else set_swa_pattern's rule.
bool IsSlidingLayer(const Architecture& arch, uint32_t layer) {
  if (!arch.has_sliding_window() || arch.sliding_window().window_tokens() == 0) return false;
  const auto& swa = arch.sliding_window();
  if (swa.layer_is_sliding_size() > 0) {
    return layer < static_cast<uint32_t>(swa.layer_is_sliding_size()) &&
           swa.layer_is_sliding(static_cast<int>(layer));
  }
  return swa.pattern() > 1 && layer % swa.pattern() < swa.pattern() - 1;
}

// llama_init_from_model (llama-context.cpp) refuses these before allocating anything; the
// messages are llama.cpp's, with ggml_type_name's lowercase type names.
absl::Status CheckKvTypes(const Architecture& arch, const Request& request) {
  const catalog::GgmlTypeTraits* k = catalog::FindGgmlType(request.type_k);
  const catalog::GgmlTypeTraits* v = catalog::FindGgmlType(request.type_v);
  if (k == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("type_k: unknown ggml type ", request.type_k));
  if (v == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("type_v: unknown ggml type ", request.type_v));
  if (v->quantized && request.flash_attn == FlashAttention::kDisabled) {
    return absl::FailedPreconditionError("V cache quantization requires flash_attn");
  }
  if (IsMla(arch) && request.type_k != request.type_v) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model does not support different K (",
        absl::AsciiStrToLower(catalog::GgmlTypeName(request.type_k)), ") and V (",
        absl::AsciiStrToLower(catalog::GgmlTypeName(request.type_v)), ") cache types"));
  }
  return absl::OkStatus();
}

absl::StatusOr<KvGeometry> ComputeKvCells(const Architecture& arch, const Request& request,
                                          uint32_t n_ubatch) {
  KvGeometry g;
  const uint64_t requested = request.n_ctx == 0 ? arch.context_length() : request.n_ctx;
  if (requested == 0)
    return absl::InvalidArgumentError("n_ctx: 0 and the model has no context_length");
  const uint32_t n_seq = std::max(1u, request.n_parallel);
  // llama_context pads n_ctx to 256; without a unified cache each sequence gets its own stream
  // of n_ctx / n_seq cells (llama_context_params.kv_unified, llama-kv-cache.cpp n_stream).
  const uint64_t n_ctx = PadTo(requested, kKvPadCells);
  if (n_ctx > UINT32_MAX) return absl::InvalidArgumentError("n_ctx: too large");
  g.n_ctx = static_cast<uint32_t>(n_ctx);
  g.streams = request.kv_unified ? 1 : n_seq;
  g.n_ctx_seq = request.kv_unified ? g.n_ctx : g.n_ctx / n_seq;
  g.cells = g.n_ctx_seq;
  // llama_kv_cache_iswa: size_swa = min(size_base, PAD(n_swa * (unified ? n_seq : 1) +
  // n_ubatch, n_pad)) unless swa_full.
  const uint64_t window = arch.has_sliding_window() ? arch.sliding_window().window_tokens() : 0;
  const uint64_t swa = PadTo(window * (request.kv_unified ? n_seq : 1) + n_ubatch, kKvPadCells);
  g.swa_cells =
      request.swa_full ? g.cells : static_cast<uint32_t>(std::min<uint64_t>(g.cells, swa));
  return g;
}

absl::StatusOr<KvGeometry> ComputeKvGeometry(const Architecture& arch, const Request& request,
                                             uint32_t n_ubatch) {
  absl::StatusOr<KvGeometry> geometry = ComputeKvCells(arch, request, n_ubatch);
  if (!geometry.ok()) return geometry.status();
  KvGeometry g = *geometry;
  for (uint32_t il = 0; il < arch.block_count(); ++il) {
    const uint64_t cells = uint64_t{IsSlidingLayer(arch, il) ? g.swa_cells : g.cells} * g.streams;
    const uint64_t kw = KWidth(arch, il);
    const uint64_t vw = VWidth(arch, il);
    if (kw > 0) {
      absl::StatusOr<uint64_t> row = RowBytes(request.type_k, kw);
      if (!row.ok())
        return absl::InvalidArgumentError(absl::StrCat("type_k: ", row.status().message()));
      g.k_bytes += *row * cells;
    }
    if (vw > 0) {
      absl::StatusOr<uint64_t> row = RowBytes(request.type_v, vw);
      if (!row.ok())
        return absl::InvalidArgumentError(absl::StrCat("type_v: ", row.status().message()));
      g.v_bytes += *row * cells;
    }
  }
  return g;
}

}  // namespace headroom::fit::internal
