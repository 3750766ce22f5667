// Benchmarks of the llama.cpp placement estimate (headroom::fit::PlanFit). Run:
// build/bench/fit_bench. One PlanFit call places the layers (the largest -ngl that fits, and
// for MoE the expert offload), costs every device, estimates speed, and bisects the largest
// context that fits; the target is 20 us per call (docs/PERFORMANCE.md).
#include <cstdio>
#include <string>

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

void RunPlanFit(benchmark::State& state, const ModelTensors& model, const Machine& machine,
                const PlanOptions& options) {
  for (auto _ : state) {
    auto plan = headroom::fit::PlanFit(model, machine, options);
    benchmark::DoNotOptimize(plan);
  }
  auto plan = headroom::fit::PlanFit(model, machine, options);
  if (plan.ok()) {
    state.SetLabel(absl::StrCat(headroom::fit::PlanVerdictName(plan->verdict), " ngl ",
                                plan->n_gpu_layers, "/", plan->n_layers, " cpu-moe ",
                                plan->n_cpu_moe, " max_ctx ", plan->max_context, " ",
                                static_cast<int>(plan->speed.decode_tok_s), " tok/s"));
  } else {
    state.SkipWithError(std::string(plan.status().message()).c_str());
  }
}

// Llama 3.1 70B Q4_K_M (~40 GiB) on 2 x RTX 3090: auto -ngl (partial offload), 8k context.
void BM_PlanFit_Dense70B_Auto(benchmark::State& state) {
  static const ModelTensors model = CatalogModel("llama-3.1-70b", "Q4_K_M");
  PlanOptions options;
  options.request.n_ctx = 8192;
  RunPlanFit(state, model, TwoGpus(23, 936, 71), options);
}
BENCHMARK(BM_PlanFit_Dense70B_Auto);

// The same with the placement given (what a launcher re-checking its settings asks).
void BM_PlanFit_Dense70B_FixedLayers(benchmark::State& state) {
  static const ModelTensors model = CatalogModel("llama-3.1-70b", "Q4_K_M");
  PlanOptions options;
  options.request.n_ctx = 8192;
  options.n_gpu_layers = 70;
  RunPlanFit(state, model, TwoGpus(23, 936, 71), options);
}
BENCHMARK(BM_PlanFit_Dense70B_FixedLayers);

// DeepSeek R1 671B Q4_K_M (~377 GiB, 256 experts) on 2 x H100 80 GB: auto expert offload.
void BM_PlanFit_DeepSeekR1_AutoExperts(benchmark::State& state) {
  static const ModelTensors model = CatalogModel("deepseek-r1", "Q4_K_M");
  PlanOptions options;
  options.request.n_ctx = 32768;
  RunPlanFit(state, model, TwoGpus(79, 3350, 989), options);
}
BENCHMARK(BM_PlanFit_DeepSeekR1_AutoExperts);

// R1 with every expert on the CPU (-ot exps=CPU) and -ngl given.
void BM_PlanFit_DeepSeekR1_ExpertsOnCpu(benchmark::State& state) {
  static const ModelTensors model = CatalogModel("deepseek-r1", "Q4_K_M");
  PlanOptions options;
  options.request.n_ctx = 32768;
  options.n_gpu_layers = 62;
  options.experts_on_cpu = true;
  RunPlanFit(state, model, TwoGpus(79, 3350, 989), options);
}
BENCHMARK(BM_PlanFit_DeepSeekR1_ExpertsOnCpu);

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
