// /proc/cpuinfo parsing: x86 flags, Arm features, and the live file.
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "headroom/probe/topology.h"

namespace headroom::probe {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(CpuInfo, X86FlagsKeepWhatInferenceUses) {
  const CpuInfoText info = ParseCpuInfo(
      "processor\t: 0\n"
      "model name\t: Intel(R) Xeon(R) Platinum 8480+\n"
      "flags\t\t: fpu sse2 avx f16c fma avx2 avx512f avx512bw avx512_vnni avx512_bf16 "
      "avx512_fp16 amx_bf16 amx_tile amx_int8 avx_vnni sha_ni\n"
      "\n"
      "processor\t: 1\n"
      "model name\t: Intel(R) Xeon(R) Platinum 8480+\n"
      "flags\t\t: fpu sse2\n");
  EXPECT_EQ(info.model, "Intel(R) Xeon(R) Platinum 8480+");
  EXPECT_THAT(info.features, ElementsAre("amx_bf16", "amx_int8", "amx_tile", "avx", "avx2",
                                         "avx512_bf16", "avx512_fp16", "avx512_vnni", "avx512bw",
                                         "avx512f", "avx_vnni", "f16c", "fma"));
}

TEST(CpuInfo, ArmFeaturesUseLlamaCppNames) {
  const CpuInfoText info = ParseCpuInfo(
      "processor\t: 0\n"
      "BogoMIPS\t: 2000.00\n"
      "Features\t: fp asimd evtstrm aes asimdhp cpuid asimddp sve i8mm bf16 sve2\n"
      "CPU implementer\t: 0x41\n");
  EXPECT_EQ(info.model, "");
  EXPECT_THAT(info.features,
              ElementsAre("bf16", "dotprod", "i8mm", "neon", "neon_fp16", "sve", "sve2"));
}

TEST(CpuInfo, EmptyTextGivesNothing) {
  const CpuInfoText info = ParseCpuInfo("");
  EXPECT_EQ(info.model, "");
  EXPECT_THAT(info.features, IsEmpty());
}

TEST(CpuInfo, LiveFileHasAModel) {
  std::ifstream in("/proc/cpuinfo");
  std::stringstream text;
  text << in.rdbuf();
  const CpuInfoText info = ParseCpuInfo(text.str());
#if defined(__x86_64__)
  EXPECT_FALSE(info.model.empty());
#endif
  // Sorted and unique whatever the machine.
  EXPECT_TRUE(std::is_sorted(info.features.begin(), info.features.end()));
  EXPECT_EQ(std::adjacent_find(info.features.begin(), info.features.end()), info.features.end());
}

}  // namespace
}  // namespace headroom::probe
