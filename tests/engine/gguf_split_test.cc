// A split GGUF model (name-0000N-of-0000M.gguf) is estimated as the whole model from any of
// its shards, exactly as the same tensors in one file.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine_test_util.h"
#include "gguf_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace headroom::engine {
namespace {

namespace v1 = headroom::v1;
namespace fs = std::filesystem;
using headroom::testing::GgufBuilder;
using namespace headroom::engine::testing;  // NOLINT(google-build-using-namespace)

constexpr uint32_t kF32 = 0;
constexpr uint32_t kF16 = 1;
constexpr uint64_t kEmbd = 256;
constexpr uint64_t kFf = 512;
constexpr uint64_t kVocab = 1024;
constexpr uint64_t kKvWidth = 128;  // 2 KV heads x 64

void Metadata(GgufBuilder& b) {
  b.Str("general.architecture", "llama")
      .Str("general.name", "tiny split")
      .U32("general.file_type", 1)  // F16
      .U32("llama.block_count", 2)
      .U32("llama.context_length", 4096)
      .U32("llama.embedding_length", kEmbd)
      .U32("llama.feed_forward_length", kFf)
      .U32("llama.attention.head_count", 4)
      .U32("llama.attention.head_count_kv", 2)
      .U32("llama.vocab_size", kVocab);
}

void Layer(GgufBuilder& b, int il) {
  const std::string p = "blk." + std::to_string(il) + ".";
  b.Tensor(p + "attn_norm.weight", kF32, {kEmbd})
      .Tensor(p + "attn_q.weight", kF16, {kEmbd, kEmbd})
      .Tensor(p + "attn_k.weight", kF16, {kEmbd, kKvWidth})
      .Tensor(p + "attn_v.weight", kF16, {kEmbd, kKvWidth})
      .Tensor(p + "attn_output.weight", kF16, {kEmbd, kEmbd})
      .Tensor(p + "ffn_norm.weight", kF32, {kEmbd})
      .Tensor(p + "ffn_gate.weight", kF16, {kEmbd, kFf})
      .Tensor(p + "ffn_up.weight", kF16, {kEmbd, kFf})
      .Tensor(p + "ffn_down.weight", kF16, {kFf, kEmbd});
}

class EngineSplit : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("headroom-engine-split-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const GgufBuilder& b) const {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << b.Build(/*with_data=*/false);
    return path;
  }

  fs::path dir_;
};

TEST_F(EngineSplit, AnyShardGivesTheWholeModel) {
  GgufBuilder first;
  Metadata(first);
  first.U16("split.no", 0).U16("split.count", 2).I32("split.tensors.count", 21);
  first.Tensor("token_embd.weight", kF16, {kEmbd, kVocab});
  Layer(first, 0);
  GgufBuilder second;
  second.U16("split.no", 1).U16("split.count", 2).I32("split.tensors.count", 21);
  Layer(second, 1);
  second.Tensor("output_norm.weight", kF32, {kEmbd}).Tensor("output.weight", kF16, {kEmbd, kVocab});
  Write("tiny-00001-of-00002.gguf", first);
  const std::string second_path = Write("tiny-00002-of-00002.gguf", second);

  GgufBuilder whole;
  Metadata(whole);
  whole.Tensor("token_embd.weight", kF16, {kEmbd, kVocab});
  Layer(whole, 0);
  Layer(whole, 1);
  whole.Tensor("output_norm.weight", kF32, {kEmbd}).Tensor("output.weight", kF16, {kEmbd, kVocab});
  const std::string whole_path = Write("tiny.gguf", whole);

  v1::EstimateRequest r;
  r.mutable_llama_cpp()->set_n_ctx(1024);
  *r.mutable_hardware() = Hypothetical("rtx-4090", 1);
  r.mutable_model()->set_gguf_path(second_path);
  absl::StatusOr<v1::Estimate> split = Estimate(r, DefaultContext());
  ASSERT_TRUE(split.ok()) << split.status();
  r.mutable_model()->set_gguf_path(whole_path);
  absl::StatusOr<v1::Estimate> one = Estimate(r, DefaultContext());
  ASSERT_TRUE(one.ok()) << one.status();

  // Both shards' tensors: 2 embedding-sized matrices, 2 layers, 3 norms... all F16/F32.
  const uint64_t layer = 2 * (kEmbd * kEmbd + kEmbd * kKvWidth + kEmbd * kFf * 3 / 2) * 2;
  EXPECT_GE(split->model().weights_bytes(), 2 * layer);
  EXPECT_EQ(split->model().weights_bytes(), one->model().weights_bytes());
  EXPECT_EQ(split->model().parameters(), one->model().parameters());
  EXPECT_EQ(split->model().name(), "tiny split");
  EXPECT_EQ(split->model().file_type(), "F16");
  EXPECT_EQ(split->n_layers(), one->n_layers());
  ASSERT_EQ(split->devices_size(), 1);
  EXPECT_EQ(split->devices(0).total_bytes(), one->devices(0).total_bytes());
  EXPECT_EQ(split->host().total_bytes(), one->host().total_bytes());
  // 2 layers x 1024 cells x 128 x (K + V) x 2 bytes.
  EXPECT_EQ(TotalKv(*split), uint64_t{2} * 1024 * kKvWidth * 2 * 2);
  ExpectSumsOfParts(*split);

  // A missing shard is named.
  fs::remove(dir_ / "tiny-00001-of-00002.gguf");
  r.mutable_model()->set_gguf_path(second_path);
  absl::StatusOr<v1::Estimate> missing = Estimate(r, DefaultContext());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()),
              ::testing::HasSubstr("tiny-00001-of-00002.gguf"));
}

}  // namespace
}  // namespace headroom::engine
