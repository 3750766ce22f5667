// Byte counts as exact functions of the KV cells a graph attends, and the range of cells over
// which a replay of ggml-alloc makes the same decisions. Private to headroom::fit.
//
// Why: every tensor of llama.cpp's reserve graph is either independent of n_kv or
// proportional to it (the KQ mask, the scores, MLA's contiguous V), so each size, offset and
// free block the planner handles is an affine function of n_kv. The planner's only decisions
// are comparisons of such values (best fit, merges, in-place reuse, the high-water marks); an
// affine inequality holds on an interval. Replaying the planner once at n_kv while narrowing
// an interval by every comparison it makes therefore gives the compute buffer exactly at
// every n_kv of that interval: the same decisions, the same affine results.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace headroom::fit::internal {

// Cells are counted in units of 256 (llama.cpp pads the KV cache to 256 cells), which keeps
// every per-unit coefficient a multiple of the 32-byte tensor alignment: aligning an affine
// size only aligns its constant part.
inline constexpr uint64_t kCellsPerUnit = 256;

// bytes(u) = per_unit * u + base, u = n_kv / 256.
struct Affine {
  int64_t per_unit = 0;
  int64_t base = 0;

  Affine() = default;
  Affine(int64_t per_unit_bytes, int64_t base_bytes) : per_unit(per_unit_bytes), base(base_bytes) {}
  // A size that does not depend on n_kv.
  Affine(uint64_t bytes) : base(static_cast<int64_t>(bytes)) {}  // NOLINT: implicit by design

  int64_t At(int64_t u) const { return per_unit * u + base; }
  Affine operator+(const Affine& o) const { return {per_unit + o.per_unit, base + o.base}; }
  Affine operator-(const Affine& o) const { return {per_unit - o.per_unit, base - o.base}; }
  Affine& operator+=(const Affine& o) { return *this = *this + o; }
  Affine& operator-=(const Affine& o) { return *this = *this - o; }
  bool operator==(const Affine&) const = default;
};

// The units of n_kv around the replayed point u0 over which every comparison made so far has
// come out as it did at u0: a range, less a few units where an equality test would not.
class Domain {
 public:
  Domain(int64_t u0, int64_t lo, int64_t hi) : u0_(u0), lo_(lo), hi_(hi) {}

  int64_t u0() const { return u0_; }
  int64_t lo() const { return lo_; }
  int64_t hi() const { return hi_; }

  // d(u0) >= 0, keeping the units where the answer is the same.
  bool NonNegative(const Affine& d) {
    const bool outcome = d.At(u0_) >= 0;
    if (d.per_unit > 0) {
      // d(u) >= 0 <=> u >= ceil(-base / per_unit)
      const int64_t first = CeilDiv(-d.base, d.per_unit);
      outcome ? Raise(first) : Lower(first - 1);
    } else if (d.per_unit < 0) {
      // d(u) >= 0 <=> u <= floor(base / -per_unit)
      const int64_t last = FloorDiv(d.base, -d.per_unit);
      outcome ? Lower(last) : Raise(last + 1);
    }
    return outcome;
  }

  // d(u0) == 0, likewise.
  bool Zero(const Affine& d) {
    const bool outcome = d.At(u0_) == 0;
    if (d.per_unit == 0) return outcome;
    if (outcome) {
      lo_ = hi_ = u0_;  // a line crosses zero once
    } else if (d.base % d.per_unit == 0) {
      // Unequal everywhere but at one unit: leave that unit out, or, past a few such units,
      // cut the range there.
      const int64_t root = -d.base / d.per_unit;
      if (root >= lo_ && root <= hi_ && !Excluded(root)) {
        if (excluded_.size() < kMaxExcluded) {
          excluded_.push_back(root);
        } else {
          root < u0_ ? Raise(root + 1) : Lower(root - 1);
        }
      }
    }
    return outcome;
  }

  // Whether u is in the range and none of the units left out.
  bool Contains(int64_t u) const { return u >= lo_ && u <= hi_ && !Excluded(u); }
  const std::vector<int64_t>& excluded() const { return excluded_; }

  bool Less(const Affine& a, const Affine& b) { return !NonNegative(a - b); }
  bool Equal(const Affine& a, const Affine& b) { return Zero(a - b); }

 private:
  static int64_t FloorDiv(int64_t a, int64_t b) {  // b > 0
    return a >= 0 ? a / b : -((-a + b - 1) / b);
  }
  static int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }  // b > 0
  static constexpr size_t kMaxExcluded = 8;
  bool Excluded(int64_t u) const {
    return std::find(excluded_.begin(), excluded_.end(), u) != excluded_.end();
  }
  void Raise(int64_t lo) { lo_ = std::max(lo_, lo); }
  void Lower(int64_t hi) { hi_ = std::min(hi_, hi); }

  int64_t u0_, lo_, hi_;
  std::vector<int64_t> excluded_;  // units where an equality would come out otherwise
};

}  // namespace headroom::fit::internal
