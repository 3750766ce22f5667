// End-to-end tests of the `headroom` binary: golden output, JSON shape, exit codes.
#include <string>

#include "cli_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

using ::testing::HasSubstr;

using headroom::cli_test::CliResult;
using headroom::cli_test::ExpectGolden;
using headroom::cli_test::ModelsDir;
using headroom::cli_test::RunCli;

TEST(Cli, InspectGoldenDense) {
  CliResult r = RunCli("inspect llama-gqa-Q4_K_M.gguf", ModelsDir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("GiB"));  // units are stated
  ExpectGolden(r.out, "inspect_llama-gqa-Q4_K_M.txt");
}

TEST(Cli, InspectGoldenMlaMoeWithLayers) {
  CliResult r = RunCli("inspect deepseek2-mla-Q4_K_M.gguf --layers", ModelsDir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectGolden(r.out, "inspect_deepseek2-mla-Q4_K_M_layers.txt");
}

TEST(Cli, InspectGoldenJson) {
  CliResult r = RunCli("inspect qwen2-bias-Q8_0.gguf --json", ModelsDir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectGolden(r.out, "inspect_qwen2-bias-Q8_0.json");
  const nlohmann::json j = nlohmann::json::parse(r.out);
  // The documented field names, with exact integers (int64 fields are JSON strings in proto3).
  EXPECT_EQ(j.at("architecture"), "qwen2");
  EXPECT_EQ(j.at("file_type"), "Q8_0");
  EXPECT_EQ(j.at("gguf_version"), 3);
  for (const char* field : {"tensor_count", "data_offset", "tensor_bytes", "parameters"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
}

TEST(Cli, ModelsGolden) {
  CliResult r = RunCli("models", ModelsDir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("deepseek-r1 "));
  ExpectGolden(r.out, "models.txt");
}

TEST(Cli, ModelsJsonIsTheModelList) {
  CliResult r = RunCli("models --json", ModelsDir());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.at("models").is_array());
  EXPECT_GE(j.at("models").size(), 32u);
  bool saw_r1 = false;
  for (const auto& m : j.at("models")) {
    EXPECT_TRUE(m.at("spec").contains("id"));
    EXPECT_TRUE(m.at("parameters").contains("total"));
    if (m.at("spec").at("id") == "deepseek-r1") {
      saw_r1 = true;
      EXPECT_EQ(m.at("spec").at("architecture").at("attention"), "ATTENTION_KIND_MLA");
      // R1 is not dense: active parameters are a small part of the total.
      EXPECT_LT(std::stod(m.at("parameters").at("active").get<std::string>()),
                0.1 * std::stod(m.at("parameters").at("total").get<std::string>()));
    }
  }
  EXPECT_TRUE(saw_r1);
}

TEST(Cli, HelpAndVersion) {
  CliResult help = RunCli("--help", ModelsDir());
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("inspect"));
  EXPECT_THAT(help.out, HasSubstr("models"));
  CliResult version = RunCli("--version", ModelsDir());
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, HasSubstr("headroom "));
  CliResult sub = RunCli("inspect --help", ModelsDir());
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_THAT(sub.out, HasSubstr("--json"));
}

TEST(Cli, BadUsageAndBadFiles) {
  EXPECT_EQ(RunCli("", ModelsDir()).exit_code, 2);
  EXPECT_EQ(RunCli("inspect", ModelsDir()).exit_code, 2);
  EXPECT_EQ(RunCli("frobnicate", ModelsDir()).exit_code, 2);
  EXPECT_EQ(RunCli("models --no-such-flag", ModelsDir()).exit_code, 2);
  CliResult missing = RunCli("inspect /nonexistent/x.gguf", ModelsDir());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/x.gguf"));
  CliResult not_gguf = RunCli("inspect ../models.csv", ModelsDir());
  EXPECT_EQ(not_gguf.exit_code, 1);
  EXPECT_THAT(not_gguf.err, HasSubstr("bad magic"));
  EXPECT_THAT(not_gguf.err, HasSubstr("offset 0"));
  EXPECT_TRUE(not_gguf.out.empty());
}

}  // namespace
