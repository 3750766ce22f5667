// Estimate and Recommend: validate, resolve the model and the machine, call headroom::fit,
// convert back. No modelling happens here; numbers come from headroom::fit.
#include "headroom/engine/engine.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "convert.h"
#include "headroom/fit/bandwidth_matrix.h"
#include "headroom/fit/estimate.h"
#include "headroom/fit/plan.h"
#include "headroom/fit/recommend.h"
#include "headroom/fit/vllm.h"
#include "model_cache.h"
#include "model_ref.h"
#include "params.h"

namespace headroom::engine {
namespace {

namespace v1 = headroom::v1;
using internal::Annotate;

// The live machine's calibration applies to live questions only: a snapshot or a
// hypothetical machine is some other machine.
const v1::Calibration* CalibrationFor(const v1::HardwareRef& ref, const Context& context) {
  const bool live = ref.source_case() == v1::HardwareRef::kLive ||
                    ref.source_case() == v1::HardwareRef::SOURCE_NOT_SET;
  return live && internal::HasCalibration(context.calibration) ? context.calibration : nullptr;
}

struct ResolvedMachine {
  v1::Hardware hardware;
  fit::Machine machine;
};

absl::StatusOr<ResolvedMachine> ResolveMachine(const v1::HardwareRef& ref, const Context& context) {
  absl::StatusOr<v1::Hardware> hw = ResolveHardware(ref, context);
  if (!hw.ok()) return hw.status();
  absl::StatusOr<fit::Machine> machine = fit::MachineFromHardware(*hw);
  if (!machine.ok()) return Annotate(machine.status(), "hardware");
  return ResolvedMachine{*std::move(hw), *std::move(machine)};
}

// Per-token reads and the bandwidth matrix at the end of the requested context, where one
// sequence reads its whole KV stream: every device's KV buffers together hold kv_streams of
// them (a unified stream is read whole by every sequence).
void AddBandwidthMatrix(const fit::Plan& plan, v1::Estimate& e) {
  uint64_t kv = plan.host.kv_cache_bytes;
  for (const fit::DeviceUsage& d : plan.gpus) kv += d.kv_cache_bytes;
  kv /= std::max<uint32_t>(1, plan.kv_streams);
  const uint64_t weights = plan.speed.weights_read_per_token_bytes;
  e.set_weights_read_per_token_bytes(weights);
  e.set_kv_read_per_token_bytes(kv);
  for (const fit::BandwidthRow& r : fit::BandwidthMatrix(weights, kv)) {
    v1::BandwidthRow& row = *e.add_bandwidth_matrix();
    row.set_label(r.label);
    row.set_bandwidth_gbps(r.bandwidth_gbps);
    row.set_efficiency(r.efficiency);
    row.set_decode_tok_s(r.decode_tok_s);
  }
}

absl::StatusOr<v1::Estimate> EstimateLlamaCpp(const v1::EstimateRequest& request,
                                              const internal::PreparedResolved& model,
                                              const ResolvedMachine& rm,
                                              const v1::Calibration* calibration) {
  absl::StatusOr<fit::PlanOptions> options = internal::PlanOptionsFromProto(request.llama_cpp());
  if (!options.ok()) return options.status();
  const fit::Machine machine =
      calibration != nullptr ? internal::CalibratedMachine(rm.machine, *calibration) : rm.machine;
  absl::StatusOr<fit::Plan> plan = fit::PlanFit(*model.prepared, machine, *options);
  if (!plan.ok()) return plan.status();
  // The padded context and the flash-attention switch as the plan resolved them (llama.cpp's).
  const internal::PlanShape shape{.n_ctx = plan->n_ctx,
                                  .cache_type_k = internal::CacheTypeName(options->request.type_k),
                                  .cache_type_v = internal::CacheTypeName(options->request.type_v),
                                  .flash_attn = plan->flash_attn,
                                  .experts_on_cpu = options->experts_on_cpu.value_or(false)};
  v1::Estimate e = internal::EstimateFromPlan(*plan, model.summary, shape);
  // Other machines' memory, so the calibration of this one does not apply to it.
  AddBandwidthMatrix(*plan, e);
  for (std::string& note : internal::HardwareNotes(rm.hardware)) e.add_notes(std::move(note));
  if (calibration != nullptr) internal::ApplyCalibration(*calibration, e);
  return e;
}

absl::StatusOr<v1::Estimate> EstimateVllm(const v1::EstimateRequest& request,
                                          const internal::PreparedResolved& model,
                                          const ResolvedMachine& rm) {
  absl::StatusOr<fit::VllmOptions> options =
      internal::VllmOptionsFromProto(request.vllm(), rm.machine.gpus.size());
  if (!options.ok()) return options.status();
  absl::StatusOr<fit::VllmPlan> plan = fit::PlanVllm(model.tensors(), rm.machine, *options);
  if (!plan.ok()) return plan.status();
  v1::Estimate e = internal::EstimateFromVllm(*plan, rm.machine, model.summary,
                                              model.tensors().arch.block_count(), *options);
  for (std::string& note : internal::HardwareNotes(rm.hardware)) e.add_notes(std::move(note));
  return e;
}

}  // namespace

absl::StatusOr<v1::Estimate> Estimate(const v1::EstimateRequest& request, const Context& context) {
  if (context.catalog == nullptr) return absl::FailedPreconditionError("engine: no catalog");
  if (!request.has_model()) return absl::InvalidArgumentError("model: required");
  absl::StatusOr<v1::Runtime> runtime = internal::ResolveRuntime(request.runtime(), "runtime");
  if (!runtime.ok()) return runtime.status();
  // vLLM serves the checkpoint's own weights (BF16), not a llama.cpp quant: without a file
  // type named, a catalog model or config.json is sized as BF16 under vLLM.
  v1::ModelRef model_ref = request.model();
  if (*runtime == v1::RUNTIME_VLLM && model_ref.file_type().empty() && !model_ref.has_gguf_path()) {
    model_ref.set_file_type("BF16");
  }
  absl::StatusOr<std::shared_ptr<const internal::PreparedResolved>> model =
      internal::ResolvePrepared(model_ref, context, "model");
  if (!model.ok()) return model.status();
  absl::StatusOr<ResolvedMachine> machine = ResolveMachine(request.hardware(), context);
  if (!machine.ok()) return machine.status();
  if (*runtime == v1::RUNTIME_VLLM) return EstimateVllm(request, **model, *machine);
  return EstimateLlamaCpp(request, **model, *machine, CalibrationFor(request.hardware(), context));
}

}  // namespace headroom::engine
