// Golden output of `headroom fit`, `pick` and `gpus` for the seed models, DeepSeek R1 (MoE,
// MLA) and its distills, with the numbers a person can check by hand asserted next to each
// golden: a golden regenerated blindly (HEADROOM_UPDATE_GOLDEN=1) is still held to them.
// Every count below is derived from the catalog's architecture (catalog/data/models/*.txtpb).
#include <cmath>
#include <string>

#include "cli_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

using ::headroom::cli_test::CliResult;
using ::headroom::cli_test::ExpectGolden;
using ::headroom::cli_test::ExpectJsonSumsOfParts;
using ::headroom::cli_test::ExpectTableAddsUp;
using ::headroom::cli_test::kGiB;
using ::headroom::cli_test::RunHeadroom;
using ::headroom::cli_test::U64;
using ::testing::HasSubstr;

// KV cache bytes of an estimate: every GPU's and the host's.
uint64_t KvBytes(const nlohmann::json& estimate) {
  uint64_t kv = U64(estimate.at("host").at("kv_cache_bytes"));
  for (const auto& d : estimate.at("devices")) kv += U64(d.at("kv_cache_bytes"));
  return kv;
}

// Each bandwidth-matrix row is 1e9 x GB/s x efficiency over the bytes a token reads.
void ExpectMatrixRowsAreBytesOverBandwidth(const nlohmann::json& e) {
  const double bytes = static_cast<double>(U64(e.at("weights_read_per_token_bytes")) +
                                           U64(e.at("kv_read_per_token_bytes")));
  ASSERT_GT(bytes, 0);
  ASSERT_EQ(e.at("bandwidth_matrix").size(), 8u);
  for (const auto& row : e.at("bandwidth_matrix")) {
    const double expected =
        row.at("bandwidth_gbps").get<double>() * 1e9 * row.at("efficiency").get<double>() / bytes;
    EXPECT_NEAR(row.at("decode_tok_s").get<double>(), expected, 1e-9 * expected) << row.dump();
  }
}

// DeepSeek R1 at Q4_K_M, 32k context, on two H100 SXM and 512 GiB of RAM: 376.7 GiB of
// weights do not fit 160 GiB of GPU, so the experts of the first layers stay in host RAM.
//
// Parameters (d = 7168, vocab 129280, 61 blocks: 3 dense + 58 MoE):
//   token_embd and output: 2 x 129280 x 7168                        = 1,853,358,080
//   MLA attention per block: q_a 7168x1536 + q_b 1536x(128x192)
//     + kv_a 7168x(512+64) + kv_b 512x(128x(128+128)) + o (128x128)x7168
//     = 187,105,280; norms 7168 x 2 + 1536 + 512 = 16,384; x 61    = 11,414,421,504
//   dense FFN: 3 blocks x 3 x 7168 x 18432                          = 1,189,085,184
//   MoE block: one expert 3 x 7168 x 2048 = 44,040,192; router 7168 x 256 + bias 256
//     active: 8 routed + 1 shared = 398,196,992 per block; x 58    = 23,095,425,536
//     all: 256 routed + 1 shared = 11,320,164,608 per block; x 58  = 656,569,547,264
//   output_norm                                                      = 7,168
//   active = 37,552,297,472 (DeepSeek's "37B"); total = 671,026,419,200 ("671B").
// KV cache (MLA, K-only latent): 61 blocks x (512 + 64) x 2 bytes = 70,272 bytes per token;
//   x 32768 = 2,302,672,896 bytes (2.14 GiB). A calculator that treats R1 as dense MHA would
//   say 61 x 128 heads x (192 + 128) x 2 bytes = 4,997,120 bytes per token, 71x more.
TEST(SeedGolden, R1OnTwoH100AndRam) {
  const std::string args =
      "fit deepseek-r1 --quant Q4_K_M --ctx 32k --gpu '2x h100-sxm-80gb' --ram 512GiB";
  CliResult r = RunHeadroom(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectTableAddsUp(r.out);
  EXPECT_THAT(r.out, HasSubstr("671.03 B parameters (37.55 B active per token)"));
  EXPECT_THAT(r.out, HasSubstr("of weights (the experts in use only) + 2.14 GiB of KV cache"));
  EXPECT_THAT(r.out, HasSubstr("decode by memory system at the end of the 32k context"));
  ExpectGolden(r.out, "fit_deepseek-r1-Q4_K_M_2xh100.txt");

  CliResult j = RunHeadroom(args + " --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const nlohmann::json e = nlohmann::json::parse(j.out);
  EXPECT_EQ(U64(e.at("model").at("parameters")), 671'026'419'200u);
  EXPECT_EQ(U64(e.at("model").at("active_parameters")), 37'552'297'472u);
  EXPECT_EQ(KvBytes(e), 2'302'672'896u);
  EXPECT_EQ(U64(e.at("kv_read_per_token_bytes")), 2'302'672'896u);
  EXPECT_EQ(e.at("verdict"), "VERDICT_PARTIAL");
  // --n-cpu-moe N with 0 < N < 61: some, not all, layers' experts in host RAM.
  const uint32_t n_cpu_moe = e.at("n_cpu_moe").get<uint32_t>();
  EXPECT_GT(n_cpu_moe, 0u);
  EXPECT_LT(n_cpu_moe, 61u);
  EXPECT_THAT(r.out, HasSubstr("(--n-cpu-moe " + std::to_string(n_cpu_moe) + ")"));
  EXPECT_TRUE(e.at("experts_on_cpu").get<bool>());
  // MoE-aware reads: the active weights less token_embd (a lookup reads one row) are
  // 37,552,297,472 - 926,679,040 = 36,625,618,432 parameters; at Q4_K_M's ~4.85 bits that is
  // ~22.2e9 bytes, against ~404e9 if every expert were read.
  const double bits =
      8.0 * static_cast<double>(U64(e.at("weights_read_per_token_bytes"))) / 36'625'618'432.0;
  EXPECT_GT(bits, 4.5);
  EXPECT_LT(bits, 5.2);
  ExpectMatrixRowsAreBytesOverBandwidth(e);
  for (const auto& d : e.at("devices")) ExpectJsonSumsOfParts(d);
  ExpectJsonSumsOfParts(e.at("host"));
}

// R1 Distill Llama 70B at Q4_K_M, 8192 tokens, on two RTX 3090.
// Parameters (Llama 3.3 70B: d = 8192, 80 blocks, 64 heads, 8 KV heads of 128, FFN 28672):
//   per block: q, o 8192x8192 x 2 + k, v 8192x1024 x 2 = 150,994,944; FFN 3 x 8192 x 28672
//   = 704,643,072; norms 16,384; = 855,654,400 x 80 = 68,452,352,000; token_embd and output
//   2 x 128256 x 8192 = 2,101,346,304; output_norm 8192: total 70,553,706,496.
// KV cache, F16: 80 blocks x 8 KV heads x 128 x 2 (K, V) x 2 bytes = 327,680 bytes (320 KiB)
//   per token; x 8192 = 2,684,354,560 bytes = 2.5 GiB exactly, split 41/39 blocks over the
//   cards: 1.28 + 1.22 GiB as printed.
TEST(SeedGolden, R1Distill70bOnTwoRtx3090) {
  const std::string args =
      "fit deepseek-r1-distill-llama-70b --quant Q4_K_M --ctx 8192 --gpu '2x rtx-3090' --ram "
      "64GiB";
  CliResult r = RunHeadroom(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectTableAddsUp(r.out);
  EXPECT_THAT(r.out, HasSubstr("+ 2.50 GiB of KV cache\n"));
  ExpectGolden(r.out, "fit_deepseek-r1-distill-llama-70b_2x3090.txt");

  CliResult j = RunHeadroom(args + " --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const nlohmann::json e = nlohmann::json::parse(j.out);
  EXPECT_EQ(U64(e.at("model").at("parameters")), 70'553'706'496u);
  EXPECT_EQ(U64(e.at("model").at("active_parameters")), 70'553'706'496u);  // dense
  EXPECT_EQ(KvBytes(e), 5 * kGiB / 2);
  EXPECT_EQ(U64(e.at("kv_read_per_token_bytes")), 5 * kGiB / 2);
  EXPECT_EQ(e.at("verdict"), "VERDICT_FITS");
  EXPECT_EQ(e.at("n_cpu_moe"), 0);
  // Dense: a token reads every weight but token_embd: the file's 42,512,531,456 bytes less
  // 128256 x 8192 Q4_K weights at 144 bytes per 256 = 591,003,648 bytes.
  EXPECT_EQ(U64(e.at("weights_read_per_token_bytes")), 42'512'531'456u - 591'003'648u);
  EXPECT_EQ(U64(e.at("model").at("weights_bytes")), 42'512'531'456u);
  ExpectMatrixRowsAreBytesOverBandwidth(e);
}

// R1 Distill Qwen 32B on one RTX 4090 (24 GiB), at least 16k context and 20 tok/s.
// Parameters (Qwen2.5 32B: d = 5120, 64 blocks, 40 heads, 8 KV heads of 128, FFN 27648, QKV
//   bias): per block q, o 5120x5120 x 2 + k, v 5120x1024 x 2 + biases 7168 + FFN 3 x 5120 x
//   27648 + norms 10240 = 487,605,248 x 64 = 31,206,735,872; token_embd and output 2 x 152064
//   x 5120 = 1,557,135,360; output_norm 5120: total 32,763,876,352.
// KV per token: 64 blocks x 8 KV heads x 128 = 65,536 elements each for K and V: F16 2 bytes
//   = 262,144 bytes (256 KiB); Q8_0 34 bytes per 32 = 139,264 bytes. Every choice's KV cache
//   is its cells x that.
TEST(SeedGolden, PickR1DistillQwen32bOnRtx4090) {
  const std::string args =
      "pick deepseek-r1-distill-qwen-32b --gpu rtx-4090 --ram 64GiB --min-ctx 16k --min-tok-s 20";
  CliResult r = RunHeadroom(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("llama.cpp -c "));
  ExpectGolden(r.out, "pick_deepseek-r1-distill-qwen-32b_4090.txt");

  CliResult j = RunHeadroom(args + " --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const nlohmann::json rec = nlohmann::json::parse(j.out);
  ASSERT_TRUE(rec.contains("pick"));
  const nlohmann::json& pick = rec.at("pick");
  EXPECT_TRUE(pick.at("meets_constraints").get<bool>());
  EXPECT_GE(pick.at("n_ctx").get<uint32_t>(), 16384u);
  EXPECT_GE(pick.at("estimate").at("decode_tok_s").get<double>(), 20.0);
  EXPECT_EQ(U64(pick.at("estimate").at("model").at("parameters")), 32'763'876'352u);
  EXPECT_EQ(pick.at("estimate").at("n_layers"), 65);  // 64 blocks + output, -ngl's scale
  nlohmann::json all = rec.at("alternatives");
  all.push_back(pick);
  for (const auto& c : all) {
    const nlohmann::json& e = c.at("estimate");
    const std::string k = c.at("cache_type_k");
    ASSERT_EQ(k, c.at("cache_type_v").get<std::string>()) << c.dump();
    ASSERT_TRUE(k == "f16" || k == "q8_0") << k;
    const uint64_t per_token = k == "f16" ? 262'144 : 139'264;
    EXPECT_EQ(KvBytes(e), e.at("kv_cells").get<uint64_t>() * per_token) << c.at("file_type");
    EXPECT_EQ(c.at("n_cpu_moe"), 0);  // dense
  }
}

// R1 on two H100 with RAM: the pick keeps the experts of the first N of 61 MoE-bearing blocks
// in RAM, and the flags say --n-cpu-moe N. They said --cpu-moe before, which moves every
// layer's experts to the CPU: a slower run than the one estimated.
TEST(SeedGolden, PickR1FlagsNameNCpuMoe) {
  const std::string args =
      "pick deepseek-r1 --quant Q4_K_M --gpu '2x h100-sxm-80gb' --ram 512GiB --min-ctx 8k";
  CliResult j = RunHeadroom(args + " --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const nlohmann::json pick = nlohmann::json::parse(j.out).at("pick");
  const uint32_t n = pick.at("n_cpu_moe").get<uint32_t>();
  ASSERT_GT(n, 0u);
  ASSERT_LT(n, 61u);
  EXPECT_EQ(pick.at("estimate").at("n_cpu_moe"), n);
  CliResult r = RunHeadroom(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(" -fa on --n-cpu-moe " + std::to_string(n) + "\n"));
  EXPECT_THAT(r.out, HasSubstr(", experts of " + std::to_string(n) + " layers in RAM"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("--cpu-moe")));
}

// Which GPUs hold R1 at Q4_K_M (376.71 GiB of weights, 404,488,847,360 bytes) at 8192 tokens,
// whose MLA cache is 61 x 576 x 2 x 8192 = 575,668,224 bytes (549 MiB). Of 1, 2 or 4 cards:
// nothing under 4 x 128 GiB; the 512 GB Mac Studio (M3 Ultra) holds it in one piece when its
// own memory is the RAM (it was refused against a default 64 GiB before).
TEST(SeedGolden, GpusForR1) {
  CliResult r = RunHeadroom("gpus deepseek-r1 --quant Q4_K_M");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("apple-m3-ultra-512gb"));
  ExpectGolden(r.out, "gpus_deepseek-r1-Q4_K_M.txt");

  CliResult j = RunHeadroom("gpus deepseek-r1 --quant Q4_K_M --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const nlohmann::json g = nlohmann::json::parse(j.out);
  EXPECT_EQ(g.at("n_ctx"), 8192);
  ASSERT_FALSE(g.at("configurations").empty());
  bool mac = false;
  for (const auto& c : g.at("configurations")) {
    EXPECT_EQ(c.at("verdict"), "FITS");
    EXPECT_GE(c.at("memory_bytes").get<uint64_t>(), 404'488'847'360u) << c.dump();
    mac = mac || c.at("gpu_id") == "apple-m3-ultra-512gb";
    EXPECT_NE(c.at("gpu_id"), "h100-sxm-80gb");  // 4 x 80 GiB = 320 GiB < 376.71 GiB
  }
  EXPECT_TRUE(mac);

  CliResult f = RunHeadroom(
      "fit deepseek-r1 --quant Q4_K_M --ctx 8k --gpu apple-m3-ultra-512gb --ram 512GiB --json");
  ASSERT_EQ(f.exit_code, 0) << f.err;
  const nlohmann::json e = nlohmann::json::parse(f.out);
  EXPECT_EQ(KvBytes(e), 575'668'224u);
  EXPECT_EQ(U64(e.at("model").at("weights_bytes")), 404'488'847'360u);
  EXPECT_EQ(e.at("verdict"), "VERDICT_FITS");
}

}  // namespace
