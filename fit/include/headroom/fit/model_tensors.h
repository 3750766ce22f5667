// The estimator's view of a model: its hyperparameters and a per-tensor table (type, shape,
// bytes, file offset, role, layer). Built from a GGUF inspection (exact, with offsets) or
// from the quantizer plan of a catalog architecture (no file). Pure; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headroom/catalog/quant_plan.h"
#include "headroom/v1/gguf.pb.h"
#include "headroom/v1/model.pb.h"

namespace headroom::fit {

struct WeightTensor {
  std::string name;                // GGUF name, e.g. "blk.3.ffn_up.weight"
  uint32_t ggml_type = 0;          // ggml_type id
  std::array<uint64_t, 4> dims{};  // innermost first; unused dims are 1
  uint32_t n_dims = 0;             // 1..4
  uint64_t bytes = 0;              // bytes of its data
  uint64_t offset = 0;             // from the start of its shard's data section, bytes
  uint32_t shard = 0;              // file index of a split model
  headroom::v1::TensorRole role = headroom::v1::TENSOR_ROLE_OTHER;
  int32_t layer = -1;  // blk index, -1 outside the blocks
};

struct ModelTensors {
  headroom::v1::Architecture arch;
  std::vector<WeightTensor> tensors;
};

// OK, or InvalidArgument naming the field ("model.arch.block_count: 0", "model.tensors:
// empty") when the model has nothing to plan.
absl::Status CheckModelTensors(const ModelTensors& model);

// From `InspectGguf(model, {.include_tensors = true})`. Error when the tensor table is absent
// or names an unknown type.
absl::StatusOr<ModelTensors> ModelFromInspection(const headroom::v1::GgufInspection& inspection);

// From catalog::PlanQuantization: offsets are laid out as a GGUF writer does (tensor data in
// order, each start aligned to `alignment` bytes, one shard).
absl::StatusOr<ModelTensors> ModelFromPlan(const headroom::v1::Architecture& arch,
                                           std::span<const catalog::PlannedTensor> plan,
                                           uint64_t alignment = 32);

}  // namespace headroom::fit
