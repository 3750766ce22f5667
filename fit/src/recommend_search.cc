// The recommender's search over one candidate's options; see recommend_search.h.
#include "recommend_search.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "headroom/catalog/ggml_types.h"

namespace headroom::fit::internal {
namespace {

double BytesPerElement(uint32_t type) {
  const catalog::GgmlTypeTraits* t = catalog::FindGgmlType(type);
  return static_cast<double>(t->block_bytes) / t->block_elements;
}

// Allowed (K, V) pairs, best quality first: more bytes per element, then the more precise K
// (keys are the more sensitive half). llama.cpp refuses a quantized V cache without flash
// attention and, for MLA models, K and V types that differ (llama_init_from_model).
std::vector<KvPair> KvPairs(const headroom::v1::Architecture& arch, const Constraints& c) {
  std::vector<KvPair> pairs;
  for (uint32_t k : c.kv_types) {
    for (uint32_t v : c.kv_types) {
      if (arch.attention() == headroom::v1::ATTENTION_KIND_MLA && k != v) continue;
      if (catalog::FindGgmlType(v)->quantized && c.base.flash_attn == FlashAttention::kDisabled) {
        continue;
      }
      if (std::none_of(pairs.begin(), pairs.end(),
                       [&](const KvPair& p) { return p.k == k && p.v == v; })) {
        pairs.push_back({k, v});
      }
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(), [](const KvPair& a, const KvPair& b) {
    const double qa = BytesPerElement(a.k) + BytesPerElement(a.v);
    const double qb = BytesPerElement(b.k) + BytesPerElement(b.v);
    if (qa != qb) return qa > qb;
    return BytesPerElement(a.k) > BytesPerElement(b.k);
  });
  return pairs;
}

PlanOptions MakeOptions(const Search& s, Tier tier, KvPair kv, uint32_t ctx,
                        std::optional<uint32_t> layers) {
  PlanOptions o;
  o.request = s.constraints->base;
  o.request.n_parallel = s.constraints->n_parallel;
  o.request.n_ctx = ctx * s.constraints->n_parallel;
  o.request.type_k = kv.k;
  o.request.type_v = kv.v;
  if (catalog::FindGgmlType(kv.v)->quantized) o.request.flash_attn = FlashAttention::kEnabled;
  o.gpu_margin_bytes = s.constraints->margin_bytes;
  switch (tier) {
    case Tier::kFullGpu:  // llama.cpp's -ngl counts the output layer too
      o.n_gpu_layers = s.candidate->tensors().arch.block_count() + 1;
      o.experts_on_cpu = false;
      break;
    case Tier::kCpuOnly:
      o.n_gpu_layers = 0;
      o.experts_on_cpu = false;
      break;
    case Tier::kPartial:
      o.n_gpu_layers = layers;  // unset: the largest that fits
      break;                    // experts: auto
  }
  return o;
}

struct Probe {
  std::optional<Plan> plan;  // absent: PlanFit refused (error)
  std::string error;
  bool fits = false;  // memory, with the margin, and the tier's placement
  bool fast = false;  // decode speed meets the minimum
};

Probe Try(const Search& s, Tier tier, KvPair kv, uint32_t ctx, std::optional<uint32_t> layers) {
  Probe p;
  absl::StatusOr<Plan> plan = PlanFitWith(s.candidate->tensors(), s.prepared, *s.machine,
                                          MakeOptions(s, tier, kv, ctx, layers));
  if (!plan.ok()) {
    p.error = std::string(plan.status().message());
    return p;
  }
  const int64_t margin = static_cast<int64_t>(s.constraints->margin_bytes);
  p.fits = plan->verdict != PlanVerdict::kDoesNotFit && plan->headroom_bytes >= margin;
  if (tier == Tier::kFullGpu) {
    p.fits = p.fits && plan->n_gpu_layers == plan->n_layers && plan->n_cpu_moe == 0;
  }
  if (tier == Tier::kPartial) p.fits = p.fits && plan->n_gpu_layers > 0;
  p.fast = plan->speed.decode_tok_s >= s.constraints->min_decode_tok_s;
  p.plan = *std::move(plan);
  return p;
}

// Largest context in [lo, cap] (multiples of 256, `lo` known good) for which `good` holds;
// the predicate is monotone (more context never frees memory nor adds speed). PlanFit's
// max_context for a fixed placement checks the GPUs with the margin and the host without, a
// weaker test than `good`: when `bounded`, no context above `hint` can be good, so the hint
// itself is tried first and, when good, is the answer in one call.
template <typename Good>
uint32_t LargestContext(uint32_t lo, uint32_t cap, uint32_t hint, bool bounded, Good good) {
  if (lo >= cap) return lo;
  uint32_t hi = cap;  // the answer is in [lo, hi]
  const uint32_t h = std::clamp(hint / kCtxStep * kCtxStep, lo, cap);
  if (bounded) hi = h;
  // Unbounded (layers move to the host as the context grows): the cap is often reachable.
  if (!bounded && good(cap)) return cap;
  if (h > lo) {
    if (!good(h)) {
      hi = h - kCtxStep;
    } else {
      if (bounded || h == cap || !good(h + kCtxStep)) return h;
      lo = h + kCtxStep;
    }
  }
  while (lo < hi) {
    const uint32_t mid = lo + ((hi - lo) / kCtxStep + 1) / 2 * kCtxStep;
    if (good(mid)) {
      lo = mid;
    } else {
      hi = mid - kCtxStep;
    }
  }
  return lo;
}

void Fill(const Search& s, Tier tier, KvPair kv, uint32_t ctx, const Plan& plan, Evaluated& e) {
  Option& o = e.option;
  o.candidate = s.index;
  o.n_ctx = ctx * s.constraints->n_parallel;
  o.type_k = kv.k;
  o.type_v = kv.v;
  o.flash_attn = catalog::FindGgmlType(kv.v)->quantized ||
                 s.constraints->base.flash_attn != FlashAttention::kDisabled;
  o.n_gpu_layers = plan.n_gpu_layers;
  o.n_cpu_moe = plan.n_cpu_moe;
  o.experts_on_cpu =
      plan.n_cpu_moe > 0 && plan.n_cpu_moe >= s.candidate->tensors().arch.block_count();
  o.plan = plan;
  e.tier = tier;
}

// Whether one (tier, KV pair) fits at min_context and is fast enough there.
Evaluated Evaluate(const Search& s, Tier tier, KvPair kv, int kv_rank) {
  Evaluated e;
  e.kv_rank = kv_rank;
  e.tier = tier;
  e.kv = kv;
  Probe first = Try(s, tier, kv, s.min_ctx, std::nullopt);
  if (!first.plan) {
    e.error = first.error;
    return e;
  }
  e.memory_ok = first.fits;
  e.shortfall_bytes =
      first.fits ? 0
                 : static_cast<int64_t>(s.constraints->margin_bytes) - first.plan->headroom_bytes;
  Fill(s, tier, kv, s.min_ctx, *first.plan, e);
  e.feasible = first.fits && first.fast;
  return e;
}

// The plan of a feasible option (planned at min_context) at `ctx`, when it still meets the
// constraints there. Under kContext the partial tier trades GPU layers and experts for
// context; otherwise the placement found at min_context stays and the context grows only into
// memory that is left.
std::optional<Plan> AtContext(const Search& s, const Evaluated& e, const Plan& at_min,
                              uint32_t ctx) {
  const bool keep = e.tier == Tier::kPartial && s.constraints->prefer != Prefer::kContext;
  Probe p = Try(s, e.tier, e.kv, ctx, keep ? std::optional(at_min.n_gpu_layers) : std::nullopt);
  if (!p.plan || !p.fits || !p.fast) return std::nullopt;
  if (keep && p.plan->n_cpu_moe > at_min.n_cpu_moe) return std::nullopt;
  return p.plan;
}

// Grows a feasible option to the largest context.
void Extend(const Search& s, Evaluated& e) {
  const Plan at_min = e.option.plan;
  // The plan of the largest good context seen, so the answer needs no extra PlanFit call.
  uint32_t best_ctx = 0;
  std::optional<Plan> best_plan;
  auto good = [&](uint32_t ctx) {
    std::optional<Plan> plan = AtContext(s, e, at_min, ctx);
    if (!plan) return false;
    if (ctx > best_ctx) {
      best_ctx = ctx;
      best_plan = std::move(plan);
    }
    return true;
  };
  // The placement is fixed unless kContext lets the partial tier move layers.
  const bool bounded = e.tier != Tier::kPartial || s.constraints->prefer != Prefer::kContext;
  const uint32_t hint = at_min.max_context / std::max(1u, s.constraints->n_parallel);
  const uint32_t ctx = LargestContext(s.min_ctx, s.cap_ctx, hint, bounded, good);
  if (ctx != s.min_ctx && ctx == best_ctx) Fill(s, e.tier, e.kv, ctx, *best_plan, e);
}

std::vector<Tier> Tiers(const Machine& machine) {
  if (machine.gpus.empty()) return {Tier::kCpuOnly};
  std::vector<Tier> tiers = {Tier::kFullGpu};
  tiers.push_back(Tier::kPartial);
  tiers.push_back(Tier::kCpuOnly);
  return tiers;
}

int SpeedBucket(double tok_s) {
  return tok_s <= 0 ? -100000 : static_cast<int>(std::floor(std::log(tok_s) / std::log(1.02)));
}

// True when `a` is a better option than `b` of the same candidate under `prefer`.
bool BetterOption(const Evaluated& a, const Evaluated& b, Prefer prefer) {
  const auto tier = [](const Evaluated& e) { return static_cast<int>(e.tier); };
  const auto ctx = [](const Evaluated& e) { return -static_cast<int64_t>(e.option.n_ctx); };
  switch (prefer) {
    case Prefer::kQuality:
      return std::tuple(tier(a), a.kv_rank, ctx(a), -Speed(a)) <
             std::tuple(tier(b), b.kv_rank, ctx(b), -Speed(b));
    case Prefer::kContext:
      return std::tuple(ctx(a), tier(a), a.kv_rank, -Speed(a)) <
             std::tuple(ctx(b), tier(b), b.kv_rank, -Speed(b));
    case Prefer::kSpeed:
      return std::tuple(-Speed(a), a.kv_rank, ctx(a), tier(a)) <
             std::tuple(-Speed(b), b.kv_rank, ctx(b), tier(b));
  }
  return false;
}

// The tier's option under kContext: the most lenient KV types (least memory) reach the most
// context; the best pair that reaches the same context wins it, one PlanFit call each (a
// pair that misses min_context misses any larger context too).
void EvaluateTierForContext(const Search& s, Tier tier, const std::vector<KvPair>& pairs,
                            Result& r) {
  const size_t last = pairs.size() - 1;
  r.tried.push_back(Evaluate(s, tier, pairs[last], static_cast<int>(last)));
  size_t winner = r.tried.size() - 1;
  if (!r.tried[winner].feasible) return;
  Extend(s, r.tried[winner]);
  const uint32_t ctx = r.tried[winner].option.n_ctx / s.constraints->n_parallel;
  const Plan lenient_at_min = r.tried[winner].option.plan;  // only read for kept placements
  for (size_t i = 0; i < last; ++i) {
    Evaluated e;
    e.tier = tier;
    e.kv = pairs[i];
    e.kv_rank = static_cast<int>(i);
    if (std::optional<Plan> plan = AtContext(s, e, lenient_at_min, ctx)) {
      Fill(s, tier, pairs[i], ctx, *plan, e);
      e.feasible = e.memory_ok = true;
      r.tried.push_back(std::move(e));
      winner = r.tried.size() - 1;
      break;
    }
  }
  if (!r.best || BetterOption(r.tried[winner], r.tried[*r.best], Prefer::kContext)) {
    r.best = winner;
  }
}

// Evaluates the options of one tier at min_context, best KV first. When the best fails, the
// most lenient (least KV memory) is tried next: if it fails as well, nothing between can
// pass. Only the tier's winner is grown to its largest context. With all layers on the GPU
// the KV types do not change the decode speed, so kSpeed stops at the first that passes too.
void EvaluateTier(const Search& s, Tier tier, const std::vector<KvPair>& pairs, Result& r) {
  const Prefer prefer = s.constraints->prefer;
  const bool first_wins =
      prefer == Prefer::kQuality || (prefer == Prefer::kSpeed && tier != Tier::kPartial);
  const size_t n = pairs.size();
  std::vector<size_t> order;
  for (size_t i = 0; i < n; ++i) order.push_back(i);
  if (n > 2) std::rotate(order.begin() + 1, order.end() - 1, order.end());  // 0, n-1, 1..
  std::vector<size_t> feasible;                                             // into r.tried
  for (size_t pos = 0; pos < n; ++pos) {
    r.tried.push_back(Evaluate(s, tier, pairs[order[pos]], static_cast<int>(order[pos])));
    if (r.tried.back().feasible) feasible.push_back(r.tried.size() - 1);
    if (pos == 1 && feasible.empty()) return;  // the best and the most lenient both fail
    // In rank order from pos 2 on (and pos 0): the first that passes is the best rank.
    if (first_wins && !feasible.empty() && feasible.back() == r.tried.size() - 1 && pos != 1) {
      break;
    }
  }
  if (feasible.empty()) return;
  std::stable_sort(feasible.begin(), feasible.end(),
                   [&](size_t a, size_t b) { return r.tried[a].kv_rank < r.tried[b].kv_rank; });
  size_t winner = feasible.front();
  if (prefer == Prefer::kSpeed) {
    for (size_t i : feasible) {
      if (BetterOption(r.tried[i], r.tried[winner], prefer)) winner = i;
    }
  }
  Extend(s, r.tried[winner]);
  if (!r.best || BetterOption(r.tried[winner], r.tried[*r.best], prefer)) r.best = winner;
}

}  // namespace

int Speed(const Evaluated& e) { return SpeedBucket(e.option.plan.speed.decode_tok_s); }

// Under kQuality the best tier with a feasible option wins; under kSpeed a lower tier is never
// faster than a feasible higher one; kContext tries every tier. The CPU-only tier only runs
// when the partial one could not place a layer on a GPU (it needs more RAM and is slower).
Result EvaluateCandidate(const Search& s) {
  Result r;
  const std::vector<KvPair> pairs = KvPairs(s.candidate->tensors().arch, *s.constraints);
  if (pairs.empty()) {  // every allowed V type is quantized and flash attention is off
    r.tried.emplace_back();
    r.tried.back().error = "V cache quantization requires flash_attn";
    return r;
  }
  for (Tier tier : Tiers(*s.machine)) {
    if (tier == Tier::kCpuOnly && !s.machine->gpus.empty()) {
      const bool partial_placed =
          std::any_of(r.tried.begin(), r.tried.end(), [](const Evaluated& e) {
            return e.tier == Tier::kPartial && e.error.empty() && e.option.plan.n_gpu_layers > 0;
          });
      if (partial_placed) break;
    }
    // Under kContext a lower tier only wins with more context than the cap leaves.
    if (r.best && (s.constraints->prefer != Prefer::kContext ||
                   r.tried[*r.best].option.n_ctx >= s.cap_ctx * s.constraints->n_parallel)) {
      return r;
    }
    if (s.constraints->prefer == Prefer::kContext) {
      EvaluateTierForContext(s, tier, pairs, r);
    } else {
      EvaluateTier(s, tier, pairs, r);
    }
  }
  return r;
}

}  // namespace headroom::fit::internal
