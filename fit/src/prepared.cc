#include "prepared.h"

#include <algorithm>

namespace headroom::fit::internal {

bool SameGraph(const GraphShape& a, const GraphShape& b) {
  return a.n_tokens == b.n_tokens && a.n_outputs == b.n_outputs && a.flash_attn == b.flash_attn &&
         a.type_k == b.type_k && a.type_v == b.type_v;
}

std::optional<ComputeRegime> ComputeMemo::Find(const GraphShape& shape) const {
  const std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, regime] : entries_) {
    if (SameGraph(key, shape) && regime.Covers(shape.n_kv)) return regime;
  }
  return std::nullopt;
}

void ComputeMemo::Add(const GraphShape& shape, const ComputeRegime& regime) {
  const std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= kCapacity) entries_.erase(entries_.begin());
  entries_.emplace_back(shape, regime);
}

absl::StatusOr<std::shared_ptr<const ModelTable>> PreparedState::Table(const ModelTensors& model,
                                                                       const Request& request) {
  const std::pair<uint32_t, uint32_t> key{request.type_k, request.type_v};
  {
    const std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, table] : tables_) {
      if (k == key) return table;
    }
  }
  // Built outside the lock: two threads may both build one; the tables are equal.
  std::shared_ptr<const ModelTable> weights;
  {
    const std::lock_guard<std::mutex> lock(mu_);
    weights = weights_;
  }
  if (weights == nullptr) weights = std::make_shared<const ModelTable>(BuildWeightTable(model));
  absl::StatusOr<ModelTable> table = WithKvRows(*weights, model.arch, request);
  const std::lock_guard<std::mutex> lock(mu_);
  weights_ = weights;
  if (!table.ok()) return table.status();
  auto shared = std::make_shared<const ModelTable>(*std::move(table));
  tables_.emplace_back(key, shared);
  return shared;
}

}  // namespace headroom::fit::internal
