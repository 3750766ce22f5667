// C structs of headroom.h <-> wire messages. Input structs from older callers (smaller
// struct_size) are read up to their size; later fields keep their defaults.
#pragma once

#include <cstring>
#include <string>

#include "headroom/headroom.h"
#include "headroom/v1/fit.pb.h"
#include "headroom/v1/service.pb.h"

namespace headroom::plugin {

// Copies a caller's versioned struct over `defaults`: min(struct_size, sizeof(T)) bytes.
// False when struct_size does not even cover the first field after it (a pointer in every
// input struct of headroom.h), so cannot be any version.
template <typename T>
bool ReadVersioned(const T& in, T defaults, T& out) {
  if (in.struct_size < 2 * sizeof(void*)) return false;
  const size_t n = in.struct_size < sizeof(T) ? in.struct_size : sizeof(T);
  std::memcpy(static_cast<void*>(&defaults), static_cast<const void*>(&in), n);
  defaults.struct_size = static_cast<uint32_t>(sizeof(T));
  out = defaults;
  return true;
}

struct ConvertError {
  hr_status status = HR_STATUS_OK;
  std::string message;  // names the field, e.g. "request.model_files[2]: ..."
};

// Validates `request` and fills `out`. Expands model_glob; makes relative paths absolute
// (the daemon does not share the caller's directory); missing files are NOT_FOUND.
ConvertError ToRecommendRequest(const hr_request& request, headroom::v1::RecommendRequest& out);

// vLLM: the daemon's recommender plans llama.cpp only, so a vLLM question is one Estimate of
// the single model named in `recommend` at max_model_len `max_model_len` (0 = trained).
ConvertError ToVllmEstimateRequest(const headroom::v1::RecommendRequest& recommend,
                                   uint32_t max_model_len, headroom::v1::EstimateRequest& out);

// Wraps a vLLM estimate as a Recommendation: a pick when it fits with the request's minimum
// context and speed, otherwise no pick and the estimate's reason.
headroom::v1::Recommendation VllmRecommendation(const headroom::v1::RecommendRequest& recommend,
                                                const headroom::v1::Estimate& estimate);

// Same for a run report.
ConvertError ToRunReportRequest(const hr_run_report& report, headroom::v1::RunReportRequest& out);

}  // namespace headroom::plugin
