// Calibration learned from run reports, per hardware fingerprint.
//
// Formula (each report compared with the estimate made WITHOUT calibration, so corrections
// never feed back into themselves):
//   decode_scale  = geometric mean over reports of measured_decode_tok_s / predicted
//   prefill_scale = geometric mean over reports of measured_prefill_tok_s / predicted
//   gpu_overhead_delta_bytes  = mean over reports of the mean (measured - predicted total)
//                               over the GPUs the report measured
//   host_overhead_delta_bytes = mean over reports of (measured - predicted) host total
// The geometric mean suits ratios (a 2x and a 0.5x report cancel out); the means are updated
// incrementally, each with its own sample count (CalibrationState), since a report may
// measure only some of the four. The engine multiplies speeds by the scales and adds the
// deltas to the per-device overhead.
//
// The store keeps one text-format CalibrationState per fingerprint under
// <state_dir>/calibration/, written atomically (temp file, fsync, rename). Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "headroom/v1/daemon_config.pb.h"
#include "headroom/v1/fit.pb.h"
#include "headroom/v1/service.pb.h"

namespace headroom::daemon {

// Folds one report into `state`. InvalidArgument names the report field (a device name the
// estimate does not have); FailedPrecondition when the estimate predicts no speed to compare.
absl::StatusOr<headroom::v1::CalibrationState> FoldReport(
    const headroom::v1::CalibrationState& state, const headroom::v1::RunReportRequest& report,
    const headroom::v1::Estimate& predicted);

class CalibrationStore {
 public:
  explicit CalibrationStore(std::string state_dir);

  // The calibration of `fingerprint` (samples == 0 when there is none). Loaded from disk on
  // first use; a corrupt file is an error naming it.
  absl::StatusOr<std::shared_ptr<const headroom::v1::Calibration>> Get(
      const std::string& fingerprint);

  // Folds a report in and persists the result before returning it.
  absl::StatusOr<headroom::v1::Calibration> Add(const std::string& fingerprint,
                                                const headroom::v1::RunReportRequest& report,
                                                const headroom::v1::Estimate& predicted);

  // <state_dir>/calibration/<fingerprint>.txtpb
  std::string PathFor(const std::string& fingerprint) const;

 private:
  struct Entry {
    headroom::v1::CalibrationState state;
    std::shared_ptr<const headroom::v1::Calibration> published;
  };
  absl::StatusOr<Entry*> Load(const std::string& fingerprint);  // requires mu_

  const std::string dir_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace headroom::daemon
