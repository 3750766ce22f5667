// max_context is searched, not scanned (bisection, with steps aimed where the headroom's line
// crosses zero). This checks the search against a scan of every context: the largest multiple
// of 256 whose plan, with the placement held, leaves the margin free on every GPU and fits the
// host.
#include <cstdint>
#include <string>

#include "fit_test_util.h"
#include "gtest/gtest.h"
#include "headroom/fit/plan.h"

namespace headroom::fit {
namespace {

using fixtures::CatalogModel;

constexpr uint64_t kGiB = uint64_t{1} << 30;

Machine OneGpu(uint64_t free_mib, uint64_t host_gib) {
  return {.gpus = {{.name = "GPU",
                    .backend = Backend::kCuda,
                    .free_bytes = free_mib << 20,
                    .total_bytes = (free_mib << 20) + kGiB,
                    .bandwidth_gbps = 500,
                    .fp16_tflops = 50}},
          .host_available_bytes = host_gib * kGiB,
          .host_total_bytes = host_gib * kGiB,
          .host_bandwidth_gbps = 60,
          .host_threads = 8};
}

// What PlanFit's max_context promises, checked on a plan of its own.
bool FitsWithMargin(const Plan& plan, uint64_t margin) {
  for (const DeviceUsage& g : plan.gpus) {
    if (g.total_bytes != 0 && g.total_bytes + margin > g.free_bytes) return false;
  }
  return plan.host.total_bytes <= plan.host.free_bytes;
}

TEST(MaxContextTest, EqualsAScanOfEveryContext) {
  const ModelTensors model = CatalogModel("llama-3.1-8b", "Q4_K_M");
  const PreparedModel prepared(std::make_shared<const ModelTensors>(model));
  int checked = 0;
  for (const uint64_t free_mib : {uint64_t{6000}, uint64_t{7300}, uint64_t{9100}}) {
    for (const uint32_t requested : {2048u, 30000u}) {
      for (const uint32_t kv : {1u, 8u}) {
        PlanOptions o;
        o.request.n_ctx = requested;
        o.request.type_k = kv;
        o.request.type_v = kv;
        o.n_gpu_layers = 33;  // all on the GPU: the context is what runs out
        const Machine machine = OneGpu(free_mib, 32);
        const absl::StatusOr<Plan> plan = PlanFit(prepared, machine, o);
        ASSERT_TRUE(plan.ok()) << plan.status();
        uint32_t scanned = 0;
        for (uint32_t ctx = 256; ctx <= 131072; ctx += 256) {
          PlanOptions at = o;
          at.request.n_ctx = ctx;
          const absl::StatusOr<Plan> p = PlanFit(prepared, machine, at);
          ASSERT_TRUE(p.ok()) << p.status();
          if (!FitsWithMargin(*p, o.gpu_margin_bytes)) break;
          scanned = ctx;
        }
        EXPECT_EQ(plan->max_context, scanned)
            << "free " << free_mib << " MiB, requested " << requested << ", kv type " << kv;
        if (scanned > 0 && scanned < 131072) ++checked;
      }
    }
  }
  EXPECT_GE(checked, 8);  // most cases end inside the range, where the search has work to do
}

}  // namespace
}  // namespace headroom::fit
