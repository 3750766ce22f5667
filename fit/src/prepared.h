// What a model keeps between plans: its per-layer table for each pair of KV cache types, and
// the compute-buffer regimes already replayed (compute_buffer.h). A plan that finds them here
// skips the costly parts of an estimate; answers are the same either way. Private to
// headroom::fit; thread-safe (plans on several threads may share one).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "compute_buffer.h"
#include "placement.h"

namespace headroom::fit::internal {

// Compute regimes of one architecture, by graph shape (n_kv aside). Bounded: the oldest go.
class ComputeMemo {
 public:
  std::optional<ComputeRegime> Find(const GraphShape& shape) const;
  void Add(const GraphShape& shape, const ComputeRegime& regime);

 private:
  static constexpr size_t kCapacity = 128;
  mutable std::mutex mu_;
  std::vector<std::pair<GraphShape, ComputeRegime>> entries_;
};

// The graphs of two shapes are the same but for the KV cells attended.
bool SameGraph(const GraphShape& a, const GraphShape& b);

class PreparedState {
 public:
  // `memo` may be shared by models of the same architecture (the graph has no weights in it).
  explicit PreparedState(std::shared_ptr<ComputeMemo> memo = std::make_shared<ComputeMemo>())
      : memo_(std::move(memo)) {}

  // The table of `model` for request.type_k / type_v (the only fields it reads), built once.
  absl::StatusOr<std::shared_ptr<const ModelTable>> Table(const ModelTensors& model,
                                                          const Request& request);
  ComputeMemo* memo() const { return memo_.get(); }
  std::shared_ptr<ComputeMemo> shared_memo() const { return memo_; }

 private:
  std::mutex mu_;
  std::shared_ptr<const ModelTable> weights_;  // the tensor pass, KV rows 0
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, std::shared_ptr<const ModelTable>>> tables_;
  std::shared_ptr<ComputeMemo> memo_;
};

// PlanFit with what `state` holds (nullptr: nothing kept).
absl::StatusOr<Plan> PlanFitWith(const ModelTensors& model, PreparedState* state,
                                 const Machine& machine, const PlanOptions& options);

}  // namespace headroom::fit::internal
