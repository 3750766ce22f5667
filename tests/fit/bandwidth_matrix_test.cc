// The bandwidth matrix: each row is bytes per token / (rated bandwidth x the speed model's
// efficiency), the KV read counts as much as a weight read, and the table is the documented one.
#include "headroom/fit/bandwidth_matrix.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "speed.h"

namespace headroom::fit {
namespace {

// Efficiencies as the speed model has them (speed.cc: 0.68 of a host read, 0.72 of a GPU's
// rated bandwidth when this test was written); the expected numbers below use them by name so
// that refitting the speed model does not make this test lie.
const double kCpu = internal::DecodeBandwidthEfficiency(false);
const double kGpu = internal::DecodeBandwidthEfficiency(true);

TEST(BandwidthMatrix, RowsAreBytesOverBandwidthTimesEfficiency) {
  // 4e9 weight bytes + 1e9 KV bytes = 5e9 bytes per token.
  const std::vector<BandwidthRow> rows = BandwidthMatrix(4'000'000'000, 1'000'000'000);
  ASSERT_EQ(rows.size(), 8u);
  // DDR4-3200 x 2 channels: 3200e6 x 8 B x 2 = 51.2e9 B/s; 51.2e9 x 0.68 / 5e9 = 6.96 tok/s.
  EXPECT_EQ(rows[0].label, "DDR4-3200, 2 channels (desktop)");
  EXPECT_DOUBLE_EQ(rows[0].bandwidth_gbps, 51.2);
  EXPECT_DOUBLE_EQ(rows[0].efficiency, kCpu);
  EXPECT_NEAR(rows[0].decode_tok_s, 51.2e9 * kCpu / 5e9, 1e-9);
  // DDR5-5600 x 2: 89.6e9 B/s; x 0.68 / 5e9 = 12.19 tok/s.
  EXPECT_DOUBLE_EQ(rows[1].bandwidth_gbps, 89.6);
  EXPECT_NEAR(rows[1].decode_tok_s, 89.6e9 * kCpu / 5e9, 1e-9);
  // Apple M4 Pro: 273e9 B/s through Metal (a GPU backend): x 0.72 / 5e9 = 39.31 tok/s.
  EXPECT_EQ(rows[2].label, "Apple M4 Pro, unified");
  EXPECT_DOUBLE_EQ(rows[2].efficiency, kGpu);
  EXPECT_NEAR(rows[2].decode_tok_s, 273e9 * kGpu / 5e9, 1e-9);
  // DDR5-4800 x 8 channels: 4800e6 x 8 x 8 = 307.2e9 B/s; x 0.68 / 5e9 = 41.78 tok/s.
  EXPECT_DOUBLE_EQ(rows[3].bandwidth_gbps, 307.2);
  EXPECT_NEAR(rows[3].decode_tok_s, 307.2e9 * kCpu / 5e9, 1e-9);
  // DDR5-4800 x 12 channels: 460.8e9 B/s; x 0.68 / 5e9 = 62.67 tok/s.
  EXPECT_DOUBLE_EQ(rows[4].bandwidth_gbps, 460.8);
  EXPECT_NEAR(rows[4].decode_tok_s, 460.8e9 * kCpu / 5e9, 1e-9);
  // Apple M3 Ultra: 819e9 x 0.72 / 5e9 = 117.94 tok/s.
  EXPECT_DOUBLE_EQ(rows[5].bandwidth_gbps, 819);
  EXPECT_NEAR(rows[5].decode_tok_s, 819e9 * kGpu / 5e9, 1e-9);
  // RTX 4090: 1008e9 x 0.72 / 5e9 = 145.15 tok/s.
  EXPECT_EQ(rows[6].label, "RTX 4090, GDDR6X");
  EXPECT_NEAR(rows[6].decode_tok_s, 1008e9 * kGpu / 5e9, 1e-9);
  // H100 SXM: 3350e9 x 0.72 / 5e9 = 482.4 tok/s.
  EXPECT_EQ(rows[7].label, "H100 SXM, HBM3");
  EXPECT_NEAR(rows[7].decode_tok_s, 3350e9 * kGpu / 5e9, 1e-9);
}

TEST(BandwidthMatrix, KvReadCountsLikeWeights) {
  // Only the sum matters: 3e9 of weights + 2e9 of KV reads as 5e9 of weights.
  const auto a = BandwidthMatrix(3'000'000'000, 2'000'000'000);
  const auto b = BandwidthMatrix(5'000'000'000, 0);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_DOUBLE_EQ(a[i].decode_tok_s, b[i].decode_tok_s);
  // A longer context reads more KV: slower on every row.
  const auto longer = BandwidthMatrix(3'000'000'000, 4'000'000'000);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_LT(longer[i].decode_tok_s, a[i].decode_tok_s);
}

TEST(BandwidthMatrix, MoeReadsOnlyActiveExperts) {
  // The caller passes the active bytes: an MoE of 8 of 256 experts reads ~1/18 of its weights
  // (DeepSeek R1: ~37e9 of 671e9 parameters), so it runs ~18x a dense model of the same size.
  const uint64_t dense = 671'000'000'000ull / 2;  // ~4 bits per weight
  const uint64_t active = 37'000'000'000ull / 2;
  const auto d = BandwidthMatrix(dense, 0);
  const auto m = BandwidthMatrix(active, 0);
  for (size_t i = 0; i < d.size(); ++i) {
    EXPECT_NEAR(m[i].decode_tok_s / d[i].decode_tok_s, 671.0 / 37.0, 1e-9);
  }
}

TEST(BandwidthMatrix, TableIsSortedUniqueAndNothingReadIsZero) {
  std::set<std::string> labels;
  double last = 0;
  for (const MemorySystem& m : MemorySystems()) {
    EXPECT_GT(m.bandwidth_gbps, last) << m.label;
    last = m.bandwidth_gbps;
    EXPECT_TRUE(labels.insert(m.label).second) << m.label;
  }
  for (const BandwidthRow& r : BandwidthMatrix(0, 0)) EXPECT_EQ(r.decode_tok_s, 0) << r.label;
}

}  // namespace
}  // namespace headroom::fit
