// End-to-end tests of `headroom fit`, `pick` and `gpus` on hypothetical machines (every run
// passes --gpu/--ram or a file, so nothing probes the machine running the test): golden human
// and JSON output, the printed tables adding up, and bad flags.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

using ::headroom::cli_test::CliResult;
using ::headroom::cli_test::ExpectGolden;
using ::headroom::cli_test::ExpectJsonGolden;
using ::headroom::cli_test::ExpectJsonSumsOfParts;
using ::headroom::cli_test::ExpectTableAddsUp;
using ::headroom::cli_test::kGiB;
using ::headroom::cli_test::RunHeadroom;
using ::headroom::cli_test::U64;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

// Llama 3.1 8B at 32k on two RTX 3090s: F16 KV is 128 KiB per token, 4 GiB at 32768 tokens.
TEST(FitCli, LlamaOnTwoRtx3090Golden) {
  CliResult r = RunHeadroom("fit llama-3.1-8b --ctx 32k --gpu '2x rtx-3090' --ram 64GiB");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("GiB = 2^30 bytes"));
  EXPECT_THAT(r.out, HasSubstr("verdict      FITS"));
  ExpectTableAddsUp(r.out);
  ExpectGolden(r.out, "fit_llama-3.1-8b_2x3090.txt");

  CliResult j =
      RunHeadroom("fit llama-3.1-8b --ctx 32k --gpu rtx-3090 --gpu rtx-3090 --ram 64GiB --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const nlohmann::json e = nlohmann::json::parse(j.out);
  EXPECT_EQ(e.at("verdict"), "VERDICT_FITS");
  ASSERT_EQ(e.at("devices").size(), 2u);
  uint64_t kv = U64(e.at("host").at("kv_cache_bytes"));
  for (const auto& d : e.at("devices")) {
    ExpectJsonSumsOfParts(d);
    kv += U64(d.at("kv_cache_bytes"));
  }
  ExpectJsonSumsOfParts(e.at("host"));
  EXPECT_EQ(kv, 4 * kGiB);
  EXPECT_EQ(e.at("model").at("id"), "llama-3.1-8b");
  for (const char* f : {"max_context", "decode_tok_s", "prefill_tok_s", "reason", "n_ctx"}) {
    EXPECT_TRUE(e.contains(f)) << f;
  }
  ExpectJsonGolden(j.out, "fit_llama-3.1-8b_2x3090.json");
}

TEST(FitCli, GgufOnCpuOnlyMachineJsonGolden) {
  CliResult r = RunHeadroom("fit llama-gqa-Q4_K_M.gguf --ctx 2048 --ram 16GiB --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json e = nlohmann::json::parse(r.out);
  EXPECT_EQ(e.at("verdict"), "VERDICT_CPU_ONLY");
  EXPECT_EQ(e.at("model").at("file_type"), "Q4_K_M");
  // 8 layers x 2048 cells x 2 KV heads x 64 x (K + V) x 2 bytes.
  EXPECT_EQ(U64(e.at("host").at("kv_cache_bytes")), 8u << 20);
  ExpectJsonSumsOfParts(e.at("host"));
  ExpectJsonGolden(r.out, "fit_llama-gqa-Q4_K_M_cpu.json");
}

TEST(FitCli, MoeOnSmallGpuGolden) {
  CliResult r = RunHeadroom("fit qwen3-30b-a3b --gpu rtx-3060-12gb --ram 32GiB --ctx 16k");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("active per token"));
  ExpectTableAddsUp(r.out);
  ExpectGolden(r.out, "fit_qwen3-30b-a3b_3060.txt");
}

TEST(FitCli, VllmGolden) {
  CliResult r = RunHeadroom(
      "fit llama-3.1-8b --quant F16 --runtime vllm --ctx 32k --gpu h100-sxm-80gb --ram 256GiB");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("KV blocks"));
  ExpectTableAddsUp(r.out);
  ExpectGolden(r.out, "fit_llama-3.1-8b_vllm_h100.txt");
}

TEST(FitCli, HardwareFile) {
  const fs::path hw = fs::temp_directory_path() / ("headroom-hw-" + std::to_string(::getpid()));
  std::ofstream(hw) << "ram { total_bytes: 34359738368 available_bytes: 17179869184 }\n"
                       "host_bandwidth_gbps: 50\n"
                       "gpus { name: \"Card\" vendor_id: 4318 type: DEVICE_TYPE_DISCRETE_GPU "
                       "placeable: true memory_total_bytes: 8589934592 memory_free_bytes: "
                       "8000000000 bandwidth_gbps: 300 fp16_tflops: 20 }\n";
  CliResult r = RunHeadroom("fit llama-3.2-3b --ctx 8k --json --hw '" + hw.string() + "'");
  fs::remove(hw);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json e = nlohmann::json::parse(r.out);
  ASSERT_EQ(e.at("devices").size(), 1u);
  EXPECT_EQ(e.at("devices")[0].at("name"), "Card");
  EXPECT_EQ(U64(e.at("devices")[0].at("free_bytes")), 8000000000u);
  EXPECT_EQ(U64(e.at("host").at("free_bytes")), 16 * kGiB);
}

TEST(PickCli, CatalogModelGolden) {
  CliResult r = RunHeadroom("pick llama-3.1-8b --gpu rtx-3090 --ram 64GiB --min-ctx 16k");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("pick "));
  EXPECT_THAT(r.out, HasSubstr("alternatives"));
  EXPECT_THAT(r.out, HasSubstr("llama.cpp -c "));
  ExpectGolden(r.out, "pick_llama-3.1-8b_3090.txt");
}

TEST(PickCli, GgufFilesJsonGolden) {
  CliResult r = RunHeadroom(
      "pick llama-big-Q4_K_M.gguf llama-big-Q8_0.gguf llama-big-F16.gguf --ram 16GiB "
      "--min-ctx 2k --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json rec = nlohmann::json::parse(r.out);
  ASSERT_TRUE(rec.contains("pick"));
  EXPECT_THAT(rec.at("pick").at("gguf_path").get<std::string>(),
              HasSubstr("FIXTURES/groundtruth/models/llama-big-"));
  EXPECT_TRUE(rec.at("pick").at("meets_constraints").get<bool>());
  ExpectJsonSumsOfParts(rec.at("pick").at("estimate").at("host"));
  EXPECT_EQ(rec.at("alternatives").size(), 2u);
  ExpectJsonGolden(r.out, "pick_llama-big_files.json");
}

TEST(GpusCli, Llama70bGolden) {
  CliResult r = RunHeadroom("gpus llama-3.1-70b --quant Q4_K_M --ctx 8k");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("h100-sxm-80gb"));
  EXPECT_THAT(r.out, HasSubstr("2x"));
  ExpectGolden(r.out, "gpus_llama-3.1-70b.txt");

  CliResult j = RunHeadroom("gpus llama-3.1-70b --quant Q4_K_M --ctx 8k --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const nlohmann::json g = nlohmann::json::parse(j.out);
  EXPECT_EQ(g.at("model"), "llama-3.1-70b");
  ASSERT_FALSE(g.at("configurations").empty());
  uint64_t last = 0;
  for (const auto& c : g.at("configurations")) {
    EXPECT_EQ(c.at("verdict"), "FITS");
    EXPECT_GE(c.at("memory_bytes").get<uint64_t>(), last);  // smallest memory first
    last = c.at("memory_bytes").get<uint64_t>();
  }
  // A 70B model at Q4_K_M (~40 GiB) does not fit one 24 GiB card.
  for (const auto& c : g.at("configurations")) {
    if (c.at("gpu_id") == "rtx-4090") {
      EXPECT_GE(c.at("cards").get<int>(), 2);
    }
  }
  ExpectJsonGolden(j.out, "gpus_llama-3.1-70b.json");
}

TEST(FitCli, BadFlagsNameTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"fit llama-3.1-8b --ctx 32q --ram 64GiB", "--ctx"},
      {"fit llama-3.1-8b --ctx 5000000000 --ram 64GiB", "--ctx"},
      {"fit llama-3.1-8b --ram 64GiX", "--ram"},
      {"fit llama-3.1-8b --ram lots", "--ram"},
      {"fit llama-3.1-8b --fa maybe --ram 64GiB", "--fa"},
      {"fit llama-3.1-8b --runtime tgi --ram 64GiB", "--runtime"},
      {"fit llama-3.1-8b --ctk q9 --ram 64GiB", "cache_type_k: unknown type \"q9\""},
      {"fit llama-3.1-8b --quant Q9 --ram 64GiB", "file type \"Q9\""},
      {"fit llama-gqa-Q4_K_M.gguf --quant Q8_0 --ram 64GiB", "--quant"},
      {"fit llama-3.1-8b --gpu '0x rtx-3090'", "--gpu"},
      {"fit llama-3.1-8b --runtime vllm --gpu-util 2 --gpu rtx-4090", "--gpu-util"},
      {"pick llama-3.1-8b --prefer fast --ram 64GiB", "--prefer"},
      {"pick llama-3.1-8b --min-ctx 1q --ram 64GiB", "--min-ctx"},
      {"pick llama-3.1-8b --kv f16,q9 --ram 64GiB", "kv_types[1]"},
      {"pick llama-3.1-8b qwen3-8b --ram 64GiB", "MODEL"},
      {"gpus llama-3.1-8b --ctx 8x", "--ctx"},
      {"gpus llama-3.1-8b --ram -1", "--ram"},
  };
  for (const auto& [args, text] : cases) {
    CliResult r = RunHeadroom(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(text)) << args;
    EXPECT_TRUE(r.out.empty()) << args;
  }
  EXPECT_EQ(RunHeadroom("fit").exit_code, 2);
  EXPECT_EQ(RunHeadroom("fit llama-3.1-8b --parallel many --ram 64GiB").exit_code, 2);
  EXPECT_EQ(RunHeadroom("fit llama-3.1-8b --gpu 2x rtx-3090").exit_code, 2);  // quote "2x rtx-3090"
}

TEST(FitCli, UnanswerableRequestsExitOne) {
  CliResult gpu = RunHeadroom("fit llama-3.1-8b --gpu no-such-gpu");
  EXPECT_EQ(gpu.exit_code, 1);
  EXPECT_THAT(gpu.err, HasSubstr("no GPU \"no-such-gpu\""));
  CliResult model = RunHeadroom("fit no-such-model --ram 64GiB");
  EXPECT_EQ(model.exit_code, 1);
  EXPECT_THAT(model.err, HasSubstr("no-such-model"));
  CliResult file = RunHeadroom("fit /nonexistent/m.gguf --ram 64GiB");
  EXPECT_EQ(file.exit_code, 1);
  EXPECT_THAT(file.err, HasSubstr("/nonexistent/m.gguf"));
}

TEST(FitCli, NamedEndpointMustAnswer) {
  CliResult r = RunHeadroom("fit llama-3.1-8b --ram 64GiB --endpoint unix:/nonexistent/other.sock");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unix:/nonexistent/other.sock"));
  EXPECT_EQ(RunHeadroom("fit llama-3.1-8b --no-daemon --endpoint unix:/x.sock").exit_code, 2);
}

TEST(FitCli, Help) {
  for (const char* cmd : {"fit --help", "pick --help", "gpus --help"}) {
    CliResult r = RunHeadroom(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_THAT(r.out, HasSubstr("--json")) << cmd;
  }
  EXPECT_THAT(RunHeadroom("fit --help").out, HasSubstr("--gpu"));
}

}  // namespace
