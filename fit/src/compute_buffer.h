// The CPU compute buffer: what ggml-alloc reserves for llama.cpp's worst-case graph.
// Private to headroom::fit.
#pragma once

#include <cstdint>
#include <vector>

#include "headroom/v1/model.pb.h"
#include "kv_affine.h"

namespace headroom::fit::internal {

struct GraphShape {
  uint64_t n_tokens = 0;   // tokens in the ubatch
  uint64_t n_outputs = 0;  // rows of logits the graph computes
  uint64_t n_kv = 0;       // KV cells attended to per stream (the full-attention layers')
  bool flash_attn = false;
  uint32_t type_k = 1;  // ggml type of the K cache (MLA's V is a view of it)
  uint32_t type_v = 1;  // ggml type of the V cache; a quantized cache is Hadamard-rotated
};

// The buffer the allocator needs by the end of each part of the graph: the attention of every
// layer, the FFN of every layer, and the output head. peak_bytes() is the reservation.
struct ComputeStages {
  uint64_t attention_bytes = 0;
  uint64_t ffn_bytes = 0;
  uint64_t output_bytes = 0;
  uint64_t peak_bytes() const;
};

// The stages over a range of KV sizes: exact at every n_kv in [lo_cells, hi_cells] that is a
// multiple of 256 and not excluded (or, when replayed at another n_kv, at that one only).
struct ComputeRegime {
  Affine attention = {};
  Affine ffn = {};
  Affine output = {};
  uint64_t lo_cells = 0;
  uint64_t hi_cells = 0;
  std::vector<uint64_t> excluded_cells = {};  // inside the range, where it does not hold
  bool Covers(uint64_t n_kv) const;
  ComputeStages At(uint64_t n_kv) const;
};

// Replays llama.cpp's reserve graph at shape.n_kv, as EstimateComputeStages, keeping the range
// of n_kv over which the replay's decisions (and so its affine result) hold (kv_affine.h).
ComputeRegime ReplayComputeRegime(const headroom::v1::Architecture& arch, const GraphShape& shape,
                                  bool* layers_skipped = nullptr);

// Replays llama.cpp's reserve graph for `arch` at `shape` through a model of ggml-alloc,
// skipping the middle of each run of like layers where the planner's state is shown to repeat
// there. `layers_skipped`, when given, says whether it was.
ComputeStages EstimateComputeStages(const headroom::v1::Architecture& arch, const GraphShape& shape,
                                    bool* layers_skipped = nullptr);

// The same over every layer of the graph (what the skipping must equal; for tests).
ComputeStages ReplayEveryLayer(const headroom::v1::Architecture& arch, const GraphShape& shape);

}  // namespace headroom::fit::internal
