// PlanFit: placement, per-device memory, verdict and largest context on hand-built machines,
// with catalog models (quantizer plans) and real GGUF headers from the groundtruth.
#include "headroom/fit/plan.h"

#include <cstdint>
#include <string>

#include "fit_test_util.h"
#include "gtest/gtest.h"
#include "headroom/fit/estimate.h"

namespace headroom::fit {
namespace {

using fixtures::CatalogModel;
using fixtures::GroundtruthModel;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

Gpu Cuda(const std::string& name, uint64_t free_gib) {
  return {.name = name,
          .backend = Backend::kCuda,
          .free_bytes = free_gib * kGiB,
          .total_bytes = free_gib * kGiB + kGiB,
          .bandwidth_gbps = 936,
          .fp16_tflops = 71};
}

Machine Host(uint64_t available_gib, std::vector<Gpu> gpus = {}) {
  return {.gpus = std::move(gpus),
          .host_available_bytes = available_gib * kGiB,
          .host_total_bytes = available_gib * kGiB + 4 * kGiB,
          .host_bandwidth_gbps = 60,
          .host_threads = 8};
}

PlanOptions Ctx(uint32_t n_ctx) {
  PlanOptions o;
  o.request.n_ctx = n_ctx;
  return o;
}

uint64_t WeightsOf(const ModelTensors& m, headroom::v1::TensorRole role) {
  uint64_t sum = 0;
  for (const WeightTensor& t : m.tensors) sum += t.role == role ? t.bytes : 0;
  return sum;
}

// Every total is the sum of its printed parts; the KV cache adds up to the whole cache.
void ExpectConsistent(const Plan& plan, uint64_t kv_total) {
  uint64_t kv = plan.host.kv_cache_bytes;
  uint32_t layers = plan.host.layers;
  for (const DeviceUsage& d : plan.gpus) {
    EXPECT_EQ(d.total_bytes, d.weights_bytes + d.kv_cache_bytes + d.compute_bytes + d.output_bytes +
                                 d.overhead_bytes)
        << d.name;
    kv += d.kv_cache_bytes;
    layers += d.layers;
  }
  const DeviceUsage& h = plan.host;
  EXPECT_EQ(h.total_bytes, h.weights_bytes + h.kv_cache_bytes + h.compute_bytes + h.output_bytes +
                               h.overhead_bytes);
  EXPECT_EQ(kv, kv_total);
  EXPECT_EQ(layers + 1, plan.n_layers);
  EXPECT_FALSE(plan.reason.empty());
}

TEST(PlanFit, CpuOnlyHostEqualsEstimateCpuMemory) {
  for (const char* file : {"llama-gqa-Q4_0.gguf", "deepseek2-mla-Q4_K_M.gguf",
                           "qwen2-bias-F16.gguf", "llama-moe-Q4_K_M.gguf"}) {
    const ModelTensors model = GroundtruthModel(file);
    for (bool mmap : {true, false}) {
      PlanOptions o = Ctx(2048);
      o.request.use_mmap = mmap;
      o.request.n_prompt = 300;
      auto plan = PlanFit(model, Host(16), o);
      auto e = EstimateCpuMemory(model, o.request);
      ASSERT_TRUE(plan.ok() && e.ok()) << file;
      EXPECT_EQ(plan->verdict, PlanVerdict::kCpuOnly) << plan->reason;
      EXPECT_EQ(plan->n_gpu_layers, 0u);
      EXPECT_EQ(plan->host.kv_cache_bytes, e->kv_bytes) << file;
      EXPECT_EQ(plan->host.output_bytes, e->output_bytes) << file;
      uint64_t tensor_bytes = 0;
      for (const WeightTensor& t : model.tensors) tensor_bytes += t.bytes;
      EXPECT_EQ(plan->host.weights_bytes, tensor_bytes) << file;
      // Peak RSS also shows the map's pages of the repacked tensors, read once for the copy,
      // and the padding between tensors.
      const uint64_t reclaimable =
          mmap ? e->weights_repack_bytes +
                     (e->rss_file_bytes - CpuRuntimeProfile{}.code_resident_bytes - tensor_bytes)
               : 0;
      if (mmap) {
        EXPECT_LT(reclaimable - e->weights_repack_bytes, 32u * model.tensors.size());
      }
      EXPECT_EQ(plan->host.total_bytes + reclaimable, e->peak_rss_bytes)
          << file << " mmap " << mmap;
      EXPECT_EQ(plan->kv_cells, e->kv_cells);
      EXPECT_EQ(plan->headroom_bytes,
                static_cast<int64_t>(16 * kGiB) - static_cast<int64_t>(plan->host.total_bytes));
      ExpectConsistent(*plan, e->kv_bytes);
    }
  }
}

TEST(PlanFit, OneGpuHoldsEverythingButTheEmbeddings) {
  const ModelTensors model = CatalogModel("llama-3.1-8b", "Q4_K_M");
  auto plan = PlanFit(model, Host(32, {Cuda("RTX 3090", 23)}), Ctx(8192));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->verdict, PlanVerdict::kFits) << plan->reason;
  EXPECT_EQ(plan->n_layers, 33u);
  EXPECT_EQ(plan->n_gpu_layers, 33u);
  const DeviceUsage& gpu = plan->gpus[0];
  EXPECT_EQ(gpu.layers, 32u);
  // 32 layers x 8192 cells x 8 KV heads x 128 x (K + V) x 2 bytes = exactly 1 GiB.
  EXPECT_EQ(gpu.kv_cache_bytes, kGiB);
  EXPECT_EQ(plan->host.kv_cache_bytes, 0u);
  // token_embd stays in host memory (mmap: its pages; Q4_K embeddings are not repacked).
  const uint64_t embd = WeightsOf(model, headroom::v1::TENSOR_ROLE_EMBEDDING);
  EXPECT_EQ(plan->host.weights_bytes, embd);
  uint64_t total = 0;
  for (const WeightTensor& t : model.tensors) total += t.bytes;
  EXPECT_EQ(gpu.weights_bytes, total - embd);
  EXPECT_EQ(gpu.overhead_bytes, 330 * kMiB);
  EXPECT_EQ(plan->host.output_bytes, 128256u * 4);
  EXPECT_GE(plan->max_context, 8192u);
  ExpectConsistent(*plan, kGiB);
}

TEST(PlanFit, NglCountsTheOutputLayerFirst) {
  const ModelTensors model = CatalogModel("llama-3.1-8b", "Q4_K_M");
  PlanOptions o = Ctx(4096);
  o.n_gpu_layers = 32;  // llama.cpp: layers 1..31 and the output on the GPU, layer 0 on the CPU
  auto plan = PlanFit(model, Host(32, {Cuda("RTX 3090", 23)}), o);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->verdict, PlanVerdict::kPartial) << plan->reason;
  EXPECT_EQ(plan->host.layers, 1u);
  EXPECT_EQ(plan->gpus[0].layers, 31u);
  o.n_gpu_layers = 1;  // only the output layer
  plan = PlanFit(model, Host(32, {Cuda("RTX 3090", 23)}), o);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->gpus[0].layers, 0u);
  EXPECT_EQ(plan->gpus[0].weights_bytes, WeightsOf(model, headroom::v1::TENSOR_ROLE_OUTPUT));
  o.n_gpu_layers = 999;  // clamped
  plan = PlanFit(model, Host(32, {Cuda("RTX 3090", 23)}), o);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->n_gpu_layers, 33u);
}

TEST(PlanFit, TwoUnequalGpusSplitByFreeMemory) {
  const ModelTensors model = CatalogModel("llama-3.1-70b", "Q4_K_M");
  Machine m = Host(128, {Cuda("big", 46), Cuda("small", 23)});
  PlanOptions o = Ctx(8192);
  o.n_gpu_layers = 81;
  auto plan = PlanFit(model, m, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  // Split points 2/3 and 1: slot i of 81 goes to GPU 0 while i / 81 < 2/3, i.e. i <= 53.
  EXPECT_EQ(plan->gpus[0].layers, 54u);
  EXPECT_EQ(plan->gpus[1].layers, 26u);  // and the output layer
  // Llama-70B, F16 KV at 8192 tokens: 80 x 8192 x 8 x 128 x 2 x 2 = exactly 2.5 GiB.
  ExpectConsistent(*plan, 5 * kGiB / 2);
  EXPECT_GT(plan->gpus[1].compute_bytes, plan->gpus[0].compute_bytes);  // the logits
  EXPECT_EQ(plan->verdict, PlanVerdict::kFits) << plan->reason;
}

TEST(PlanFit, AutoLayersIsTheLargestThatFitsWithTheMargin) {
  const ModelTensors model = CatalogModel("llama-3.1-70b", "Q4_K_M");
  const Machine m = Host(128, {Cuda("a", 23), Cuda("b", 11)});
  PlanOptions o = Ctx(8192);
  auto plan = PlanFit(model, m, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->verdict, PlanVerdict::kPartial) << plan->reason;
  ASSERT_GT(plan->n_gpu_layers, 0u);
  ASSERT_LT(plan->n_gpu_layers, plan->n_layers);
  for (const DeviceUsage& g : plan->gpus) {
    EXPECT_LE(g.total_bytes + o.gpu_margin_bytes, g.free_bytes) << g.name;
  }
  o.n_gpu_layers = plan->n_gpu_layers + 1;
  auto more = PlanFit(model, m, o);
  ASSERT_TRUE(more.ok());
  bool over = false;
  for (const DeviceUsage& g : more->gpus) over |= g.total_bytes + o.gpu_margin_bytes > g.free_bytes;
  EXPECT_TRUE(over);
  // Host layers keep their repacked copies (Q4_K) next to their mapped pages.
  EXPECT_GT(plan->host.weights_bytes, WeightsOf(model, headroom::v1::TENSOR_ROLE_EMBEDDING));
  ExpectConsistent(*plan, 5 * kGiB / 2);
}

TEST(PlanFit, MoeExpertsOnCpu) {
  const ModelTensors model = CatalogModel("mixtral-8x7b", "Q4_K_M");
  const Machine m = Host(64, {Cuda("RTX 3090", 23)});
  const uint64_t experts = WeightsOf(model, headroom::v1::TENSOR_ROLE_FFN_EXPERTS);
  PlanOptions o = Ctx(8192);
  o.experts_on_cpu = true;
  auto all = PlanFit(model, m, o);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->n_cpu_moe, 32u);
  EXPECT_EQ(all->n_gpu_layers, all->n_layers);
  EXPECT_EQ(all->verdict, PlanVerdict::kPartial) << all->reason;
  EXPECT_GT(all->host.weights_bytes, experts);  // plus the embeddings and repacked copies
  EXPECT_LT(all->gpus[0].weights_bytes, 2 * kGiB);
  // Auto, the full model (~26 GiB) not fitting in 23 GiB: the faster of fewer GPU layers and
  // the experts of the first layers on the CPU. Mixtral's experts are a quarter active, so
  // moving whole layers costs about the same; the pick is at least as fast as either.
  o.experts_on_cpu.reset();
  auto automatic = PlanFit(model, m, o);
  ASSERT_TRUE(automatic.ok());
  EXPECT_EQ(automatic->verdict, PlanVerdict::kPartial);
  o.experts_on_cpu = false;
  auto none = PlanFit(model, m, o);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->n_cpu_moe, 0u);
  EXPECT_LT(none->n_gpu_layers, none->n_layers);
  EXPECT_GE(automatic->speed.decode_tok_s, none->speed.decode_tok_s);
  EXPECT_GE(automatic->speed.decode_tok_s, all->speed.decode_tok_s);
  // Qwen3-30B-A3B (128 experts, 8 active) on 12 GiB: its experts are most of the bytes and
  // little of the reads, so every layer stays on the GPU and only experts move.
  const ModelTensors qwen = CatalogModel("qwen3-30b-a3b", "Q4_K_M");
  auto sparse = PlanFit(qwen, Host(64, {Cuda("RTX 3060", 12)}), Ctx(8192));
  ASSERT_TRUE(sparse.ok()) << sparse.status();
  EXPECT_EQ(sparse->n_gpu_layers, sparse->n_layers) << sparse->reason;
  EXPECT_GT(sparse->n_cpu_moe, 0u);
  EXPECT_LT(sparse->n_cpu_moe, 48u);
  EXPECT_NE(sparse->reason.find("the experts of"), std::string::npos) << sparse->reason;
  ExpectConsistent(*automatic, 32ull * 8192 * 8 * 128 * 2 * 2);
}

// The reason names what is in host RAM: the experts only when every layer is on the GPU
// (not "the rest"), the layers left off the GPU, or both.
TEST(PlanFit, ReasonSaysWhatStaysInHostRam) {
  const ModelTensors qwen = CatalogModel("qwen3-30b-a3b", "Q4_K_M");  // 48 blocks
  const Machine m = Host(64, {Cuda("RTX 3060", 12)});
  auto experts = PlanFit(qwen, m, Ctx(8192));
  ASSERT_TRUE(experts.ok()) << experts.status();
  ASSERT_EQ(experts->verdict, PlanVerdict::kPartial) << experts->reason;
  ASSERT_EQ(experts->n_gpu_layers, 49u);
  const std::string n = std::to_string(experts->n_cpu_moe);
  EXPECT_EQ(experts->reason.rfind("all 49 layers on GPU, the experts of the first " + n +
                                      " layers in host RAM (--n-cpu-moe " + n + "); ",
                                  0),
            0u)
      << experts->reason;
  EXPECT_EQ(experts->reason.find("the rest"), std::string::npos) << experts->reason;

  PlanOptions o = Ctx(8192);
  o.n_gpu_layers = 20;
  o.experts_on_cpu = false;
  auto layers = PlanFit(qwen, m, o);
  ASSERT_TRUE(layers.ok()) << layers.status();
  ASSERT_EQ(layers->verdict, PlanVerdict::kPartial) << layers->reason;
  EXPECT_EQ(layers->reason.rfind("20 of 49 layers on GPU, the rest in host RAM; ", 0), 0u)
      << layers->reason;

  o.experts_on_cpu = true;
  o.n_gpu_layers = 40;
  auto both = PlanFit(qwen, m, o);
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_EQ(both->verdict, PlanVerdict::kPartial) << both->reason;
  EXPECT_EQ(both->reason.rfind("40 of 49 layers on GPU, the rest in host RAM, as are the experts "
                               "of every layer (--cpu-moe); ",
                               0),
            0u)
      << both->reason;
}

TEST(PlanFit, DeepSeekMlaCachesTheLatentOnly) {
  const ModelTensors model = CatalogModel("deepseek-r1", "Q4_K_M");
  const Machine m = Host(512, {Cuda("a", 79), Cuda("b", 79)});
  auto plan = PlanFit(model, m, Ctx(8192));
  ASSERT_TRUE(plan.ok()) << plan.status();
  // 61 layers x 8192 x (512 latent + 64 rope) x 2 bytes, K only: 549 MiB (not the 40 GiB a
  // dense 128-head cache would take).
  ExpectConsistent(*plan, 61ull * 8192 * 576 * 2);
  EXPECT_EQ(plan->verdict, PlanVerdict::kPartial) << plan->reason;
  EXPECT_GT(plan->n_cpu_moe, 0u);
  PlanOptions o = Ctx(8192);
  o.request.type_k = 8;  // q8_0 K with an f16 "V": MLA refuses different types
  EXPECT_EQ(PlanFit(model, m, o).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PlanFit, SlidingWindowAndQuantizedKv) {
  const ModelTensors gemma = CatalogModel("gemma-2-9b", "Q4_K_M");
  PlanOptions o = Ctx(8192);
  auto plan = PlanFit(gemma, Host(32, {Cuda("RTX 3090", 23)}), o);
  auto e = EstimateCpuMemory(gemma, o.request);
  ASSERT_TRUE(plan.ok() && e.ok());
  ExpectConsistent(*plan, e->kv_bytes);
  // Half the layers keep a 4096 + 512 window padded to 4608 cells instead of 8192.
  EXPECT_LT(e->kv_bytes, 42ull * 8192 * 8 * 256 * 2 * 2);
  const ModelTensors llama = CatalogModel("llama-3.1-8b", "Q4_K_M");
  o.request.type_k = 8;
  o.request.type_v = 8;
  o.request.flash_attn = FlashAttention::kEnabled;
  plan = PlanFit(llama, Host(32, {Cuda("RTX 3090", 23)}), o);
  ASSERT_TRUE(plan.ok());
  ExpectConsistent(*plan, kGiB / 64 * 34);  // q8_0: 34 bytes per 32 elements
  o.request.flash_attn = FlashAttention::kDisabled;
  auto refused = PlanFit(llama, Host(32), o);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "V cache quantization requires flash_attn");
}

TEST(PlanFit, UnifiedMemorySharesTheHostPool) {
  const ModelTensors model = CatalogModel("llama-3.1-70b", "Q4_K_M");
  Gpu apple{.name = "Apple M3 Max",
            .backend = Backend::kMetal,
            .free_bytes = 96 * kGiB,
            .total_bytes = 128 * kGiB,
            .bandwidth_gbps = 400,
            .fp16_tflops = 14,
            .unified_memory = true};
  auto fits = PlanFit(model, Host(120, {apple}), Ctx(8192));
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ(fits->verdict, PlanVerdict::kFits) << fits->reason;
  // The GPU (~41 GiB) and the host (~1 GiB) each have room, but not in 40 GiB together.
  auto tight = PlanFit(model, Host(40, {apple}), Ctx(8192));
  ASSERT_TRUE(tight.ok());
  EXPECT_EQ(tight->verdict, PlanVerdict::kDoesNotFit);
  EXPECT_LT(tight->headroom_bytes, 0);
  EXPECT_NE(tight->reason.find("unified memory"), std::string::npos) << tight->reason;
}

TEST(PlanFit, DoesNotFitNamesTheShortDevice) {
  const ModelTensors model = CatalogModel("llama-3.1-70b", "F16");
  auto plan = PlanFit(model, Host(32, {Cuda("RTX 3090", 23)}), Ctx(8192));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->verdict, PlanVerdict::kDoesNotFit);
  EXPECT_LT(plan->headroom_bytes, 0);
  EXPECT_NE(plan->reason.find("host RAM is short by"), std::string::npos) << plan->reason;
  PlanOptions o = Ctx(8192);
  o.n_gpu_layers = 81;  // forced onto one 23 GiB GPU
  plan = PlanFit(model, Host(256, {Cuda("RTX 3090", 23)}), o);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->verdict, PlanVerdict::kDoesNotFit);
  EXPECT_NE(plan->reason.find("GPU 0 (RTX 3090) is short by"), std::string::npos) << plan->reason;
}

TEST(PlanFit, MaxContextIsTheLargestThatFits) {
  const ModelTensors model = CatalogModel("llama-3.1-8b", "Q8_0");
  const Machine m = Host(32, {Cuda("RTX 4070", 11)});
  PlanOptions o = Ctx(4096);
  o.n_gpu_layers = 33;
  auto plan = PlanFit(model, m, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_GT(plan->max_context, 4096u);
  ASSERT_LT(plan->max_context, 131072u);
  EXPECT_EQ(plan->max_context % 256, 0u);
  o.request.n_ctx = plan->max_context;
  auto at = PlanFit(model, m, o);
  o.request.n_ctx = plan->max_context + 256;
  auto past = PlanFit(model, m, o);
  ASSERT_TRUE(at.ok() && past.ok());
  EXPECT_GE(at->headroom_bytes, static_cast<int64_t>(o.gpu_margin_bytes));
  EXPECT_LT(past->headroom_bytes, static_cast<int64_t>(o.gpu_margin_bytes));
  // Capped at the trained context when everything fits.
  auto small = PlanFit(CatalogModel("qwen2.5-0.5b", "Q4_K_M"), m, Ctx(4096));
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->max_context, 32768u);
}

TEST(PlanFit, BadInputNamesTheField) {
  const ModelTensors model = GroundtruthModel("llama-gqa-Q4_0.gguf");
  auto error = [&](const Machine& m, const PlanOptions& o) {
    auto plan = PlanFit(model, m, o);
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(plan.status().message());
  };
  Machine m = Host(16, {Cuda("a", 10), Cuda("b", 10)});
  m.gpus[1].free_bytes = m.gpus[1].total_bytes + 1;
  EXPECT_NE(error(m, {}).find("machine.gpus[1].free_bytes"), std::string::npos);
  m = Host(16, {Cuda("a", 10)});
  m.gpus[0].bandwidth_gbps = -1;
  EXPECT_NE(error(m, {}).find("machine.gpus[0].bandwidth_gbps"), std::string::npos);
  m = Host(16);
  m.host_available_bytes = 0;
  EXPECT_NE(error(m, {}).find("machine.host_available_bytes"), std::string::npos);
  m = Host(16);
  m.host_available_bytes = uint64_t{1} << 62;
  EXPECT_NE(error(m, {}).find("absurd"), std::string::npos);
  m = Host(16);
  m.host_threads = 0;
  EXPECT_NE(error(m, {}).find("machine.host_threads"), std::string::npos);
  PlanOptions o;
  o.request.n_ubatch = 0;
  EXPECT_NE(error(Host(16), o).find("options.request.n_ubatch"), std::string::npos);
  o = {};
  o.request.n_ctx = UINT32_MAX;
  EXPECT_NE(error(Host(16), o).find("options.request.n_ctx"), std::string::npos);
  o = {};
  o.request.type_k = 99;
  EXPECT_NE(error(Host(16), o).find("options.request.type_k"), std::string::npos);
  o = {};
  o.n_prompt = 0;
  EXPECT_NE(error(Host(16), o).find("options.n_prompt"), std::string::npos);
  ModelTensors empty = model;
  empty.tensors.clear();
  EXPECT_EQ(PlanFit(empty, Host(16), {}).status().message(), "model.tensors: empty");
}

TEST(PlanFit, MachineFromHardware) {
  headroom::v1::Hardware hw;
  hw.mutable_cpu()->set_cores(16);
  hw.mutable_ram()->set_total_bytes(64 * kGiB);
  hw.mutable_ram()->set_available_bytes(60 * kGiB);
  hw.mutable_ram()->set_limit_bytes(32 * kGiB);
  hw.set_host_bandwidth_gbps(80);
  auto* gpu = hw.add_gpus();
  gpu->set_name("NVIDIA GeForce RTX 4090");
  gpu->set_vendor_id(0x10de);
  gpu->set_placeable(true);
  gpu->set_memory_total_bytes(24 * kGiB);
  gpu->set_memory_free_bytes(23 * kGiB);
  gpu->set_bandwidth_gbps(1008);
  auto* lavapipe = hw.add_gpus();
  lavapipe->set_name("llvmpipe");
  lavapipe->set_placeable(false);
  auto m = MachineFromHardware(hw);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->gpus.size(), 1u);
  EXPECT_EQ(m->gpus[0].backend, Backend::kCuda);
  EXPECT_EQ(m->host_total_bytes, 32 * kGiB);
  EXPECT_EQ(m->host_available_bytes, 32 * kGiB);
  EXPECT_EQ(m->host_threads, 16u);
  gpu->set_memory_free_bytes(25 * kGiB);
  auto bad = MachineFromHardware(hw);
  EXPECT_NE(bad.status().message().find("hardware.gpus[0].memory_free_bytes"), std::string::npos);
  EXPECT_STREQ(PlanVerdictName(PlanVerdict::kPartial), "PARTIAL");
  EXPECT_STREQ(BackendName(Backend::kMetal), "metal");
}

// The plan resolves the context, streams and flash attention as the CPU estimate (and so
// llama.cpp) does: callers take them from the plan instead of estimating twice.
TEST(PlanFitTest, ResolvedContextMatchesTheCpuEstimate) {
  const ModelTensors model = CatalogModel("llama-3.1-8b", "Q4_K_M");
  for (const uint32_t ctx : {0u, 1000u, 4096u, 33000u}) {
    for (const uint32_t parallel : {1u, 4u}) {
      for (const bool unified : {false, true}) {
        for (const FlashAttention fa : {FlashAttention::kAuto, FlashAttention::kDisabled}) {
          PlanOptions o;
          o.request.n_ctx = ctx;
          o.request.n_parallel = parallel;
          o.request.kv_unified = unified;
          o.request.flash_attn = fa;
          const absl::StatusOr<Plan> plan = PlanFit(model, Host(64, {Cuda("A", 12)}), o);
          const absl::StatusOr<MemoryEstimate> cpu = EstimateCpuMemory(model, o.request);
          ASSERT_TRUE(plan.ok()) << plan.status();
          ASSERT_TRUE(cpu.ok()) << cpu.status();
          const std::string at = "ctx " + std::to_string(ctx) + " parallel " +
                                 std::to_string(parallel) + " unified " + std::to_string(unified);
          EXPECT_EQ(plan->n_ctx, cpu->n_ctx) << at;
          EXPECT_EQ(plan->kv_cells, cpu->kv_cells) << at;
          EXPECT_EQ(plan->kv_streams, cpu->kv_streams) << at;
          EXPECT_EQ(plan->flash_attn, cpu->flash_attn) << at;
        }
      }
    }
  }
}

}  // namespace
}  // namespace headroom::fit
