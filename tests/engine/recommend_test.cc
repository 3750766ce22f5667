// Recommend end to end: candidates from the catalog's file types and from GGUF files, the
// conversion of every choice, and bad requests.
#include <set>

#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace headroom::engine {
namespace {

namespace v1 = headroom::v1;
using ::testing::HasSubstr;
using namespace headroom::engine::testing;  // NOLINT(google-build-using-namespace)

void ExpectChoiceConsistent(const v1::Choice& c) {
  EXPECT_FALSE(c.file_type().empty());
  EXPECT_FALSE(c.reason().empty());
  EXPECT_EQ(c.estimate().n_ctx(), c.n_ctx());
  EXPECT_EQ(c.estimate().n_gpu_layers(), c.n_gpu_layers());
  EXPECT_EQ(c.estimate().cache_type_k(), c.cache_type_k());
  EXPECT_EQ(c.estimate().cache_type_v(), c.cache_type_v());
  EXPECT_EQ(c.estimate().experts_on_cpu(), c.experts_on_cpu());
  EXPECT_EQ(c.estimate().model().file_type(), c.file_type());
  ExpectSumsOfParts(c.estimate());
}

TEST(EngineRecommend, CatalogModelOnOneRtx3090) {
  v1::RecommendRequest r;
  r.mutable_model()->set_catalog_id("llama-3.1-8b");
  *r.mutable_hardware() = Hypothetical("rtx-3090", 1);
  r.set_min_context(16384);
  absl::StatusOr<v1::Recommendation> rec = Recommend(r, DefaultContext());
  ASSERT_TRUE(rec.ok()) << rec.status();
  ASSERT_TRUE(rec->has_pick()) << rec->reason();
  EXPECT_TRUE(rec->pick().meets_constraints());
  EXPECT_GE(rec->pick().n_ctx(), 16384u);
  EXPECT_EQ(rec->pick().estimate().verdict(), v1::VERDICT_FITS);
  EXPECT_TRUE(rec->pick().gguf_path().empty());
  EXPECT_FALSE(rec->reason().empty());
  ExpectChoiceConsistent(rec->pick());
  EXPECT_GT(rec->alternatives_size(), 3);
  for (const v1::Choice& c : rec->alternatives()) ExpectChoiceConsistent(c);
}

// Through the daemon's model cache (prepared quants kept between calls) the answer is the
// same, on the first call and the next, and every quant tried stays cached for the next one.
TEST(EngineRecommend, ModelCacheGivesTheSameAnswer) {
  for (const v1::Preference prefer :
       {v1::PREFERENCE_QUALITY, v1::PREFERENCE_SPEED, v1::PREFERENCE_CONTEXT}) {
    v1::RecommendRequest r;
    r.mutable_model()->set_catalog_id("qwen3-30b-a3b");
    *r.mutable_hardware() = Hypothetical("rtx-3060-12gb", 1);
    r.set_min_context(8192);
    r.set_prefer(prefer);
    absl::StatusOr<v1::Recommendation> plain = Recommend(r, DefaultContext());
    ASSERT_TRUE(plain.ok()) << plain.status();
    ModelCache cache;
    Context cached = DefaultContext();
    cached.model_cache = &cache;
    for (int round = 0; round < 2; ++round) {
      absl::StatusOr<v1::Recommendation> got = Recommend(r, cached);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(got->SerializeAsString(), plain->SerializeAsString()) << "round " << round;
    }
    EXPECT_EQ(cache.size(), static_cast<size_t>(1 + plain->alternatives_size()));
    // An Estimate of one of those quants is served from the same cache entry.
    v1::EstimateRequest e;
    *e.mutable_model() = r.model();
    e.mutable_model()->set_file_type(plain->pick().file_type());
    *e.mutable_hardware() = r.hardware();
    absl::StatusOr<v1::Estimate> est_plain = Estimate(e, DefaultContext());
    absl::StatusOr<v1::Estimate> est_cached = Estimate(e, cached);
    ASSERT_TRUE(est_plain.ok() && est_cached.ok());
    EXPECT_EQ(est_cached->SerializeAsString(), est_plain->SerializeAsString());
    EXPECT_EQ(cache.size(), static_cast<size_t>(1 + plain->alternatives_size()));
  }
}

TEST(EngineRecommend, AskedFileTypesOnly) {
  v1::RecommendRequest r;
  r.mutable_model()->set_catalog_id("llama-3.1-8b");
  r.add_file_types("Q4_K_M");
  r.add_file_types("q8_0");
  *r.mutable_hardware() = Hypothetical("rtx-4090", 1);
  absl::StatusOr<v1::Recommendation> rec = Recommend(r, DefaultContext());
  ASSERT_TRUE(rec.ok()) << rec.status();
  std::set<std::string> seen;
  if (rec->has_pick()) seen.insert(rec->pick().file_type());
  for (const v1::Choice& c : rec->alternatives()) seen.insert(c.file_type());
  EXPECT_EQ(seen, (std::set<std::string>{"Q4_K_M", "Q8_0"}));
}

TEST(EngineRecommend, GgufFilesAsCandidates) {
  v1::RecommendRequest r;
  for (const char* f : {"llama-big-Q4_K_M.gguf", "llama-big-Q8_0.gguf", "llama-big-F16.gguf"}) {
    r.add_gguf_paths(ModelFile(f));
  }
  r.mutable_hardware()->mutable_hypothetical()->set_ram_bytes(16 * kGiB);
  r.set_min_context(2048);
  absl::StatusOr<v1::Recommendation> rec = Recommend(r, DefaultContext());
  ASSERT_TRUE(rec.ok()) << rec.status();
  ASSERT_TRUE(rec->has_pick()) << rec->reason();
  EXPECT_THAT(rec->pick().gguf_path(), HasSubstr("llama-big-"));
  EXPECT_THAT(rec->pick().gguf_path(), HasSubstr(rec->pick().file_type()));
  EXPECT_EQ(rec->pick().estimate().verdict(), v1::VERDICT_CPU_ONLY);
  ExpectChoiceConsistent(rec->pick());
  for (const v1::Choice& c : rec->alternatives()) {
    EXPECT_FALSE(c.gguf_path().empty());
    ExpectChoiceConsistent(c);
  }
}

TEST(EngineRecommend, Errors) {
  const auto expect = [](const v1::RecommendRequest& r, absl::StatusCode code,
                         const std::string& text) {
    absl::StatusOr<v1::Recommendation> rec = Recommend(r, DefaultContext());
    ASSERT_FALSE(rec.ok()) << text;
    EXPECT_EQ(rec.status().code(), code) << rec.status();
    EXPECT_THAT(std::string(rec.status().message()), HasSubstr(text));
  };
  v1::RecommendRequest base;
  base.mutable_model()->set_catalog_id("llama-3.2-1b");
  *base.mutable_hardware() = Hypothetical("rtx-4090", 1);

  v1::RecommendRequest r = base;
  r.add_file_types("Q4_K_M");
  r.add_file_types("Q9");
  expect(r, absl::StatusCode::kInvalidArgument, "file_types[1]: unknown file type \"Q9\"");
  r = base;
  r.add_kv_types("q9");
  expect(r, absl::StatusCode::kInvalidArgument, "kv_types[0]: unknown type \"q9\"");
  r = base;
  r.add_gguf_paths(ModelFile("llama-gqa-Q4_K_M.gguf"));
  r.add_gguf_paths("/nonexistent/b.gguf");
  expect(r, absl::StatusCode::kNotFound, "gguf_paths[1]: ");
  r = base;
  r.set_min_context(8192);
  r.set_max_context(4096);
  expect(r, absl::StatusCode::kInvalidArgument, "max_context: 4096 is below min_context 8192");
  r = base;
  r.set_min_decode_tok_s(-1);
  expect(r, absl::StatusCode::kInvalidArgument, "min_decode_tok_s");
  r = base;
  r.set_prefer(static_cast<v1::Preference>(5));
  expect(r, absl::StatusCode::kInvalidArgument, "prefer: unknown value 5");
  r = base;
  r.set_runtime(v1::RUNTIME_VLLM);
  expect(r, absl::StatusCode::kInvalidArgument, "runtime: ");
  r = base;
  r.mutable_model()->set_catalog_id("nope");
  expect(r, absl::StatusCode::kNotFound, "model.catalog_id");
  r = base;
  r.mutable_hardware()->mutable_hypothetical()->set_gpu_ids(0, "nope");
  expect(r, absl::StatusCode::kNotFound, "hardware.hypothetical.gpu_ids[0]");
}

}  // namespace
}  // namespace headroom::engine
