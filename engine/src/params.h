// headroom.v1 runtime settings -> headroom::fit options, validating every field. Errors are
// InvalidArgument naming the field as the request spells it ("llama_cpp.cache_type_k").
// Private to headroom::engine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "headroom/fit/plan.h"
#include "headroom/fit/recommend.h"
#include "headroom/fit/vllm.h"
#include "headroom/v1/fit.pb.h"

namespace headroom::engine::internal {

// A KV cache type as llama.cpp's -ctk/-ctv take it ("f16", "q8_0", ...; empty = f16) -> ggml
// type id.
absl::StatusOr<uint32_t> ParseCacheType(const std::string& name, const std::string& field);
// ggml type id -> the name llama.cpp prints ("q8_0").
std::string CacheTypeName(uint32_t ggml_type);

absl::StatusOr<fit::PlanOptions> PlanOptionsFromProto(const headroom::v1::LlamaCppParams& p);

// `n_gpus`: GPUs of the machine, for tensor_parallel_size.
absl::StatusOr<fit::VllmOptions> VllmOptionsFromProto(const headroom::v1::VllmParams& p,
                                                      size_t n_gpus);

absl::StatusOr<fit::Constraints> ConstraintsFromProto(const headroom::v1::RecommendRequest& r);

// RUNTIME_UNSPECIFIED -> llama.cpp; unknown values are InvalidArgument naming `field`.
absl::StatusOr<headroom::v1::Runtime> ResolveRuntime(headroom::v1::Runtime runtime,
                                                     const std::string& field);

}  // namespace headroom::engine::internal
