// The recommender on catalog models: each claim it makes is checked against
// PlanFit itself (the pick fits, 256 more tokens do not, better quants fail the
// constraints), so the tests hold whatever the memory model's constants are.
#include "headroom/fit/recommend.h"

#include <algorithm>
#include <string>

#include "fit_test_util.h"
#include "gtest/gtest.h"
#include "headroom/catalog/catalog.h"
#include "headroom/catalog/ggml_types.h"
#include "headroom/catalog/quant_plan.h"

namespace headroom::fit {
namespace {

using fixtures::TheCatalog;

constexpr uint64_t kGiB = uint64_t{1} << 30;

// Candidates of a catalog model at the given file types, KLD from the quality
// table.
std::vector<Candidate> Candidates(const std::string& id, const std::vector<std::string>& types) {
  std::vector<Candidate> out;
  for (const std::string& type : types) {
    Candidate c{
        .label = id + "-" + type, .file_type = type, .model = fixtures::CatalogModel(id, type)};
    if (const auto* q = TheCatalog().FindQuality(type)) c.kld = q->mean_kld();
    out.push_back(std::move(c));
  }
  return out;
}

Machine OneGpu(const std::string& gpu_name, uint64_t host_gib = 64) {
  const headroom::v1::GpuSpec* spec = TheCatalog().FindGpu(gpu_name);
  EXPECT_NE(spec, nullptr) << gpu_name;
  Machine m;
  m.gpus.push_back(Gpu{.name = spec->name(),
                       .backend = Backend::kCuda,
                       .free_bytes = spec->memory_bytes(),
                       .total_bytes = spec->memory_bytes(),
                       .bandwidth_gbps = spec->bandwidth_gbps(),
                       .fp16_tflops = spec->fp16_tflops()});
  m.host_available_bytes = host_gib * kGiB;
  m.host_total_bytes = host_gib * kGiB;
  m.host_bandwidth_gbps = 60;
  m.host_threads = 8;
  return m;
}

// PlanFit with exactly the option's settings at `n_ctx`.
Plan Replan(const Candidate& c, const Machine& m, const Constraints& k, const Option& o,
            uint32_t n_ctx) {
  PlanOptions p;
  p.request = k.base;
  p.request.n_ctx = n_ctx;
  p.request.n_parallel = k.n_parallel;
  p.request.type_k = o.type_k;
  p.request.type_v = o.type_v;
  if (catalog::FindGgmlType(o.type_v)->quantized) p.request.flash_attn = FlashAttention::kEnabled;
  p.n_gpu_layers = o.n_gpu_layers;
  if (o.n_cpu_moe == 0) p.experts_on_cpu = false;
  p.gpu_margin_bytes = k.margin_bytes;
  absl::StatusOr<Plan> plan = PlanFit(c.model, m, p);
  EXPECT_TRUE(plan.ok()) << plan.status();
  return *plan;
}

bool Fits(const Plan& p, const Constraints& k) {
  return p.verdict != PlanVerdict::kDoesNotFit &&
         p.headroom_bytes >= static_cast<int64_t>(k.margin_bytes) &&
         p.speed.decode_tok_s >= k.min_decode_tok_s;
}

const std::vector<std::string> kLlamaTypes = {"Q3_K_M", "IQ4_XS", "Q4_K_M", "Q5_K_M",
                                              "Q6_K",   "Q8_0",   "F16"};

TEST(RecommendTest, QualityPicksTheBestQuantThatMeetsTheSpeedAndSaysWhy) {
  const std::vector<Candidate> cands = Candidates("llama-3.1-8b", kLlamaTypes);
  const Machine m = OneGpu("RTX 3060 12GB");
  Constraints k;
  k.min_context = 8192;
  k.min_decode_tok_s = 20;  // rules out F16 split over a 60 GB/s host
  absl::StatusOr<Recommendation> rec = Recommend(cands, m, k);
  ASSERT_TRUE(rec.ok()) << rec.status();
  ASSERT_TRUE(rec->found) << rec->reason;
  const Option& pick = rec->pick;
  const Candidate& c = cands[pick.candidate];
  EXPECT_EQ(c.file_type, "Q8_0") << rec->reason;
  EXPECT_TRUE(pick.meets_constraints);
  EXPECT_EQ(pick.plan.verdict, PlanVerdict::kFits);
  EXPECT_EQ(pick.n_gpu_layers, 33u);  // 32 blocks + the output layer
  EXPECT_GE(pick.n_ctx, 8192u);
  EXPECT_EQ(pick.n_ctx % 256, 0u);
  // The context is the largest that fits: PlanFit agrees at n_ctx and refuses
  // 256 more.
  EXPECT_TRUE(Fits(Replan(c, m, k, pick, pick.n_ctx), k));
  if (pick.n_ctx < 131072) {
    const Plan more = Replan(c, m, k, pick, pick.n_ctx + 256);
    EXPECT_FALSE(Fits(more, k) && more.n_gpu_layers == 33u);
  }
  EXPECT_EQ(
      pick.reason.rfind("Q8_0: all 33 layers on GPU at " + std::to_string(pick.n_ctx) + " ctx", 0),
      0u)
      << pick.reason;
  EXPECT_NE(rec->reason.find("F16"), std::string::npos) << rec->reason;
  EXPECT_NE(rec->reason.find("below the 20.0 tok/s minimum"), std::string::npos) << rec->reason;
  // Every other candidate is listed once, the better-quality one as failing.
  ASSERT_EQ(rec->alternatives.size(), cands.size() - 1);
  for (const Option& alt : rec->alternatives) {
    EXPECT_NE(alt.candidate, pick.candidate);
    if (cands[alt.candidate].file_type == "F16") {
      EXPECT_FALSE(alt.meets_constraints) << alt.reason;
    } else {
      EXPECT_TRUE(alt.meets_constraints) << alt.reason;
      EXPECT_NE(alt.reason.find("lower quality than Q8_0 (KLD "), std::string::npos) << alt.reason;
    }
  }
}

TEST(RecommendTest, TooLittleVramIsReportedInGiB) {
  const std::vector<Candidate> cands = Candidates("llama-3.1-8b", {"Q4_K_M", "Q8_0"});
  const Machine m = OneGpu("RTX 3070");  // 8 GiB VRAM
  Constraints k;
  k.min_decode_tok_s = 30;  // more than Q8_0 split over a 60 GB/s host gives
  absl::StatusOr<Recommendation> rec = Recommend(cands, m, k);
  ASSERT_TRUE(rec.ok()) << rec.status();
  ASSERT_TRUE(rec->found) << rec->reason;
  EXPECT_EQ(cands[rec->pick.candidate].file_type, "Q4_K_M");
  // "Q4_K_M: all 33 layers ...; Q8_0 needs X GiB more for all layers on GPU at 4096 ctx; N of
  // 33 layers on GPU at 4096 ctx, S tok/s, below the 30.0 tok/s minimum"
  EXPECT_NE(rec->reason.find("; Q8_0 needs "), std::string::npos) << rec->reason;
  EXPECT_NE(rec->reason.find(" GiB more for all layers on GPU at 4096 ctx; "), std::string::npos)
      << rec->reason;
  EXPECT_NE(rec->reason.find(" of 33 layers on GPU at 4096 ctx, "), std::string::npos)
      << rec->reason;
  EXPECT_NE(rec->reason.find("below the 30.0 tok/s minimum"), std::string::npos) << rec->reason;
}

TEST(RecommendTest, F16KvIsPreferredAndQ8KvOnlyWhenItBuysTheMinimumContext) {
  const std::vector<Candidate> cands = Candidates("llama-3.1-8b", {"Q4_K_M"});
  const Machine m = OneGpu("RTX 3070", 64);
  Constraints k;
  k.min_decode_tok_s = 1;
  absl::StatusOr<Recommendation> rec = Recommend(cands, m, k);
  ASSERT_TRUE(rec.ok() && rec->found) << rec.status();
  EXPECT_EQ(rec->pick.type_k, 1u);
  EXPECT_EQ(rec->pick.type_v, 1u);
  ASSERT_EQ(rec->pick.n_gpu_layers, 33u);
  const uint32_t f16_max = rec->pick.n_ctx;
  // Ask for more than F16 holds on the GPU: q8_0 buys it (if it does at all).
  k.min_context = f16_max + 1024;
  rec = Recommend(cands, m, k);
  ASSERT_TRUE(rec.ok() && rec->found) << rec.status();
  if (rec->pick.n_gpu_layers == 33u) {
    EXPECT_EQ(rec->pick.type_v, 8u) << rec->pick.reason;
    EXPECT_TRUE(rec->pick.flash_attn);
    EXPECT_NE(rec->pick.reason.find("KV "), std::string::npos) << rec->pick.reason;
  }
  EXPECT_GE(rec->pick.n_ctx, f16_max + 1024);
  // Without flash attention a quantized V cache is never chosen (llama.cpp
  // refuses it).
  k.base.flash_attn = FlashAttention::kDisabled;
  rec = Recommend(cands, m, k);
  ASSERT_TRUE(rec.ok()) << rec.status();
  if (rec->found) {
    EXPECT_EQ(rec->pick.type_v, 1u);
  }
}

TEST(RecommendTest, ContextAndSpeedPreferencesRankDifferently) {
  const std::vector<Candidate> cands = Candidates("llama-3.1-8b", kLlamaTypes);
  const Machine m = OneGpu("RTX 4060 Ti 16GB");
  Constraints k;
  k.min_decode_tok_s = 5;
  k.prefer = Prefer::kQuality;
  auto quality = Recommend(cands, m, k);
  k.prefer = Prefer::kContext;
  auto context = Recommend(cands, m, k);
  k.prefer = Prefer::kSpeed;
  auto speed = Recommend(cands, m, k);
  ASSERT_TRUE(quality.ok() && context.ok() && speed.ok());
  ASSERT_TRUE(quality->found && context->found && speed->found);
  EXPECT_GE(context->pick.n_ctx, quality->pick.n_ctx);
  for (const Option& alt : context->alternatives) {
    if (alt.meets_constraints) {
      EXPECT_LE(alt.n_ctx, context->pick.n_ctx) << alt.reason;
    }
  }
  for (const Option& alt : speed->alternatives) {
    if (alt.meets_constraints) {
      EXPECT_LE(alt.plan.speed.decode_tok_s, speed->pick.plan.speed.decode_tok_s * 1.02)
          << alt.reason;
    }
  }
  EXPECT_GE(speed->pick.plan.speed.decode_tok_s, quality->pick.plan.speed.decode_tok_s);
}

TEST(RecommendTest, ContextIsCappedAtMaxAndTrainedContext) {
  const std::vector<Candidate> cands = Candidates("qwen3-4b", {"Q4_K_M", "Q8_0"});
  const Machine m = OneGpu("RTX 4090");
  Constraints k;
  k.prefer = Prefer::kContext;
  k.max_context = 10000;  // rounded down to 9984
  auto rec = Recommend(cands, m, k);
  ASSERT_TRUE(rec.ok() && rec->found) << rec.status();
  EXPECT_EQ(rec->pick.n_ctx, 9984u);
  k.max_context = 1u << 24;
  rec = Recommend(cands, m, k);
  ASSERT_TRUE(rec.ok() && rec->found);
  EXPECT_LE(rec->pick.n_ctx, cands[0].model.arch.context_length());
}

TEST(RecommendTest, MoeExpertsGoToHostRamWhenTheModelIsTooBigForTheGpu) {
  const std::vector<Candidate> cands = Candidates("qwen3-30b-a3b", {"Q8_0"});
  const Machine m = OneGpu("RTX 4060 Ti 16GB", 96);
  Constraints k;
  auto rec = Recommend(cands, m, k);
  ASSERT_TRUE(rec.ok() && rec->found) << rec.status();
  EXPECT_GT(rec->pick.n_cpu_moe, 0u) << rec->pick.reason;
  EXPECT_NE(rec->pick.reason.find(" layers in RAM"), std::string::npos) << rec->pick.reason;
}

TEST(RecommendTest, MlaModelsGetTheSameKAndVTypes) {
  const std::vector<Candidate> cands = Candidates("deepseek-v2-lite", {"Q4_K_M", "Q8_0"});
  const Machine m = OneGpu("RTX 3060 12GB");
  Constraints k;
  k.min_context = 32768;
  auto rec = Recommend(cands, m, k);
  ASSERT_TRUE(rec.ok()) << rec.status();
  if (rec->found) {
    EXPECT_EQ(rec->pick.type_k, rec->pick.type_v);
  }
  for (const Option& alt : rec->alternatives) EXPECT_EQ(alt.type_k, alt.type_v) << alt.reason;
}

TEST(RecommendTest, CpuOnlyMachineRunsOnTheHost) {
  const std::vector<Candidate> cands = Candidates("qwen3-4b", {"Q4_K_M", "Q8_0"});
  Machine m;
  m.host_available_bytes = 32 * kGiB;
  m.host_total_bytes = 32 * kGiB;
  m.host_bandwidth_gbps = 50;
  m.host_threads = 8;
  auto rec = Recommend(cands, m, {});
  ASSERT_TRUE(rec.ok() && rec->found) << rec.status();
  EXPECT_EQ(rec->pick.n_gpu_layers, 0u);
  EXPECT_NE(rec->pick.reason.find("CPU only"), std::string::npos) << rec->pick.reason;
}

TEST(RecommendTest, NothingFitsSaysSoWithTheShortfall) {
  const std::vector<Candidate> cands = Candidates("llama-3.3-70b", {"Q4_K_M", "Q8_0"});
  const Machine m = OneGpu("RTX 3070", 8);
  auto rec = Recommend(cands, m, {});
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_FALSE(rec->found);
  EXPECT_EQ(rec->alternatives.size(), 2u);
  EXPECT_EQ(rec->reason.rfind("no candidate meets the constraints: ", 0), 0u) << rec->reason;
  EXPECT_NE(rec->reason.find("GiB more"), std::string::npos) << rec->reason;
}

TEST(RecommendTest, OrderIsDeterministicAndIndependentOfInputOrder) {
  std::vector<Candidate> cands = Candidates("llama-3.1-8b", kLlamaTypes);
  const Machine m = OneGpu("RTX 4060 Ti 16GB");
  Constraints k;
  k.min_decode_tok_s = 10;
  auto a = Recommend(cands, m, k);
  std::reverse(cands.begin(), cands.end());
  auto b = Recommend(cands, m, k);
  ASSERT_TRUE(a.ok() && b.ok() && a->found && b->found);
  EXPECT_EQ(a->reason, b->reason);
  ASSERT_EQ(a->alternatives.size(), b->alternatives.size());
  for (size_t i = 0; i < a->alternatives.size(); ++i) {
    EXPECT_EQ(a->alternatives[i].reason, b->alternatives[i].reason);
  }
}

TEST(RecommendTest, UnknownKldFallsBackToBitsPerWeight) {
  std::vector<Candidate> cands = Candidates("qwen3-4b", {"Q4_K_M", "Q6_K"});
  cands[1].kld = -1;
  auto rec = Recommend(cands, OneGpu("RTX 4090"), {});
  ASSERT_TRUE(rec.ok() && rec->found);
  EXPECT_EQ(cands[rec->pick.candidate].file_type, "Q6_K");
  ASSERT_EQ(rec->alternatives.size(), 1u);
  EXPECT_NE(rec->alternatives[0].reason.find("bits per weight"), std::string::npos)
      << rec->alternatives[0].reason;
}

TEST(RecommendTest, TwoGpusHoldA70BTogether) {
  const std::vector<Candidate> cands = Candidates("llama-3.3-70b", {"Q4_K_M", "Q6_K"});
  Machine m = OneGpu("RTX 3090", 128);
  m.gpus.push_back(m.gpus[0]);
  Constraints k;
  k.min_decode_tok_s = 5;
  auto rec = Recommend(cands, m, k);
  ASSERT_TRUE(rec.ok() && rec->found) << rec.status();
  EXPECT_EQ(cands[rec->pick.candidate].file_type, "Q4_K_M") << rec->reason;
  EXPECT_EQ(rec->pick.n_gpu_layers, 81u);  // 80 blocks + the output layer
  ASSERT_EQ(rec->pick.plan.gpus.size(), 2u);
  EXPECT_GT(rec->pick.plan.gpus[0].layers, 0u);
  EXPECT_GT(rec->pick.plan.gpus[1].layers, 0u);
  EXPECT_TRUE(Fits(Replan(cands[rec->pick.candidate], m, k, rec->pick, rec->pick.n_ctx), k));
}

TEST(RecommendTest, ParallelSequencesMultiplyTheContext) {
  const std::vector<Candidate> cands = Candidates("qwen3-4b", {"Q4_K_M"});
  Constraints k;
  k.n_parallel = 4;
  k.max_context = 8192;
  auto rec = Recommend(cands, OneGpu("RTX 4090"), k);
  ASSERT_TRUE(rec.ok() && rec->found) << rec.status();
  EXPECT_EQ(rec->pick.n_ctx, 4u * 8192);  // -c is the total over the sequences
}

TEST(RecommendTest, QuantizedVWithoutFlashAttentionIsRefusedAsLlamaCppDoes) {
  const std::vector<Candidate> cands = Candidates("qwen3-4b", {"Q4_K_M"});
  Constraints k;
  k.kv_types = {8};  // q8_0 only
  k.base.flash_attn = FlashAttention::kDisabled;
  auto rec = Recommend(cands, OneGpu("RTX 4090"), k);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_FALSE(rec->found);
  EXPECT_NE(rec->reason.find("V cache quantization requires flash_attn"), std::string::npos)
      << rec->reason;
}

TEST(RecommendTest, BadConstraintsNameTheField) {
  const std::vector<Candidate> cands = Candidates("qwen3-4b", {"Q4_K_M"});
  const Machine m = OneGpu("RTX 4090");
  auto error = [&](const std::vector<Candidate>& c, const Constraints& k) {
    auto r = Recommend(c, m, k);
    EXPECT_FALSE(r.ok());
    return std::string(r.status().message());
  };
  EXPECT_NE(error({}, {}).find("candidates"), std::string::npos);
  Constraints k;
  k.min_context = 0;
  EXPECT_NE(error(cands, k).find("constraints.min_context"), std::string::npos);
  k = {};
  k.max_context = 1024;
  EXPECT_NE(error(cands, k).find("constraints.max_context"), std::string::npos);
  k = {};
  k.kv_types = {1, 4};  // 4 is a retired ggml type id
  EXPECT_NE(error(cands, k).find("constraints.kv_types[1]"), std::string::npos);
  k = {};
  k.kv_types.clear();
  EXPECT_NE(error(cands, k).find("constraints.kv_types"), std::string::npos);
  k = {};
  k.min_decode_tok_s = -1;
  EXPECT_NE(error(cands, k).find("constraints.min_decode_tok_s"), std::string::npos);
  k = {};
  k.n_parallel = 0;
  EXPECT_NE(error(cands, k).find("constraints.n_parallel"), std::string::npos);
  k = {};
  k.min_context = 3000000000u;
  EXPECT_NE(error(cands, k).find("constraints.min_context"), std::string::npos);
}

}  // namespace
}  // namespace headroom::fit
