// The recommender: each candidate's options are searched (recommend_search.cc), then the
// candidates are ranked by the preference and every choice gets its one-line reason. See
// recommend.h for the orders.
#include "headroom/fit/recommend.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "headroom/catalog/ggml_types.h"
#include "recommend_search.h"

namespace headroom::fit {
namespace {

using internal::Evaluated;
using internal::kCtxStep;
using internal::Result;
using internal::Search;
using internal::Speed;
using internal::Tier;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string TypeName(uint32_t type) { return absl::AsciiStrToLower(catalog::GgmlTypeName(type)); }

std::string Gib(int64_t bytes) {
  return absl::StrFormat("%.2f GiB", static_cast<double>(bytes) / kGiB);
}

std::string Name(const Candidate& c) { return c.file_type.empty() ? c.label : c.file_type; }

std::string Describe(const Candidate& c, const Evaluated& e) {
  const Plan& p = e.option.plan;
  std::string where;
  if (p.n_gpu_layers == 0) {
    where = "CPU only";
  } else if (p.n_gpu_layers >= p.n_layers) {
    where = absl::StrCat("all ", p.n_layers, " layers on GPU");
  } else {
    where = absl::StrCat(p.n_gpu_layers, " of ", p.n_layers, " layers on GPU");
  }
  if (p.n_cpu_moe > 0) absl::StrAppend(&where, ", experts of ", p.n_cpu_moe, " layers in RAM");
  const std::string kv =
      e.option.type_k == 1 && e.option.type_v == 1
          ? ""
          : absl::StrCat(", KV ", TypeName(e.option.type_k), "/", TypeName(e.option.type_v));
  return absl::StrFormat("%s: %s at %u ctx%s, %.1f tok/s", Name(c), where, e.option.n_ctx, kv,
                         p.speed.decode_tok_s);
}

// Why a candidate meets no constraint set: the memory all layers on GPU would need, and what
// the best placement that fits gives (too slow), or the RAM missing for it.
std::string WhyNot(const Search& s, const Result& r) {
  const Evaluated* fastest = nullptr;      // fits in memory, too slow
  const Evaluated* closest_gpu = nullptr;  // all layers on GPU, smallest shortfall
  const Evaluated* closest = nullptr;      // other tiers, smallest shortfall
  std::string error;
  for (const Evaluated& e : r.tried) {
    if (!e.error.empty()) {
      error = e.error;
    } else if (e.memory_ok) {
      if (fastest == nullptr ||
          e.option.plan.speed.decode_tok_s > fastest->option.plan.speed.decode_tok_s) {
        fastest = &e;
      }
    } else if (e.tier == Tier::kFullGpu) {
      if (closest_gpu == nullptr || e.shortfall_bytes < closest_gpu->shortfall_bytes)
        closest_gpu = &e;
    } else if (closest == nullptr || e.shortfall_bytes < closest->shortfall_bytes) {
      closest = &e;
    }
  }
  const std::string name = Name(*s.candidate);
  const uint32_t ctx = s.min_ctx * s.constraints->n_parallel;
  std::vector<std::string> parts;
  if (closest_gpu != nullptr) {
    parts.push_back(absl::StrCat(name, " needs ", Gib(closest_gpu->shortfall_bytes),
                                 " more for all layers on GPU at ", ctx, " ctx"));
  }
  if (fastest != nullptr) {
    const std::string d = Describe(*s.candidate, *fastest);
    parts.push_back(absl::StrFormat("%s, below the %.1f tok/s minimum",
                                    parts.empty() ? d : d.substr(name.size() + 2),
                                    s.constraints->min_decode_tok_s));
  } else if (closest != nullptr) {
    parts.push_back(absl::StrCat(parts.empty() ? name + " needs " : "offloading needs ",
                                 Gib(closest->shortfall_bytes), " more RAM at ", ctx, " ctx"));
  }
  if (parts.empty() && !error.empty()) parts.push_back(absl::StrCat(name, ": ", error));
  if (parts.empty()) {
    parts.push_back(absl::StrCat(name, ": trained context ",
                                 s.candidate->tensors().arch.context_length(),
                                 " is below the minimum ", s.min_ctx));
  }
  return absl::StrJoin(parts, "; ");
}

double BitsPerWeight(const ModelTensors& m) {
  double bytes = 0;
  double elements = 0;
  for (const WeightTensor& t : m.tensors) {
    bytes += static_cast<double>(t.bytes);
    double n = 1;
    for (uint32_t d = 0; d < t.n_dims && d < t.dims.size(); ++d)
      n *= static_cast<double>(t.dims[d]);
    elements += n;
  }
  return elements > 0 ? bytes * 8 / elements : 0;
}

struct Ranked {
  Search search;
  Result result;
  double bpw = 0;
  double quality = 0;  // lower is better
};

std::string QualityWords(const Ranked& a, const Ranked& b, bool use_kld) {
  return use_kld
             ? absl::StrFormat("KLD %.4f vs %.4f", a.search.candidate->kld, b.search.candidate->kld)
             : absl::StrFormat("%.2f vs %.2f bits per weight", a.bpw, b.bpw);
}

// Why a candidate that meets the constraints ranks below the pick: the first key that differs.
std::string LostTo(const Ranked& a, const Ranked& pick, Prefer prefer, bool use_kld) {
  const Evaluated& ea = a.result.tried[*a.result.best];
  const Evaluated& ep = pick.result.tried[*pick.result.best];
  const std::string who = Name(*pick.search.candidate);
  const std::string quality =
      absl::StrCat("lower quality than ", who, " (", QualityWords(a, pick, use_kld), ")");
  const std::string context =
      absl::StrCat("less context than ", who, " (", ea.option.n_ctx, " vs ", ep.option.n_ctx, ")");
  const std::string speed =
      absl::StrFormat("slower than %s (%.1f vs %.1f tok/s)", who, ea.option.plan.speed.decode_tok_s,
                      ep.option.plan.speed.decode_tok_s);
  const bool worse_q = a.quality > pick.quality;
  const bool worse_c = ea.option.n_ctx < ep.option.n_ctx;
  const bool worse_s = Speed(ea) < Speed(ep);
  switch (prefer) {
    case Prefer::kQuality:
      return worse_q ? quality : worse_c ? context : worse_s ? speed : "ranked after " + who;
    case Prefer::kContext:
      return worse_c ? context : worse_q ? quality : worse_s ? speed : "ranked after " + who;
    case Prefer::kSpeed:
      return worse_s ? speed : worse_q ? quality : worse_c ? context : "ranked after " + who;
  }
  return "";
}

// True when candidate `a` ranks before `b`.
bool RanksBefore(const Ranked& a, const Ranked& b, Prefer prefer) {
  if (a.result.best.has_value() != b.result.best.has_value()) return a.result.best.has_value();
  if (!a.result.best) {
    return std::tuple(a.quality, a.search.index) < std::tuple(b.quality, b.search.index);
  }
  const Evaluated& ea = a.result.tried[*a.result.best];
  const Evaluated& eb = b.result.tried[*b.result.best];
  const auto ctx = [](const Evaluated& e) { return -static_cast<int64_t>(e.option.n_ctx); };
  switch (prefer) {
    case Prefer::kQuality:
      return std::tuple(a.quality, ctx(ea), -Speed(ea), a.search.index) <
             std::tuple(b.quality, ctx(eb), -Speed(eb), b.search.index);
    case Prefer::kContext:
      return std::tuple(ctx(ea), a.quality, -Speed(ea), a.search.index) <
             std::tuple(ctx(eb), b.quality, -Speed(eb), b.search.index);
    case Prefer::kSpeed:
      return std::tuple(-Speed(ea), a.quality, ctx(ea), a.search.index) <
             std::tuple(-Speed(eb), b.quality, ctx(eb), b.search.index);
  }
  return false;
}

// The option shown for a candidate: its best, or (failing) the attempt that came closest.
Option Shown(const Ranked& r) {
  if (r.result.best) return r.result.tried[*r.result.best].option;
  const Evaluated* shown = nullptr;
  for (const Evaluated& e : r.result.tried) {
    if (!e.error.empty()) continue;
    const auto key = [](const Evaluated& x) {
      return std::tuple(!x.memory_ok, x.shortfall_bytes, -x.option.plan.speed.decode_tok_s);
    };
    if (shown == nullptr || key(e) < key(*shown)) shown = &e;
  }
  Option o = shown != nullptr ? shown->option : Option{};
  o.candidate = r.search.index;
  o.meets_constraints = false;
  return o;
}

absl::Status Validate(const std::vector<Candidate>& candidates, const Constraints& c) {
  if (candidates.empty()) return absl::InvalidArgumentError("candidates: empty");
  if (c.min_context == 0) return absl::InvalidArgumentError("constraints.min_context: 0");
  if (c.max_context != 0 && c.max_context < c.min_context) {
    return absl::InvalidArgumentError(absl::StrCat("constraints.max_context: ", c.max_context,
                                                   " is below min_context ", c.min_context));
  }
  if (c.min_context > (1u << 30) / std::max(1u, c.n_parallel)) {
    return absl::InvalidArgumentError(
        absl::StrCat("constraints.min_context: ", c.min_context, " is too large"));
  }
  if (!(c.min_decode_tok_s >= 0) || std::isinf(c.min_decode_tok_s)) {
    return absl::InvalidArgumentError(
        absl::StrCat("constraints.min_decode_tok_s: ", c.min_decode_tok_s));
  }
  if (c.n_parallel == 0) return absl::InvalidArgumentError("constraints.n_parallel: 0");
  if (c.kv_types.empty()) return absl::InvalidArgumentError("constraints.kv_types: empty");
  for (size_t i = 0; i < c.kv_types.size(); ++i) {
    if (catalog::FindGgmlType(c.kv_types[i]) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("constraints.kv_types[", i, "]: unknown ggml type ", c.kv_types[i]));
    }
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].tensors().arch.block_count() == 0 ||
        candidates[i].tensors().tensors.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("candidates[", i, "].model: no layers or no tensors"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Recommendation> Recommend(const std::vector<Candidate>& candidates,
                                         const Machine& machine, const Constraints& constraints,
                                         const ParallelFor& parallel) {
  if (absl::Status s = Validate(candidates, constraints); !s.ok()) return s;
  const bool use_kld = std::all_of(candidates.begin(), candidates.end(),
                                   [](const Candidate& c) { return c.kld >= 0; });
  std::vector<Ranked> ranked(candidates.size());
  // What each candidate keeps between its many plans (the caller's PreparedModel, else one made
  // here); the quants of one model share the compute buffers replayed (the graph holds no
  // weights).
  std::vector<std::unique_ptr<internal::PreparedState>> owned;
  std::vector<internal::PreparedState*> prepared;
  std::vector<std::pair<std::string, std::shared_ptr<internal::ComputeMemo>>> memos;
  for (const Candidate& c : candidates) {
    if (c.prepared != nullptr) {
      prepared.push_back(&c.prepared->state());
      continue;
    }
    std::string arch = c.tensors().arch.SerializeAsString();
    auto same =
        std::find_if(memos.begin(), memos.end(), [&](const auto& m) { return m.first == arch; });
    if (same == memos.end()) {
      memos.emplace_back(std::move(arch), std::make_shared<internal::ComputeMemo>());
      same = memos.end() - 1;
    }
    owned.push_back(std::make_unique<internal::PreparedState>(same->second));
    prepared.push_back(owned.back().get());
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    Ranked& r = ranked[i];
    const uint64_t trained = candidates[i].tensors().arch.context_length();
    uint64_t cap = constraints.max_context != 0 ? constraints.max_context : trained;
    if (trained != 0) cap = std::min(cap, trained);
    r.search = Search{
        .candidate = &candidates[i],
        .index = i,
        .machine = &machine,
        .constraints = &constraints,
        .min_ctx = (constraints.min_context + kCtxStep - 1) / kCtxStep * kCtxStep,
        .cap_ctx = static_cast<uint32_t>(std::min<uint64_t>(cap, 1u << 30)) / kCtxStep * kCtxStep,
        .prepared = prepared[i]};
    // Bits per weight rank (and are named) only when some KLD is unknown: a pass over every
    // tensor, skipped otherwise.
    r.bpw = use_kld ? 0 : BitsPerWeight(candidates[i].tensors());
    r.quality = use_kld ? candidates[i].kld : -r.bpw;
  }
  // Each search reads only its own candidate and state (PreparedState is thread-safe) and
  // writes only its own result.
  auto evaluate = [&ranked](size_t i) {
    Ranked& r = ranked[i];
    if (r.search.min_ctx <= r.search.cap_ctx) r.result = EvaluateCandidate(r.search);
  };
  if (parallel) {
    parallel(ranked.size(), evaluate);
  } else {
    for (size_t i = 0; i < ranked.size(); ++i) evaluate(i);
  }
  std::vector<size_t> order(ranked.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return RanksBefore(ranked[a], ranked[b], constraints.prefer);
  });

  Recommendation rec;
  const Ranked& first = ranked[order[0]];
  rec.found = first.result.best.has_value();
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const Ranked& r = ranked[order[pos]];
    Option o = Shown(r);
    if (r.result.best) {
      o.meets_constraints = true;
      o.reason = Describe(*r.search.candidate, r.result.tried[*r.result.best]);
      if (pos > 0) absl::StrAppend(&o.reason, "; ", LostTo(r, first, constraints.prefer, use_kld));
    } else {
      o.reason = WhyNot(r.search, r.result);
    }
    if (pos == 0 && rec.found) {
      rec.pick = std::move(o);
    } else {
      rec.alternatives.push_back(std::move(o));
    }
  }
  if (rec.found) {
    // Why nothing of better quality was picked: the nearest two that fail the constraints.
    rec.reason = rec.pick.reason;
    std::vector<const Ranked*> better;
    for (const Ranked& r : ranked) {
      if (!r.result.best && r.quality < first.quality) better.push_back(&r);
    }
    std::stable_sort(better.begin(), better.end(),
                     [](const Ranked* a, const Ranked* b) { return a->quality > b->quality; });
    for (size_t i = 0; i < better.size() && i < 2; ++i) {
      absl::StrAppend(&rec.reason, "; ", WhyNot(better[i]->search, better[i]->result));
    }
  } else {
    rec.reason =
        absl::StrCat("no candidate meets the constraints: ", rec.alternatives.front().reason);
    if (rec.alternatives.size() > 1) {
      absl::StrAppend(&rec.reason, "; ", rec.alternatives.back().reason);
    }
  }
  return rec;
}

}  // namespace headroom::fit
