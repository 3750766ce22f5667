// The vLLM profile against vLLM's own startup logs (sources cited per test) and its rules on
// catalog models, 1x/2x H100 80GB and an RTX 4090.
#include "headroom/fit/vllm.h"

#include <string>

#include "fit_test_util.h"
#include "gtest/gtest.h"
#include "headroom/catalog/catalog.h"
#include "headroom/catalog/quant_plan.h"
#include "vllm_memory.h"

namespace headroom::fit {
namespace {

using fixtures::TheCatalog;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

uint64_t GiBytes(double gib) { return static_cast<uint64_t>(gib * kGiB); }
double InGiB(uint64_t bytes) { return static_cast<double>(bytes) / kGiB; }

const headroom::v1::Architecture& Arch(const std::string& id) {
  const headroom::v1::ModelSpec* spec = TheCatalog().FindModel(id);
  EXPECT_NE(spec, nullptr) << id;
  return spec->architecture();
}

// The catalog model as a bf16 checkpoint (llama.cpp's F16 plan: same shapes, 2 bytes each).
ModelTensors Bf16Model(const std::string& id) {
  const headroom::v1::Architecture& arch = Arch(id);
  absl::StatusOr<std::vector<catalog::PlannedTensor>> plan = catalog::PlanQuantization(arch, 1);
  EXPECT_TRUE(plan.ok()) << plan.status();
  absl::StatusOr<ModelTensors> model = ModelFromPlan(arch, *plan);
  EXPECT_TRUE(model.ok()) << model.status();
  return *model;
}

Gpu CatalogGpu(const std::string& name) {
  const headroom::v1::GpuSpec* spec = TheCatalog().FindGpu(name);
  EXPECT_NE(spec, nullptr) << name;
  return Gpu{.name = spec->name(),
             .backend = Backend::kCuda,
             .free_bytes = spec->memory_bytes(),
             .total_bytes = spec->memory_bytes(),
             .bandwidth_gbps = spec->bandwidth_gbps(),
             .fp16_tflops = spec->fp16_tflops()};
}

Machine Gpus(const Gpu& gpu, int count) {
  Machine m;
  for (int i = 0; i < count; ++i) m.gpus.push_back(gpu);
  m.host_available_bytes = GiBytes(200);
  m.host_total_bytes = GiBytes(256);
  return m;
}

// The H100 of llm-d/llm-d-benchmark config_explorer/empirical-vllm-memory-results.md: torch
// reports 79.18 GiB total, 78.57 GiB free at startup; vllm serve defaults (8192 batched
// tokens, 1024 sequences on a >= 70 GiB GPU), gpu_memory_utilization 0.9 = 71.26 GiB.
Machine LlmdH100(int count) {
  Gpu h100 = CatalogGpu("H100 SXM5 80GB");
  h100.total_bytes = GiBytes(79.18);
  h100.free_bytes = GiBytes(78.57);
  return Gpus(h100, count);
}

TEST(VllmTest, Llama31_8BOnH100MatchesTheLoggedBreakdown) {
  VllmOptions options;
  options.max_model_len = 16000;
  absl::StatusOr<VllmPlan> plan = PlanVllm(Bf16Model("llama-3.1-8b"), LlmdH100(1), options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->fits) << plan->reason;
  // Logged: budget 71.26, weights 14.99, activation 4.76, non-torch 0.13, KV 51.38 GiB.
  EXPECT_NEAR(InGiB(plan->budget_bytes), 71.26, 0.01);
  EXPECT_NEAR(InGiB(plan->weights_bytes), 14.99, 0.02);
  EXPECT_NEAR(InGiB(plan->activation_bytes), 4.76, 0.02);
  EXPECT_NEAR(InGiB(plan->non_torch_bytes), 0.13, 0.01);
  EXPECT_NEAR(InGiB(plan->kv_cache_bytes), 51.38, 0.05);
  EXPECT_EQ(plan->max_num_batched_tokens, 8192u);
  EXPECT_EQ(plan->max_num_seqs, 1024u);
  // 32 layers x 8 KV heads x 128 x (K + V) x 2 bytes = 128 KiB a token.
  EXPECT_EQ(plan->kv_bytes_per_token, 131072u);
  EXPECT_EQ(plan->kv_tokens, plan->num_blocks * 16);
  EXPECT_EQ(plan->max_concurrency, static_cast<uint32_t>(plan->concurrency));
  EXPECT_NEAR(plan->concurrency, static_cast<double>(plan->kv_tokens) / 16000.0, 0.01);
  EXPECT_EQ(plan->max_model_len, 16000u);  // capped at the requested length
}

TEST(VllmTest, Qwen3_32BOnH100FitsAt16kAndIsRefusedAt32k) {
  // Logged: weights 61.03, activation 5.64, non-torch 0.14, KV 4.45 GiB at 16000; at 32000
  // the engine failed to start.
  VllmOptions options;
  options.max_model_len = 16000;
  const ModelTensors model = Bf16Model("qwen3-32b");
  absl::StatusOr<VllmPlan> ok = PlanVllm(model, LlmdH100(1), options);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->fits) << ok->reason;
  EXPECT_NEAR(InGiB(ok->weights_bytes), 61.03, 0.05);
  EXPECT_NEAR(InGiB(ok->activation_bytes), 5.64, 0.02);
  EXPECT_NEAR(InGiB(ok->kv_cache_bytes), 4.45, 0.08);

  options.max_model_len = 32000;
  absl::StatusOr<VllmPlan> refused = PlanVllm(model, LlmdH100(1), options);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_FALSE(refused->fits);
  // 64 layers x 8 x 128 x 2 x 2 bytes = 256 KiB a token; 32000 tokens = 7.81 GiB.
  EXPECT_NE(refused->reason.find("To serve at least one request with the model's max seq len "
                                 "(32000), (7.81 GiB KV cache is needed, which is larger than "
                                 "the available KV cache memory ("),
            std::string::npos)
      << refused->reason;
  EXPECT_GT(refused->max_model_len, 16000u);
  EXPECT_LT(refused->max_model_len, 32000u);
  // The estimated maximum model length is one that fits.
  options.max_model_len = refused->max_model_len;
  absl::StatusOr<VllmPlan> at_max = PlanVllm(model, LlmdH100(1), options);
  ASSERT_TRUE(at_max.ok());
  EXPECT_TRUE(at_max->fits) << at_max->reason;
  options.max_model_len = refused->max_model_len + 16;
  at_max = PlanVllm(model, LlmdH100(1), options);
  ASSERT_TRUE(at_max.ok());
  EXPECT_FALSE(at_max->fits);
}

// The five "Peak activation memory" readings of the same llm-d logs (8192 tokens, 1024 seqs).
TEST(VllmTest, ActivationPeakMatchesFiveLoggedRuns) {
  headroom::v1::Architecture qwen3_06b;  // Qwen/Qwen3-0.6B config.json: hidden 1024
  qwen3_06b.set_embedding_length(1024);
  qwen3_06b.set_vocab_size(151936);
  struct Row {
    headroom::v1::Architecture arch;
    double logged_gib;
  };
  const Row rows[] = {{Arch("llama-3.1-8b"), 4.76},
                      {Arch("llama-3.3-70b"), 4.84},
                      {qwen3_06b, 5.56},
                      {Arch("qwen3-32b"), 5.64},
                      {Arch("gpt-oss-20b"), 7.38}};
  for (const Row& row : rows) {
    EXPECT_NEAR(InGiB(internal::VllmActivationBytes(row.arch, 8192, 1024)), row.logged_gib, 0.02)
        << row.arch.family() << " hidden " << row.arch.embedding_length();
  }
}

// LMCache/LMCache issue #1739 (vLLM V1 log, Qwen3-14B, one GPU): "Available KV cache memory:
// 6.51 GiB", "GPU KV cache size: 42,656 tokens", "Maximum concurrency for 32,768 tokens per
// request: 1.30x".
TEST(VllmTest, Qwen3_14BKvTokensMatchThePublishedLog) {
  const internal::VllmKvLayout layout = internal::VllmKvPerToken(Arch("qwen3-14b"), 1, 2);
  EXPECT_EQ(layout.bytes_per_token(), 163840u);  // 40 x 8 x 128 x 2 x 2
  const uint64_t kv = GiBytes(6.51);
  const uint64_t blocks = kv / (16 * layout.bytes_per_token());
  // 6.51 is rounded to 0.01 GiB: the token count is known to +-0.005 GiB = 33 tokens.
  EXPECT_NEAR(static_cast<double>(blocks * 16), 42656.0, 40.0);
  const uint64_t per_seq = internal::VllmSequenceKvBytes(layout, 32768, 16, 8192);
  EXPECT_NEAR(static_cast<double>(kv) / static_cast<double>(per_seq), 1.30, 0.005);
}

TEST(VllmTest, Llama33_70BBf16NeedsTwoH100sAndThenHasLittleKv) {
  const ModelTensors model = Bf16Model("llama-3.3-70b");
  const Gpu h100 = CatalogGpu("H100 SXM5 80GB");
  absl::StatusOr<VllmPlan> one = PlanVllm(model, Gpus(h100, 1), {});
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_FALSE(one->fits);
  EXPECT_EQ(one->kv_cache_bytes, 0u);
  EXPECT_NE(one->reason.find("No available memory for the cache blocks"), std::string::npos)
      << one->reason;

  absl::StatusOr<VllmPlan> two = PlanVllm(model, Gpus(h100, 2), {});
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->tensor_parallel_size, 2u);
  EXPECT_NEAR(InGiB(two->weights_bytes), InGiB(one->weights_bytes - 32 * 1024 * 1024) / 2, 0.1);
  EXPECT_NEAR(InGiB(two->non_torch_bytes), 0.55, 0.01);
  // 4 of 8 KV heads per rank: 80 x 4 x 128 x 2 x 2 = 160 KiB a token per GPU.
  EXPECT_EQ(two->kv_bytes_per_token, 163840u);
  EXPECT_FALSE(two->fits);  // 131072 tokens need 20 GiB per GPU
  EXPECT_GT(two->max_model_len, 1024u);
  EXPECT_LT(two->max_model_len, 131072u);
  EXPECT_GT(two->decode_tok_s, one->decode_tok_s * 1.9);  // two GPUs read in parallel
}

TEST(VllmTest, Rtx4090UsesSmallDefaultsAndFp8DoublesTheTokens) {
  const ModelTensors model = Bf16Model("llama-3.1-8b");
  const Machine rtx = Gpus(CatalogGpu("RTX 4090"), 1);
  VllmOptions options;
  options.max_model_len = 16384;
  absl::StatusOr<VllmPlan> bf16 = PlanVllm(model, rtx, options);
  ASSERT_TRUE(bf16.ok()) << bf16.status();
  EXPECT_EQ(bf16->max_num_batched_tokens, 2048u);
  EXPECT_EQ(bf16->max_num_seqs, 256u);
  EXPECT_TRUE(bf16->fits) << bf16->reason;
  EXPECT_EQ(bf16->budget_bytes, GiBytes(24 * 0.9));
  EXPECT_EQ(bf16->kv_cache_bytes, bf16->budget_bytes - bf16->weights_bytes -
                                      bf16->activation_bytes - bf16->non_torch_bytes);
  options.kv_fp8 = true;
  absl::StatusOr<VllmPlan> fp8 = PlanVllm(model, rtx, options);
  ASSERT_TRUE(fp8.ok());
  EXPECT_EQ(fp8->kv_bytes_per_token * 2, bf16->kv_bytes_per_token);
  EXPECT_NEAR(static_cast<double>(fp8->kv_tokens), 2.0 * static_cast<double>(bf16->kv_tokens),
              16.0);
  // The trained 131072 does not fit on 24 GiB in bf16.
  absl::StatusOr<VllmPlan> full = PlanVllm(model, rtx, {});
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE(full->fits);
  EXPECT_EQ(full->max_model_len, bf16->kv_tokens);  // one sequence may use the whole cache
}

TEST(VllmTest, MlaCachesOneLatentPerLayerOnEveryRank) {
  const headroom::v1::Architecture& arch = Arch("deepseek-v2-lite");
  // 27 layers x (kv_lora_rank 512 + rope 64) x 2 bytes, not split by tensor parallelism.
  EXPECT_EQ(internal::VllmKvPerToken(arch, 1, 2).bytes_per_token(), 27u * 576 * 2);
  EXPECT_EQ(internal::VllmKvPerToken(arch, 2, 2).bytes_per_token(), 27u * 576 * 2);
}

TEST(VllmTest, SlidingWindowLayersHoldOnlyTheirWindow) {
  const internal::VllmKvLayout layout = internal::VllmKvPerToken(Arch("gemma-3-27b"), 1, 2);
  ASSERT_GT(layout.swa_bytes_per_token, 0u);
  ASSERT_GT(layout.full_bytes_per_token, 0u);
  EXPECT_EQ(layout.window_tokens, 1024u);
  const uint64_t bytes = internal::VllmSequenceKvBytes(layout, 131072, 16, 2048);
  // Sliding layers: cdiv(1024 - 1 + 2048, 16) + 1 = 193 blocks of 16 tokens.
  EXPECT_EQ(bytes, 131072 * layout.full_bytes_per_token + 193 * 16 * layout.swa_bytes_per_token);
  // A short sequence is not charged the whole window.
  EXPECT_EQ(internal::VllmSequenceKvBytes(layout, 100, 16, 2048),
            112 * layout.full_bytes_per_token + 8 * 16 * layout.swa_bytes_per_token);
}

TEST(VllmTest, TooLittleFreeMemoryIsRefusedAsVllmDoes) {
  Machine m = Gpus(CatalogGpu("RTX 4090"), 1);
  m.gpus[0].free_bytes = GiBytes(20);
  VllmOptions options;
  options.max_model_len = 4096;
  absl::StatusOr<VllmPlan> plan = PlanVllm(Bf16Model("qwen3-4b"), m, options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_FALSE(plan->fits);
  EXPECT_NE(plan->reason.find("Free memory on device (20.00/24.00 GiB) on startup is less than "
                              "desired GPU memory utilization (0.90, 21.60 GiB)"),
            std::string::npos)
      << plan->reason;
}

TEST(VllmTest, EnforceEagerDropsTheGraphReserve) {
  VllmOptions options;
  options.max_model_len = 4096;
  const Machine m = Gpus(CatalogGpu("RTX 4090"), 1);
  absl::StatusOr<VllmPlan> graphs = PlanVllm(Bf16Model("qwen3-4b"), m, options);
  options.enforce_eager = true;
  absl::StatusOr<VllmPlan> eager = PlanVllm(Bf16Model("qwen3-4b"), m, options);
  ASSERT_TRUE(graphs.ok() && eager.ok());
  EXPECT_GT(graphs->cuda_graph_bytes, 0u);
  EXPECT_EQ(eager->cuda_graph_bytes, 0u);
  // Captured after the KV cache is sized: the KV cache is the same either way.
  EXPECT_EQ(graphs->kv_cache_bytes, eager->kv_cache_bytes);
  // At utilization 1.0 nothing is left above the budget for the graphs.
  options.enforce_eager = false;
  options.gpu_memory_utilization = 1.0;
  absl::StatusOr<VllmPlan> full = PlanVllm(Bf16Model("qwen3-4b"), m, options);
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE(full->fits);
  EXPECT_NE(full->reason.find("CUDA graphs"), std::string::npos) << full->reason;
}

TEST(VllmTest, BadOptionsNameTheField) {
  const ModelTensors model = Bf16Model("qwen3-4b");
  const Machine two = Gpus(CatalogGpu("RTX 4090"), 2);
  auto error = [&](const Machine& m, const VllmOptions& o) {
    absl::StatusOr<VllmPlan> p = PlanVllm(model, m, o);
    EXPECT_FALSE(p.ok());
    return std::string(p.status().message());
  };
  EXPECT_NE(error(Machine{}, {}).find("machine.gpus"), std::string::npos);
  VllmOptions o;
  o.gpu_memory_utilization = 1.5;
  EXPECT_NE(error(two, o).find("options.gpu_memory_utilization"), std::string::npos);
  o = {};
  o.gpu_memory_utilization = 0;
  EXPECT_NE(error(two, o).find("options.gpu_memory_utilization"), std::string::npos);
  o = {};
  o.tensor_parallel_size = 3;
  EXPECT_NE(error(two, o).find("options.tensor_parallel_size"), std::string::npos);
  o = {};
  o.block_size = 12;
  EXPECT_NE(error(two, o).find("options.block_size"), std::string::npos);
  o = {};
  o.max_model_len = 1u << 30;
  EXPECT_NE(error(two, o).find("options.max_model_len"), std::string::npos);
  // Qwen3-4B has 32 query heads: tensor parallelism 2 divides them, a model with an odd head
  // count does not.
  ModelTensors odd = model;
  odd.arch.set_head_count(25);
  absl::StatusOr<VllmPlan> p = PlanVllm(odd, two, {});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("must be divisible by tensor parallel size (2)"),
            std::string::npos);
}

}  // namespace
}  // namespace headroom::fit
