#include "convert.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_format.h"

namespace headroom::engine::internal {
namespace {

namespace v1 = headroom::v1;

constexpr double kMiB = 1024.0 * 1024.0;

void FillDevice(const fit::DeviceUsage& d, v1::DeviceUsage& out) {
  out.set_name(d.name);
  out.set_kind(fit::BackendName(d.backend));
  out.set_weights_bytes(d.weights_bytes);
  out.set_kv_cache_bytes(d.kv_cache_bytes);
  out.set_compute_bytes(d.compute_bytes);
  out.set_output_bytes(d.output_bytes);
  out.set_overhead_bytes(d.overhead_bytes);
  // Recomputed rather than copied: the message's contract is that the parts add up.
  out.set_total_bytes(d.weights_bytes + d.kv_cache_bytes + d.compute_bytes + d.output_bytes +
                      d.overhead_bytes);
  out.set_free_bytes(d.free_bytes);
  out.set_layers(d.layers);
}

uint64_t SumParts(const v1::DeviceUsage& d) {
  return d.weights_bytes() + d.kv_cache_bytes() + d.compute_bytes() + d.output_bytes() +
         d.overhead_bytes();
}

// Adds a signed delta to a device's overhead and free memory (free was lowered by it before
// planning). Overhead cannot go below zero; the rest of a negative delta is dropped.
void ShiftOverhead(int64_t delta, v1::DeviceUsage& d) {
  const int64_t overhead = static_cast<int64_t>(d.overhead_bytes());
  const int64_t applied = std::max(delta, -overhead);
  d.set_overhead_bytes(static_cast<uint64_t>(overhead + applied));
  d.set_total_bytes(SumParts(d));
  const int64_t free = static_cast<int64_t>(d.free_bytes()) + delta;
  d.set_free_bytes(static_cast<uint64_t>(std::max<int64_t>(free, 0)));
}

uint64_t LessFree(uint64_t free, int64_t delta) {
  if (delta >= 0)
    return free > static_cast<uint64_t>(delta) ? free - static_cast<uint64_t>(delta) : 0;
  const uint64_t more = static_cast<uint64_t>(-delta);
  return free > std::numeric_limits<uint64_t>::max() - more ? free : free + more;
}

const char* SourceWord(v1::Source source) {
  switch (source) {
    case v1::SOURCE_MEASURED:
      return "measured";
    case v1::SOURCE_TABLE:
      return "from the GPU table";
    case v1::SOURCE_USER:
      return "as stated";
    case v1::SOURCE_REPORTED:
      return "as the driver reports it";
    default:
      return "assumed";
  }
}

}  // namespace

v1::Verdict VerdictToProto(fit::PlanVerdict verdict) {
  switch (verdict) {
    case fit::PlanVerdict::kFits:
      return v1::VERDICT_FITS;
    case fit::PlanVerdict::kPartial:
      return v1::VERDICT_PARTIAL;
    case fit::PlanVerdict::kCpuOnly:
      return v1::VERDICT_CPU_ONLY;
    case fit::PlanVerdict::kDoesNotFit:
      return v1::VERDICT_DOES_NOT_FIT;
  }
  return v1::VERDICT_UNSPECIFIED;
}

v1::Estimate EstimateFromPlan(const fit::Plan& plan, const v1::ModelSummary& model,
                              const PlanShape& shape) {
  v1::Estimate e;
  e.set_verdict(VerdictToProto(plan.verdict));
  *e.mutable_model() = model;
  for (const fit::DeviceUsage& d : plan.gpus) FillDevice(d, *e.add_devices());
  FillDevice(plan.host, *e.mutable_host());
  e.set_n_layers(plan.n_layers);
  e.set_n_gpu_layers(plan.n_gpu_layers);
  e.set_n_ctx(shape.n_ctx);
  e.set_kv_cells(plan.kv_cells);
  e.set_max_context(plan.max_context);
  e.set_headroom_bytes(plan.headroom_bytes);
  e.set_decode_tok_s(plan.speed.decode_tok_s);
  e.set_prefill_tok_s(plan.speed.prefill_tok_s);
  e.set_time_to_first_token_s(plan.speed.time_to_first_token_s);
  e.set_reason(plan.reason);
  // --n-cpu-moe N keeps the experts of the first N layers in host RAM: experts are in host RAM
  // either way, and n_cpu_moe says how many (the block count for all of them).
  e.set_experts_on_cpu(shape.experts_on_cpu || plan.n_cpu_moe > 0);
  e.set_n_cpu_moe(plan.n_cpu_moe);
  e.set_cache_type_k(shape.cache_type_k);
  e.set_cache_type_v(shape.cache_type_v);
  e.set_flash_attn(shape.flash_attn);
  return e;
}

v1::Estimate EstimateFromVllm(const fit::VllmPlan& plan, const fit::Machine& machine,
                              const v1::ModelSummary& model, uint32_t n_layers,
                              const fit::VllmOptions& options) {
  v1::Estimate e;
  e.set_verdict(plan.fits ? v1::VERDICT_FITS : v1::VERDICT_DOES_NOT_FIT);
  *e.mutable_model() = model;
  const size_t tp = std::min<size_t>(plan.tensor_parallel_size, machine.gpus.size());
  int64_t headroom = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < tp; ++i) {
    v1::DeviceUsage& d = *e.add_devices();
    d.set_name(machine.gpus[i].name);
    d.set_kind("cuda");
    d.set_weights_bytes(plan.weights_bytes);
    d.set_kv_cache_bytes(plan.kv_cache_bytes);
    d.set_compute_bytes(plan.activation_bytes + plan.cuda_graph_bytes);
    d.set_output_bytes(0);
    d.set_overhead_bytes(plan.non_torch_bytes);
    d.set_total_bytes(SumParts(d));
    d.set_free_bytes(machine.gpus[i].free_bytes);
    // Tensor parallelism puts a slice of every layer on every GPU.
    d.set_layers(n_layers);
    headroom = std::min(
        headroom, static_cast<int64_t>(d.free_bytes()) - static_cast<int64_t>(d.total_bytes()));
  }
  v1::DeviceUsage& host = *e.mutable_host();
  host.set_name("host");
  host.set_kind("cpu");
  host.set_free_bytes(machine.host_available_bytes);
  // Counted as llama.cpp counts them (and as llama.cpp plans here say): blocks + output.
  e.set_n_layers(n_layers + 1);
  e.set_n_gpu_layers(tp > 0 ? n_layers + 1 : 0);
  e.set_n_ctx(plan.requested_max_model_len);
  e.set_kv_cells(static_cast<uint32_t>(
      std::min<uint64_t>(plan.kv_tokens, std::numeric_limits<uint32_t>::max())));
  e.set_max_context(plan.max_model_len);
  e.set_headroom_bytes(tp > 0 ? headroom : 0);
  e.set_decode_tok_s(plan.decode_tok_s);
  e.set_reason(plan.reason);
  e.add_notes("vLLM: prefill speed and host memory are not modelled");
  e.set_cache_type_k(options.kv_fp8 ? "fp8" : "auto");
  e.set_cache_type_v(options.kv_fp8 ? "fp8" : "auto");
  e.set_flash_attn(true);  // vLLM's default attention backend on CUDA is FlashAttention
  v1::VllmEstimate& v = *e.mutable_vllm();
  v.set_budget_bytes(plan.budget_bytes);
  v.set_weights_bytes(plan.weights_bytes);
  v.set_activation_bytes(plan.activation_bytes);
  v.set_cuda_graph_bytes(plan.cuda_graph_bytes);
  v.set_non_torch_bytes(plan.non_torch_bytes);
  v.set_kv_cache_bytes(plan.kv_cache_bytes);
  v.set_block_size(plan.block_size);
  v.set_num_blocks(plan.num_blocks);
  v.set_kv_tokens(plan.kv_tokens);
  v.set_max_model_len(plan.max_model_len);
  v.set_max_concurrency(plan.max_concurrency);
  return e;
}

std::vector<std::string> HardwareNotes(const v1::Hardware& hardware) {
  std::vector<std::string> notes(hardware.notes().begin(), hardware.notes().end());
  // The probe explains its own degraded figures; say where a figure came from only when no
  // note of the snapshot does already.
  const auto mentioned = [&hardware](const std::string& a, const std::string& b) {
    return std::any_of(hardware.notes().begin(), hardware.notes().end(), [&](const std::string& n) {
      return n.find(a) != std::string::npos && n.find(b) != std::string::npos;
    });
  };
  for (int i = 0; i < hardware.gpus_size(); ++i) {
    const v1::GpuDevice& g = hardware.gpus(i);
    if (!g.placeable() || g.bandwidth_source() == v1::SOURCE_MEASURED) continue;
    if (mentioned(g.name(), "bandwidth")) continue;
    notes.push_back(absl::StrFormat("GPU %d (%s): bandwidth %.0f GB/s %s", i, g.name(),
                                    g.bandwidth_gbps(), SourceWord(g.bandwidth_source())));
  }
  if (hardware.host_bandwidth_source() != v1::SOURCE_MEASURED && !mentioned("host bandwidth", "")) {
    notes.push_back(absl::StrFormat("host bandwidth %.0f GB/s %s", hardware.host_bandwidth_gbps(),
                                    SourceWord(hardware.host_bandwidth_source())));
  }
  return notes;
}

bool HasCalibration(const v1::Calibration* calibration) {
  return calibration != nullptr && calibration->samples() > 0;
}

fit::Machine CalibratedMachine(fit::Machine machine, const v1::Calibration& calibration) {
  for (fit::Gpu& gpu : machine.gpus) {
    gpu.free_bytes = LessFree(gpu.free_bytes, calibration.gpu_overhead_delta_bytes());
  }
  machine.host_available_bytes =
      LessFree(machine.host_available_bytes, calibration.host_overhead_delta_bytes());
  return machine;
}

void ApplyCalibration(const v1::Calibration& calibration, v1::Estimate& estimate) {
  for (v1::DeviceUsage& d : *estimate.mutable_devices()) {
    ShiftOverhead(calibration.gpu_overhead_delta_bytes(), d);
  }
  ShiftOverhead(calibration.host_overhead_delta_bytes(), *estimate.mutable_host());
  const double decode = calibration.decode_scale() > 0 ? calibration.decode_scale() : 1.0;
  const double prefill = calibration.prefill_scale() > 0 ? calibration.prefill_scale() : 1.0;
  estimate.set_decode_tok_s(estimate.decode_tok_s() * decode);
  estimate.set_prefill_tok_s(estimate.prefill_tok_s() * prefill);
  estimate.set_time_to_first_token_s(estimate.time_to_first_token_s() / prefill);
  estimate.add_notes(absl::StrFormat(
      "calibrated from %d run report%s on this machine: decode x%.2f, prefill x%.2f, GPU "
      "overhead %+.0f MiB, host overhead %+.0f MiB",
      calibration.samples(), calibration.samples() == 1 ? "" : "s", decode, prefill,
      static_cast<double>(calibration.gpu_overhead_delta_bytes()) / kMiB,
      static_cast<double>(calibration.host_overhead_delta_bytes()) / kMiB));
}

}  // namespace headroom::engine::internal
