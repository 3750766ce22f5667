// ResolveHardware: the host RAM of a hypothetical machine, stated or defaulted.
#include "engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace headroom::engine {
namespace {

namespace v1 = headroom::v1;
using ::testing::HasSubstr;
using namespace headroom::engine::testing;  // NOLINT(google-build-using-namespace)

v1::HardwareRef GpusOnly(const std::string& gpu) {
  v1::HardwareRef ref;
  ref.mutable_hypothetical()->add_gpu_ids(gpu);
  return ref;
}

// A discrete card with no RAM stated gets the documented 64 GiB.
TEST(EngineHardware, DiscreteGpuDefaultsTo64GiBOfRam) {
  absl::StatusOr<v1::Hardware> hw = ResolveHardware(GpusOnly("rtx-4090"), DefaultContext());
  ASSERT_TRUE(hw.ok()) << hw.status();
  EXPECT_EQ(hw->ram().total_bytes(), 64 * kGiB);
  EXPECT_EQ(hw->ram().available_bytes(), 64 * kGiB);
}

// A unified-memory machine (a Mac Studio, a DGX Spark) is a whole computer: with no RAM stated,
// its RAM is its own memory, as `headroom gpus` asks, not the 64 GiB default.
TEST(EngineHardware, UnifiedMemoryMachineHasItsOwnMemoryAsRam) {
  absl::StatusOr<v1::Hardware> hw =
      ResolveHardware(GpusOnly("apple-m3-ultra-512gb"), DefaultContext());
  ASSERT_TRUE(hw.ok()) << hw.status();
  EXPECT_EQ(hw->ram().total_bytes(), 512 * kGiB);
  EXPECT_EQ(hw->ram().available_bytes(), 512 * kGiB);
  EXPECT_THAT(hw->ram().source(), HasSubstr("apple-m3-ultra-512gb"));
  hw = ResolveHardware(GpusOnly("dgx-spark"), DefaultContext());
  ASSERT_TRUE(hw.ok()) << hw.status();
  EXPECT_EQ(hw->ram().total_bytes(), 128 * kGiB);
  // Stated RAM wins.
  hw = ResolveHardware(Hypothetical("apple-m3-ultra-512gb", 1, 256), DefaultContext());
  ASSERT_TRUE(hw.ok()) << hw.status();
  EXPECT_EQ(hw->ram().total_bytes(), 256 * kGiB);
  EXPECT_EQ(hw->ram().source(), "stated");
}

// `headroom fit llama-3.1-70b --gpu apple-m3-ultra-512gb`: ~40 GiB of weights and 40 GiB of KV
// at the trained 128k context fit a 512 GB machine; 64 GiB of RAM made it DOES_NOT_FIT.
TEST(EngineHardware, SeventyBOnA512GbMacStudioFitsWithoutRamStated) {
  v1::EstimateRequest r;
  r.mutable_model()->set_catalog_id("llama-3.1-70b");
  r.mutable_model()->set_file_type("Q4_K_M");
  r.mutable_llama_cpp()->set_n_ctx(131072);
  *r.mutable_hardware() = GpusOnly("apple-m3-ultra-512gb");
  absl::StatusOr<v1::Estimate> e = Estimate(r, DefaultContext());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->verdict(), v1::VERDICT_FITS) << e->reason();
  EXPECT_GT(e->headroom_bytes(), 0);
}

}  // namespace
}  // namespace headroom::engine
