// Accessors of hr_result (immutable once returned, so no locking), and the ABI's version,
// status names and defaults.
#include <cstring>

#include "internal.h"

namespace headroom::plugin {
namespace {

namespace v1 = headroom::v1;

// The choice at `index` (HR_PICK, HR_ALTERNATIVE(i)), or null.
const v1::Choice* ChoiceAt(const hr_result* result, size_t index) {
  if (result == nullptr) return nullptr;
  const v1::Recommendation& r = result->recommendation;
  if (index == HR_PICK) return r.has_pick() ? &r.pick() : nullptr;
  const size_t alternative = index - 1;
  if (alternative >= static_cast<size_t>(r.alternatives_size())) return nullptr;
  return &r.alternatives(static_cast<int>(alternative));
}

// GPUs first, then the host (when the estimate has one).
const v1::DeviceUsage* DeviceAt(const v1::Choice& choice, size_t device, bool& is_host) {
  const v1::Estimate& estimate = choice.estimate();
  const auto gpus = static_cast<size_t>(estimate.devices_size());
  is_host = device == gpus && estimate.has_host();
  if (device < gpus) return &estimate.devices(static_cast<int>(device));
  return is_host ? &estimate.host() : nullptr;
}

hr_verdict VerdictOf(v1::Verdict verdict) {
  switch (verdict) {
    case v1::VERDICT_FITS:
      return HR_VERDICT_FITS;
    case v1::VERDICT_PARTIAL:
      return HR_VERDICT_PARTIAL;
    case v1::VERDICT_CPU_ONLY:
      return HR_VERDICT_CPU_ONLY;
    case v1::VERDICT_DOES_NOT_FIT:
      return HR_VERDICT_DOES_NOT_FIT;
    default:
      return HR_VERDICT_UNSPECIFIED;
  }
}

// Writes `full` into the caller's struct up to the caller's struct_size, keeping it.
template <typename T>
void WriteVersioned(const T& full, T* out) {
  const uint32_t caller_size = out->struct_size;
  const size_t n = caller_size < sizeof(T) ? caller_size : sizeof(T);
  std::memcpy(static_cast<void*>(out), static_cast<const void*>(&full), n);
  out->struct_size = caller_size;
}

}  // namespace
}  // namespace headroom::plugin

using headroom::plugin::ChoiceAt;
using headroom::plugin::CopyOut;

extern "C" {

HR_API uint32_t hr_abi_version(void) { return HR_API_VERSION; }

HR_API const char* hr_status_str(hr_status status) {
  switch (status) {
    case HR_STATUS_OK:
      return "HR_STATUS_OK";
    case HR_STATUS_INVALID_ARGUMENT:
      return "HR_STATUS_INVALID_ARGUMENT";
    case HR_STATUS_NOT_FOUND:
      return "HR_STATUS_NOT_FOUND";
    case HR_STATUS_UNAVAILABLE:
      return "HR_STATUS_UNAVAILABLE";
    case HR_STATUS_TIMEOUT:
      return "HR_STATUS_TIMEOUT";
    case HR_STATUS_PERMISSION_DENIED:
      return "HR_STATUS_PERMISSION_DENIED";
    case HR_STATUS_FAILED_PRECONDITION:
      return "HR_STATUS_FAILED_PRECONDITION";
    case HR_STATUS_NO_FIT:
      return "HR_STATUS_NO_FIT";
    case HR_STATUS_DAEMON_START_FAILED:
      return "HR_STATUS_DAEMON_START_FAILED";
    case HR_STATUS_INTERNAL:
      return "HR_STATUS_INTERNAL";
  }
  return "HR_STATUS_UNKNOWN";
}

HR_API hr_client_params hr_client_params_default(void) {
  hr_client_params params;
  std::memset(&params, 0, sizeof params);
  params.struct_size = sizeof params;
  params.timeout_ms = 10000;
  params.autostart = true;
  params.start_timeout_ms = 5000;
  return params;
}

HR_API hr_request hr_request_default(void) {
  hr_request request;
  std::memset(&request, 0, sizeof request);
  request.struct_size = sizeof request;
  request.runtime = HR_RUNTIME_LLAMA_CPP;
  request.prefer = HR_PREFER_QUALITY;
  request.margin_bytes = -1;
  return request;
}

HR_API hr_run_report hr_run_report_default(void) {
  hr_run_report report;
  std::memset(&report, 0, sizeof report);
  report.struct_size = sizeof report;
  report.runtime = HR_RUNTIME_LLAMA_CPP;
  report.n_gpu_layers = -1;
  return report;
}

HR_API void hr_result_free(hr_result* result) {
  try {
    delete result;
  } catch (...) {
    // Nothing a C caller could do.
  }
}

HR_API size_t hr_result_reason(const hr_result* result, char* buf, size_t size) {
  if (result == nullptr) return CopyOut("", buf, size);
  return CopyOut(result->recommendation.reason(), buf, size);
}

HR_API hr_status hr_result_alternative_count(const hr_result* result, size_t* count) {
  if (count != nullptr) *count = 0;
  if (result == nullptr || count == nullptr) return HR_STATUS_INVALID_ARGUMENT;
  *count = static_cast<size_t>(result->recommendation.alternatives_size());
  return HR_STATUS_OK;
}

HR_API hr_status hr_result_choice(const hr_result* result, size_t index, hr_choice* out) {
  if (result == nullptr || out == nullptr || out->struct_size < sizeof(uint32_t)) {
    return HR_STATUS_INVALID_ARGUMENT;
  }
  const headroom::v1::Choice* choice = ChoiceAt(result, index);
  if (choice == nullptr) return index == HR_PICK ? HR_STATUS_NO_FIT : HR_STATUS_NOT_FOUND;
  const headroom::v1::Estimate& estimate = choice->estimate();
  hr_choice full;
  std::memset(&full, 0, sizeof full);
  full.n_ctx = choice->n_ctx();
  full.n_gpu_layers = choice->n_gpu_layers();
  full.n_layers = estimate.n_layers();
  full.experts_on_cpu = choice->experts_on_cpu();
  full.flash_attn = choice->flash_attn();
  full.meets_constraints = choice->meets_constraints();
  full.verdict = headroom::plugin::VerdictOf(estimate.verdict());
  full.decode_tok_s = estimate.decode_tok_s();
  full.prefill_tok_s = estimate.prefill_tok_s();
  full.headroom_bytes = estimate.headroom_bytes();
  full.device_count =
      static_cast<uint32_t>(estimate.devices_size()) + (estimate.has_host() ? 1U : 0U);
  if (index < result->gpu_memory_utilization.size()) {
    full.gpu_memory_utilization = result->gpu_memory_utilization[index];
  }
  full.n_cpu_moe = choice->n_cpu_moe();
  headroom::plugin::WriteVersioned(full, out);
  return HR_STATUS_OK;
}

HR_API size_t hr_result_choice_string(const hr_result* result, size_t index, hr_choice_string which,
                                      char* buf, size_t size) {
  const headroom::v1::Choice* choice = ChoiceAt(result, index);
  if (choice == nullptr) return CopyOut("", buf, size);
  switch (which) {
    case HR_CHOICE_FILE:
      return CopyOut(choice->gguf_path(), buf, size);
    case HR_CHOICE_FILE_TYPE:
      return CopyOut(choice->file_type(), buf, size);
    case HR_CHOICE_CACHE_TYPE_K:
      return CopyOut(choice->cache_type_k(), buf, size);
    case HR_CHOICE_CACHE_TYPE_V:
      return CopyOut(choice->cache_type_v(), buf, size);
    case HR_CHOICE_REASON:
      return CopyOut(choice->reason(), buf, size);
  }
  return CopyOut("", buf, size);
}

HR_API hr_status hr_result_device(const hr_result* result, size_t index, size_t device,
                                  hr_device* out) {
  if (result == nullptr || out == nullptr || out->struct_size < sizeof(uint32_t)) {
    return HR_STATUS_INVALID_ARGUMENT;
  }
  const headroom::v1::Choice* choice = ChoiceAt(result, index);
  if (choice == nullptr) return index == HR_PICK ? HR_STATUS_NO_FIT : HR_STATUS_NOT_FOUND;
  bool is_host = false;
  const headroom::v1::DeviceUsage* usage = headroom::plugin::DeviceAt(*choice, device, is_host);
  if (usage == nullptr) return HR_STATUS_NOT_FOUND;
  hr_device full;
  std::memset(&full, 0, sizeof full);
  full.total_bytes = usage->total_bytes();
  full.weights_bytes = usage->weights_bytes();
  full.kv_cache_bytes = usage->kv_cache_bytes();
  full.free_bytes = usage->free_bytes();
  full.layers = usage->layers();
  full.is_host = is_host;
  headroom::plugin::WriteVersioned(full, out);
  return HR_STATUS_OK;
}

HR_API size_t hr_result_device_name(const hr_result* result, size_t index, size_t device, char* buf,
                                    size_t size) {
  const headroom::v1::Choice* choice = ChoiceAt(result, index);
  if (choice == nullptr) return CopyOut("", buf, size);
  bool is_host = false;
  const headroom::v1::DeviceUsage* usage = headroom::plugin::DeviceAt(*choice, device, is_host);
  if (usage == nullptr) return CopyOut("", buf, size);
  if (is_host && usage->name().empty()) return CopyOut("host", buf, size);
  return CopyOut(usage->name(), buf, size);
}

}  // extern "C"
