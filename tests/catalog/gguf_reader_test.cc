// GGUF reader: every value type, and every class of bad input answered with an error that
// names the offset and section — never a crash, never an unbounded allocation.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "gguf_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "headroom/catalog/ggml_types.h"
#include "headroom/catalog/gguf.h"

namespace headroom::catalog {
namespace {

using headroom::testing::GgufBuilder;
using ::testing::HasSubstr;

constexpr uint32_t kF32 = 0;
constexpr uint32_t kF16 = 1;
constexpr uint32_t kQ4K = 12;

absl::StatusOr<GgufHeader> Parse(const std::string& bytes) {
  return ParseGgufHeader({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()},
                         bytes.size());
}

GgufBuilder SmallModel(uint32_t version = 3) {
  GgufBuilder b(version);
  b.Str("general.architecture", "llama")
      .U32("llama.block_count", 1)
      .U32("llama.embedding_length", 256);
  b.Tensor("token_embd.weight", kF16, {256, 8}).Tensor("blk.0.attn_q.weight", kQ4K, {256, 256});
  b.Tensor("output_norm.weight", kF32, {256});
  return b;
}

void ExpectInvalid(const std::string& bytes, const std::string& needle) {
  absl::StatusOr<GgufHeader> h = Parse(bytes);
  ASSERT_FALSE(h.ok()) << "accepted input that should fail with: " << needle;
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(h.status().message()), HasSubstr(needle));
  EXPECT_THAT(std::string(h.status().message()), HasSubstr("offset"));
}

TEST(GgufReader, ReadsEveryValueType) {
  GgufBuilder b;
  b.U8("u8", 200).I8("i8", -5).U16("u16", 60000).I16("i16", -300).U32("u32", 4000000000u);
  b.I32("i32", -70000).F32("f32", 1.5f).Bool("bool", true).Str("str", "héllo");
  b.U64("u64", std::numeric_limits<uint64_t>::max())
      .I64("i64", std::numeric_limits<int64_t>::min());
  b.F64("f64", -2.25).U32Array("arr_u32", {1, 2, 3}).I32Array("arr_i32", {-1, 7});
  b.F32Array("arr_f32", {0.5f}).StrArray("arr_str", {"a", "", "ccc"});
  absl::StatusOr<GgufHeader> h = Parse(b.Build());
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->metadata.size(), 16u);
  EXPECT_EQ(*h->GetUint("u8").value(), 200u);
  EXPECT_EQ(std::get<int64_t>(h->Find("i8")->value), -5);
  EXPECT_EQ(*h->GetUint("u16").value(), 60000u);
  EXPECT_EQ(std::get<int64_t>(h->Find("i16")->value), -300);
  EXPECT_EQ(*h->GetUint("u32").value(), 4000000000u);
  EXPECT_EQ(std::get<int64_t>(h->Find("i32")->value), -70000);
  EXPECT_DOUBLE_EQ(*h->GetFloat("f32").value(), 1.5);
  EXPECT_TRUE(*h->GetBool("bool").value());
  EXPECT_EQ(*h->GetString("str").value(), "héllo");
  EXPECT_EQ(*h->GetUint("u64").value(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(std::get<int64_t>(h->Find("i64")->value), std::numeric_limits<int64_t>::min());
  EXPECT_DOUBLE_EQ(*h->GetFloat("f64").value(), -2.25);
  EXPECT_EQ(h->GetUintOrArray("arr_u32").value(), (std::vector<uint64_t>{1, 2, 3}));
  const auto& ai = std::get<GgufArray>(h->Find("arr_i32")->value);
  EXPECT_EQ(ai.ints, (std::vector<int64_t>{-1, 7}));
  EXPECT_EQ(std::get<GgufArray>(h->Find("arr_f32")->value).floats, (std::vector<double>{0.5}));
  const auto& as = std::get<GgufArray>(h->Find("arr_str")->value);
  EXPECT_EQ(as.strings, (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(*h->GetArrayCount("arr_str").value(), 3u);
  // A typed getter refuses the wrong type and names the key.
  EXPECT_THAT(std::string(h->GetString("u32").status().message()), HasSubstr("\"u32\""));
  EXPECT_FALSE(h->GetUintOrArray("arr_i32").ok());  // negative entries
}

TEST(GgufReader, LargeArraysKeepOnlyTheirCount) {
  std::vector<std::string> vocab(5000, "tok");
  std::vector<float> scores(70000, 0.0f);
  GgufBuilder b;
  b.StrArray("tokenizer.ggml.tokens", vocab).F32Array("tokenizer.ggml.scores", scores);
  absl::StatusOr<GgufHeader> h = Parse(b.Build());
  ASSERT_TRUE(h.ok()) << h.status();
  const auto& tokens = std::get<GgufArray>(h->Find("tokenizer.ggml.tokens")->value);
  EXPECT_EQ(tokens.count, 5000u);
  EXPECT_FALSE(tokens.elements_kept);
  EXPECT_TRUE(tokens.strings.empty());
  EXPECT_EQ(std::get<GgufArray>(h->Find("tokenizer.ggml.scores")->value).count, 70000u);
}

TEST(GgufReader, TensorTableSizesAndLayout) {
  for (uint32_t version : {2u, 3u}) {
    GgufBuilder b = SmallModel(version);
    absl::StatusOr<GgufHeader> h = Parse(b.Build(/*with_data=*/true));
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->version, version);
    ASSERT_EQ(h->tensors.size(), 3u);
    EXPECT_EQ(h->tensors[1].bytes, TensorBytes(kQ4K, std::vector<uint64_t>{256, 256}).value());
    EXPECT_EQ(h->tensors[1].elements, 65536u);
    EXPECT_EQ(h->data_offset % 32, 0u);
    EXPECT_EQ(h->data_bytes, b.DataBytes());
    EXPECT_TRUE(h->tensor_data_present());
  }
  // The same header without its data: sizes still exact, data reported absent.
  const std::string header_only = SmallModel().Build(false);
  absl::StatusOr<GgufHeader> h = Parse(header_only);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_FALSE(h->tensor_data_present());
}

TEST(GgufReader, CustomAlignment) {
  GgufBuilder b;
  b.Alignment(64)
      .U32("general.alignment", 64)
      .Tensor("a.weight", kF32, {3})
      .Tensor("b.weight", kF32, {5});
  absl::StatusOr<GgufHeader> h = Parse(b.Build());
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->alignment, 64u);
  EXPECT_EQ(h->tensors[1].offset, 64u);
  EXPECT_EQ(h->data_offset % 64, 0u);
}

TEST(GgufReaderBadInput, BadMagic) {
  std::string bytes = SmallModel().Build();
  bytes[0] = 'X';
  ExpectInvalid(bytes, "bad magic");
}

TEST(GgufReaderBadInput, UnsupportedVersions) {
  ExpectInvalid(GgufBuilder(1).Build(), "version 1 is obsolete");
  ExpectInvalid(GgufBuilder(4).Build(), "unsupported GGUF version 4");
  ExpectInvalid(GgufBuilder(0x03000000u).Build(), "big-endian");
}

TEST(GgufReaderBadInput, HugeCounts) {
  ExpectInvalid(GgufBuilder().ForceKvCount(std::numeric_limits<uint64_t>::max()).Build(),
                "metadata count");
  ExpectInvalid(GgufBuilder().ForceTensorCount(uint64_t{1} << 60).Build(), "tensor count");
  // An array claiming 2^62 elements in a tiny file.
  ExpectInvalid(GgufBuilder()
                    .RawKv("a", 9, GgufBuilder::EncU32(4) + GgufBuilder::EncU64(uint64_t{1} << 62))
                    .Build(),
                "array of");
  // A string claiming more bytes than the file has.
  ExpectInvalid(GgufBuilder().RawKv("s", 8, GgufBuilder::EncU64(uint64_t{1} << 40)).Build(),
                "exceeds");
  ExpectInvalid(GgufBuilder()
                    .RawKv("s", 8, GgufBuilder::EncU64(std::numeric_limits<uint64_t>::max()))
                    .Build(),
                "exceeds");
}

TEST(GgufReaderBadInput, TruncatedAtEveryByte) {
  // Every proper prefix of a valid header is refused with an offset, in the right section.
  const std::string full = SmallModel().U32Array("llama.attention.head_count", {4}).Build();
  const absl::StatusOr<GgufHeader> whole = Parse(full);
  ASSERT_TRUE(whole.ok()) << whole.status();
  bool saw_header = false, saw_metadata = false, saw_tensor = false;
  // The last tensor info ends before the alignment padding; prefixes cut inside the padding
  // are complete headers (the data section is simply absent).
  const size_t header_end = full.size() - (full.size() - 1) % 32;
  for (size_t n = 0; n + 32 < header_end; ++n) {
    absl::StatusOr<GgufHeader> h = Parse(full.substr(0, n));
    ASSERT_FALSE(h.ok()) << "prefix of " << n << " bytes accepted";
    const std::string msg(h.status().message());
    EXPECT_THAT(msg, HasSubstr("offset")) << msg;
    saw_header |= msg.find("GGUF header") != std::string::npos;
    saw_metadata |= msg.find("metadata key") != std::string::npos;
    saw_tensor |= msg.find("tensor info") != std::string::npos;
  }
  EXPECT_TRUE(saw_header && saw_metadata && saw_tensor);
}

TEST(GgufReaderBadInput, UnknownTypes) {
  ExpectInvalid(GgufBuilder().RawKv("k", 13, "").Build(), "unknown value type 13");
  ExpectInvalid(
      GgufBuilder().RawKv("k", 9, GgufBuilder::EncU32(99) + GgufBuilder::EncU64(0)).Build(),
      "unknown element type 99");
  ExpectInvalid(
      GgufBuilder().RawKv("k", 9, GgufBuilder::EncU32(9) + GgufBuilder::EncU64(1)).Build(),
      "nested arrays");
  for (uint32_t retired : {4u, 5u, 31u, 36u, 40u, 1000u}) {
    ExpectInvalid(GgufBuilder().Tensor("t.weight", retired, {32}).Build(),
                  "unknown ggml type id " + std::to_string(retired));
  }
}

TEST(GgufReaderBadInput, BadDimensions) {
  ExpectInvalid(GgufBuilder().Tensor("t", kF32, {}).Build(), "0 dimensions");
  ExpectInvalid(GgufBuilder().Tensor("t", kF32, {1, 1, 1, 1, 1}).Build(), "5 dimensions");
  ExpectInvalid(GgufBuilder().Tensor("t", kF32, {uint64_t{1} << 32, uint64_t{1} << 32}).Build(),
                "overflow");
  ExpectInvalid(GgufBuilder().Tensor("t", kF32, {uint64_t{1} << 63}).Build(), "out of range");
  ExpectInvalid(GgufBuilder().Tensor("t", kQ4K, {100, 4}).Build(),
                "not a multiple of the Q4_K block size 256");
  ExpectInvalid(GgufBuilder().Tensor(std::string(64, 'n'), kF32, {1}).Build(),
                "exceeds ggml's limit");
}

TEST(GgufReaderBadInput, BadOffsets) {
  ExpectInvalid(GgufBuilder().Tensor("a", kF32, {8}).Tensor("b", kF32, {8}, 40).Build(),
                "not a multiple of the alignment");
  ExpectInvalid(GgufBuilder().Tensor("a", kF32, {8}).Tensor("b", kF32, {8}, 64).Build(),
                "expected 32");
  ExpectInvalid(GgufBuilder().Tensor("a", kF32, {8}, 32).Build(), "expected 0");
  ExpectInvalid(GgufBuilder().Tensor("a", kF32, {8}).Tensor("b", kF32, {8}, 0).Build(),
                "expected 32");
}

TEST(GgufReaderBadInput, Duplicates) {
  ExpectInvalid(GgufBuilder().U32("k", 1).U32("k", 2).Build(), "duplicate key");
  ExpectInvalid(GgufBuilder().Tensor("t", kF32, {8}).Tensor("t", kF32, {8}).Build(),
                "duplicate tensor \"t\"");
}

TEST(GgufReaderBadInput, BadAlignment) {
  ExpectInvalid(GgufBuilder().U32("general.alignment", 48).Build(), "not a power of two");
  ExpectInvalid(GgufBuilder().U32("general.alignment", 0).Build(), "not a power of two");
  ExpectInvalid(GgufBuilder().U64("general.alignment", 32).Build(), "must be a u32");
}

TEST(GgufReaderFiles, LargeSparseFileReadsHeaderOnly) {
  // A 2^36-element F16 tensor: 128 GiB of data that is never on disk (sparse file) and never
  // read; the reader still reports the data as present because the file is long enough.
  GgufBuilder b;
  b.Str("general.architecture", "llama")
      .Tensor("blk.0.ffn_up.weight", kF16, {uint64_t{1} << 18, uint64_t{1} << 18});
  const std::string header = b.Build();
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("headroom-sparse-" + std::to_string(::getpid()) + ".gguf");
  std::ofstream(path, std::ios::binary) << header;
  std::filesystem::resize_file(path, header.size() + b.DataBytes());
  absl::StatusOr<GgufHeader> h = ReadGgufHeader(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->data_bytes, uint64_t{1} << 37);
  EXPECT_TRUE(h->tensor_data_present());
}

TEST(GgufReaderFiles, MissingFileAndDirectory) {
  absl::StatusOr<GgufHeader> h = ReadGgufHeader("/nonexistent/model.gguf");
  EXPECT_EQ(h.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(h.status().message()), HasSubstr("/nonexistent/model.gguf"));
  h = ReadGgufHeader("/tmp");
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(h.status().message()), HasSubstr("not a regular file"));
}

// Paths the kernel refuses for their form are the caller's mistake, not a permission refusal
// (the daemon's fuzz client found ENAMETOOLONG answered as PERMISSION_DENIED).
TEST(GgufReaderFiles, MalformedPathsAreNotPermissionErrors) {
  absl::StatusOr<GgufHeader> h = ReadGgufHeader("/" + std::string(300, 'x'));
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument) << h.status();
  h = ReadGgufHeader("/etc/passwd/model.gguf");  // a file used as a directory: ENOTDIR
  EXPECT_EQ(h.status().code(), absl::StatusCode::kNotFound) << h.status();
}

}  // namespace
}  // namespace headroom::catalog

namespace headroom::catalog {
namespace {

// The committed fuzz seeds must stay valid headers, or the fuzzer starts from nothing.
TEST(GgufFuzzSeeds, EverySeedParses) {
  const std::filesystem::path dir =
      std::filesystem::path(HEADROOM_FIXTURES_DIR) / "../fuzz/corpus/gguf";
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    SCOPED_TRACE(entry.path().string());
    absl::StatusOr<GgufHeader> h = ReadGgufHeader(entry.path().string());
    EXPECT_TRUE(h.ok()) << h.status();
    ++seen;
  }
  EXPECT_GE(seen, 10);
}

}  // namespace
}  // namespace headroom::catalog
