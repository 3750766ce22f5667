// Checks the llama.cpp CPU memory model against every run in tests/fixtures/groundtruth/
// measurements.csv (real llama.cpp on a 2-core AVX-512 machine): each buffer within
// max(2 %, 8 MiB), the KV cache exact to the printed digit, peak RSS within 10 %, and the
// refused configurations refused with llama.cpp's reason.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "fit_test_util.h"
#include "gtest/gtest.h"
#include "headroom/catalog/ggml_types.h"
#include "headroom/fit/estimate.h"
#include "test_util.h"

namespace headroom::fit {
namespace {

using Row = std::map<std::string, std::string>;
constexpr double kMiB = 1024.0 * 1024.0;

struct Worst {
  double error_mib = 0;
  double error_pct = 0;
  std::string row;
};

uint32_t TypeId(const std::string& name) {
  const catalog::GgmlTypeTraits* t = catalog::FindGgmlTypeByName(name);
  EXPECT_NE(t, nullptr) << name;
  return t == nullptr ? 0 : t->id;
}

// Refused runs leave the context columns empty; those take llama.cpp's defaults.
uint32_t U32(const Row& row, const std::string& key, uint32_t if_empty = 0) {
  const std::string& v = row.at(key);
  return v.empty() ? if_empty : static_cast<uint32_t>(std::stoul(v));
}

// The row's command line as a Request. llama-server's own defaults are launcher rules, applied
// here: -c 0 with 4 slots means the trained context for each slot, in one unified cache, and
// the server reserves one row of logits per slot (n_outputs_max = n_parallel).
Request RequestFromRow(const Row& row, uint64_t trained_ctx) {
  Request r;
  r.n_ctx = U32(row, "n_ctx_req");
  r.n_parallel = U32(row, "n_parallel", 1);
  r.n_batch = U32(row, "n_batch", r.n_batch);
  r.n_ubatch = U32(row, "n_ubatch", r.n_ubatch);
  r.type_k = TypeId(row.at("ctk"));
  r.type_v = TypeId(row.at("ctv"));
  const std::string& fa = row.at("flash_attn");
  r.flash_attn = fa == "on"    ? FlashAttention::kEnabled
                 : fa == "off" ? FlashAttention::kDisabled
                               : FlashAttention::kAuto;
  r.use_mmap = row.at("load_mode") != "none";
  r.n_prompt = U32(row, "n_prompt");
  if (row.at("tool").starts_with("llama-server")) {
    r.kv_unified = true;
    r.n_outputs_max = r.n_parallel;
    if (r.n_ctx == 0) r.n_ctx = static_cast<uint32_t>(trained_ctx * r.n_parallel);
  }
  return r;
}

const ModelTensors& LoadModel(const std::string& file, std::map<std::string, ModelTensors>& cache) {
  auto it = cache.find(file);
  if (it != cache.end()) return it->second;
  return cache.emplace(file, fixtures::GroundtruthModel(file)).first->second;
}

// Checks one buffer within max(2 %, 8 MiB) and tracks the worst error.
void CheckBuffer(const std::string& what, double measured_mib, uint64_t estimated_bytes,
                 const std::string& label, std::map<std::string, Worst>& worst) {
  const double estimated_mib = static_cast<double>(estimated_bytes) / kMiB;
  const double error = estimated_mib - measured_mib;
  const double allowed = std::max(0.02 * measured_mib, 8.0);
  EXPECT_LE(std::abs(error), allowed) << what << " of " << label << ": estimated " << estimated_mib
                                      << " MiB, measured " << measured_mib;
  Worst& w = worst[what];
  if (std::abs(error) > std::abs(w.error_mib)) {
    w = {error, measured_mib > 0 ? 100.0 * error / measured_mib : 0, label};
  }
}

TEST(GroundtruthFitTest, EveryMeasuredRunWithinTolerance) {
  const auto rows = testing::ReadCsv(testing::FixturePath("groundtruth/measurements.csv"));
  ASSERT_GT(rows.size(), 400u);
  std::map<std::string, ModelTensors> models;
  std::map<std::string, Worst> worst;
  int checked = 0, refused = 0, skipped = 0;
  for (const Row& row : rows) {
    // llama-bench prints speeds only, no buffer sizes: nothing to check here.
    if (row.at("model_buf_MiB").empty()) {
      ++skipped;
      continue;
    }
    const ModelTensors& model = LoadModel(row.at("file"), models);
    const std::string label = row.at("file") + " " + row.at("cmd").substr(0, 160);
    auto estimate = EstimateCpuMemory(model, RequestFromRow(row, model.arch.context_length()));
    if (row.at("rc") == "1") {
      ++refused;
      ASSERT_FALSE(estimate.ok()) << label;
      EXPECT_EQ(estimate.status().code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_NE(row.at("error").find(std::string(estimate.status().message())), std::string::npos)
          << label << ": " << estimate.status();
      continue;
    }
    ASSERT_TRUE(estimate.ok()) << label << ": " << estimate.status();
    ++checked;
    EXPECT_EQ(estimate->kv_cells, U32(row, "kv_cells")) << label;
    // KV exact: llama.cpp prints MiB with two decimals.
    EXPECT_NEAR(static_cast<double>(estimate->k_bytes) / kMiB, std::stod(row.at("k_MiB")), 0.005)
        << label;
    EXPECT_NEAR(static_cast<double>(estimate->v_bytes) / kMiB, std::stod(row.at("v_MiB")), 0.005)
        << label;
    CheckBuffer("model", std::stod(row.at("model_buf_MiB")), estimate->weights_bytes, label, worst);
    CheckBuffer("kv", std::stod(row.at("kv_buf_MiB")), estimate->kv_bytes, label, worst);
    CheckBuffer("compute", std::stod(row.at("compute_buf_MiB")), estimate->compute_bytes, label,
                worst);
    CheckBuffer("output", std::stod(row.at("output_buf_MiB")), estimate->output_bytes, label,
                worst);
    const double peak_mib = std::stod(row.at("peak_rss_KiB")) / 1024.0;
    const double rss_error = static_cast<double>(estimate->peak_rss_bytes) / kMiB - peak_mib;
    EXPECT_LE(std::abs(rss_error), 0.10 * peak_mib) << "peak RSS of " << label;
    Worst& w = worst["peak_rss"];
    if (std::abs(rss_error) / peak_mib > std::abs(w.error_pct) / 100.0) {
      w = {rss_error, 100.0 * rss_error / peak_mib, label};
    }
  }
  std::printf(
      "groundtruth: %d runs checked, %d refusals checked, %d llama-bench rows skipped "
      "(no buffer columns)\n",
      checked, refused, skipped);
  for (const auto& [what, w] : worst) {
    std::printf("  worst %-8s %+8.2f MiB (%+6.2f %%)  %s\n", what.c_str(), w.error_mib, w.error_pct,
                w.row.c_str());
  }
  EXPECT_GT(checked, 400);
  EXPECT_EQ(refused, 22);
}

}  // namespace
}  // namespace headroom::fit
