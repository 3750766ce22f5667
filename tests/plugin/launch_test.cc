// headroom-launch end to end: the real daemon on several hypothetical machines, and a
// stand-in runtime (a script named llama-server / vllm that records its argv) in place of
// the real one. The expected flags come from asking the same daemon through libheadroom.
#include <string>
#include <vector>

#include "client_helpers.h"
#include "daemon_harness.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "headroom/headroom.h"
#include "process.h"

namespace headroom::plugin_test {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

const std::string kModels = std::string(HEADROOM_FIXTURES_DIR) + "/groundtruth/models";

class LaunchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = harness_.dir() + "/bin";
    argv_file_ = harness_.dir() + "/argv.txt";
    RunShell("mkdir -p " + Quote(bin_));
    const std::string recorder =
        "#!/bin/sh\n: > \"$HEADROOM_TEST_ARGV\"\n"
        "for a in \"$0\" \"$@\"; do printf '%s\\n' \"$a\" >> \"$HEADROOM_TEST_ARGV\"; done\n";
    WriteFile(bin_ + "/llama-server", recorder, /*executable=*/true);
    WriteFile(bin_ + "/vllm", recorder, /*executable=*/true);
  }

  // Runs headroom-launch with the stand-in runtimes first on PATH.
  Output Launch(const std::string& args) {
    return RunShell("PATH=" + Quote(bin_) + ":\"$PATH\" HEADROOM_TEST_ARGV=" + Quote(argv_file_) +
                    " " + Quote(HEADROOM_LAUNCH_PATH) + " " + args);
  }

  std::vector<std::string> RecordedArgv() {
    std::vector<std::string> lines;
    const std::string text = ReadFile(argv_file_);
    size_t start = 0;
    while (start < text.size()) {
      const size_t end = text.find('\n', start);
      lines.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return lines;
  }

  // What libheadroom says for llama-big-*.gguf with these context bounds.
  FullChoice Expected(uint32_t min_ctx = 0, uint32_t max_ctx = 0) {
    hr_client* client = NewClient();
    hr_request request = hr_request_default();
    const std::string glob = kModels + "/llama-big-*.gguf";
    request.model_glob = glob.c_str();
    request.min_ctx = min_ctx;
    request.max_ctx = max_ctx;
    hr_result* result = nullptr;
    FullChoice pick;
    EXPECT_EQ(hr_recommend(client, &request, &result), HR_STATUS_OK) << LastError(client);
    EXPECT_EQ(GetChoice(result, HR_PICK, pick), HR_STATUS_OK);
    hr_result_free(result);
    hr_client_destroy(client);
    return pick;
  }

  DaemonHarness harness_;
  std::string bin_;
  std::string argv_file_;
};

std::vector<std::string> LlamaFlags(const FullChoice& pick) {
  std::vector<std::string> flags = {"-c", std::to_string(pick.numbers.n_ctx), "-ngl",
                                    std::to_string(pick.numbers.n_gpu_layers)};
  if (pick.numbers.experts_on_cpu) flags.insert(flags.end(), {"-ot", "exps=CPU"});
  flags.insert(flags.end(), {"-ctk", pick.cache_type_k, "-ctv", pick.cache_type_v, "-fa",
                             pick.numbers.flash_attn ? "on" : "off"});
  return flags;
}

class LaunchOnFixtureTest : public LaunchTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(LaunchOnFixtureTest, FillsTheExactFlags) {
  ASSERT_EQ(harness_.Start(Fixture(GetParam())), "");
  const FullChoice pick = Expected();
  const Output out =
      Launch("-- llama-server -m " + Quote(kModels + "/llama-big-*.gguf") + " --port 8080");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  std::vector<std::string> expected = {bin_ + "/llama-server", "-m", pick.file, "--port", "8080"};
  for (const std::string& flag : LlamaFlags(pick)) expected.push_back(flag);
  EXPECT_THAT(RecordedArgv(), ElementsAreArray(expected));
  EXPECT_THAT(out.text,
              HasSubstr("headroom-launch: picked " + pick.file_type + " (llama-big-" +
                        pick.file_type + ".gguf): ctx " + std::to_string(pick.numbers.n_ctx)));
}

INSTANTIATE_TEST_SUITE_P(Machines, LaunchOnFixtureTest,
                         ::testing::Values("gpu_8gib", "gpu_640mib", "cpu_only"));

TEST_F(LaunchTest, UserFlagsWin) {
  ASSERT_EQ(harness_.Start(Fixture("gpu_640mib")), "");
  // The user's -c is also the context the daemon is asked about.
  const FullChoice pick = Expected(2048, 2048);
  const Output out = Launch("-- llama-server -m " + Quote(kModels + "/llama-big-*.gguf") +
                            " -c 2048 -ngl 3 -fa off");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  EXPECT_THAT(RecordedArgv(),
              ElementsAreArray(std::vector<std::string>{
                  bin_ + "/llama-server", "-m", pick.file, "-c", "2048", "-ngl", "3", "-fa", "off",
                  "-ctk", pick.cache_type_k, "-ctv", pick.cache_type_v}));
}

TEST_F(LaunchTest, VllmServeGetsMaxModelLenUtilizationAndKvType) {
  ASSERT_EQ(harness_.Start(Fixture("gpu_8gib")), "");
  const std::string file = kModels + "/llama-gqa-Q4_K_M.gguf";
  hr_client* client = NewClient();
  hr_request request = hr_request_default();
  request.model_glob = file.c_str();
  request.runtime = HR_RUNTIME_VLLM;
  hr_result* result = nullptr;
  ASSERT_EQ(hr_recommend(client, &request, &result), HR_STATUS_OK) << LastError(client);
  FullChoice pick;
  ASSERT_EQ(GetChoice(result, HR_PICK, pick), HR_STATUS_OK);
  hr_result_free(result);
  hr_client_destroy(client);
  // The daemon's default budget for vLLM is 0.9 of the GPU.
  EXPECT_NEAR(pick.numbers.gpu_memory_utilization, 0.9, 1e-6);
  EXPECT_EQ(pick.cache_type_k, "auto");

  const Output out = Launch("-- vllm serve " + Quote(file) + " --port 8000");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  EXPECT_THAT(RecordedArgv(), ElementsAreArray(std::vector<std::string>{
                                  bin_ + "/vllm", "serve", file, "--port", "8000",
                                  "--max-model-len", std::to_string(pick.numbers.n_ctx),
                                  "--gpu-memory-utilization", "0.90", "--kv-cache-dtype", "auto"}));
}

TEST_F(LaunchTest, DryRunPrintsTheCommandAndRunsNothing) {
  ASSERT_EQ(harness_.Start(Fixture("gpu_8gib")), "");
  const FullChoice pick = Expected();
  const Output out = Launch("--dry-run -- llama-server -m " + Quote(kModels + "/llama-big-*.gguf"));
  ASSERT_EQ(out.exit_code, 0) << out.text;
  std::string line = "llama-server -m " + pick.file;
  for (const std::string& flag : LlamaFlags(pick)) line += " " + flag;
  EXPECT_THAT(out.text, HasSubstr(line + "\n"));
  EXPECT_EQ(ReadFile(argv_file_), "");
}

TEST_F(LaunchTest, OllamaModelfile) {
  ASSERT_EQ(harness_.Start(Fixture("gpu_640mib")), "");
  const FullChoice pick = Expected();
  const std::string modelfile = harness_.dir() + "/Modelfile";
  const Output out = Launch("--model " + Quote(kModels + "/llama-big-*.gguf") +
                            " --ollama-modelfile " + Quote(modelfile));
  ASSERT_EQ(out.exit_code, 0) << out.text;
  const std::string text = ReadFile(modelfile);
  EXPECT_THAT(text, HasSubstr("\nFROM " + pick.file + "\n"));
  EXPECT_THAT(text, HasSubstr("\nPARAMETER num_ctx " + std::to_string(pick.numbers.n_ctx)));
  EXPECT_THAT(text, HasSubstr("\nPARAMETER num_gpu " + std::to_string(pick.numbers.n_gpu_layers)));
}

TEST_F(LaunchTest, StartsTheDaemonOnDemand) {
  harness_.UseFixtureForAutostart(Fixture("gpu_8gib"));
  ASSERT_FALSE(harness_.Running());
  const Output out = Launch("-- llama-server -m " + Quote(kModels + "/llama-big-*.gguf"));
  ASSERT_EQ(out.exit_code, 0) << out.text;
  EXPECT_TRUE(harness_.Running());
  const std::vector<std::string> argv = RecordedArgv();
  ASSERT_GE(argv.size(), 3U);
  EXPECT_THAT(argv[2], HasSubstr("/llama-big-"));
}

TEST_F(LaunchTest, UnreachableDaemonIsAClearError) {
  const Output tcp =
      Launch("--endpoint 127.0.0.1:1 -- llama-server -m " + Quote(kModels + "/llama-big-*.gguf"));
  EXPECT_EQ(tcp.exit_code, 3) << tcp.text;
  EXPECT_THAT(tcp.text, HasSubstr("headroom-launch: HR_STATUS_UNAVAILABLE: "
                                  "FitService.Recommend at 127.0.0.1:1: "));
  const Output no_autostart =
      Launch("--no-autostart -- llama-server -m " + Quote(kModels + "/llama-big-*.gguf"));
  EXPECT_EQ(no_autostart.exit_code, 3) << no_autostart.text;
  EXPECT_THAT(no_autostart.text,
              HasSubstr("headroom-launch: HR_STATUS_UNAVAILABLE: no daemon answers at unix:" +
                        harness_.socket_path() + " (autostart is off)"));
  EXPECT_EQ(ReadFile(argv_file_), "");
}

TEST_F(LaunchTest, UsageErrors) {
  EXPECT_EQ(Launch("-- llama-server --port 1").exit_code, 2);
  const Output unknown = Launch("-- ./my-runtime -m x.gguf");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.text, HasSubstr("unknown runtime './my-runtime'"));
  const Output help = Launch("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.text, HasSubstr("Usage: headroom-launch"));
  const Output version = Launch("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.text, HasSubstr("libheadroom ABI " + std::to_string(HR_API_VERSION)));
}

}  // namespace
}  // namespace headroom::plugin_test
