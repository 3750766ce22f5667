// KV cache geometry and bytes as llama.cpp's llama_kv_cache / llama_kv_cache_iswa allocate
// them. Private to headroom::fit.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "headroom/fit/estimate.h"
#include "headroom/v1/model.pb.h"

namespace headroom::fit::internal {

// llama.cpp pads the context (and so the KV cells) to a multiple of 256.
inline constexpr uint32_t kKvPadCells = 256;

struct KvGeometry {
  uint32_t n_ctx = 0;      // padded context, all streams together
  uint32_t n_ctx_seq = 0;  // per sequence
  uint32_t cells = 0;      // per stream, full-attention layers
  uint32_t swa_cells = 0;  // per stream, sliding-window layers
  uint32_t streams = 1;
  uint64_t k_bytes = 0;
  uint64_t v_bytes = 0;
};

// Bytes of one row of `n` elements of ggml type `type` (ggml_row_size); error when `n` is not
// a multiple of the type's block.
absl::StatusOr<uint64_t> RowBytes(uint32_t type, uint64_t n);

// Elements per cell of one layer's K and V rows (0 for a layer without attention).
uint64_t KWidth(const headroom::v1::Architecture& arch, uint32_t layer);
uint64_t VWidth(const headroom::v1::Architecture& arch, uint32_t layer);
bool IsSlidingLayer(const headroom::v1::Architecture& arch, uint32_t layer);

// Refusals llama.cpp makes when creating the context, with its messages.
absl::Status CheckKvTypes(const headroom::v1::Architecture& arch, const Request& request);

// Cells and streams only (k_bytes and v_bytes left 0): no pass over the layers, for callers
// that already hold each layer's row bytes; `n_ubatch` is the effective physical batch.
absl::StatusOr<KvGeometry> ComputeKvCells(const headroom::v1::Architecture& arch,
                                          const Request& request, uint32_t n_ubatch);

// Cells, streams and bytes; `n_ubatch` is the effective physical batch.
absl::StatusOr<KvGeometry> ComputeKvGeometry(const headroom::v1::Architecture& arch,
                                             const Request& request, uint32_t n_ubatch);

}  // namespace headroom::fit::internal
