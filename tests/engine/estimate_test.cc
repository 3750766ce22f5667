// Estimate end to end: each kind of ModelRef and HardwareRef with real fixtures, the
// conversion back to the wire message, calibration.
#include <unistd.h>

#include <filesystem>
#include <string>

#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace headroom::engine {
namespace {

namespace v1 = headroom::v1;
using ::testing::HasSubstr;
using namespace headroom::engine::testing;  // NOLINT(google-build-using-namespace)

v1::EstimateRequest CatalogRequest(const std::string& id, const std::string& file_type,
                                   uint32_t n_ctx) {
  v1::EstimateRequest r;
  r.mutable_model()->set_catalog_id(id);
  r.mutable_model()->set_file_type(file_type);
  r.mutable_llama_cpp()->set_n_ctx(n_ctx);
  return r;
}

// Llama 3.1 8B on two RTX 3090s: 32 layers x 8 KV heads x 128 dims x (K + V) x 2 bytes =
// 128 KiB per token, so 8192 tokens of F16 KV are exactly 1 GiB, split over both cards.
TEST(EngineEstimate, CatalogModelOnTwoHypotheticalRtx3090) {
  v1::EstimateRequest r = CatalogRequest("llama-3.1-8b", "Q4_K_M", 8192);
  *r.mutable_hardware() = Hypothetical("rtx-3090", 2);
  absl::StatusOr<v1::Estimate> e = Estimate(r, DefaultContext());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->verdict(), v1::VERDICT_FITS) << e->reason();
  ASSERT_EQ(e->devices_size(), 2);
  EXPECT_EQ(e->devices(0).name(), "NVIDIA GeForce RTX 3090");
  EXPECT_EQ(e->devices(0).kind(), "cuda");
  EXPECT_EQ(e->devices(0).free_bytes(), 24 * kGiB);
  EXPECT_GT(e->devices(0).layers(), 0u);
  EXPECT_GT(e->devices(1).layers(), 0u);
  // llama.cpp's count: 32 blocks + the output layer; -ngl 33 puts everything on the GPUs.
  EXPECT_EQ(e->n_layers(), 33u);
  EXPECT_EQ(e->n_gpu_layers(), 33u);
  EXPECT_EQ(TotalLayers(*e), 32u);
  EXPECT_EQ(e->n_ctx(), 8192u);
  EXPECT_EQ(e->kv_cells(), 8192u);
  EXPECT_EQ(TotalKv(*e), 1 * kGiB);
  EXPECT_EQ(e->cache_type_k(), "f16");
  EXPECT_EQ(e->cache_type_v(), "f16");
  EXPECT_FALSE(e->experts_on_cpu());
  EXPECT_EQ(e->model().id(), "llama-3.1-8b");
  EXPECT_EQ(e->model().file_type(), "Q4_K_M");
  EXPECT_NEAR(static_cast<double>(e->model().parameters()), 8.03e9, 0.01 * 8.03e9);
  EXPECT_EQ(e->model().active_parameters(), e->model().parameters());
  EXPECT_EQ(e->model().context_length(), 131072u);
  EXPECT_GT(e->max_context(), 8192u);
  EXPECT_GT(e->headroom_bytes(), 0);
  EXPECT_GT(e->decode_tok_s(), 0);
  EXPECT_GT(e->prefill_tok_s(), 0);
  EXPECT_GT(e->time_to_first_token_s(), 0);
  EXPECT_FALSE(e->reason().empty());
  EXPECT_THAT(e->notes(), ::testing::Contains(HasSubstr("hypothetical machine")));
  ExpectSumsOfParts(*e);
  // Weights split over the cards add up to the model's less what stays in host RAM.
  uint64_t weights = e->host().weights_bytes();
  for (const v1::DeviceUsage& d : e->devices()) weights += d.weights_bytes();
  EXPECT_GE(weights, e->model().weights_bytes());
}

TEST(EngineEstimate, QuantizedKvAndParallelSequences) {
  v1::EstimateRequest r = CatalogRequest("llama-3.1-8b", "Q8_0", 8192);
  r.mutable_llama_cpp()->set_cache_type_k("q8_0");
  r.mutable_llama_cpp()->set_cache_type_v("Q8_0");  // llama.cpp's names, any case
  r.mutable_llama_cpp()->set_flash_attn(v1::FLASH_ATTENTION_ENABLED);
  *r.mutable_hardware() = Hypothetical("rtx-4090", 1);
  absl::StatusOr<v1::Estimate> e = Estimate(r, DefaultContext());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->cache_type_k(), "q8_0");
  EXPECT_EQ(e->cache_type_v(), "q8_0");
  EXPECT_TRUE(e->flash_attn());
  // q8_0 is 34 bytes per 32 values: 1 GiB of F16 becomes 1 GiB x 34 / 64.
  EXPECT_EQ(TotalKv(*e), kGiB * 34 / 64);
  ExpectSumsOfParts(*e);
}

TEST(EngineEstimate, GgufFileOnCpuOnlyMachine) {
  v1::EstimateRequest r;
  r.mutable_model()->set_gguf_path(ModelFile("llama-gqa-Q4_K_M.gguf"));
  r.mutable_model()->set_file_type("F16");  // ignored: the file has its own
  r.mutable_llama_cpp()->set_n_ctx(2048);
  r.mutable_hardware()->mutable_hypothetical()->set_ram_bytes(16 * kGiB);
  absl::StatusOr<v1::Estimate> e = Estimate(r, DefaultContext());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->verdict(), v1::VERDICT_CPU_ONLY) << e->reason();
  EXPECT_EQ(e->devices_size(), 0);
  EXPECT_EQ(e->model().id(), "llama-gqa-Q4_K_M.gguf");
  EXPECT_EQ(e->model().file_type(), "Q4_K_M");
  EXPECT_EQ(e->model().context_length(), 8192u);
  EXPECT_EQ(e->n_gpu_layers(), 0u);
  EXPECT_EQ(e->host().layers(), 8u);
  EXPECT_EQ(e->host().kind(), "cpu");
  EXPECT_EQ(e->host().free_bytes(), 16 * kGiB);
  // 8 layers x 2048 cells x 2 KV heads x 64 dims x (K + V) x 2 bytes = 8 MiB, as measured in
  // groundtruth/measurements.csv.
  EXPECT_EQ(e->host().kv_cache_bytes(), 8 * kMiB);
  EXPECT_GE(e->host().weights_bytes(), e->model().weights_bytes());
  ExpectSumsOfParts(*e);
}

TEST(EngineEstimate, MlaMoeGgufKeepsKOnly) {
  v1::EstimateRequest r;
  r.mutable_model()->set_gguf_path(ModelFile("deepseek2-mla-Q4_K_M.gguf"));
  r.mutable_llama_cpp()->set_n_ctx(2048);
  *r.mutable_hardware() = Hypothetical("rtx-4090", 1);
  absl::StatusOr<v1::Estimate> e = Estimate(r, DefaultContext());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_LT(e->model().active_parameters(), e->model().parameters());
  // MLA: 6 layers x 2048 cells x (kv_lora 256 + rope 32) x 2 bytes, K only.
  EXPECT_EQ(TotalKv(*e), uint64_t{6} * 2048 * (256 + 32) * 2);
  ExpectSumsOfParts(*e);
}

TEST(EngineEstimate, ConfigJsonNamesTheModelAfterItsFile) {
  v1::EstimateRequest r;
  r.mutable_model()->set_config_json_path(
      headroom::testing::FixturePath("hf_configs/qwen3-8b.json"));
  r.mutable_model()->set_file_type("q8_0");
  r.mutable_llama_cpp()->set_n_ctx(4096);
  *r.mutable_hardware() = Hypothetical("rtx-4090", 1);
  absl::StatusOr<v1::Estimate> e = Estimate(r, DefaultContext());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->model().id(), "qwen3-8b");
  EXPECT_EQ(e->model().file_type(), "Q8_0");
  EXPECT_NEAR(static_cast<double>(e->model().parameters()), 8.19e9, 0.02 * 8.19e9);
  EXPECT_EQ(e->verdict(), v1::VERDICT_FITS) << e->reason();
  ExpectSumsOfParts(*e);
}

TEST(EngineEstimate, InlineArchitectureMatchesTheCatalogEntry) {
  const v1::ModelSpec* spec = BuiltinCatalog().FindModel("qwen2.5-7b");
  ASSERT_NE(spec, nullptr);
  v1::EstimateRequest by_id = CatalogRequest("qwen2.5-7b", "Q4_K_M", 16384);
  *by_id.mutable_hardware() = Hypothetical("rtx-3060-12gb", 1);
  v1::EstimateRequest inline_arch = by_id;
  *inline_arch.mutable_model()->mutable_architecture() = spec->architecture();
  absl::StatusOr<v1::Estimate> a = Estimate(by_id, DefaultContext());
  absl::StatusOr<v1::Estimate> b = Estimate(inline_arch, DefaultContext());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->model().id(), "inline-qwen2");
  EXPECT_EQ(a->model().weights_bytes(), b->model().weights_bytes());
  ASSERT_EQ(a->devices_size(), b->devices_size());
  EXPECT_EQ(a->devices(0).total_bytes(), b->devices(0).total_bytes());
  EXPECT_EQ(a->host().total_bytes(), b->host().total_bytes());
}

TEST(EngineEstimate, SnapshotAndLiveHardware) {
  v1::Hardware hw;
  hw.mutable_ram()->set_total_bytes(32 * kGiB);
  hw.mutable_ram()->set_available_bytes(20 * kGiB);
  hw.set_host_bandwidth_gbps(50);
  hw.set_host_bandwidth_source(v1::SOURCE_MEASURED);
  hw.mutable_cpu()->set_threads(8);
  v1::GpuDevice& gpu = *hw.add_gpus();
  gpu.set_name("Test GPU");
  gpu.set_vendor_id(0x10de);
  gpu.set_type(v1::DEVICE_TYPE_DISCRETE_GPU);
  gpu.set_placeable(true);
  gpu.set_memory_total_bytes(8 * kGiB);
  gpu.set_memory_free_bytes(6 * kGiB);
  gpu.set_bandwidth_gbps(400);
  gpu.set_bandwidth_source(v1::SOURCE_MEASURED);
  gpu.set_fp16_tflops(40);

  v1::EstimateRequest r = CatalogRequest("llama-3.2-3b", "Q4_K_M", 8192);
  *r.mutable_hardware()->mutable_snapshot() = hw;
  absl::StatusOr<v1::Estimate> snap = Estimate(r, DefaultContext());
  ASSERT_TRUE(snap.ok()) << snap.status();
  ASSERT_EQ(snap->devices_size(), 1);
  EXPECT_EQ(snap->devices(0).name(), "Test GPU");
  EXPECT_EQ(snap->devices(0).free_bytes(), 6 * kGiB);
  EXPECT_EQ(snap->host().free_bytes(), 20 * kGiB);

  // The same machine as the live snapshot gives the same answer.
  Context context = DefaultContext();
  context.live = &hw;
  v1::EstimateRequest live = r;
  live.mutable_hardware()->set_live(true);
  absl::StatusOr<v1::Estimate> by_live = Estimate(live, context);
  ASSERT_TRUE(by_live.ok()) << by_live.status();
  EXPECT_EQ(by_live->SerializeAsString(), snap->SerializeAsString());
  live.clear_hardware();  // unset = live
  absl::StatusOr<v1::Estimate> by_default = Estimate(live, context);
  ASSERT_TRUE(by_default.ok()) << by_default.status();
  EXPECT_EQ(by_default->SerializeAsString(), snap->SerializeAsString());
}

TEST(EngineEstimate, CalibrationScalesSpeedsAndAddsOverheadOnLiveOnly) {
  v1::Hardware hw;
  hw.mutable_ram()->set_total_bytes(64 * kGiB);
  hw.mutable_ram()->set_available_bytes(48 * kGiB);
  hw.set_host_bandwidth_gbps(60);
  hw.mutable_cpu()->set_threads(8);
  v1::GpuDevice& gpu = *hw.add_gpus();
  gpu.set_name("Test GPU");
  gpu.set_vendor_id(0x10de);
  gpu.set_type(v1::DEVICE_TYPE_DISCRETE_GPU);
  gpu.set_placeable(true);
  gpu.set_memory_total_bytes(24 * kGiB);
  gpu.set_memory_free_bytes(23 * kGiB);
  gpu.set_bandwidth_gbps(1000);
  gpu.set_fp16_tflops(80);
  v1::Calibration cal;
  cal.set_samples(3);
  cal.set_decode_scale(0.5);
  cal.set_prefill_scale(2.0);
  cal.set_gpu_overhead_delta_bytes(512 * static_cast<int64_t>(kMiB));
  cal.set_host_overhead_delta_bytes(64 * static_cast<int64_t>(kMiB));

  Context plain = DefaultContext();
  plain.live = &hw;
  Context calibrated = plain;
  calibrated.calibration = &cal;
  const v1::EstimateRequest r = CatalogRequest("llama-3.1-8b", "Q4_K_M", 8192);
  absl::StatusOr<v1::Estimate> a = Estimate(r, plain);
  absl::StatusOr<v1::Estimate> b = Estimate(r, calibrated);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(a->verdict(), v1::VERDICT_FITS);
  ASSERT_EQ(b->verdict(), v1::VERDICT_FITS);
  EXPECT_DOUBLE_EQ(b->decode_tok_s(), a->decode_tok_s() * 0.5);
  EXPECT_DOUBLE_EQ(b->prefill_tok_s(), a->prefill_tok_s() * 2.0);
  EXPECT_DOUBLE_EQ(b->time_to_first_token_s(), a->time_to_first_token_s() / 2.0);
  EXPECT_EQ(b->devices(0).overhead_bytes(), a->devices(0).overhead_bytes() + 512 * kMiB);
  EXPECT_EQ(b->devices(0).free_bytes(), a->devices(0).free_bytes());
  EXPECT_EQ(b->host().overhead_bytes(), a->host().overhead_bytes() + 64 * kMiB);
  EXPECT_LE(b->headroom_bytes(), a->headroom_bytes() - static_cast<int64_t>(64 * kMiB));
  EXPECT_THAT(b->notes(), ::testing::Contains(HasSubstr("calibrated from 3 run reports")));
  ExpectSumsOfParts(*b);

  // Another machine is not this one: a snapshot gets no calibration.
  v1::EstimateRequest other = r;
  *other.mutable_hardware()->mutable_snapshot() = hw;
  absl::StatusOr<v1::Estimate> c = Estimate(other, calibrated);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->SerializeAsString(), a->SerializeAsString());
}

TEST(EngineEstimate, CpuMoeKeepsExpertsInHostRam) {
  v1::EstimateRequest r = CatalogRequest("qwen3-30b-a3b", "Q4_K_M", 8192);
  r.mutable_llama_cpp()->set_experts(v1::EXPERT_PLACEMENT_CPU);
  *r.mutable_hardware() = Hypothetical("rtx-3060-12gb", 1);
  absl::StatusOr<v1::Estimate> e = Estimate(r, DefaultContext());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e->experts_on_cpu());
  EXPECT_GT(e->host().weights_bytes(), e->devices(0).weights_bytes());
  ExpectSumsOfParts(*e);
}

TEST(EngineEstimate, VllmAccounting) {
  v1::EstimateRequest r;
  r.mutable_model()->set_catalog_id("llama-3.1-8b");
  r.mutable_model()->set_file_type("F16");
  r.set_runtime(v1::RUNTIME_VLLM);
  r.mutable_vllm()->set_max_model_len(32768);
  *r.mutable_hardware() = Hypothetical("h100-sxm-80gb", 1);
  absl::StatusOr<v1::Estimate> e = Estimate(r, DefaultContext());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->verdict(), v1::VERDICT_FITS) << e->reason();
  ASSERT_EQ(e->devices_size(), 1);
  const v1::VllmEstimate& v = e->vllm();
  EXPECT_GT(v.budget_bytes(), 0u);
  EXPECT_LE(v.budget_bytes(), 80 * 1000 * 1000 * uint64_t{1000});
  EXPECT_EQ(v.weights_bytes(), e->devices(0).weights_bytes());
  EXPECT_EQ(v.kv_cache_bytes(), e->devices(0).kv_cache_bytes());
  EXPECT_GE(v.max_model_len(), 32768u);
  EXPECT_GE(v.max_concurrency(), 1u);
  EXPECT_EQ(e->n_ctx(), 32768u);
  EXPECT_EQ(e->cache_type_k(), "auto");
  ExpectSumsOfParts(*e);
}

// vLLM loads the checkpoint, not a llama.cpp quant: without --quant a catalog model is BF16
// there (it was sized as Q4_K_M, a third of the real weights, before).
TEST(EngineEstimate, VllmWithoutFileTypeIsSizedAsBf16) {
  v1::EstimateRequest r;
  r.mutable_model()->set_catalog_id("llama-3.1-8b");
  r.set_runtime(v1::RUNTIME_VLLM);
  *r.mutable_hardware() = Hypothetical("h100-sxm-80gb", 1);
  absl::StatusOr<v1::Estimate> e = Estimate(r, DefaultContext());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->model().file_type(), "BF16");
  EXPECT_GT(e->vllm().weights_bytes(), 14 * kGiB);  // 8.03e9 parameters x 2 bytes
  r.set_runtime(v1::RUNTIME_LLAMA_CPP);
  absl::StatusOr<v1::Estimate> llama = Estimate(r, DefaultContext());
  ASSERT_TRUE(llama.ok()) << llama.status();
  EXPECT_EQ(llama->model().file_type(), "Q4_K_M");
}

TEST(EngineEstimate, ModelCacheGivesTheSameAnswer) {
  ModelCache cache(2);
  Context cached = DefaultContext();
  cached.model_cache = &cache;
  v1::EstimateRequest r;
  r.mutable_model()->set_catalog_id("llama-3.1-8b");
  *r.mutable_hardware() = Hypothetical("rtx-3090", 1);
  absl::StatusOr<v1::Estimate> plain = Estimate(r, DefaultContext());
  absl::StatusOr<v1::Estimate> first = Estimate(r, cached);
  absl::StatusOr<v1::Estimate> second = Estimate(r, cached);
  ASSERT_TRUE(plain.ok() && first.ok() && second.ok());
  EXPECT_EQ(first->SerializeAsString(), plain->SerializeAsString());
  EXPECT_EQ(second->SerializeAsString(), plain->SerializeAsString());
  EXPECT_EQ(cache.size(), 1u);
  for (const char* ft : {"Q8_0", "F16", "Q2_K"}) {
    r.mutable_model()->set_file_type(ft);
    ASSERT_TRUE(Estimate(r, cached).ok());
  }
  EXPECT_EQ(cache.size(), 2u);  // bounded: the oldest went
}

// A GGUF file is cached under its identity and age: the same file is not read again, a file
// rewritten in place (new size and modification time) is, and answers follow the file.
TEST(EngineEstimate, ModelCacheRereadsAChangedFile) {
  ModelCache cache;
  Context cached = DefaultContext();
  cached.model_cache = &cache;
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("headroom-cache-" + std::to_string(::getpid()) + ".gguf");
  std::filesystem::copy_file(ModelFile("llama-gqa-Q4_K_M.gguf"), path,
                             std::filesystem::copy_options::overwrite_existing);
  v1::EstimateRequest r;
  r.mutable_model()->set_gguf_path(path.string());
  *r.mutable_hardware() = Hypothetical("rtx-3090", 1);
  absl::StatusOr<v1::Estimate> first = Estimate(r, cached);
  absl::StatusOr<v1::Estimate> again = Estimate(r, cached);
  ASSERT_TRUE(first.ok() && again.ok()) << first.status();
  EXPECT_EQ(again->SerializeAsString(), first->SerializeAsString());
  EXPECT_EQ(cache.size(), 1u);
  // Another quant written over the same path: a different file, read again.
  std::filesystem::copy_file(ModelFile("llama-gqa-Q8_0.gguf"), path,
                             std::filesystem::copy_options::overwrite_existing);
  absl::StatusOr<v1::Estimate> changed = Estimate(r, cached);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->model().file_type(), "Q8_0");
  EXPECT_EQ(changed->SerializeAsString(),
            Estimate(r, DefaultContext())->SerializeAsString());  // as read without a cache
  EXPECT_EQ(cache.size(), 2u);
  // A peer that may not open files gets no answer from the cache either.
  cached.allow_paths = false;
  EXPECT_EQ(Estimate(r, cached).status().code(), absl::StatusCode::kPermissionDenied);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace headroom::engine
