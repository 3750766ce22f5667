// Decode speed against every llama-bench row of tests/fixtures/groundtruth/measurements.csv
// (real llama.cpp, CPU only, 2-core AVX-512 EPYC with a 70 GB/s STREAM read): within 25 %, and
// the weight bytes read per token exact. Plus the properties of the speed model on GPUs.
#include <cmath>
#include <cstdio>
#include <map>
#include <regex>
#include <string>

#include "fit_test_util.h"
#include "gtest/gtest.h"
#include "headroom/fit/plan.h"
#include "test_util.h"

namespace headroom::fit {
namespace {

using fixtures::CatalogModel;
using fixtures::GroundtruthModel;

constexpr double kGib = 1024.0 * 1024.0 * 1024.0;
// README of the groundtruth: a STREAM read reaches 70 GB/s on the machine's 2 threads.
constexpr double kGroundtruthHostGbps = 70;

uint32_t Flag(const std::string& cmd, const std::string& flag, uint32_t if_absent) {
  std::smatch m;
  if (std::regex_search(cmd, m, std::regex(" " + flag + " (\\d+)"))) {
    return static_cast<uint32_t>(std::stoul(m[1].str()));
  }
  return if_absent;
}

TEST(SpeedGroundtruth, DecodeWithin25PercentOnEveryLlamaBenchRow) {
  const auto rows = testing::ReadCsv(testing::FixturePath("groundtruth/measurements.csv"));
  std::map<std::string, ModelTensors> models;
  int checked = 0;
  double worst = 0;
  for (const auto& row : rows) {
    if (row.at("tool") != "llama-bench") continue;
    const std::string& file = row.at("file");
    auto it = models.find(file);
    if (it == models.end()) it = models.emplace(file, GroundtruthModel(file)).first;
    const std::string& cmd = row.at("cmd");
    Machine machine{.gpus = {},
                    .host_available_bytes = uint64_t{24} << 30,
                    .host_total_bytes = uint64_t{24} << 30,
                    .host_bandwidth_gbps = kGroundtruthHostGbps,
                    .host_threads = Flag(cmd, "-t", 2)};
    PlanOptions options;
    options.request.n_ctx = 8192;
    options.request.flash_attn =
        Flag(cmd, "-fa", 1) == 1 ? FlashAttention::kEnabled : FlashAttention::kDisabled;
    // llama-bench's tg test decodes n_gen tokens after -d tokens: the mean depth.
    options.decode_depth = Flag(cmd, "-d", 0) + Flag(cmd, "-n", 128) / 2;
    options.n_prompt = Flag(cmd, "-p", 512);
    auto plan = PlanFit(it->second, machine, options);
    ASSERT_TRUE(plan.ok()) << file << ": " << plan.status();
    EXPECT_EQ(plan->verdict, PlanVerdict::kCpuOnly) << file;
    EXPECT_EQ(plan->speed.weights_read_per_token_bytes,
              std::stoull(row.at("weights_read_per_token_bytes")))
        << file;
    const double measured = std::stod(row.at("tg_tps"));
    const double error = plan->speed.decode_tok_s / measured - 1;
    worst = std::max(worst, std::abs(error));
    EXPECT_LE(std::abs(error), 0.25)
        << cmd << ": estimated " << plan->speed.decode_tok_s << " tok/s, measured " << measured;
    EXPECT_GT(plan->speed.prefill_tok_s, 0) << cmd;
    EXPECT_NEAR(plan->speed.time_to_first_token_s, options.n_prompt / plan->speed.prefill_tok_s,
                1e-9);
    ++checked;
  }
  EXPECT_EQ(checked, 31);
  std::printf("decode: %d llama-bench rows, worst error %.1f %%\n", checked, worst * 100);
}

Gpu Rtx3090(const std::string& name) {
  return {.name = name,
          .backend = Backend::kCuda,
          .free_bytes = uint64_t{23} << 30,
          .total_bytes = uint64_t{24} << 30,
          .bandwidth_gbps = 936,
          .fp16_tflops = 71};
}

Machine TwoGpus() {
  return {.gpus = {Rtx3090("GPU0"), Rtx3090("GPU1")},
          .host_available_bytes = uint64_t{120} << 30,
          .host_total_bytes = uint64_t{128} << 30,
          .host_bandwidth_gbps = 60,
          .host_threads = 16};
}

TEST(Speed, GpuDecodeIsBandwidthBound) {
  const ModelTensors model = CatalogModel("llama-3.1-8b", "Q4_K_M");
  Machine one{.gpus = {Rtx3090("GPU0")},
              .host_available_bytes = uint64_t{60} << 30,
              .host_bandwidth_gbps = 60,
              .host_threads = 8};
  PlanOptions options;
  options.request.n_ctx = 8192;
  auto plan = PlanFit(model, one, options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->verdict, PlanVerdict::kFits) << plan->reason;
  // All weights but token_embd (kept on the host, one row read) are read per token at
  // 0.72 x 936 GB/s, plus two hops; 8B Q4_K_M reads about 4.6 GB: ~145 tok/s.
  const double bytes = static_cast<double>(plan->speed.weights_read_per_token_bytes);
  EXPECT_NEAR(plan->speed.decode_tok_s, 1 / (bytes / (936e9 * 0.72) + 40e-6), 1.0);
  EXPECT_GT(plan->speed.decode_tok_s, 120);
  EXPECT_LT(plan->speed.decode_tok_s, 170);
  // Deeper context reads more KV: slower.
  options.decode_depth = 8000;
  auto deep = PlanFit(model, one, options);
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->speed.kv_read_per_token_bytes, uint64_t{8000} * 32 * 8 * 128 * 2 * 2);
  EXPECT_LT(deep->speed.decode_tok_s, plan->speed.decode_tok_s);
}

TEST(Speed, MoeReadsOnlyActiveExperts) {
  const ModelTensors r1 = CatalogModel("deepseek-r1", "Q4_K_M");
  Machine big{.gpus = {},
              .host_available_bytes = uint64_t{1024} << 30,
              .host_bandwidth_gbps = 400,
              .host_threads = 64};
  auto plan = PlanFit(r1, big, {});
  ASSERT_TRUE(plan.ok()) << plan.status();
  uint64_t total = 0;
  for (const WeightTensor& t : r1.tensors) total += t.bytes;
  // ~37e9 active of 671e9 parameters: well under a tenth of the bytes are read per token.
  EXPECT_LT(plan->speed.weights_read_per_token_bytes, total / 10);
  EXPECT_GT(plan->speed.weights_read_per_token_bytes, total / 30);
  std::printf("R1 Q4_K_M: %.1f GiB, %.1f GiB read per token\n", static_cast<double>(total) / kGib,
              static_cast<double>(plan->speed.weights_read_per_token_bytes) / kGib);
}

TEST(Speed, PartialOffloadIsBetweenCpuAndGpu) {
  const ModelTensors model = CatalogModel("llama-3.1-70b", "Q4_K_M");
  Machine machine = TwoGpus();
  PlanOptions options;
  options.request.n_ctx = 8192;
  options.n_gpu_layers = 0;
  auto cpu = PlanFit(model, machine, options);
  options.n_gpu_layers = 40;
  auto half = PlanFit(model, machine, options);
  options.n_gpu_layers.reset();
  auto best = PlanFit(model, machine, options);
  ASSERT_TRUE(cpu.ok() && half.ok() && best.ok());
  EXPECT_LT(cpu->speed.decode_tok_s, half->speed.decode_tok_s);
  EXPECT_LE(half->speed.decode_tok_s, best->speed.decode_tok_s);
  EXPECT_GT(best->speed.prefill_tok_s, cpu->speed.prefill_tok_s);
}

TEST(Speed, UnknownBandwidthGivesNoSpeed) {
  const ModelTensors model = GroundtruthModel("llama-gqa-Q4_0.gguf");
  Machine machine{.gpus = {}, .host_available_bytes = uint64_t{8} << 30};
  auto plan = PlanFit(model, machine, {});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->verdict, PlanVerdict::kCpuOnly);
  EXPECT_EQ(plan->speed.decode_tok_s, 0);
  EXPECT_GT(plan->speed.weights_read_per_token_bytes, 0u);
}

}  // namespace
}  // namespace headroom::fit
