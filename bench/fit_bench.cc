// Benchmarks of the llama.cpp placement estimate (headroom::fit::PlanFit). Run:
// build/bench/fit_bench. One PlanFit call places the layers (the largest -ngl that fits, and
// for MoE the expert offload), costs every device, estimates speed, and bisects the largest
// context that fits; the target is 20 us per call (docs/PERFORMANCE.md), cold and prepared.
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "benchmark/benchmark.h"
#include "headroom/catalog/catalog.h"
#include "headroom/catalog/ggml_types.h"
#include "headroom/catalog/quant_plan.h"
#include "headroom/fit/estimate.h"
#include "headroom/fit/plan.h"

namespace {

using headroom::fit::Backend;
using headroom::fit::Gpu;
using headroom::fit::Machine;
using headroom::fit::ModelTensors;
using headroom::fit::PlanOptions;

ModelTensors CatalogModel(const std::string& id, const std::string& file_type) {
  auto catalog = headroom::catalog::Catalog::LoadBuiltin();
  const auto* spec = catalog.ok() ? catalog->FindModel(id) : nullptr;
  const auto* ft = headroom::catalog::FindFileTypeByName(file_type);
  if (spec == nullptr || ft == nullptr) {
    std::fprintf(stderr, "catalog has no %s %s\n", id.c_str(), file_type.c_str());
    std::abort();
  }
  auto planned = headroom::catalog::PlanQuantization(spec->architecture(), ft->id);
  auto model = planned.ok() ? headroom::fit::ModelFromPlan(spec->architecture(), *planned)
                            : absl::StatusOr<ModelTensors>(planned.status());
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", std::string(model.status().message()).c_str());
    std::abort();
  }
  return *model;
}

Machine TwoGpus(uint64_t free_gib, double bandwidth_gbps, double tflops) {
  const Gpu gpu{.name = "GPU",
                .backend = Backend::kCuda,
                .free_bytes = free_gib << 30,
                .total_bytes = (free_gib + 1) << 30,
                .bandwidth_gbps = bandwidth_gbps,
                .fp16_tflops = tflops};
  return {.gpus = {gpu, gpu},
          .host_available_bytes = uint64_t{480} << 30,
          .host_total_bytes = uint64_t{512} << 30,
          .host_bandwidth_gbps = 200,
          .host_threads = 32};
}

// How a benchmark calls PlanFit. kCold: on the bare tensors, so every call sums the tensors
// per layer and replays the compute graph (the first estimate of a model). kPrepared: on a
// PreparedModel after a first call, as the daemon and the recommender do (the table and the
// compute regimes are kept; the placement, speed and context search still run each call).
// kPreparedVaryingCtx: the same, with each call asking for another context (1k to 128k), so the
// kept regimes must cover contexts they were not replayed at.
enum class Mode { kCold, kPrepared, kPreparedVaryingCtx };

void RunPlanFit(benchmark::State& state, const ModelTensors& model, const Machine& machine,
                PlanOptions options, Mode mode) {
  const headroom::fit::PreparedModel prepared(std::make_shared<const ModelTensors>(model));
  auto plan_once = [&](const PlanOptions& o) {
    return mode == Mode::kCold ? headroom::fit::PlanFit(model, machine, o)
                               : headroom::fit::PlanFit(prepared, machine, o);
  };
  auto plan = plan_once(options);
  if (!plan.ok()) {
    state.SkipWithError(std::string(plan.status().message()).c_str());
    return;
  }
  state.SetLabel(absl::StrCat(headroom::fit::PlanVerdictName(plan->verdict), " ngl ",
                              plan->n_gpu_layers, "/", plan->n_layers, " cpu-moe ", plan->n_cpu_moe,
                              " max_ctx ", plan->max_context, " ",
                              static_cast<int>(plan->speed.decode_tok_s), " tok/s"));
  const uint32_t requested = options.request.n_ctx;
  uint32_t i = 0;
  for (auto _ : state) {
    if (mode == Mode::kPreparedVaryingCtx) {
      options.request.n_ctx = 1024 + (i++ * 7919u) % 127 * 1024;  // 1k..127k, scattered
    }
    auto p = plan_once(options);
    benchmark::DoNotOptimize(p);
  }
  options.request.n_ctx = requested;
}

void Register(const char* name, const ModelTensors& (*model)(), Machine machine,
              PlanOptions options) {
  for (const auto& [suffix, mode] :
       {std::pair{"/cold", Mode::kCold}, std::pair{"/prepared", Mode::kPrepared},
        std::pair{"/prepared_varying_ctx", Mode::kPreparedVaryingCtx}}) {
    benchmark::RegisterBenchmark(
        (std::string(name) + suffix).c_str(),
        [=](benchmark::State& state) { RunPlanFit(state, model(), machine, options, mode); })
        ->Unit(benchmark::kMicrosecond);
  }
}

const ModelTensors& Llama70B() {
  static const ModelTensors model = CatalogModel("llama-3.1-70b", "Q4_K_M");
  return model;
}
const ModelTensors& DeepSeekR1() {
  static const ModelTensors model = CatalogModel("deepseek-r1", "Q4_K_M");
  return model;
}

// Llama 3.1 70B Q4_K_M (~40 GiB) on 2 x RTX 3090: auto -ngl, 8k context.
// The same with the placement given (what a launcher re-checking its settings asks).
// DeepSeek R1 671B Q4_K_M (~377 GiB, 256 experts) on 2 x H100 80 GB: auto expert offload.
// R1 with every expert on the CPU (-ot exps=CPU) and -ngl given.
const bool kRegistered = [] {
  PlanOptions dense;
  dense.request.n_ctx = 8192;
  Register("BM_PlanFit_Dense70B_Auto", Llama70B, TwoGpus(23, 936, 71), dense);
  dense.n_gpu_layers = 70;
  Register("BM_PlanFit_Dense70B_FixedLayers", Llama70B, TwoGpus(23, 936, 71), dense);
  PlanOptions r1;
  r1.request.n_ctx = 32768;
  Register("BM_PlanFit_DeepSeekR1_AutoExperts", DeepSeekR1, TwoGpus(79, 3350, 989), r1);
  r1.n_gpu_layers = 62;
  r1.experts_on_cpu = true;
  Register("BM_PlanFit_DeepSeekR1_ExpertsOnCpu", DeepSeekR1, TwoGpus(79, 3350, 989), r1);
  return true;
}();

// EstimateCpuMemory (the CPU-only estimate): weights, KV, and the reserve and touched compute
// buffers, each one replay of the graph.
void BM_EstimateCpuMemory_Dense70B(benchmark::State& state) {
  static const ModelTensors model = CatalogModel("llama-3.1-70b", "Q4_K_M");
  headroom::fit::Request request;
  request.n_ctx = 8192;
  for (auto _ : state) {
    auto estimate = headroom::fit::EstimateCpuMemory(model, request);
    benchmark::DoNotOptimize(estimate);
  }
}
BENCHMARK(BM_EstimateCpuMemory_Dense70B);

void BM_EstimateCpuMemory_DeepSeekR1(benchmark::State& state) {
  static const ModelTensors model = CatalogModel("deepseek-r1", "Q4_K_M");
  headroom::fit::Request request;
  request.n_ctx = 32768;
  for (auto _ : state) {
    auto estimate = headroom::fit::EstimateCpuMemory(model, request);
    benchmark::DoNotOptimize(estimate);
  }
}
BENCHMARK(BM_EstimateCpuMemory_DeepSeekR1);

}  // namespace

BENCHMARK_MAIN();
