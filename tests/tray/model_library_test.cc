#include "headroom/tray/model_library.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace headroom::tray {
namespace {

namespace fs = std::filesystem;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class ModelLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::path(::testing::TempDir()) /
            ("tray-home-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(home_);
  }
  void TearDown() override { fs::remove_all(home_); }
  void Write(const fs::path& p, const std::string& text = "GGUF") {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  fs::path home_;
};

TEST_F(ModelLibraryTest, FindsEachLibraryOnceAndSkipsShardsAndProjectors) {
  Write(home_ / ".cache/llama.cpp/unsloth_Qwen3-8B-GGUF_Qwen3-8B-Q4_K_M.gguf");
  Write(home_ / ".cache/llama.cpp/big-00001-of-00002.gguf");
  Write(home_ / ".cache/llama.cpp/big-00002-of-00002.gguf");
  Write(home_ / ".cache/llama.cpp/mmproj-F16.gguf");
  Write(home_ / ".cache/llama.cpp/notes.txt");
  Write(home_ / ".lmstudio/models/lmstudio-community/gemma/gemma-3-12b-Q4_K_M.gguf");
  Write(home_ / ".ollama/models/blobs/sha256-abc123");
  Write(home_ / ".ollama/models/manifests/registry.ollama.ai/library/qwen3/8b",
        R"({"layers":[{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:t"},
                      {"mediaType":"application/vnd.ollama.image.model","digest":"sha256:abc123"}]})");
  std::vector<std::string> problems;
  auto models = FindLocalModels({.home = home_.string(), .extra_dirs = {}}, &problems);
  EXPECT_THAT(problems, IsEmpty());
  ASSERT_THAT(models, SizeIs(4));
  std::vector<std::string> names;
  for (const auto& m : models) names.push_back(m.display_name + "|" + m.library);
  EXPECT_THAT(names, ::testing::UnorderedElementsAre(
                         "unsloth_Qwen3-8B-GGUF_Qwen3-8B-Q4_K_M|llama.cpp cache",
                         "big-00001-of-00002|llama.cpp cache",
                         "gemma-3-12b-Q4_K_M|LM Studio", "ollama qwen3:8b|Ollama"));
}

TEST_F(ModelLibraryTest, BrokenOllamaManifestsAreNamedNotFatal) {
  Write(home_ / ".ollama/models/manifests/registry.ollama.ai/library/bad/latest", "{not json");
  Write(home_ / ".ollama/models/manifests/registry.ollama.ai/library/gone/1b",
        R"({"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:ff"}]})");
  std::vector<std::string> problems;
  auto models = FindLocalModels({.home = home_.string(), .extra_dirs = {}}, &problems);
  EXPECT_THAT(models, IsEmpty());
  ASSERT_THAT(problems, SizeIs(2));
  EXPECT_THAT(problems[0] + problems[1], ::testing::HasSubstr("blob missing"));
  EXPECT_THAT(problems[0] + problems[1], ::testing::HasSubstr("no model layer digest"));
}

TEST_F(ModelLibraryTest, ExtraFoldersAreRecursiveAndMissingOnesIgnored) {
  Write(home_ / "models/a/b/x-Q8_0.gguf");
  auto models = FindLocalModels(
      {.home = "", .extra_dirs = {(home_ / "models").string(), (home_ / "nope").string()}},
      nullptr);
  ASSERT_THAT(models, SizeIs(1));
  EXPECT_EQ(models[0].display_name, "x-Q8_0");
}

}  // namespace
}  // namespace headroom::tray
