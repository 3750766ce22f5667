// Time of one recommendation over every file type of the catalog's quality table (about 25
// candidate quants of Llama 3.1 8B) on one GPU, per preference; and of one PlanFit call, the
// recommender's unit of work. Run: build/bench/recommend_bench (figures in
// docs/PERFORMANCE.md).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "headroom/catalog/catalog.h"
#include "headroom/catalog/ggml_types.h"
#include "headroom/catalog/quant_plan.h"
#include "headroom/fit/recommend.h"

namespace {

using headroom::fit::Candidate;
using headroom::fit::Constraints;
using headroom::fit::Machine;
using headroom::fit::Prefer;

struct Setup {
  std::vector<Candidate> candidates;
  // The same quants prepared once and kept (what the daemon's model cache holds between
  // requests): tables and compute buffers are not worked out again.
  std::vector<Candidate> prepared;
  Machine machine;
  // The 8 GiB GPU of tests/fixtures/plugin (plugin_bench's daemon): more quants split there.
  Machine small_gpu;
};

// Llama 3.1 8B at every file type of the quality table the quantizer model knows, on an
// RTX 3060 12GB with 64 GiB of host RAM: some quants fit whole, some only split.
const Setup& TheSetup() {
  static const Setup* const kSetup = [] {
    auto* s = new Setup;
    absl::StatusOr<headroom::catalog::Catalog> catalog = headroom::catalog::Catalog::LoadBuiltin();
    if (!catalog.ok()) return s;
    const headroom::v1::ModelSpec* model = catalog->FindModel("llama-3.1-8b");
    for (const headroom::v1::QualityEntry& q : catalog->quality().entries()) {
      const auto* ft = headroom::catalog::FindFileTypeByName(q.file_type());
      if (ft == nullptr) continue;
      auto plan = headroom::catalog::PlanQuantization(model->architecture(), ft->id);
      if (!plan.ok()) continue;
      auto tensors = headroom::fit::ModelFromPlan(model->architecture(), *plan);
      if (!tensors.ok()) continue;
      s->candidates.push_back(Candidate{.label = q.file_type(),
                                        .file_type = q.file_type(),
                                        .model = *std::move(tensors),
                                        .kld = q.mean_kld()});
    }
    const headroom::fit::PreparedModel* first = nullptr;
    for (const Candidate& c : s->candidates) {
      Candidate p{.label = c.label, .file_type = c.file_type, .kld = c.kld};
      p.prepared = std::make_shared<const headroom::fit::PreparedModel>(
          std::make_shared<const headroom::fit::ModelTensors>(c.model), first);
      if (first == nullptr) first = p.prepared.get();
      s->prepared.push_back(std::move(p));
    }
    const headroom::v1::GpuSpec* gpu = catalog->FindGpu("RTX 3060 12GB");
    s->machine.gpus.push_back({.name = gpu->name(),
                               .backend = headroom::fit::Backend::kCuda,
                               .free_bytes = gpu->memory_bytes(),
                               .total_bytes = gpu->memory_bytes(),
                               .bandwidth_gbps = gpu->bandwidth_gbps(),
                               .fp16_tflops = gpu->fp16_tflops()});
    s->machine.host_available_bytes = uint64_t{64} << 30;
    s->machine.host_total_bytes = uint64_t{64} << 30;
    s->machine.host_bandwidth_gbps = 60;
    s->machine.host_threads = 8;
    s->small_gpu = s->machine;
    s->small_gpu.gpus[0] = {.name = "Test GPU 8 GiB",
                            .backend = headroom::fit::Backend::kCuda,
                            .free_bytes = uint64_t{8} << 30,
                            .total_bytes = uint64_t{8} << 30,
                            .bandwidth_gbps = 272,
                            .fp16_tflops = 60};
    s->small_gpu.host_available_bytes = uint64_t{28} << 30;
    s->small_gpu.host_total_bytes = uint64_t{32} << 30;
    return s;
  }();
  return *kSetup;
}

// range(0): the preference; range(1): 1 = candidates prepared once and kept across calls;
// range(2): 1 = the 8 GiB GPU machine instead of the RTX 3060 12 GB.
void BM_Recommend(benchmark::State& state) {
  const Setup& setup = TheSetup();
  Constraints constraints;
  constraints.prefer = static_cast<Prefer>(state.range(0));
  constraints.min_decode_tok_s = 10;
  const std::vector<Candidate>& candidates =
      state.range(1) == 1 ? setup.prepared : setup.candidates;
  for (auto _ : state) {
    auto rec = headroom::fit::Recommend(
        candidates, state.range(2) == 1 ? setup.small_gpu : setup.machine, constraints);
    if (!rec.ok()) state.SkipWithError(std::string(rec.status().message()).c_str());
    benchmark::DoNotOptimize(rec);
  }
  state.counters["candidates"] = static_cast<double>(setup.candidates.size());
  state.SetLabel(absl::StrCat(state.range(0) == 0   ? "quality"
                              : state.range(0) == 1 ? "speed"
                                                    : "context",
                              state.range(1) == 1 ? ", prepared" : ", cold",
                              state.range(2) == 1 ? ", 8 GiB GPU" : ", RTX 3060 12 GB"));
}
BENCHMARK(BM_Recommend)
    ->ArgsProduct({{static_cast<int>(Prefer::kQuality), static_cast<int>(Prefer::kSpeed),
                    static_cast<int>(Prefer::kContext)},
                   {0, 1},
                   {0, 1}})
    ->Unit(benchmark::kMicrosecond);

// One PlanFit with the auto placement, as the recommender issues it for the Q8_0 candidate.
void BM_PlanFitAuto(benchmark::State& state) {
  const Setup& setup = TheSetup();
  const Candidate* q8 = nullptr;
  for (const Candidate& c : setup.candidates) {
    if (c.file_type == "Q8_0") q8 = &c;
  }
  if (q8 == nullptr) {
    state.SkipWithError("no Q8_0 candidate");
    return;
  }
  headroom::fit::PlanOptions options;
  options.request.n_ctx = 4096;
  for (auto _ : state) {
    auto plan = headroom::fit::PlanFit(q8->model, setup.machine, options);
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_PlanFitAuto)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
