// headroom::fit results -> headroom.v1 messages, and the live machine's calibration applied
// to both sides. Every DeviceUsage total is the sum of its five parts. Private to
// headroom::engine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "headroom/fit/plan.h"
#include "headroom/fit/vllm.h"
#include "headroom/v1/fit.pb.h"
#include "headroom/v1/hardware.pb.h"
#include "headroom/v1/service.pb.h"

namespace headroom::engine::internal {

// What an Estimate says that a fit::Plan does not carry.
struct PlanShape {
  uint32_t n_ctx = 0;  // after padding
  std::string cache_type_k;
  std::string cache_type_v;
  bool flash_attn = false;
  bool experts_on_cpu = false;
};

headroom::v1::Verdict VerdictToProto(fit::PlanVerdict verdict);

headroom::v1::Estimate EstimateFromPlan(const fit::Plan& plan,
                                        const headroom::v1::ModelSummary& model,
                                        const PlanShape& shape);

// vLLM: one DeviceUsage per GPU tensor parallelism uses; activation and CUDA-graph reserve
// count as compute, non-torch memory as overhead. `n_layers`: the model's blocks.
headroom::v1::Estimate EstimateFromVllm(const fit::VllmPlan& plan, const fit::Machine& machine,
                                        const headroom::v1::ModelSummary& model, uint32_t n_layers,
                                        const fit::VllmOptions& options);

// Assumptions and degraded inputs of a snapshot, for Estimate.notes.
std::vector<std::string> HardwareNotes(const headroom::v1::Hardware& hardware);

// Whether a calibration has anything to apply.
bool HasCalibration(const headroom::v1::Calibration* calibration);

// The machine as the calibration says it really is: each device's free memory less the
// overhead the estimator under-predicts there, so placement makes room for it.
fit::Machine CalibratedMachine(fit::Machine machine, const headroom::v1::Calibration& calibration);

// Moves the calibration's overhead from "less free" (CalibratedMachine) into overhead_bytes,
// scales the speeds, and says so in a note. Totals stay sums of their parts.
void ApplyCalibration(const headroom::v1::Calibration& calibration,
                      headroom::v1::Estimate& estimate);

}  // namespace headroom::engine::internal
