// Recommend: candidates (GGUF files, or file types of one architecture) -> headroom::fit's
// recommender -> headroom.v1.Recommendation with an Estimate per choice.
#include "headroom/fit/recommend.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <set>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "convert.h"
#include "headroom/engine/engine.h"
#include "headroom/fit/plan.h"
#include "model_cache.h"
#include "model_ref.h"
#include "params.h"

namespace headroom::engine {
namespace {

namespace v1 = headroom::v1;
using internal::Annotate;

constexpr int kMaxCandidates = 64;

struct Candidates {
  std::vector<fit::Candidate> fit;
  std::vector<v1::ModelSummary> summaries;  // parallel to fit
  std::vector<std::string> paths;           // parallel to fit; empty for file types
};

double Kld(const Context& context, const std::string& file_type) {
  const v1::QualityEntry* q = context.catalog->FindQuality(file_type);
  return q != nullptr ? q->mean_kld() : -1;
}

// The candidate plans on `model`'s PreparedModel (kept by the model cache for catalog models).
void Add(Candidates& out, const std::shared_ptr<const internal::PreparedResolved>& model,
         std::string label, double kld) {
  fit::Candidate c{.label = std::move(label), .file_type = model->summary.file_type(), .kld = kld};
  c.prepared = model->prepared;
  out.fit.push_back(std::move(c));
  out.paths.push_back(model->gguf_path);
  out.summaries.push_back(model->summary);
}

absl::Status AddFiles(const v1::RecommendRequest& r, const Context& context, Candidates& out) {
  if (r.gguf_paths_size() > kMaxCandidates) {
    return absl::InvalidArgumentError(
        absl::StrCat("gguf_paths: ", r.gguf_paths_size(), " files, at most ", kMaxCandidates));
  }
  for (int i = 0; i < r.gguf_paths_size(); ++i) {
    absl::StatusOr<std::shared_ptr<const internal::PreparedResolved>> m =
        internal::PreparedFromGgufFile(r.gguf_paths(i), context,
                                       absl::StrCat("gguf_paths[", i, "]"));
    if (!m.ok()) return m.status();
    Add(out, *m, r.gguf_paths(i), Kld(context, (*m)->summary.file_type()));
  }
  return absl::OkStatus();
}

// The file types asked for, or every type of the quality table plus the entry's own (gpt-oss
// ships as MXFP4_MOE, which the table may not rank). A default type the quantizer cannot make
// for this architecture is left out; an asked-for one is an error.
absl::Status AddFileTypes(const v1::RecommendRequest& r, const Context& context, Candidates& out) {
  absl::StatusOr<internal::ArchitectureSource> source =
      internal::ResolveArchitecture(r.model(), context, "model");
  if (!source.ok()) return source.status();
  // Catalog models at a file type are kept by the model cache; other architectures are not.
  const std::string catalog_id = r.model().has_catalog_id() ? r.model().catalog_id() : "";
  const bool asked = !r.file_types().empty();
  std::vector<std::pair<std::string, std::string>> wanted;  // name, field
  if (asked) {
    if (r.file_types_size() > kMaxCandidates) {
      return absl::InvalidArgumentError(
          absl::StrCat("file_types: ", r.file_types_size(), " types, at most ", kMaxCandidates));
    }
    for (int i = 0; i < r.file_types_size(); ++i) {
      wanted.emplace_back(r.file_types(i), absl::StrCat("file_types[", i, "]"));
    }
  } else {
    for (const v1::QualityEntry& q : context.catalog->quality().entries()) {
      wanted.emplace_back(q.file_type(), "quality table");
    }
    for (const std::string& ft : source->file_types) wanted.emplace_back(ft, "model.file_types");
  }
  std::set<uint32_t> seen;
  for (const auto& [name, field] : wanted) {
    absl::StatusOr<const catalog::FileTypeTraits*> ft = internal::ParseFileType(name, field);
    if (!ft.ok()) {
      if (asked) return ft.status();
      continue;
    }
    if (!seen.insert((*ft)->id).second) continue;
    absl::StatusOr<std::shared_ptr<const internal::PreparedResolved>> m =
        internal::PreparedAtFileType(*source, **ft, catalog_id, context);
    if (!m.ok()) {
      if (asked) return Annotate(m.status(), field);
      continue;
    }
    Add(out, *m, std::string((*ft)->name), Kld(context, std::string((*ft)->name)));
  }
  if (out.fit.empty()) {
    return absl::InvalidArgumentError("model: no file type of the quality table applies to it");
  }
  return absl::OkStatus();
}

absl::StatusOr<Candidates> BuildCandidates(const v1::RecommendRequest& r, const Context& context) {
  Candidates out;
  if (!r.gguf_paths().empty()) {
    if (absl::Status s = AddFiles(r, context, out); !s.ok()) return s;
  } else if (r.model().source_case() == v1::ModelRef::kGgufPath) {
    absl::StatusOr<std::shared_ptr<const internal::PreparedResolved>> m =
        internal::PreparedFromGgufFile(r.model().gguf_path(), context, "model.gguf_path");
    if (!m.ok()) return m.status();
    Add(out, *m, r.model().gguf_path(), Kld(context, (*m)->summary.file_type()));
  } else {
    if (absl::Status s = AddFileTypes(r, context, out); !s.ok()) return s;
  }
  return out;
}

// Runs fn(0..n-1) on the calling thread and up to three more (one per spare core), each
// taking the next index when done: the candidates' searches differ in cost (a quant that
// must split searches placements), so they are handed out one at a time. A thread that
// cannot be started leaves its share to the others.
void OverCores(size_t n, const std::function<void(size_t)>& fn) {
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t extra = std::min<size_t>({cores - 1, 3, n > 1 ? n - 1 : 0});
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::thread> threads;
  threads.reserve(extra);
  for (size_t t = 0; t < extra; ++t) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error&) {  // out of threads: fewer helpers
      break;
    }
  }
  work();
  for (std::thread& thread : threads) thread.join();
}

v1::Choice ChoiceFromOption(const fit::Option& o, const Candidates& candidates,
                            const std::vector<std::string>& hardware_notes,
                            const v1::Calibration* calibration) {
  v1::Choice c;
  c.set_gguf_path(candidates.paths[o.candidate]);
  c.set_file_type(candidates.fit[o.candidate].file_type);
  c.set_n_ctx(o.n_ctx);
  c.set_n_gpu_layers(o.n_gpu_layers);
  c.set_cache_type_k(internal::CacheTypeName(o.type_k));
  c.set_cache_type_v(internal::CacheTypeName(o.type_v));
  c.set_flash_attn(o.flash_attn);
  const internal::PlanShape shape{.n_ctx = o.n_ctx,
                                  .cache_type_k = c.cache_type_k(),
                                  .cache_type_v = c.cache_type_v(),
                                  .flash_attn = o.flash_attn,
                                  .experts_on_cpu = o.experts_on_cpu};
  v1::Estimate& e = *c.mutable_estimate();
  e = internal::EstimateFromPlan(o.plan, candidates.summaries[o.candidate], shape);
  for (const std::string& note : hardware_notes) e.add_notes(note);
  if (calibration != nullptr) internal::ApplyCalibration(*calibration, e);
  c.set_experts_on_cpu(e.experts_on_cpu());  // --cpu-moe, or --n-cpu-moe N (below)
  c.set_n_cpu_moe(o.n_cpu_moe);
  c.set_reason(o.reason);
  c.set_meets_constraints(o.meets_constraints);
  return c;
}

}  // namespace

absl::StatusOr<v1::Recommendation> Recommend(const v1::RecommendRequest& request,
                                             const Context& context) {
  if (context.catalog == nullptr) return absl::FailedPreconditionError("engine: no catalog");
  absl::StatusOr<v1::Runtime> runtime = internal::ResolveRuntime(request.runtime(), "runtime");
  if (!runtime.ok()) return runtime.status();
  if (*runtime != v1::RUNTIME_LLAMA_CPP) {
    return absl::InvalidArgumentError(
        "runtime: the recommender plans llama.cpp; ask Estimate with RUNTIME_VLLM for vLLM");
  }
  absl::StatusOr<fit::Constraints> constraints = internal::ConstraintsFromProto(request);
  if (!constraints.ok()) return constraints.status();
  absl::StatusOr<Candidates> candidates = BuildCandidates(request, context);
  if (!candidates.ok()) return candidates.status();
  absl::StatusOr<v1::Hardware> hw = ResolveHardware(request.hardware(), context);
  if (!hw.ok()) return hw.status();
  absl::StatusOr<fit::Machine> machine = fit::MachineFromHardware(*hw);
  if (!machine.ok()) return Annotate(machine.status(), "hardware");

  const bool live = request.hardware().source_case() == v1::HardwareRef::kLive ||
                    request.hardware().source_case() == v1::HardwareRef::SOURCE_NOT_SET;
  const v1::Calibration* calibration =
      live && internal::HasCalibration(context.calibration) ? context.calibration : nullptr;
  if (calibration != nullptr) {
    *machine = internal::CalibratedMachine(*std::move(machine), *calibration);
    // The recommender sees uncalibrated speeds, so the floor moves the other way.
    if (calibration->decode_scale() > 0) {
      constraints->min_decode_tok_s /= calibration->decode_scale();
    }
  }
  absl::StatusOr<fit::Recommendation> rec =
      fit::Recommend(candidates->fit, *machine, *constraints, OverCores);
  if (!rec.ok()) return rec.status();

  const std::vector<std::string> notes = internal::HardwareNotes(*hw);
  v1::Recommendation out;
  if (rec->found)
    *out.mutable_pick() = ChoiceFromOption(rec->pick, *candidates, notes, calibration);
  for (const fit::Option& o : rec->alternatives) {
    *out.add_alternatives() = ChoiceFromOption(o, *candidates, notes, calibration);
  }
  out.set_reason(rec->reason);
  return out;
}

}  // namespace headroom::engine
