// A PreparedModel keeps tables and compute regimes between plans; these tests check that what
// it keeps never changes an answer: every plan through one shared PreparedModel, in any order
// and from several threads, equals PlanFit on the bare tensors (which keeps nothing).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fit_test_util.h"
#include "gtest/gtest.h"
#include "headroom/fit/plan.h"
#include "headroom/fit/recommend.h"

namespace headroom::fit {
namespace {

using fixtures::CatalogModel;

constexpr uint64_t kGiB = uint64_t{1} << 30;

Machine Machine2(uint64_t gpu_free_gib, uint64_t host_gib) {
  const Gpu gpu{.name = "RTX 3090",
                .backend = Backend::kCuda,
                .free_bytes = gpu_free_gib * kGiB,
                .total_bytes = gpu_free_gib * kGiB + kGiB,
                .bandwidth_gbps = 936,
                .fp16_tflops = 71};
  return {.gpus = {gpu, gpu},
          .host_available_bytes = host_gib * kGiB,
          .host_total_bytes = host_gib * kGiB + 4 * kGiB,
          .host_bandwidth_gbps = 60,
          .host_threads = 8};
}

void ExpectSameDevice(const DeviceUsage& a, const DeviceUsage& b, const std::string& at) {
  EXPECT_EQ(a.name, b.name) << at;
  EXPECT_EQ(a.weights_bytes, b.weights_bytes) << at;
  EXPECT_EQ(a.kv_cache_bytes, b.kv_cache_bytes) << at;
  EXPECT_EQ(a.compute_bytes, b.compute_bytes) << at;
  EXPECT_EQ(a.output_bytes, b.output_bytes) << at;
  EXPECT_EQ(a.overhead_bytes, b.overhead_bytes) << at;
  EXPECT_EQ(a.total_bytes, b.total_bytes) << at;
  EXPECT_EQ(a.layers, b.layers) << at;
}

void ExpectSamePlan(const absl::StatusOr<Plan>& a, const absl::StatusOr<Plan>& b,
                    const std::string& at) {
  ASSERT_EQ(a.ok(), b.ok()) << at << ": " << a.status() << " vs " << b.status();
  if (!a.ok()) {
    EXPECT_EQ(a.status(), b.status()) << at;
    return;
  }
  EXPECT_EQ(a->verdict, b->verdict) << at;
  EXPECT_EQ(a->n_gpu_layers, b->n_gpu_layers) << at;
  EXPECT_EQ(a->n_cpu_moe, b->n_cpu_moe) << at;
  EXPECT_EQ(a->n_ctx, b->n_ctx) << at;
  EXPECT_EQ(a->kv_cells, b->kv_cells) << at;
  EXPECT_EQ(a->kv_streams, b->kv_streams) << at;
  EXPECT_EQ(a->flash_attn, b->flash_attn) << at;
  EXPECT_EQ(a->max_context, b->max_context) << at;
  EXPECT_EQ(a->headroom_bytes, b->headroom_bytes) << at;
  EXPECT_EQ(a->reason, b->reason) << at;
  EXPECT_EQ(a->speed.decode_tok_s, b->speed.decode_tok_s) << at;
  EXPECT_EQ(a->speed.prefill_tok_s, b->speed.prefill_tok_s) << at;
  ASSERT_EQ(a->gpus.size(), b->gpus.size()) << at;
  for (size_t i = 0; i < a->gpus.size(); ++i) ExpectSameDevice(a->gpus[i], b->gpus[i], at);
  ExpectSameDevice(a->host, b->host, at);
}

struct Case {
  PlanOptions options;
  Machine machine;
  std::string name;
};

// Contexts scattered over the range (so regimes kept from one call serve others), KV types,
// fixed and auto placements, flash attention on and off, machines with room and without.
std::vector<Case> Cases(const ModelTensors& model) {
  std::vector<Case> cases;
  const uint32_t blocks = model.arch.block_count();
  for (const uint32_t ctx : {131072u, 2048u, 40960u, 8192u, 65536u, 1000u, 16640u, 32768u}) {
    for (const uint32_t kv : {1u, 8u}) {
      for (const int placement : {0, 1, 2}) {
        for (const uint64_t gpu_gib : {uint64_t{3}, uint64_t{5}, uint64_t{23}}) {
          Case c;
          c.options.request.n_ctx = ctx;
          c.options.request.type_k = kv;
          c.options.request.type_v = kv;
          c.options.request.flash_attn =
              placement == 2 && kv == 1 ? FlashAttention::kDisabled : FlashAttention::kEnabled;
          if (placement == 1) c.options.n_gpu_layers = blocks / 2;
          if (placement == 2) c.options.n_gpu_layers = 0;
          c.machine = Machine2(gpu_gib, 96);
          c.name = "ctx " + std::to_string(ctx) + " kv " + std::to_string(kv) + " placement " +
                   std::to_string(placement) + " gpu " + std::to_string(gpu_gib);
          cases.push_back(std::move(c));
        }
      }
    }
  }
  return cases;
}

TEST(PreparedModelTest, EveryPlanEqualsTheBarePlan) {
  for (const auto& [id, quant] :
       {std::pair{"llama-3.1-8b", "Q4_K_M"}, std::pair{"qwen3-30b-a3b", "Q4_K_M"},
        std::pair{"deepseek-r1-distill-qwen-14b", "Q8_0"}}) {
    const ModelTensors model = CatalogModel(id, quant);
    const PreparedModel prepared(std::make_shared<const ModelTensors>(model));
    std::set<std::string> verdicts;
    std::set<uint32_t> max_contexts;
    for (const Case& c : Cases(model)) {
      const absl::StatusOr<Plan> bare = PlanFit(model, c.machine, c.options);
      ExpectSamePlan(PlanFit(prepared, c.machine, c.options), bare, std::string(id) + " " + c.name);
      if (bare.ok()) {
        verdicts.insert(PlanVerdictName(bare->verdict));
        max_contexts.insert(bare->max_context);
      }
    }
    // The cases reach several verdicts and many different largest contexts.
    EXPECT_GE(verdicts.size(), 2u) << id;
    EXPECT_GE(max_contexts.size(), 4u) << id;
  }
}

// Bad requests are refused the same way through a PreparedModel, and leave nothing behind
// that changes a later answer.
TEST(PreparedModelTest, RefusalsAreTheSame) {
  const ModelTensors model = CatalogModel("llama-3.1-8b", "Q4_K_M");
  const PreparedModel prepared(std::make_shared<const ModelTensors>(model));
  PlanOptions bad;
  bad.request.type_k = 9999;  // no such ggml type
  ExpectSamePlan(PlanFit(prepared, Machine2(23, 96), bad), PlanFit(model, Machine2(23, 96), bad),
                 "unknown type_k");
  bad.request.type_k = 1;
  bad.request.type_v = 8;
  bad.request.flash_attn = FlashAttention::kDisabled;  // llama.cpp refuses a quantized V
  ExpectSamePlan(PlanFit(prepared, Machine2(23, 96), bad), PlanFit(model, Machine2(23, 96), bad),
                 "quantized V without flash attention");
  PlanOptions good;
  good.request.n_ctx = 32768;
  ExpectSamePlan(PlanFit(prepared, Machine2(23, 96), good), PlanFit(model, Machine2(23, 96), good),
                 "after refusals");
}

// Plans on four threads share one PreparedModel (run under the sanitizers in CI's Debug
// build, this is also the data-race check).
TEST(PreparedModelTest, ThreadsShareOnePreparedModel) {
  const ModelTensors model = CatalogModel("qwen3-30b-a3b", "Q4_K_M");
  const PreparedModel prepared(std::make_shared<const ModelTensors>(model));
  const std::vector<Case> cases = Cases(model);
  std::vector<absl::StatusOr<Plan>> bare;
  for (const Case& c : cases) bare.push_back(PlanFit(model, c.machine, c.options));
  std::vector<std::vector<absl::StatusOr<Plan>>> shared(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < shared.size(); ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[(i + t * 7) % cases.size()];  // each thread in another order
        shared[t].push_back(PlanFit(prepared, c.machine, c.options));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (size_t t = 0; t < shared.size(); ++t) {
    for (size_t i = 0; i < cases.size(); ++i) {
      const size_t k = (i + t * 7) % cases.size();
      ExpectSamePlan(shared[t][i], bare[k], "thread " + std::to_string(t) + " " + cases[k].name);
    }
  }
}

// Recommend over candidates prepared by the caller (kept across calls, quants sharing compute
// buffers) answers as over bare candidates, on the first call and on later ones.
TEST(PreparedModelTest, RecommendWithPreparedCandidates) {
  std::vector<Candidate> bare;
  std::vector<Candidate> prepared;
  const PreparedModel* first = nullptr;
  for (const char* quant : {"Q8_0", "Q6_K", "Q4_K_M", "Q3_K_M", "Q2_K"}) {
    Candidate c{.label = quant, .file_type = quant, .model = CatalogModel("llama-3.1-8b", quant)};
    Candidate p{.label = quant, .file_type = quant};
    p.prepared =
        std::make_shared<const PreparedModel>(std::make_shared<const ModelTensors>(c.model), first);
    if (first == nullptr) first = p.prepared.get();
    bare.push_back(std::move(c));
    prepared.push_back(std::move(p));
  }
  for (const Prefer prefer : {Prefer::kQuality, Prefer::kSpeed, Prefer::kContext}) {
    for (const uint64_t gpu_gib : {uint64_t{5}, uint64_t{8}}) {
      Constraints constraints;
      constraints.prefer = prefer;
      constraints.min_decode_tok_s = 5;
      const Machine machine = Machine2(gpu_gib, 64);
      const absl::StatusOr<Recommendation> want = Recommend(bare, machine, constraints);
      ASSERT_TRUE(want.ok()) << want.status();
      // Candidates on four threads, handed out last first: the same answer.
      const ParallelFor threads = [](size_t n, const std::function<void(size_t)>& fn) {
        std::atomic<size_t> next{0};
        std::vector<std::thread> pool;
        for (int t = 0; t < 4; ++t) {
          pool.emplace_back([&] {
            for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(n - 1 - i);
          });
        }
        for (std::thread& th : pool) th.join();
      };
      for (int round = 0; round < 3; ++round) {
        const absl::StatusOr<Recommendation> got =
            round == 2 ? Recommend(prepared, machine, constraints, threads)
                       : Recommend(prepared, machine, constraints);
        ASSERT_TRUE(got.ok()) << got.status();
        const std::string at = "prefer " + std::to_string(static_cast<int>(prefer)) + " gpu " +
                               std::to_string(gpu_gib) + " round " + std::to_string(round);
        EXPECT_EQ(got->found, want->found) << at;
        EXPECT_EQ(got->reason, want->reason) << at;
        EXPECT_EQ(got->pick.candidate, want->pick.candidate) << at;
        EXPECT_EQ(got->pick.n_ctx, want->pick.n_ctx) << at;
        EXPECT_EQ(got->pick.type_k, want->pick.type_k) << at;
        EXPECT_EQ(got->pick.n_gpu_layers, want->pick.n_gpu_layers) << at;
        ASSERT_EQ(got->alternatives.size(), want->alternatives.size()) << at;
        for (size_t i = 0; i < got->alternatives.size(); ++i) {
          EXPECT_EQ(got->alternatives[i].reason, want->alternatives[i].reason) << at;
        }
      }
    }
  }
}

}  // namespace
}  // namespace headroom::fit
