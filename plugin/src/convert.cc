#include "convert.h"

#include <glob.h>

#include <cmath>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace headroom::plugin {
namespace {

namespace fs = std::filesystem;
namespace v1 = headroom::v1;

ConvertError Invalid(std::string message) {
  return {HR_STATUS_INVALID_ARGUMENT, std::move(message)};
}

std::string Indexed(std::string_view field, size_t index) {
  return std::string(field) + "[" + std::to_string(index) + "]";
}

// Checks a (pointer, count) array of strings and appends its items to `out`.
template <typename Add>
ConvertError AddStrings(std::string_view field, const char* const* items, size_t count, Add add) {
  if (count > 0 && items == nullptr) {
    return Invalid(std::string(field) + ": NULL with a count of " + std::to_string(count));
  }
  for (size_t i = 0; i < count; ++i) {
    if (items[i] == nullptr || items[i][0] == '\0') {
      return Invalid(Indexed(field, i) + ": NULL or empty");
    }
    add(std::string(items[i]));
  }
  return {};
}

// An existing file, as an absolute path; NOT_FOUND otherwise.
ConvertError AbsoluteFile(const std::string& field, const std::string& path, std::string& out) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return {HR_STATUS_NOT_FOUND, field + ": no such file: " + path};
  }
  out = fs::absolute(path, ec).lexically_normal().string();
  if (ec) return {HR_STATUS_NOT_FOUND, field + ": " + path + ": " + ec.message()};
  return {};
}

ConvertError ExpandGlob(const char* pattern, v1::RecommendRequest& out) {
  glob_t matches{};
  const int rc = ::glob(pattern, 0, nullptr, &matches);
  ConvertError error;
  if (rc == GLOB_NOMATCH) {
    error = {HR_STATUS_NOT_FOUND,
             std::string("request.model_glob: no file matches '") + pattern + "'"};
  } else if (rc != 0) {
    error = {HR_STATUS_NOT_FOUND,
             std::string("request.model_glob: cannot expand '") + pattern + "'"};
  }
  for (size_t i = 0; rc == 0 && i < matches.gl_pathc && error.status == HR_STATUS_OK; ++i) {
    std::string path;
    error = AbsoluteFile("request.model_glob", matches.gl_pathv[i], path);
    if (error.status == HR_STATUS_OK) out.add_gguf_paths(path);
  }
  ::globfree(&matches);
  return error;
}

ConvertError RuntimeToProto(const char* field, hr_runtime runtime, v1::Runtime& out) {
  switch (runtime) {
    case HR_RUNTIME_LLAMA_CPP:
      out = v1::RUNTIME_LLAMA_CPP;
      return {};
    case HR_RUNTIME_VLLM:
      out = v1::RUNTIME_VLLM;
      return {};
  }
  return Invalid(std::string(field) + ": unknown runtime " +
                 std::to_string(static_cast<int>(runtime)));
}

ConvertError ModelToProto(const hr_request& request, v1::RecommendRequest& out) {
  ConvertError file_error;  // the first missing file
  size_t index = 0;
  ConvertError error = AddStrings(
      "request.model_files", request.model_files, request.model_file_count,
      [&](const std::string& path) {
        std::string absolute;
        ConvertError e = AbsoluteFile(Indexed("request.model_files", index++), path, absolute);
        if (e.status != HR_STATUS_OK && file_error.status == HR_STATUS_OK) file_error = e;
        out.add_gguf_paths(absolute);
      });
  if (error.status != HR_STATUS_OK) return error;
  if (file_error.status != HR_STATUS_OK) return file_error;
  if (request.model_glob != nullptr && request.model_glob[0] != '\0') {
    error = ExpandGlob(request.model_glob, out);
    if (error.status != HR_STATUS_OK) return error;
  }
  const bool has_catalog = request.catalog_id != nullptr && request.catalog_id[0] != '\0';
  const bool has_config = request.config_json != nullptr && request.config_json[0] != '\0';
  if (out.gguf_paths_size() == 0 && has_catalog) {
    out.mutable_model()->set_catalog_id(request.catalog_id);
  } else if (out.gguf_paths_size() == 0 && has_config) {
    std::string path;
    error = AbsoluteFile("request.config_json", request.config_json, path);
    if (error.status != HR_STATUS_OK) return error;
    out.mutable_model()->set_config_json_path(path);
  } else if (out.gguf_paths_size() == 0) {
    return Invalid("request: give model_files, model_glob, catalog_id or config_json");
  }
  return AddStrings("request.file_types", request.file_types, request.file_type_count,
                    [&](const std::string& type) { out.add_file_types(type); });
}

}  // namespace

ConvertError ToRecommendRequest(const hr_request& request, v1::RecommendRequest& out) {
  ConvertError error = ModelToProto(request, out);
  if (error.status != HR_STATUS_OK) return error;
  v1::Runtime runtime = v1::RUNTIME_LLAMA_CPP;
  error = RuntimeToProto("request.runtime", request.runtime, runtime);
  if (error.status != HR_STATUS_OK) return error;
  out.set_runtime(runtime);
  if (request.max_ctx != 0 && request.min_ctx > request.max_ctx) {
    return Invalid("request.min_ctx: " + std::to_string(request.min_ctx) + " > max_ctx " +
                   std::to_string(request.max_ctx));
  }
  out.set_min_context(request.min_ctx);
  out.set_max_context(request.max_ctx);
  if (!std::isfinite(request.min_decode_tok_s) || request.min_decode_tok_s < 0) {
    return Invalid("request.min_decode_tok_s: must be a finite number >= 0");
  }
  out.set_min_decode_tok_s(request.min_decode_tok_s);
  switch (request.prefer) {
    case HR_PREFER_QUALITY:
      out.set_prefer(v1::PREFERENCE_QUALITY);
      break;
    case HR_PREFER_SPEED:
      out.set_prefer(v1::PREFERENCE_SPEED);
      break;
    case HR_PREFER_CONTEXT:
      out.set_prefer(v1::PREFERENCE_CONTEXT);
      break;
    default:
      return Invalid("request.prefer: unknown preference " +
                     std::to_string(static_cast<int>(request.prefer)));
  }
  if (request.margin_bytes >= 0) {
    out.set_margin_bytes(static_cast<uint64_t>(request.margin_bytes));
  }
  out.set_n_parallel(request.n_parallel);
  return AddStrings("request.kv_types", request.kv_types, request.kv_type_count,
                    [&](const std::string& type) { out.add_kv_types(type); });
}

ConvertError ToVllmEstimateRequest(const v1::RecommendRequest& recommend, uint32_t max_model_len,
                                   v1::EstimateRequest& out) {
  if (recommend.gguf_paths_size() > 1) {
    return Invalid(
        "request: vLLM serves one model: give one file, a catalog_id or a config_json "
        "(the daemon's recommender plans llama.cpp)");
  }
  *out.mutable_model() = recommend.model();
  if (recommend.gguf_paths_size() == 1) out.mutable_model()->set_gguf_path(recommend.gguf_paths(0));
  if (recommend.file_types_size() > 0) {
    out.mutable_model()->set_file_type(recommend.file_types(0));
  }
  out.set_runtime(v1::RUNTIME_VLLM);
  *out.mutable_hardware() = recommend.hardware();
  out.mutable_vllm()->set_max_model_len(max_model_len);
  const bool fp8 = recommend.kv_types_size() > 0 && recommend.kv_types(0).rfind("fp8", 0) == 0;
  out.mutable_vllm()->set_kv_cache_dtype(fp8 ? recommend.kv_types(0) : "auto");
  return {};
}

v1::Recommendation VllmRecommendation(const v1::RecommendRequest& recommend,
                                      const v1::Estimate& estimate) {
  v1::Recommendation out;
  const uint32_t min_context = recommend.min_context() == 0 ? 4096 : recommend.min_context();
  const bool meets = estimate.verdict() == v1::VERDICT_FITS && estimate.n_ctx() >= min_context &&
                     estimate.decode_tok_s() >= recommend.min_decode_tok_s();
  out.set_reason(estimate.reason());
  if (!meets) return out;
  v1::Choice& pick = *out.mutable_pick();
  if (recommend.gguf_paths_size() == 1) pick.set_gguf_path(recommend.gguf_paths(0));
  pick.set_file_type(estimate.model().file_type());
  pick.set_n_ctx(estimate.n_ctx());
  pick.set_n_gpu_layers(estimate.n_gpu_layers());
  pick.set_cache_type_k(estimate.cache_type_k());
  pick.set_cache_type_v(estimate.cache_type_v());
  pick.set_flash_attn(estimate.flash_attn());
  *pick.mutable_estimate() = estimate;
  pick.set_reason(estimate.reason());
  pick.set_meets_constraints(true);
  return out;
}

ConvertError ToRunReportRequest(const hr_run_report& report, v1::RunReportRequest& out) {
  v1::EstimateRequest& estimate = *out.mutable_estimate();
  if (report.model_file != nullptr && report.model_file[0] != '\0') {
    std::string path;
    ConvertError error = AbsoluteFile("report.model_file", report.model_file, path);
    if (error.status != HR_STATUS_OK) return error;
    estimate.mutable_model()->set_gguf_path(path);
  } else if (report.catalog_id != nullptr && report.catalog_id[0] != '\0') {
    estimate.mutable_model()->set_catalog_id(report.catalog_id);
    if (report.file_type != nullptr) estimate.mutable_model()->set_file_type(report.file_type);
  } else {
    return Invalid("report: give model_file or catalog_id");
  }
  v1::Runtime runtime = v1::RUNTIME_LLAMA_CPP;
  ConvertError error = RuntimeToProto("report.runtime", report.runtime, runtime);
  if (error.status != HR_STATUS_OK) return error;
  estimate.set_runtime(runtime);
  if (runtime == v1::RUNTIME_VLLM) {
    estimate.mutable_vllm()->set_max_model_len(report.n_ctx);
  } else {
    v1::LlamaCppParams& params = *estimate.mutable_llama_cpp();
    params.set_n_ctx(report.n_ctx);
    if (report.n_gpu_layers >= 0) {
      params.set_n_gpu_layers(static_cast<uint32_t>(report.n_gpu_layers));
    }
    params.set_experts(report.experts_on_cpu ? v1::EXPERT_PLACEMENT_CPU
                                             : v1::EXPERT_PLACEMENT_WITH_LAYER);
    if (report.cache_type_k != nullptr) params.set_cache_type_k(report.cache_type_k);
    if (report.cache_type_v != nullptr) params.set_cache_type_v(report.cache_type_v);
    params.set_flash_attn(report.flash_attn ? v1::FLASH_ATTENTION_ENABLED
                                            : v1::FLASH_ATTENTION_DISABLED);
  }
  if (report.device_count > 0 &&
      (report.device_names == nullptr || report.device_used_bytes == nullptr)) {
    return Invalid("report.device_names/device_used_bytes: NULL with a device_count of " +
                   std::to_string(report.device_count));
  }
  for (size_t i = 0; i < report.device_count; ++i) {
    if (report.device_names[i] == nullptr) {
      return Invalid(Indexed("report.device_names", i) + ": NULL");
    }
    v1::MeasuredDevice& device = *out.add_devices();
    device.set_name(report.device_names[i]);
    device.set_used_bytes(report.device_used_bytes[i]);
  }
  if (!std::isfinite(report.prefill_tok_s) || report.prefill_tok_s < 0 ||
      !std::isfinite(report.decode_tok_s) || report.decode_tok_s < 0) {
    return Invalid("report.prefill_tok_s/decode_tok_s: must be finite numbers >= 0");
  }
  out.set_prefill_tok_s(report.prefill_tok_s);
  out.set_decode_tok_s(report.decode_tok_s);
  if (report.runtime_version != nullptr) out.set_runtime_version(report.runtime_version);
  return {};
}

}  // namespace headroom::plugin
