// headroom-launch's flag handling without a daemon: its own flags, what a runtime command
// already says, and the exact command it runs for a given pick.
#include "launch_args.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime_flags.h"

namespace headroom::launch {
namespace {

using ::testing::ElementsAre;
using Args = std::vector<std::string>;

Pick DensePick() {
  Pick pick;
  pick.file = "/models/Qwen3-8B-Q5_K_M.gguf";
  pick.file_type = "Q5_K_M";
  pick.n_ctx = 32768;
  pick.n_gpu_layers = 37;
  pick.n_layers = 36;
  pick.cache_type_k = "q8_0";
  pick.cache_type_v = "q8_0";
  pick.flash_attn = true;
  pick.verdict = "FITS";
  pick.decode_tok_s = 61.25;
  pick.reason = "all layers on GPU";
  return pick;
}

TEST(LaunchArgsTest, ParsesOwnFlagsUpToTheDoubleDash) {
  const ParseResult parsed =
      ParseArgs({"headroom-launch", "--min-ctx", "8192", "--prefer=speed", "--dry-run",
                 "--kv-types", "f16,q8_0", "--margin-mib", "512", "--endpoint", "unix:/x.sock",
                 "--", "llama-server", "-m", "m.gguf", "--dry-run"});
  ASSERT_EQ(parsed.error, "");
  const Options& o = parsed.options;
  EXPECT_EQ(o.min_ctx, 8192U);
  EXPECT_EQ(o.prefer, "speed");
  EXPECT_TRUE(o.dry_run);
  EXPECT_THAT(o.kv_types, ElementsAre("f16", "q8_0"));
  EXPECT_EQ(o.margin_bytes, int64_t{512} << 20);
  EXPECT_EQ(o.endpoint, "unix:/x.sock");
  // The runtime's own --dry-run is the runtime's.
  EXPECT_THAT(o.command, ElementsAre("llama-server", "-m", "m.gguf", "--dry-run"));
}

TEST(LaunchArgsTest, UsageErrorsNameTheFlag) {
  EXPECT_EQ(ParseArgs({"hl", "--min-ctx", "lots", "--", "llama-cli"}).error,
            "--min-ctx: invalid value 'lots'");
  EXPECT_EQ(ParseArgs({"hl", "--prefer", "cheap", "--", "llama-cli"}).error,
            "--prefer: invalid value 'cheap'");
  EXPECT_EQ(ParseArgs({"hl", "--min-ctx"}).error, "--min-ctx: missing value");
  EXPECT_EQ(ParseArgs({"hl", "-c", "4096", "--", "llama-cli"}).error,
            "unknown flag '-c' (the runtime's command goes after --)");
  EXPECT_EQ(ParseArgs({"hl", "--dry-run"}).error,
            "no command: headroom-launch [flags] -- RUNTIME ARGS...");
  EXPECT_EQ(ParseArgs({"hl", "--min-ctx", "9", "--max-ctx", "8", "--", "x"}).error,
            "--min-ctx is above --max-ctx");
  EXPECT_TRUE(ParseArgs({"hl", "--help"}).help);
}

TEST(LaunchArgsTest, InspectsLlamaCppCommands) {
  const CommandInfo info =
      InspectCommand({"/usr/bin/llama-server", "--port", "8080", "-m", "models/Qwen3-8B-*.gguf",
                      "-c", "16384", "-ctk", "q8_0"});
  EXPECT_EQ(info.runtime, Runtime::kLlamaCpp);
  ASSERT_TRUE(info.model_index.has_value());
  EXPECT_EQ(*info.model_index, 4U);
  EXPECT_EQ(info.model, "models/Qwen3-8B-*.gguf");
  EXPECT_EQ(info.user_ctx, 16384U);
  EXPECT_THAT(info.user_kv_types, ElementsAre("q8_0"));
}

TEST(LaunchArgsTest, FillsEveryLlamaCppFlag) {
  const Args command = {"llama-server", "-m", "models/Qwen3-8B-*.gguf", "--port", "8080"};
  const Args out = RewriteCommand(command, InspectCommand(command), DensePick());
  EXPECT_THAT(
      out, ElementsAre("llama-server", "-m", "/models/Qwen3-8B-Q5_K_M.gguf", "--port", "8080", "-c",
                       "32768", "-ngl", "37", "-ctk", "q8_0", "-ctv", "q8_0", "-fa", "on"));
}

TEST(LaunchArgsTest, ExpertsOnCpuBecomeAnOverride) {
  Pick pick = DensePick();
  pick.experts_on_cpu = true;
  pick.flash_attn = false;
  pick.cache_type_k = pick.cache_type_v = "f16";
  const Args command = {"llama-cli", "--model", "moe-*.gguf"};
  EXPECT_THAT(
      RewriteCommand(command, InspectCommand(command), pick),
      ElementsAre("llama-cli", "--model", "/models/Qwen3-8B-Q5_K_M.gguf", "-c", "32768", "-ngl",
                  "37", "-ot", "exps=CPU", "-ctk", "f16", "-ctv", "f16", "-fa", "off"));
}

TEST(LaunchArgsTest, UserFlagsWin) {
  Pick pick = DensePick();
  pick.experts_on_cpu = true;
  const Args command = {"llama-server", "-m",  "m-*.gguf",  "--ctx-size", "2048", "-ngl", "5",
                        "-fa",          "off", "--cpu-moe", "-ctv",       "f16"};
  EXPECT_THAT(
      RewriteCommand(command, InspectCommand(command), pick),
      ElementsAre("llama-server", "-m", "/models/Qwen3-8B-Q5_K_M.gguf", "--ctx-size", "2048",
                  "-ngl", "5", "-fa", "off", "--cpu-moe", "-ctv", "f16", "-ctk", "q8_0"));
}

// Qwen3-30B-A3B on a 12 GiB card: all 49 layers (48 blocks + output) on the GPU, the experts of
// the first 22 blocks in host RAM (the engine sets experts_on_cpu whenever n_cpu_moe > 0).
Pick MoePick(uint32_t n_cpu_moe) {
  Pick pick = DensePick();
  pick.file = "/models/Qwen3-30B-A3B-Q4_K_M.gguf";
  pick.file_type = "Q4_K_M";
  pick.n_ctx = 16384;
  pick.n_gpu_layers = 49;
  pick.n_layers = 49;
  pick.experts_on_cpu = true;
  pick.n_cpu_moe = n_cpu_moe;
  pick.verdict = "PARTIAL";
  return pick;
}

TEST(LaunchArgsTest, SomeLayersExpertsBecomeNCpuMoe) {
  const Args command = {"llama-server", "-m", "Qwen3-30B-A3B-*.gguf"};
  EXPECT_THAT(
      RewriteCommand(command, InspectCommand(command), MoePick(22)),
      ElementsAre("llama-server", "-m", "/models/Qwen3-30B-A3B-Q4_K_M.gguf", "-c", "16384", "-ngl",
                  "49", "--n-cpu-moe", "22", "-ctk", "q8_0", "-ctv", "q8_0", "-fa", "on"));
  // One block fewer than all is still --n-cpu-moe.
  EXPECT_THAT(RewriteCommand(command, InspectCommand(command), MoePick(47)),
              ::testing::Contains("--n-cpu-moe"));
}

TEST(LaunchArgsTest, EveryLayersExpertsBecomeTheOverride) {
  const Args command = {"llama-server", "-m", "Qwen3-30B-A3B-*.gguf"};
  EXPECT_THAT(
      RewriteCommand(command, InspectCommand(command), MoePick(48)),
      ElementsAre("llama-server", "-m", "/models/Qwen3-30B-A3B-Q4_K_M.gguf", "-c", "16384", "-ngl",
                  "49", "-ot", "exps=CPU", "-ctk", "q8_0", "-ctv", "q8_0", "-fa", "on"));
}

TEST(LaunchArgsTest, UserNCpuMoeWins) {
  for (const Args& command : {Args{"llama-server", "-m", "q-*.gguf", "-ncmoe", "10"},
                              Args{"llama-server", "-m", "q-*.gguf", "--n-cpu-moe", "10"},
                              Args{"llama-server", "-m", "q-*.gguf", "--n-cpu-moe=10"}}) {
    for (uint32_t n_cpu_moe : {22U, 48U}) {
      Args expected = command;
      expected[2] = "/models/Qwen3-30B-A3B-Q4_K_M.gguf";
      for (const char* flag :
           {"-c", "16384", "-ngl", "49", "-ctk", "q8_0", "-ctv", "q8_0", "-fa", "on"}) {
        expected.emplace_back(flag);
      }
      EXPECT_EQ(RewriteCommand(command, InspectCommand(command), MoePick(n_cpu_moe)), expected)
          << command.back() << ", n_cpu_moe " << n_cpu_moe;
    }
  }
}

TEST(LaunchArgsTest, VllmServe) {
  Pick pick = DensePick();
  pick.file = "";
  pick.cache_type_k = pick.cache_type_v = "fp8";
  pick.gpu_memory_utilization = 0.8765;
  const Args command = {"vllm", "serve", "/models/Qwen3-8B", "--port", "8000"};
  const CommandInfo info = InspectCommand(command);
  EXPECT_EQ(info.runtime, Runtime::kVllm);
  EXPECT_EQ(info.model, "/models/Qwen3-8B");
  EXPECT_THAT(RewriteCommand(command, info, pick),
              ElementsAre("vllm", "serve", "/models/Qwen3-8B", "--port", "8000", "--max-model-len",
                          "32768", "--gpu-memory-utilization", "0.87", "--kv-cache-dtype", "fp8"));
}

TEST(LaunchArgsTest, VllmUserFlagsWinInEitherSpelling) {
  Pick pick = DensePick();
  pick.gpu_memory_utilization = 0.9;
  const Args command = {
      "vllm", "serve", "m.gguf", "--max_model_len=4096", "--gpu-memory-utilization", "0.5"};
  const CommandInfo info = InspectCommand(command);
  EXPECT_EQ(info.user_ctx, 4096U);
  EXPECT_THAT(RewriteCommand(command, info, pick),
              ElementsAre("vllm", "serve", "/models/Qwen3-8B-Q5_K_M.gguf", "--max_model_len=4096",
                          "--gpu-memory-utilization", "0.5", "--kv-cache-dtype", "auto"));
}

TEST(LaunchArgsTest, OllamaModelfile) {
  const std::string text = OllamaModelfile(DensePick());
  EXPECT_NE(text.find("\nFROM /models/Qwen3-8B-Q5_K_M.gguf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nPARAMETER num_ctx 32768\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nPARAMETER num_gpu 37\n"), std::string::npos) << text;
  EXPECT_NE(text.find("OLLAMA_KV_CACHE_TYPE=q8_0"), std::string::npos) << text;
}

TEST(LaunchArgsTest, ShellQuoteAndSummary) {
  EXPECT_EQ(ShellQuote({"llama-server", "-m", "a b.gguf", "--alias", "it's"}),
            "llama-server -m 'a b.gguf' --alias 'it'\\''s'");
  EXPECT_EQ(Summary(DensePick()),
            "picked Q5_K_M (Qwen3-8B-Q5_K_M.gguf): ctx 32768, 37/36 layers on GPU, KV q8_0/q8_0, "
            "flash attention on; FITS, 61.2 tok/s predicted; all layers on GPU");
}

}  // namespace
}  // namespace headroom::launch
