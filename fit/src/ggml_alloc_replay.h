// A replay of ggml-alloc's graph planner (ggml_gallocr over ggml_dyn_tallocr) for a graph
// described by tensor sizes, sources, views and in-place permissions: it answers how large a
// compute buffer the planner would reserve, without ggml. Sizes are affine in the KV cells
// (kv_affine.h): one replay answers for the whole range of cells where its decisions hold.
// Private to headroom::fit.
// Thread-safety: plain values; a Graph and its Planner are used by one thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <utility>
#include <vector>

#include "compute_buffer.h"
#include "kv_affine.h"

namespace headroom::fit::internal {

inline constexpr uint64_t kTensorAlignBytes = 32;  // the CPU buffer type's tensor alignment

enum class Stage : uint8_t { kAttention, kFfn, kOutput };

struct Tensor {
  Affine bytes = {};
  std::array<int, 4> src = {-1, -1, -1, -1};
  int view_src = -1;      // for a view: the tensor whose memory it aliases
  bool leaf = false;      // no op: a graph input or a weight
  bool external = false;  // lives in another buffer (weights, KV cache)
  bool input = false;
  bool output = false;
  uint8_t inplace = 0;  // bit i: the op may write over src[i]
  Stage stage = Stage::kAttention;
};

// The graph as ggml-alloc sees it: tensors, and the order ggml_build_forward_expand puts them in.
class Graph {
 public:
  Graph() { external_ = Add(Tensor{.leaf = true, .external = true}); }

  // Stands for every weight and for the KV cache: memory outside the compute buffer.
  int external() const { return external_; }
  void set_stage(Stage s) { stage_ = s; }

  int Input(Affine bytes) { return Add(Tensor{.bytes = bytes, .leaf = true, .input = true}); }
  int Op(Affine bytes, std::initializer_list<int> srcs, uint8_t inplace = 0) {
    Tensor t{.bytes = bytes, .inplace = inplace, .stage = stage_};
    std::copy(srcs.begin(), srcs.end(), t.src.begin());
    return Add(t);
  }
  // A view, reshape or permute: no memory of its own.
  int View(int of) {
    const int root = tensors_[static_cast<size_t>(of)].view_src >= 0
                         ? tensors_[static_cast<size_t>(of)].view_src
                         : of;
    Tensor t{.view_src = root, .external = tensors_[static_cast<size_t>(root)].external};
    t.src[0] = of;
    return Add(t);
  }
  // ggml_set_rows into the KV cache: the result is the cache itself.
  int Store(int value, int idxs) {
    Tensor t{.external = true};
    t.src = {external_, value, idxs, -1};
    return Add(t);
  }
  void MarkOutput(int t) { tensors_[static_cast<size_t>(t)].output = true; }
  // Where the builder starts a layer: the nodes so far and the tensors created so far.
  size_t MarkBoundary() {
    boundaries_.push_back({.node_pos = nodes_.size(), .tensor_base = tensors_.size()});
    return boundaries_.size() - 1;
  }
  void Reserve(size_t tensors) {
    tensors_.reserve(tensors);
    visited_.reserve(tensors);
    nodes_.reserve(tensors);
  }

  // ggml_visit_parents: sources first, in order; ops become nodes, the rest leafs.
  void Expand(int t) {
    if (t < 0 || visited_[static_cast<size_t>(t)] != 0) return;
    visited_[static_cast<size_t>(t)] = 1;
    for (int s : tensors_[static_cast<size_t>(t)].src) Expand(s);
    (tensors_[static_cast<size_t>(t)].leaf ? leafs_ : nodes_).push_back(t);
  }

  const Tensor& at(int t) const { return tensors_[static_cast<size_t>(t)]; }
  size_t size() const { return tensors_.size(); }
  const std::vector<int>& leafs() const { return leafs_; }
  const std::vector<int>& nodes() const { return nodes_; }
  struct Boundary {
    size_t node_pos = 0;
    size_t tensor_base = 0;
  };
  const std::vector<Boundary>& boundaries() const { return boundaries_; }

 private:
  int Add(const Tensor& t) {
    tensors_.push_back(t);
    visited_.push_back(0);
    return static_cast<int>(tensors_.size() - 1);
  }

  std::vector<Tensor> tensors_;
  std::vector<uint8_t> visited_;
  std::vector<int> leafs_, nodes_;
  std::vector<Boundary> boundaries_;
  int external_ = -1;
  Stage stage_ = Stage::kAttention;
};

// The constant part only: per-unit coefficients are multiples of the alignment (kv_affine.h).
inline Affine Aligned(const Affine& bytes) {
  const auto align = static_cast<int64_t>(kTensorAlignBytes);
  return {bytes.per_unit, (bytes.base + align - 1) / align * align};
}

// ggml_dyn_tallocr: free blocks sorted by offset; the last one is the open top of the buffer
// (its size is unbounded and not kept). Every comparison narrows `domain`.
class DynAllocator {
 public:
  explicit DynAllocator(Domain* domain = nullptr) : d_(domain) {}

  Affine Alloc(Affine bytes) {
    bytes = Aligned(bytes);
    size_t best = blocks_.size() - 1;
    bool found = false;
    Affine best_size;
    for (size_t i = 0; i + 1 < blocks_.size(); ++i) {
      if (d_->NonNegative(blocks_[i].size - bytes) &&
          (!found || d_->NonNegative(best_size - blocks_[i].size))) {
        best = i;
        found = true;
        best_size = blocks_[i].size;
      }
    }
    Block& b = blocks_[best];
    const Affine offset = b.offset;
    b.offset += bytes;
    if (best + 1 < blocks_.size()) {
      b.size -= bytes;
      if (d_->Zero(b.size)) blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(best));
    }
    return offset;
  }

  void Free(const Affine& offset, Affine bytes) {
    bytes = Aligned(bytes);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      Block& b = blocks_[i];
      const bool top = i + 1 == blocks_.size();
      if (!top && d_->Equal(b.offset + b.size, offset)) {
        b.size += bytes;
        if (d_->Equal(b.offset + b.size, blocks_[i + 1].offset)) {
          b.size = i + 2 == blocks_.size() ? Affine{} : b.size + blocks_[i + 1].size;
          blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i + 1));
        }
        return;
      }
      if (d_->Equal(offset + bytes, b.offset)) {
        b.offset = offset;
        if (!top) b.size += bytes;
        if (i > 0 && d_->Equal(blocks_[i - 1].offset + blocks_[i - 1].size, b.offset)) {
          blocks_[i - 1].size = top ? Affine{} : blocks_[i - 1].size + b.size;
          blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i));
        }
        return;
      }
    }
    auto pos = std::find_if(blocks_.begin(), blocks_.end(),
                            [&](const Block& b) { return d_->NonNegative(b.offset - offset); });
    blocks_.insert(pos, Block{offset, bytes});
  }

  // The same free blocks for every n_kv: the same holes and the same top, so the same future
  // placements.
  bool SameFreeBlocks(const DynAllocator& other) const { return blocks_ == other.blocks_; }

 private:
  struct Block {
    Affine offset;
    Affine size;
    bool operator==(const Block&) const = default;
  };
  Domain* d_;
  std::vector<Block> blocks_{Block{}};
};

// Two layer boundaries of a graph (indices into Graph::boundaries()) whose planner states are
// compared: if they are equal, the layers between them map that state to itself, and any
// number of further copies of those layers, inserted there, would too.
struct PeriodCheck {
  size_t from = 0;
  size_t to = 0;
};

// The high-water mark of each stage, as a function of the KV units.
struct AffineStages {
  Affine attention = {};
  Affine ffn = {};
  Affine output = {};
};

// The largest KV unit a replay considers: 2^32 cells.
inline constexpr int64_t kMaxKvUnits = int64_t{1} << 24;

// ggml_gallocr_alloc_graph_impl over `g` at `u0` units of KV cells; each stage records the
// highest byte its tensors use; domain() is where the result holds.
class Planner {
 public:
  explicit Planner(const Graph& g, int64_t u0, std::vector<PeriodCheck> checks = {})
      : g_(g),
        state_(g.size()),
        domain_(u0, 0, kMaxKvUnits),
        alloc_(&domain_),
        checks_(std::move(checks)) {
    snapshots_.resize(checks_.size());
  }
  Planner(const Planner&) = delete;
  Planner& operator=(const Planner&) = delete;

  const Domain& domain() const { return domain_; }

  AffineStages Run() {
    for (int leaf : g_.leafs()) Allocate(leaf);
    for (int n : g_.nodes()) {
      const Tensor& t = g_.at(n);
      if (t.view_src >= 0) ++state_[Index(t.view_src)].views;
      for (int s : t.src) {
        if (s >= 0) ++state_[Index(s)].children;
      }
    }
    const std::vector<int>& nodes = g_.nodes();
    size_t next_check = NextCheckPos(0);
    for (size_t k = 0; k < nodes.size(); ++k) {
      if (k == next_check) {
        VisitBoundaries(k);
        next_check = NextCheckPos(k + 1);
      }
      const int n = nodes[k];
      Allocate(n);
      for (int s : g_.at(n).src) {
        if (s >= 0) Release(s);
      }
    }
    return stages_;
  }

  // After Run(): whether check `i` found the two states equal.
  bool holds(size_t i) const { return snapshots_[i].equal; }

 private:
  struct State {
    int children = 0;
    int views = 0;
    bool allocated = false;
    Affine offset;
  };
  static size_t Index(int t) { return static_cast<size_t>(t); }

  bool IsView(int t) const { return g_.at(t).view_src >= 0 && !g_.at(t).external; }

  // A source the node may overwrite: read by nobody else, not an output, and memory of this
  // buffer that the source owns. A view owns nothing (ggml_gallocr_is_own is false for it), so
  // an op on a view, such as the rope of a reshaped projection, always gets new memory.
  int ReusableSource(const Tensor& node) {
    for (size_t i = 0; i < node.src.size(); ++i) {
      const int p = node.src[i];
      if (p < 0 || !(node.inplace & (1u << i))) continue;
      const Tensor& pt = g_.at(p);
      const State& ps = state_[Index(p)];
      if (ps.allocated && !pt.output && ps.children == 1 && ps.views == 0 &&
          domain_.NonNegative(pt.bytes - node.bytes)) {
        return p;
      }
    }
    return -1;
  }

  void Allocate(int t) {
    const Tensor& x = g_.at(t);
    State& s = state_[Index(t)];
    if (x.external || IsView(t) || s.allocated || (x.leaf && !x.input)) return;
    s.allocated = true;
    if (const int p = ReusableSource(x); p >= 0) {
      State& ps = state_[Index(p)];
      ps.allocated = false;
      s.offset = ps.offset;
      const Affine spare = Aligned(g_.at(p).bytes) - Aligned(x.bytes);
      if (!domain_.Zero(spare)) alloc_.Free(s.offset + Aligned(x.bytes), spare);
      return;
    }
    s.offset = alloc_.Alloc(x.bytes);
    Affine& stage = x.stage == Stage::kAttention ? stages_.attention
                    : x.stage == Stage::kFfn     ? stages_.ffn
                                                 : stages_.output;
    const Affine end = s.offset + Aligned(x.bytes);
    if (domain_.Less(stage, end)) stage = end;
  }

  void Free(int t) {
    if (g_.at(t).output) return;
    State& s = state_[Index(t)];
    alloc_.Free(s.offset, g_.at(t).bytes);
    s.allocated = false;
  }

  // A consumer of `p` has run.
  void Release(int p) {
    State& ps = state_[Index(p)];
    if (--ps.children != 0 || ps.views != 0) return;
    if (IsView(p)) {
      const int root = g_.at(p).view_src;
      State& rs = state_[Index(root)];
      if (--rs.views == 0 && rs.children == 0 && rs.allocated) Free(root);
    } else if (ps.allocated) {
      Free(p);
    }
  }

  // The planner state that the rest of the graph can observe at boundary `b`: the free blocks,
  // where the graph inputs are, and every counter of the last two layers' tensors (the only
  // tensors a later layer reads; anything older must be finished, which is checked).
  struct Snapshot {
    bool taken = false;
    bool equal = false;
    DynAllocator alloc;
    std::vector<State> globals;
    std::vector<State> window;
  };
  static bool SameState(const State& a, const State& b, bool counters) {
    if (a.allocated != b.allocated || (a.allocated && a.offset != b.offset)) return false;
    return !counters || (a.children == b.children && a.views == b.views);
  }

  // The first node position at or after `pos` where a check looks at the state.
  size_t NextCheckPos(size_t pos) const {
    size_t next = std::numeric_limits<size_t>::max();
    for (const PeriodCheck& c : checks_) {
      for (const size_t b : {c.from, c.to}) {
        const size_t at = g_.boundaries()[b].node_pos;
        if (at >= pos) next = std::min(next, at);
      }
    }
    return next;
  }

  void VisitBoundaries(size_t node_pos) {
    const auto& bounds = g_.boundaries();
    for (size_t i = 0; i < checks_.size(); ++i) {
      const Graph::Boundary& from = bounds[checks_[i].from];
      const Graph::Boundary& to = bounds[checks_[i].to];
      // An empty period (layers whose nodes are all emitted later, with the next attention)
      // proves nothing: the nodes of the skipped layers would pile up there.
      if (from.node_pos >= to.node_pos) continue;
      if (from.node_pos == node_pos) snapshots_[i] = Take(from, to);
      if (to.node_pos == node_pos && snapshots_[i].taken) {
        snapshots_[i].equal = Matches(snapshots_[i], from, to);
      }
    }
  }

  // Two layers' worth of tensors before `at`, where the period is `to - from` tensors of
  // `layers` layers; false when they would reach back into the graph inputs.
  bool Window(const Graph::Boundary& at, size_t layer_tensors, size_t* begin) const {
    const size_t globals = g_.boundaries().front().tensor_base;
    if (at.tensor_base < globals + 2 * layer_tensors) return false;
    *begin = at.tensor_base - 2 * layer_tensors;
    for (size_t t = globals; t < *begin; ++t) {
      if (state_[t].children != 0 || state_[t].views != 0) return false;
    }
    return true;
  }

  Snapshot Take(const Graph::Boundary& from, const Graph::Boundary& to) const {
    Snapshot s;
    size_t begin = 0;
    const size_t layer_tensors = LayerTensors(from, to);
    if (layer_tensors == 0 || !Window(from, layer_tensors, &begin)) return s;
    s.taken = true;
    s.alloc = alloc_;
    const size_t globals = g_.boundaries().front().tensor_base;
    s.globals.assign(state_.begin(), state_.begin() + static_cast<std::ptrdiff_t>(globals));
    s.window.assign(state_.begin() + static_cast<std::ptrdiff_t>(begin),
                    state_.begin() + static_cast<std::ptrdiff_t>(from.tensor_base));
    return s;
  }

  bool Matches(const Snapshot& s, const Graph::Boundary& from, const Graph::Boundary& to) const {
    size_t begin = 0;
    if (!Window(to, LayerTensors(from, to), &begin) || !alloc_.SameFreeBlocks(s.alloc)) {
      return false;
    }
    // A graph input's counter falls by the same uses in every layer of the period; while a
    // later layer still reads it, it is neither freed nor overwritten, so only its place counts.
    for (size_t t = 0; t < s.globals.size(); ++t) {
      if (!SameState(s.globals[t], state_[t], false)) return false;
    }
    for (size_t t = 0; t < s.window.size(); ++t) {
      if (!SameState(s.window[t], state_[begin + t], true)) return false;
    }
    return true;
  }

  // Tensors per layer of the period between two boundaries (layers count them alike).
  size_t LayerTensors(const Graph::Boundary& from, const Graph::Boundary& to) const {
    const auto& bounds = g_.boundaries();
    size_t layers = 0;
    for (const Graph::Boundary& b : bounds) {
      if (b.tensor_base > from.tensor_base && b.tensor_base <= to.tensor_base) ++layers;
    }
    return layers == 0 ? 0 : (to.tensor_base - from.tensor_base) / layers;
  }

  const Graph& g_;
  std::vector<State> state_;
  Domain domain_;
  DynAllocator alloc_;
  AffineStages stages_;
  std::vector<PeriodCheck> checks_;
  std::vector<Snapshot> snapshots_;
};

}  // namespace headroom::fit::internal
