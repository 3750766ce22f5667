// Every class of bad request gets its status code and a message naming the field.
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace headroom::engine {
namespace {

namespace v1 = headroom::v1;
using ::testing::HasSubstr;
using namespace headroom::engine::testing;  // NOLINT(google-build-using-namespace)

v1::EstimateRequest Good() {
  v1::EstimateRequest r;
  r.mutable_model()->set_catalog_id("llama-3.2-1b");
  r.mutable_llama_cpp()->set_n_ctx(4096);
  *r.mutable_hardware() = Hypothetical("rtx-4090", 1);
  return r;
}

void ExpectError(const v1::EstimateRequest& r, absl::StatusCode code, const std::string& text,
                 const Context& context = DefaultContext()) {
  absl::StatusOr<v1::Estimate> e = Estimate(r, context);
  ASSERT_FALSE(e.ok()) << "expected " << text;
  EXPECT_EQ(e.status().code(), code) << e.status();
  EXPECT_THAT(std::string(e.status().message()), HasSubstr(text));
}

TEST(EngineErrors, TheGoodRequestIsGood) {
  absl::StatusOr<v1::Estimate> e = Estimate(Good(), DefaultContext());
  ASSERT_TRUE(e.ok()) << e.status();
}

TEST(EngineErrors, Model) {
  v1::EstimateRequest r = Good();
  r.clear_model();
  ExpectError(r, absl::StatusCode::kInvalidArgument, "model: required");
  r = Good();
  r.mutable_model()->clear_catalog_id();
  r.mutable_model()->set_file_type("Q4_K_M");
  ExpectError(r, absl::StatusCode::kInvalidArgument, "model: required (catalog_id");
  r = Good();
  r.mutable_model()->set_catalog_id("no-such-model");
  ExpectError(r, absl::StatusCode::kNotFound,
              "model.catalog_id: no catalog model \"no-such-model\"");
  r = Good();
  r.mutable_model()->set_file_type("Q9");
  ExpectError(r, absl::StatusCode::kInvalidArgument, "model.file_type: unknown file type \"Q9\"");
  r = Good();
  v1::Architecture broken = BuiltinCatalog().FindModel("llama-3.2-1b")->architecture();
  broken.set_block_count(0);
  *r.mutable_model()->mutable_architecture() = broken;
  ExpectError(r, absl::StatusCode::kInvalidArgument, "model.architecture: ");
  ExpectError(r, absl::StatusCode::kInvalidArgument, "block_count");
}

TEST(EngineErrors, Files) {
  v1::EstimateRequest r = Good();
  r.mutable_model()->set_gguf_path("/nonexistent/model.gguf");
  ExpectError(r, absl::StatusCode::kNotFound, "model.gguf_path: ");
  ExpectError(r, absl::StatusCode::kNotFound, "/nonexistent/model.gguf");
  r.mutable_model()->set_gguf_path(headroom::testing::FixturePath("groundtruth/models.csv"));
  ExpectError(r, absl::StatusCode::kInvalidArgument, "bad magic");
  r.mutable_model()->set_config_json_path("/nonexistent/config.json");
  ExpectError(r, absl::StatusCode::kNotFound, "model.config_json_path: ");

  Context no_paths = DefaultContext();
  no_paths.allow_paths = false;
  r.mutable_model()->set_gguf_path(ModelFile("llama-gqa-Q4_K_M.gguf"));
  ExpectError(r, absl::StatusCode::kPermissionDenied, "model.gguf_path", no_paths);
  r.mutable_model()->set_config_json_path(
      headroom::testing::FixturePath("hf_configs/qwen3-8b.json"));
  ExpectError(r, absl::StatusCode::kPermissionDenied, "model.config_json_path", no_paths);
}

TEST(EngineErrors, LlamaCppParams) {
  v1::EstimateRequest r = Good();
  r.mutable_llama_cpp()->set_cache_type_k("q9");
  ExpectError(r, absl::StatusCode::kInvalidArgument, "llama_cpp.cache_type_k: unknown type \"q9\"");
  r = Good();
  r.mutable_llama_cpp()->set_cache_type_v("q4_k");  // a ggml type, but not a KV cache type
  ExpectError(r, absl::StatusCode::kInvalidArgument, "llama_cpp.cache_type_v: unknown type");
  r = Good();
  r.mutable_llama_cpp()->set_flash_attn(static_cast<v1::FlashAttention>(7));
  ExpectError(r, absl::StatusCode::kInvalidArgument, "llama_cpp.flash_attn: unknown value 7");
  r = Good();
  r.mutable_llama_cpp()->set_experts(static_cast<v1::ExpertPlacement>(9));
  ExpectError(r, absl::StatusCode::kInvalidArgument, "llama_cpp.experts");
  r = Good();
  r.mutable_llama_cpp()->set_n_parallel(300);
  ExpectError(r, absl::StatusCode::kInvalidArgument, "llama_cpp.n_parallel: 300");
  r = Good();
  r.mutable_llama_cpp()->set_n_ctx(uint32_t{1} << 30);
  ExpectError(r, absl::StatusCode::kInvalidArgument, "llama_cpp.n_ctx: 1073741824");
  r = Good();
  r.mutable_llama_cpp()->set_decode_depth(5000);
  ExpectError(r, absl::StatusCode::kInvalidArgument, "llama_cpp.decode_depth");
  r = Good();
  r.mutable_llama_cpp()->set_margin_bytes(uint64_t{1} << 50);
  ExpectError(r, absl::StatusCode::kInvalidArgument, "llama_cpp.margin_bytes");
  r = Good();
  r.set_runtime(static_cast<v1::Runtime>(9));
  ExpectError(r, absl::StatusCode::kInvalidArgument, "runtime: unknown value 9");
}

// llama.cpp refuses a quantized V cache without flash attention; so does the estimate.
TEST(EngineErrors, RuntimeRefusalsAreFailedPrecondition) {
  v1::EstimateRequest r = Good();
  r.mutable_llama_cpp()->set_cache_type_v("q8_0");
  r.mutable_llama_cpp()->set_flash_attn(v1::FLASH_ATTENTION_DISABLED);
  ExpectError(r, absl::StatusCode::kFailedPrecondition, "flash");
}

TEST(EngineErrors, Hardware) {
  v1::EstimateRequest r = Good();
  r.mutable_hardware()->mutable_hypothetical()->add_gpu_ids("no-such-gpu");
  ExpectError(r, absl::StatusCode::kNotFound,
              "hardware.hypothetical.gpu_ids[1]: no GPU \"no-such-gpu\"");
  r = Good();
  r.mutable_hardware()->mutable_hypothetical()->set_ram_bytes(uint64_t{1} << 62);
  ExpectError(r, absl::StatusCode::kInvalidArgument, "hardware.hypothetical.ram_bytes");
  r = Good();
  r.mutable_hardware()->mutable_hypothetical()->set_host_bandwidth_gbps(-3);
  ExpectError(r, absl::StatusCode::kInvalidArgument, "hardware.hypothetical.host_bandwidth_gbps");
  r = Good();
  r.mutable_hardware()->set_live(true);
  ExpectError(r, absl::StatusCode::kFailedPrecondition, "hardware.live");
  r.clear_hardware();
  ExpectError(r, absl::StatusCode::kFailedPrecondition, "hardware.live");
}

TEST(EngineErrors, VllmParams) {
  v1::EstimateRequest r = Good();
  r.set_runtime(v1::RUNTIME_VLLM);
  r.mutable_vllm()->set_gpu_memory_utilization(1.5);
  ExpectError(r, absl::StatusCode::kInvalidArgument, "vllm.gpu_memory_utilization");
  r.mutable_vllm()->set_gpu_memory_utilization(0.9);
  r.mutable_vllm()->set_kv_cache_dtype("int3");
  ExpectError(r, absl::StatusCode::kInvalidArgument, "vllm.kv_cache_dtype: unknown dtype \"int3\"");
  r.mutable_vllm()->set_kv_cache_dtype("fp8");
  r.mutable_vllm()->set_tensor_parallel_size(2);
  ExpectError(r, absl::StatusCode::kInvalidArgument, "vllm.tensor_parallel_size: 2");
}

TEST(EngineErrors, NoCatalog) {
  ExpectError(Good(), absl::StatusCode::kFailedPrecondition, "no catalog", Context{});
}

}  // namespace
}  // namespace headroom::engine
