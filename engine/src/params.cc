#include "params.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "headroom/catalog/ggml_types.h"

namespace headroom::engine::internal {
namespace {

namespace v1 = headroom::v1;

// The types llama.cpp's common/arg.cpp accepts for -ctk / -ctv (kv_cache_types).
constexpr std::array<const char*, 9> kCacheTypes = {"f32",  "f16",    "bf16", "q8_0", "q4_0",
                                                    "q4_1", "iq4_nl", "q5_0", "q5_1"};
// LLAMA_MAX_SEQ in llama.cpp's src/llama-cparams.h.
constexpr uint32_t kMaxSequences = 256;
// Contexts beyond this are typos: 2^26 tokens is 64x the longest trained context in use.
constexpr uint32_t kMaxContext = uint32_t{1} << 26;
constexpr uint64_t kMaxMarginBytes = uint64_t{1} << 40;  // 1 TiB

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status CheckContext(uint32_t n_ctx, const std::string& field) {
  if (n_ctx > kMaxContext) {
    return Invalid(field, absl::StrCat(n_ctx, " tokens is beyond ", kMaxContext));
  }
  return absl::OkStatus();
}

absl::StatusOr<fit::FlashAttention> ParseFlashAttention(v1::FlashAttention fa) {
  switch (fa) {
    case v1::FLASH_ATTENTION_AUTO:
      return fit::FlashAttention::kAuto;
    case v1::FLASH_ATTENTION_ENABLED:
      return fit::FlashAttention::kEnabled;
    case v1::FLASH_ATTENTION_DISABLED:
      return fit::FlashAttention::kDisabled;
    default:
      break;
  }
  return Invalid("llama_cpp.flash_attn", absl::StrCat("unknown value ", static_cast<int>(fa)));
}

absl::Status CheckBatches(const v1::LlamaCppParams& p) {
  if (p.n_batch() > kMaxContext) {
    return Invalid("llama_cpp.n_batch", absl::StrCat(p.n_batch(), " is beyond ", kMaxContext));
  }
  if (p.n_ubatch() > kMaxContext) {
    return Invalid("llama_cpp.n_ubatch", absl::StrCat(p.n_ubatch(), " is beyond ", kMaxContext));
  }
  if (p.n_prompt() > kMaxContext) {
    return Invalid("llama_cpp.n_prompt", absl::StrCat(p.n_prompt(), " is beyond ", kMaxContext));
  }
  if (p.decode_depth() > kMaxContext) {
    return Invalid("llama_cpp.decode_depth",
                   absl::StrCat(p.decode_depth(), " is beyond ", kMaxContext));
  }
  if (p.n_ctx() != 0 && p.decode_depth() >= p.n_ctx()) {
    return Invalid("llama_cpp.decode_depth",
                   absl::StrCat(p.decode_depth(), " tokens do not fit the context of ", p.n_ctx()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint32_t> ParseCacheType(const std::string& name, const std::string& field) {
  const std::string lower = Lower(name.empty() ? "f16" : name);
  if (std::find(kCacheTypes.begin(), kCacheTypes.end(), lower) == kCacheTypes.end()) {
    return Invalid(field, absl::StrCat("unknown type \"", name, "\" (",
                                       absl::StrJoin(kCacheTypes, ", "), ")"));
  }
  const catalog::GgmlTypeTraits* t = catalog::FindGgmlTypeByName(lower);
  if (t == nullptr) return Invalid(field, absl::StrCat("unknown type \"", name, "\""));
  return t->id;
}

std::string CacheTypeName(uint32_t ggml_type) { return Lower(catalog::GgmlTypeName(ggml_type)); }

absl::StatusOr<v1::Runtime> ResolveRuntime(v1::Runtime runtime, const std::string& field) {
  switch (runtime) {
    case v1::RUNTIME_UNSPECIFIED:
    case v1::RUNTIME_LLAMA_CPP:
      return v1::RUNTIME_LLAMA_CPP;
    case v1::RUNTIME_VLLM:
      return v1::RUNTIME_VLLM;
    default:
      break;
  }
  return Invalid(field, absl::StrCat("unknown value ", static_cast<int>(runtime)));
}

absl::StatusOr<fit::PlanOptions> PlanOptionsFromProto(const v1::LlamaCppParams& p) {
  fit::PlanOptions o;
  if (absl::Status s = CheckContext(p.n_ctx(), "llama_cpp.n_ctx"); !s.ok()) return s;
  o.request.n_ctx = p.n_ctx();
  if (p.n_parallel() > kMaxSequences) {
    return Invalid("llama_cpp.n_parallel", absl::StrCat(p.n_parallel(),
                                                        " sequences is above llama.cpp's limit "
                                                        "of ",
                                                        kMaxSequences));
  }
  o.request.n_parallel = std::max<uint32_t>(p.n_parallel(), 1);
  if (absl::Status s = CheckBatches(p); !s.ok()) return s;
  if (p.n_batch() != 0) o.request.n_batch = p.n_batch();
  if (p.n_ubatch() != 0) o.request.n_ubatch = p.n_ubatch();
  absl::StatusOr<uint32_t> k = ParseCacheType(p.cache_type_k(), "llama_cpp.cache_type_k");
  if (!k.ok()) return k.status();
  absl::StatusOr<uint32_t> v = ParseCacheType(p.cache_type_v(), "llama_cpp.cache_type_v");
  if (!v.ok()) return v.status();
  o.request.type_k = *k;
  o.request.type_v = *v;
  absl::StatusOr<fit::FlashAttention> fa = ParseFlashAttention(p.flash_attn());
  if (!fa.ok()) return fa.status();
  o.request.flash_attn = *fa;
  o.request.use_mmap = !p.no_mmap();
  if (p.has_n_gpu_layers()) o.n_gpu_layers = p.n_gpu_layers();
  switch (p.experts()) {
    case v1::EXPERT_PLACEMENT_AUTO:
      o.experts_on_cpu.reset();  // PlanFit tries --n-cpu-moe placements when layers spill
      break;
    case v1::EXPERT_PLACEMENT_WITH_LAYER:
      o.experts_on_cpu = false;
      break;
    case v1::EXPERT_PLACEMENT_CPU:
      o.experts_on_cpu = true;
      break;
    default:
      return Invalid("llama_cpp.experts", absl::StrCat("unknown value ", p.experts()));
  }
  if (p.has_margin_bytes()) {
    if (p.margin_bytes() > kMaxMarginBytes) {
      return Invalid("llama_cpp.margin_bytes",
                     absl::StrCat(p.margin_bytes(), " bytes is beyond 1 TiB"));
    }
    o.gpu_margin_bytes = p.margin_bytes();
  }
  if (p.n_prompt() != 0) o.n_prompt = p.n_prompt();
  o.decode_depth = p.decode_depth();
  return o;
}

absl::StatusOr<fit::VllmOptions> VllmOptionsFromProto(const v1::VllmParams& p, size_t n_gpus) {
  fit::VllmOptions o;
  const double util = p.gpu_memory_utilization();
  if (!std::isfinite(util) || util < 0 || util > 1) {
    return Invalid("vllm.gpu_memory_utilization", absl::StrCat(util, " is outside (0, 1]"));
  }
  if (util > 0) o.gpu_memory_utilization = util;
  if (absl::Status s = CheckContext(p.max_model_len(), "vllm.max_model_len"); !s.ok()) return s;
  o.max_model_len = p.max_model_len();
  if (p.max_num_seqs() > 65536) {
    return Invalid("vllm.max_num_seqs", absl::StrCat(p.max_num_seqs(), " is beyond 65536"));
  }
  if (p.max_num_seqs() != 0) o.max_num_seqs = p.max_num_seqs();
  const std::string dtype = Lower(p.kv_cache_dtype());
  if (dtype.empty() || dtype == "auto") {
    o.kv_fp8 = false;
  } else if (dtype == "fp8" || dtype == "fp8_e4m3" || dtype == "fp8_e5m2") {
    o.kv_fp8 = true;
  } else {
    return Invalid("vllm.kv_cache_dtype",
                   absl::StrCat("unknown dtype \"", p.kv_cache_dtype(), "\" (auto, fp8)"));
  }
  o.enforce_eager = p.enforce_eager();
  if (p.tensor_parallel_size() > n_gpus) {
    return Invalid("vllm.tensor_parallel_size",
                   absl::StrCat(p.tensor_parallel_size(), " but the machine has ", n_gpus,
                                " placeable GPU", n_gpus == 1 ? "" : "s"));
  }
  o.tensor_parallel_size = p.tensor_parallel_size();
  return o;
}

absl::StatusOr<fit::Constraints> ConstraintsFromProto(const v1::RecommendRequest& r) {
  fit::Constraints c;
  if (absl::Status s = CheckContext(r.min_context(), "min_context"); !s.ok()) return s;
  if (absl::Status s = CheckContext(r.max_context(), "max_context"); !s.ok()) return s;
  if (r.min_context() != 0) c.min_context = r.min_context();
  c.max_context = r.max_context();
  if (c.max_context != 0 && c.max_context < c.min_context) {
    return Invalid("max_context",
                   absl::StrCat(c.max_context, " is below min_context ", c.min_context));
  }
  if (!std::isfinite(r.min_decode_tok_s()) || r.min_decode_tok_s() < 0) {
    return Invalid("min_decode_tok_s", absl::StrCat(r.min_decode_tok_s(), " is not >= 0"));
  }
  c.min_decode_tok_s = r.min_decode_tok_s();
  switch (r.prefer()) {
    case v1::PREFERENCE_QUALITY:
      c.prefer = fit::Prefer::kQuality;
      break;
    case v1::PREFERENCE_SPEED:
      c.prefer = fit::Prefer::kSpeed;
      break;
    case v1::PREFERENCE_CONTEXT:
      c.prefer = fit::Prefer::kContext;
      break;
    default:
      return Invalid("prefer", absl::StrCat("unknown value ", static_cast<int>(r.prefer())));
  }
  if (r.has_margin_bytes()) {
    if (r.margin_bytes() > kMaxMarginBytes) {
      return Invalid("margin_bytes", absl::StrCat(r.margin_bytes(), " bytes is beyond 1 TiB"));
    }
    c.margin_bytes = r.margin_bytes();
  }
  if (!r.kv_types().empty()) {
    c.kv_types.clear();
    for (int i = 0; i < r.kv_types_size(); ++i) {
      absl::StatusOr<uint32_t> t = ParseCacheType(r.kv_types(i), absl::StrCat("kv_types[", i, "]"));
      if (!t.ok()) return t.status();
      if (std::find(c.kv_types.begin(), c.kv_types.end(), *t) == c.kv_types.end()) {
        c.kv_types.push_back(*t);
      }
    }
  }
  if (r.n_parallel() > kMaxSequences) {
    return Invalid("n_parallel", absl::StrCat(r.n_parallel(),
                                              " sequences is above llama.cpp's "
                                              "limit of ",
                                              kMaxSequences));
  }
  c.n_parallel = std::max<uint32_t>(r.n_parallel(), 1);
  return c;
}

}  // namespace headroom::engine::internal
