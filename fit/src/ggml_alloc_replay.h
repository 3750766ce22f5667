// A replay of ggml-alloc's graph planner (ggml_gallocr over ggml_dyn_tallocr) for a graph
// described by tensor sizes, sources, views and in-place permissions: it answers how large a
// compute buffer the planner would reserve, without ggml. Private to headroom::fit.
// Thread-safety: plain values; a Graph and its Planner are used by one thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <vector>

#include "compute_buffer.h"

namespace headroom::fit::internal {

inline constexpr uint64_t kTensorAlignBytes = 32;  // the CPU buffer type's tensor alignment

enum class Stage : uint8_t { kAttention, kFfn, kOutput };

struct Tensor {
  uint64_t bytes = 0;
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

  int Input(uint64_t bytes) { return Add(Tensor{.bytes = bytes, .leaf = true, .input = true}); }
  int Op(uint64_t bytes, std::initializer_list<int> srcs, uint8_t inplace = 0) {
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

  // ggml_visit_parents: sources first, in order; ops become nodes, the rest leafs.
  void Expand(int t) {
    if (t < 0 || visited_[static_cast<size_t>(t)]) return;
    visited_[static_cast<size_t>(t)] = true;
    for (int s : tensors_[static_cast<size_t>(t)].src) Expand(s);
    (tensors_[static_cast<size_t>(t)].leaf ? leafs_ : nodes_).push_back(t);
  }

  const Tensor& at(int t) const { return tensors_[static_cast<size_t>(t)]; }
  size_t size() const { return tensors_.size(); }
  const std::vector<int>& leafs() const { return leafs_; }
  const std::vector<int>& nodes() const { return nodes_; }

 private:
  int Add(const Tensor& t) {
    tensors_.push_back(t);
    visited_.push_back(false);
    return static_cast<int>(tensors_.size() - 1);
  }

  std::vector<Tensor> tensors_;
  std::vector<bool> visited_;
  std::vector<int> leafs_, nodes_;
  int external_ = -1;
  Stage stage_ = Stage::kAttention;
};

inline uint64_t Aligned(uint64_t bytes) {
  return (bytes + kTensorAlignBytes - 1) / kTensorAlignBytes * kTensorAlignBytes;
}

// ggml_dyn_tallocr: free blocks sorted by offset; the last one is the open top of the buffer.
class DynAllocator {
 public:
  uint64_t Alloc(uint64_t bytes) {
    bytes = Aligned(bytes);
    size_t best = blocks_.size() - 1;
    uint64_t best_size = std::numeric_limits<uint64_t>::max();
    for (size_t i = 0; i + 1 < blocks_.size(); ++i) {
      if (blocks_[i].size >= bytes && blocks_[i].size <= best_size) {
        best = i;
        best_size = blocks_[i].size;
      }
    }
    Block& b = blocks_[best];
    const uint64_t offset = b.offset;
    b.offset += bytes;
    b.size -= bytes;
    if (b.size == 0) blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(best));
    max_bytes_ = std::max(max_bytes_, offset + bytes);
    return offset;
  }

  void Free(uint64_t offset, uint64_t bytes) {
    bytes = Aligned(bytes);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      Block& b = blocks_[i];
      if (b.offset + b.size == offset) {
        b.size += bytes;
        if (i + 1 < blocks_.size() && b.offset + b.size == blocks_[i + 1].offset) {
          b.size += blocks_[i + 1].size;
          blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i + 1));
        }
        return;
      }
      if (offset + bytes == b.offset) {
        b.offset = offset;
        b.size += bytes;
        if (i > 0 && blocks_[i - 1].offset + blocks_[i - 1].size == b.offset) {
          blocks_[i - 1].size += b.size;
          blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i));
        }
        return;
      }
    }
    auto pos = std::find_if(blocks_.begin(), blocks_.end(),
                            [&](const Block& b) { return b.offset >= offset; });
    blocks_.insert(pos, Block{offset, bytes});
  }

  uint64_t max_bytes() const { return max_bytes_; }

 private:
  struct Block {
    uint64_t offset;
    uint64_t size;
  };
  std::vector<Block> blocks_{Block{0, std::numeric_limits<uint64_t>::max() / 4}};
  uint64_t max_bytes_ = 0;
};

// ggml_gallocr_alloc_graph_impl over `g`; each stage records the highest byte its tensors use.
class Planner {
 public:
  explicit Planner(const Graph& g) : g_(g), state_(g.size()) {}

  ComputeStages Run() {
    for (int leaf : g_.leafs()) Allocate(leaf);
    for (int n : g_.nodes()) {
      const Tensor& t = g_.at(n);
      if (t.view_src >= 0) ++state_[Index(t.view_src)].views;
      for (int s : t.src) {
        if (s >= 0) ++state_[Index(s)].children;
      }
    }
    for (int n : g_.nodes()) {
      Allocate(n);
      for (int s : g_.at(n).src) {
        if (s >= 0) Release(s);
      }
    }
    return stages_;
  }

 private:
  struct State {
    int children = 0;
    int views = 0;
    bool allocated = false;
    uint64_t offset = 0;
  };
  static size_t Index(int t) { return static_cast<size_t>(t); }

  bool IsView(int t) const { return g_.at(t).view_src >= 0 && !g_.at(t).external; }

  // A source the node may overwrite: read by nobody else, not an output, and memory of this
  // buffer that the source owns. A view owns nothing (ggml_gallocr_is_own is false for it), so
  // an op on a view, such as the rope of a reshaped projection, always gets new memory.
  int ReusableSource(const Tensor& node) const {
    for (size_t i = 0; i < node.src.size(); ++i) {
      const int p = node.src[i];
      if (p < 0 || !(node.inplace & (1u << i))) continue;
      const Tensor& pt = g_.at(p);
      const State& ps = state_[Index(p)];
      if (ps.allocated && !pt.output && ps.children == 1 && ps.views == 0 &&
          pt.bytes >= node.bytes) {
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
      const uint64_t spare = Aligned(g_.at(p).bytes) - Aligned(x.bytes);
      if (spare > 0) alloc_.Free(s.offset + Aligned(x.bytes), spare);
      return;
    }
    s.offset = alloc_.Alloc(x.bytes);
    uint64_t& stage = x.stage == Stage::kAttention ? stages_.attention_bytes
                      : x.stage == Stage::kFfn     ? stages_.ffn_bytes
                                                   : stages_.output_bytes;
    stage = std::max(stage, s.offset + Aligned(x.bytes));
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

  const Graph& g_;
  std::vector<State> state_;
  DynAllocator alloc_;
  ComputeStages stages_;
};

}  // namespace headroom::fit::internal
