#include "compute_buffer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "ggml_alloc_replay.h"
#include "headroom/catalog/ggml_types.h"

// llama.cpp sizes its CPU compute buffer by building the worst-case graph of one ubatch
// (llama_context::sched_reserve: n_ubatch tokens, n_outputs_max rows of logits, the whole KV
// cache attended) and running ggml-alloc's planner over it without computing anything. The
// buffer is the planner's high-water mark, which depends on the order in which tensors are
// created and freed, on in-place reuse and on where best-fit placement leaves holes: the
// logits of a small-context graph, for example, land above whatever the last layer left
// behind. So rather than adding up the "largest" tensors, this file rebuilds that graph
// (node order as ggml_build_forward_expand visits it, sizes as the ops produce them) and
// replays the planner (ggml_gallocr_alloc_graph_impl over a ggml_dyn_tallocr):
//  - graph inputs (leafs) are placed first, in the order the graph reaches them; a tensor is
//    freed when its last consumer (and the last consumer of every view of it) has run;
//  - an op that may run in place (add, mul, norms, softmax, unary, scale) takes over the
//    memory of a source that nobody else reads and that is not an output;
//  - a new tensor goes into the smallest free hole that fits, else onto the top of the
//    buffer, which is the only way the buffer grows.
// The replay reproduces every run of the groundtruth (llama.cpp of 2026-09, CPU; dense, MoE
// and MLA models) to 0.06 MiB, including the ones where fragmentation decides. Facts of that
// build the replay depends on, each visible in its rows: token embeddings are selected
// between a token path and an embedding input (ggml_build_forward_select), and the unused
// input stays allocated; a view owns no memory, so nothing is computed in place over one; a
// quantized K (V) cache rotates Q and K (V) with a Hadamard matrix before they are stored.

namespace headroom::fit::internal {
namespace {

using headroom::v1::Architecture;

constexpr uint64_t kF32 = 4;
constexpr uint64_t kI32 = 4;
constexpr uint64_t kI64 = 8;

bool IsMla(const Architecture& arch) {
  return arch.attention() == headroom::v1::ATTENTION_KIND_MLA;
}

// Quantized cache types are stored through a Hadamard rotation (llama_kv_cache's attn_rot_k/v).
bool Rotated(uint32_t type) {
  const catalog::GgmlTypeTraits* t = catalog::FindGgmlType(type);
  return t != nullptr && t->block_elements > 1;
}

uint64_t RowBytes(uint32_t type, uint64_t elements) {
  const catalog::GgmlTypeTraits* t = catalog::FindGgmlType(type);
  if (t == nullptr) return elements * 2;
  return elements / t->block_elements * t->block_bytes;
}

// What the graph of one layer depends on besides the model-wide fields: two layers with equal
// shapes (neither the last) add the same nodes.
struct Shape {
  uint64_t heads = 0;
  uint64_t heads_kv = 0;
  uint64_t ffn_length = 0;
  bool moe = false;
  bool operator==(const Shape&) const = default;
};

Shape LayerShape(const Architecture& a, uint32_t il) {
  const int i = static_cast<int>(il);
  Shape s;
  s.heads = i < a.head_count_per_layer_size() ? a.head_count_per_layer(i) : a.head_count();
  s.heads_kv =
      i < a.head_count_kv_per_layer_size() ? a.head_count_kv_per_layer(i) : a.head_count_kv();
  s.ffn_length = i < a.feed_forward_length_per_layer_size() ? a.feed_forward_length_per_layer(i)
                                                            : a.feed_forward_length();
  s.moe = a.has_moe() && a.moe().expert_count() != 0 && il >= a.moe().leading_dense_layers();
  return s;
}

// Builds the reserve graph of llama.cpp's decoder-only models (src/models/llama.cpp and the
// families that share its layer: qwen2/3, mistral, gemma, phi3, MoE variants; deepseek2's MLA).
class ReserveGraph {
 public:
  // Builds the model's layers listed in `layers` (ascending; the last one must be the model's
  // last), each started with a graph boundary.
  ReserveGraph(const Architecture& arch, const GraphShape& shape,
               const std::vector<uint32_t>& layers)
      : a_(arch), s_(shape), e_(arch.embedding_length()), t_(shape.n_tokens), layers_(layers) {}

  // The replay's regime, and false when, of some pair of checks (2i, 2i + 1), neither holds.
  std::pair<ComputeRegime, bool> Run(std::vector<PeriodCheck> checks) {
    Build();
    const size_t n_checks = checks.size();
    const bool parametric = s_.n_kv % kCellsPerUnit == 0;
    Planner planner(g_, parametric ? static_cast<int64_t>(s_.n_kv / kCellsPerUnit) : 0,
                    std::move(checks));
    const AffineStages stages = planner.Run();
    bool periodic = true;
    for (size_t i = 0; i + 1 < n_checks; i += 2) {
      periodic = periodic && (planner.holds(i) || planner.holds(i + 1));
    }
    ComputeRegime r{.attention = stages.attention, .ffn = stages.ffn, .output = stages.output};
    const bool ranged = parametric && !one_point_;
    r.lo_cells = ranged ? static_cast<uint64_t>(planner.domain().lo()) * kCellsPerUnit : s_.n_kv;
    r.hi_cells = ranged ? static_cast<uint64_t>(planner.domain().hi()) * kCellsPerUnit : s_.n_kv;
    if (ranged) {
      for (const int64_t u : planner.domain().excluded()) {
        r.excluded_cells.push_back(static_cast<uint64_t>(u) * kCellsPerUnit);
      }
    }
    return {r, periodic};
  }

 private:
  void Build() {
    g_.Reserve(48 * layers_.size() + 32);
    const uint64_t n_out = std::max<uint64_t>(1, std::min(s_.n_outputs, t_));
    // llm_graph_context::build_inp_embd: a token path and an embedding input, one selected.
    const int tokens = g_.Input(t_ * kI32);
    const int embd_input = g_.Input(e_ * t_ * kF32);
    int cur = g_.Op(e_ * t_ * kF32, {w(), tokens});
    g_.Expand(cur);
    g_.Expand(embd_input);
    pos_ = g_.Input(t_ * kI32);
    InitAttentionInputs();
    out_ids_ = g_.Input(n_out * kI32);
    for (const uint32_t il : layers_) {
      const bool last = il + 1 == a_.block_count();
      g_.MarkBoundary();
      g_.set_stage(Stage::kAttention);
      // A layer without KV heads has no attention block (its residual passes through).
      const int attn = HeadsKv(il) == 0 ? -1
                       : IsMla(a_)      ? MlaAttention(cur, il)
                                        : Attention(cur, il);
      g_.set_stage(Stage::kFfn);
      cur = FeedForward(attn, cur, il, last, last ? n_out : t_);
    }
    g_.set_stage(Stage::kOutput);
    const int norm = Norm(cur, e_ * n_out * kF32);
    const int logits = g_.Op(a_.vocab_size() * n_out * kF32, {w(), norm});
    g_.MarkOutput(logits);
    g_.Expand(logits);
  }

  int w() const { return g_.external(); }

  // Bytes proportional to the KV cells attended, `per_cell` bytes each: per unit of 256 cells
  // when the cells come in such units (kv_affine.h), else a constant at this n_kv.
  Affine Kv(uint64_t per_cell) const {
    if (s_.n_kv % kCellsPerUnit != 0) return Affine(per_cell * s_.n_kv);
    return {static_cast<int64_t>(per_cell * kCellsPerUnit), 0};
  }
  // `elements_per_cell` elements of ggml type `type` per KV cell.
  // A per-unit size that is not a multiple of the alignment would not align affinely: the
  // replay then answers for this n_kv only.
  Affine KvRows(uint32_t type, uint64_t elements_per_cell) {
    const uint64_t per_unit = RowBytes(type, kCellsPerUnit * elements_per_cell);
    if (s_.n_kv % kCellsPerUnit != 0 || per_unit % kTensorAlignBytes != 0) {
      one_point_ = true;
      return Affine(RowBytes(type, s_.n_kv * elements_per_cell));
    }
    return {static_cast<int64_t>(per_unit), 0};
  }

  uint64_t Heads(uint32_t il) const { return LayerShape(a_, il).heads; }
  uint64_t HeadsKv(uint32_t il) const { return LayerShape(a_, il).heads_kv; }
  uint64_t FfnLength(uint32_t il) const { return LayerShape(a_, il).ffn_length; }

  void InitAttentionInputs() {
    // llama_kv_cache::build_input_{k,v}_idxs: a transposed V cache (no flash attention) is
    // written element by element, one index per value.
    const uint64_t v_width = IsMla(a_) ? 1 : HeadsKv(0) * a_.value_length();
    k_idxs_ = g_.Input(t_ * kI64);
    v_idxs_ = IsMla(a_) ? -1 : g_.Input(t_ * kI64 * (s_.flash_attn ? 1 : v_width));
    // build_attn_inp_kq_mask: n_kv x n_tokens (over all streams), f16 for flash attention.
    mask_ = g_.Input(Kv(t_ * (s_.flash_attn ? 2 : kF32)));
    if (Rotated(s_.type_k)) k_rot_ = g_.Input(128 * 128 * kF32);
    if (!IsMla(a_) && Rotated(s_.type_v)) v_rot_ = g_.Input(64 * 64 * kF32);
  }

  int Norm(int x, Affine bytes) {
    const int n = g_.Op(bytes, {x}, 1);
    return g_.Op(bytes, {n, w()}, 1);
  }
  int Rotate(int x, int rot) {
    if (rot < 0) return x;
    return g_.View(g_.Op(Bytes(x), {rot, g_.View(x)}));
  }
  Affine Bytes(int x) const {
    while (g_.at(x).view_src >= 0) x = g_.at(x).src[0];
    return g_.at(x).bytes;
  }
  int Projection(int x, uint64_t width, bool bias) {
    int p = g_.Op(width * t_ * kF32, {w(), x});
    if (bias) p = g_.Op(width * t_ * kF32, {p, w()}, 1);
    return g_.View(p);
  }

  int Attention(int inp, uint32_t il) {
    const uint64_t heads = Heads(il), heads_kv = HeadsKv(il);
    const uint64_t k_len = a_.key_length(), v_len = a_.value_length();
    const int norm = Norm(inp, e_ * t_ * kF32);
    const bool bias = a_.attention_qkv_bias();
    int q = Projection(norm, heads * k_len, bias);
    int k = Projection(norm, heads_kv * k_len, bias);
    int v = Projection(norm, heads_kv * v_len, bias);
    if (a_.qk_norm()) {
      q = Norm(q, heads * k_len * t_ * kF32);
      k = Norm(k, heads_kv * k_len * t_ * kF32);
    }
    q = g_.Op(heads * k_len * t_ * kF32, {q, pos_});
    k = g_.Op(heads_kv * k_len * t_ * kF32, {k, pos_});
    q = Rotate(q, k_rot_);
    k = Rotate(k, k_rot_);
    v = Rotate(v, v_rot_);
    g_.Expand(q);
    g_.Expand(v);
    g_.Expand(k);
    g_.Expand(g_.Store(g_.View(k), k_idxs_));
    g_.Expand(g_.Store(s_.flash_attn ? g_.View(v) : g_.View(g_.View(v)), v_idxs_));
    const int q4 = g_.View(g_.View(q));
    const int k_cache = g_.View(g_.View(w()));
    const int v_cache = g_.View(g_.View(w()));
    int cur;
    if (s_.flash_attn) {
      cur = g_.View(g_.Op(v_len * heads * t_ * kF32, {q4, k_cache, v_cache, mask_}));
      cur = Rotate(cur, v_rot_);
    } else {
      // kq = K^T Q, n_kv x n_tokens x n_head f32; the softmax runs in place over it.
      int kq = g_.Op(Kv(t_ * heads * kF32), {k_cache, q4});
      kq = g_.Op(Kv(t_ * heads * kF32), {kq, mask_}, 1);
      const int kqv = g_.Op(v_len * t_ * heads * kF32, {v_cache, kq});
      cur = g_.Op(v_len * heads * t_ * kF32, {g_.View(kqv)});
    }
    g_.Expand(cur);
    cur = g_.Op(e_ * t_ * kF32, {w(), cur});
    if (a_.attention_output_bias()) cur = g_.Op(e_ * t_ * kF32, {cur, w()}, 1);
    return cur;
  }

  // deepseek2 with the absorbed MLA: queries meet the compressed latent, a K-only cache.
  int MlaAttention(int inp, uint32_t il) {
    const auto& m = a_.mla();
    const uint64_t heads = Heads(il), rope = m.qk_rope_head_dim(), lora = m.kv_lora_rank();
    const uint64_t q_len = uint64_t{m.qk_nope_head_dim()} + rope;
    const int norm = Norm(inp, e_ * t_ * kF32);
    int q = norm;
    if (m.q_lora_rank() != 0) {
      q = Norm(g_.Op(m.q_lora_rank() * t_ * kF32, {w(), norm}), m.q_lora_rank() * t_ * kF32);
    }
    q = g_.Op(heads * q_len * t_ * kF32, {w(), q});
    const int kv_pe = g_.Op((lora + rope) * t_ * kF32, {w(), norm});
    const int q_pe = g_.Op(rope * heads * t_ * kF32, {g_.View(q), pos_});
    const int k_pe = g_.Op(rope * t_ * kF32, {g_.View(kv_pe), pos_});
    const int kv = Norm(g_.View(kv_pe), lora * t_ * kF32);
    const int q_abs = g_.Op(lora * t_ * heads * kF32, {w(), g_.View(g_.View(q))});
    int qcur = g_.Op((lora + rope) * heads * t_ * kF32, {g_.View(q_abs), q_pe});
    int kcur = g_.Op((lora + rope) * t_ * kF32, {g_.View(kv), k_pe});
    qcur = Rotate(qcur, k_rot_);
    kcur = Rotate(kcur, k_rot_);
    g_.Expand(qcur);
    g_.Expand(kcur);
    g_.Expand(g_.Store(g_.View(kcur), k_idxs_));
    const int q4 = g_.View(g_.View(qcur));
    const int k_cache = g_.View(g_.View(w()));
    const uint64_t v_len = m.v_head_dim();
    int cur;
    if (s_.flash_attn) {
      cur = g_.Op(lora * heads * t_ * kF32, {q4, k_cache, g_.View(k_cache), mask_});
      cur = g_.Op(v_len * t_ * heads * kF32, {w(), g_.View(cur)});
      cur = g_.View(g_.Op(v_len * heads * t_ * kF32, {g_.View(cur)}));
    } else {
      int kq = g_.Op(Kv(t_ * heads * kF32), {k_cache, q4});
      kq = g_.Op(Kv(t_ * heads * kF32), {kq, mask_}, 1);
      // V is a view of the latent with the wrong strides: made contiguous, in the cache type.
      const int v = g_.Op(KvRows(s_.type_k, lora), {g_.View(g_.View(k_cache))});
      const int kqv = g_.Op(lora * t_ * heads * kF32, {v, kq});
      const int kqv_mla = g_.Op(v_len * t_ * heads * kF32, {w(), kqv});
      cur = g_.Op(v_len * heads * t_ * kF32, {g_.View(kqv_mla)});
    }
    g_.Expand(cur);
    return g_.Op(e_ * t_ * kF32, {w(), cur});
  }

  // build_ffn with a gate (SwiGLU/GeGLU, one fused op) or without (up, activation, down).
  int DenseFfn(int x, uint64_t ff, uint64_t rows) {
    int act;
    if (a_.ffn() == headroom::v1::FFN_KIND_PLAIN) {
      act = g_.Op(ff * rows * kF32, {g_.Op(ff * rows * kF32, {w(), x})}, 1);
    } else {
      const int up = g_.Op(ff * rows * kF32, {w(), x});
      const int gate = g_.Op(ff * rows * kF32, {w(), x});
      act = g_.Op(ff * rows * kF32, {gate, up});
    }
    return g_.Op(e_ * rows * kF32, {w(), act});
  }

  // build_moe_ffn: router, top-k, the used experts' rows (MUL_MAT_ID), weighted sum.
  int MoeFfn(int x, uint64_t rows) {
    const auto& moe = a_.moe();
    const uint64_t n_exp = moe.expert_count(), used = moe.expert_used_count();
    const uint64_t ff = moe.expert_ffn_length();
    const int logits = g_.Op(n_exp * rows * kF32, {w(), x});
    const int probs = g_.Op(n_exp * rows * kF32, {logits}, 1);
    const int order = g_.Op(n_exp * rows * kI32, {probs});
    const int selected = g_.View(order);
    int weights = g_.Op(used * rows * kF32, {g_.View(probs), selected});
    const int sum = g_.Op(rows * kF32, {g_.View(weights)});
    weights = g_.Op(used * rows * kF32, {g_.View(weights), g_.Op(rows * kF32, {sum}, 1)});
    weights = g_.View(weights);
    g_.Expand(weights);
    const int x3 = g_.View(x);
    const int up = g_.Op(ff * used * rows * kF32, {w(), x3, selected});
    const int gate = g_.Op(ff * used * rows * kF32, {w(), x3, selected});
    const int act = g_.Op(ff * used * rows * kF32, {gate, up});
    int experts = g_.Op(e_ * used * rows * kF32, {w(), act, selected});
    experts = g_.Op(e_ * used * rows * kF32, {experts, weights}, 1);
    int out = g_.View(experts);
    for (uint64_t i = 1; i < used; ++i) out = g_.Op(e_ * rows * kF32, {out, g_.View(experts)}, 3);
    if (used == 1) out = g_.Op(e_ * rows * kF32, {out});
    const uint64_t shared = moe.shared_expert_ffn_length() != 0
                                ? moe.shared_expert_ffn_length()
                                : uint64_t{moe.shared_expert_count()} * ff;
    if (shared != 0) out = g_.Op(e_ * rows * kF32, {out, DenseFfn(x, shared, rows)}, 3);
    return out;
  }

  // The residual add, the FFN and its residual add; the last layer keeps the output rows only.
  int FeedForward(int attn, int inp, uint32_t il, bool last, uint64_t rows) {
    if (last) {  // build_inp_out_ids: always built, even when every token is an output
      if (attn >= 0) attn = g_.Op(e_ * rows * kF32, {attn, out_ids_});
      inp = g_.Op(e_ * rows * kF32, {inp, out_ids_});
    }
    const int ffn_inp = attn < 0 ? inp : g_.Op(e_ * rows * kF32, {attn, inp}, 3);
    const int norm = Norm(ffn_inp, e_ * rows * kF32);
    const bool moe = LayerShape(a_, il).moe;
    const int out = moe ? MoeFfn(norm, rows) : DenseFfn(norm, FfnLength(il), rows);
    return g_.Op(e_ * rows * kF32, {out, ffn_inp}, 3);
  }

  const Architecture& a_;
  const GraphShape& s_;
  const uint64_t e_, t_;
  const std::vector<uint32_t>& layers_;
  Graph g_;
  int pos_ = -1, k_idxs_ = -1, v_idxs_ = -1, mask_ = -1, out_ids_ = -1;
  int k_rot_ = -1, v_rot_ = -1;
  bool one_point_ = false;  // some size is not affine in whole units: this n_kv only
};

}  // namespace

uint64_t ComputeStages::peak_bytes() const {
  return std::max({attention_bytes, ffn_bytes, output_bytes});
}

bool ComputeRegime::Covers(uint64_t n_kv) const {
  return n_kv >= lo_cells && n_kv <= hi_cells &&
         (n_kv % kCellsPerUnit == 0 || lo_cells == hi_cells) &&
         std::find(excluded_cells.begin(), excluded_cells.end(), n_kv) == excluded_cells.end();
}

ComputeStages ComputeRegime::At(uint64_t n_kv) const {
  const auto u = static_cast<int64_t>(n_kv / kCellsPerUnit);
  auto at = [u](const Affine& a) { return static_cast<uint64_t>(a.At(u)); };
  return {.attention_bytes = at(attention), .ffn_bytes = at(ffn), .output_bytes = at(output)};
}

namespace {

// A graph without tokens or layers reserves nothing, at any n_kv.
ComputeRegime Empty() { return {.lo_cells = 0, .hi_cells = uint64_t{kMaxKvUnits} * kCellsPerUnit}; }

ComputeRegime ReplayAll(const Architecture& arch, const GraphShape& shape) {
  std::vector<uint32_t> layers(arch.block_count());
  for (uint32_t il = 0; il < arch.block_count(); ++il) layers[il] = il;
  return ReserveGraph(arch, shape, layers).Run({}).first;
}

}  // namespace

ComputeStages ReplayEveryLayer(const Architecture& arch, const GraphShape& shape) {
  if (shape.n_tokens == 0 || arch.block_count() == 0) return {};
  return ReplayAll(arch, shape).At(shape.n_kv);
}

ComputeStages EstimateComputeStages(const Architecture& arch, const GraphShape& shape,
                                    bool* layers_skipped) {
  return ReplayComputeRegime(arch, shape, layers_skipped).At(shape.n_kv);
}

ComputeRegime ReplayComputeRegime(const Architecture& arch, const GraphShape& shape,
                                  bool* layers_skipped) {
  if (layers_skipped != nullptr) *layers_skipped = false;
  if (shape.n_tokens == 0 || arch.block_count() == 0) return Empty();
  // A run of layers of one shape reaches a steady state after a few layers: the allocator's
  // holes, the inputs and the tensors that cross into the next layer come back exactly. The
  // graph keeps the first kHead layers of each long run and the rest of the run but an even
  // number skipped right after them (at least kTail kept after the gap); the planner checks
  // that the state before the first layer after the gap equals the state one or two layers
  // earlier (period 1 or 2; an even number skipped suits both). If it does, each skipped layer
  // would have mapped that state to itself: its nodes and their order are those of the kept
  // layer before it (the same shapes, and nothing older than two layers is still pending),
  // and the graph inputs it reads are read again by a later layer, so it neither frees nor
  // overwrites them in either graph. The stages, maxima over the layers, are then those of the
  // kept graph. If a check fails, the whole graph is replayed.
  // Dense GQA layers settle by their third layer; MoE and MLA layers, with more tensors in
  // flight, took up to five on the shapes of the tests. A head too short only costs speed.
  const bool slow_to_settle = IsMla(arch) || (arch.has_moe() && arch.moe().expert_count() != 0);
  const uint32_t kHead = slow_to_settle ? 5 : 3;
  constexpr uint32_t kTail = 1;
  const uint32_t n_layer = arch.block_count();
  std::vector<uint32_t> layers;
  layers.reserve(std::min<uint32_t>(n_layer, 64));
  std::vector<PeriodCheck> checks;
  for (uint32_t begin = 0; begin < n_layer;) {
    const Shape run_shape = LayerShape(arch, begin);
    uint32_t end = begin + 1;
    while (end < n_layer && LayerShape(arch, end) == run_shape) ++end;
    const uint32_t run = end - begin;
    uint32_t skip = run > kHead + kTail + 1 ? run - kHead - kTail : 0;
    skip -= skip % 2;
    for (uint32_t il = begin; il < end; ++il) {
      if (skip != 0 && il == begin + kHead) {
        // Boundaries are numbered as the layers are kept; the next kept layer is index size().
        checks.push_back({.from = layers.size() - 1, .to = layers.size()});
        checks.push_back({.from = layers.size() - 2, .to = layers.size()});
        il += skip;
      }
      layers.push_back(il);
    }
    begin = end;
  }
  if (!checks.empty()) {
    // The checks pair up (period 1 or period 2 at the same place): either may hold.
    auto [regime, periodic] = ReserveGraph(arch, shape, layers).Run(checks);
    if (layers_skipped != nullptr) *layers_skipped = periodic;
    if (periodic) return regime;
  }
  return ReplayAll(arch, shape);
}

}  // namespace headroom::fit::internal
