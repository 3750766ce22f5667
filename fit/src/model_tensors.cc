#include "headroom/fit/model_tensors.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "headroom/catalog/ggml_types.h"

namespace headroom::fit {

absl::Status CheckModelTensors(const ModelTensors& model) {
  const auto& arch = model.arch;
  if (arch.block_count() == 0) return absl::InvalidArgumentError("model.arch.block_count: 0");
  if (arch.embedding_length() == 0) {
    return absl::InvalidArgumentError("model.arch.embedding_length: 0");
  }
  if (arch.vocab_size() == 0) return absl::InvalidArgumentError("model.arch.vocab_size: 0");
  if (model.tensors.empty()) return absl::InvalidArgumentError("model.tensors: empty");
  return absl::OkStatus();
}

absl::StatusOr<ModelTensors> ModelFromInspection(const headroom::v1::GgufInspection& inspection) {
  if (inspection.tensors_size() == 0) {
    return absl::InvalidArgumentError(
        "inspection.tensors: empty; inspect with include_tensors = true");
  }
  ModelTensors model;
  model.arch = inspection.hparams();
  model.tensors.reserve(static_cast<size_t>(inspection.tensors_size()));
  for (const headroom::v1::TensorInfo& info : inspection.tensors()) {
    const catalog::GgmlTypeTraits* type = catalog::FindGgmlTypeByName(info.type());
    if (type == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("inspection.tensors[", info.name(),
                                                     "].type: unknown \"", info.type(), "\""));
    }
    if (info.dims_size() < 1 || info.dims_size() > 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("inspection.tensors[", info.name(), "].dims: ", info.dims_size(), " dims"));
    }
    WeightTensor t;
    t.name = info.name();
    t.ggml_type = type->id;
    t.dims = {1, 1, 1, 1};
    t.n_dims = static_cast<uint32_t>(info.dims_size());
    for (int i = 0; i < info.dims_size(); ++i) t.dims[static_cast<size_t>(i)] = info.dims(i);
    t.bytes = info.bytes();
    t.offset = info.offset();
    t.shard = info.shard();
    t.role = info.role();
    t.layer = info.layer();
    model.tensors.push_back(std::move(t));
  }
  return model;
}

absl::StatusOr<ModelTensors> ModelFromPlan(const headroom::v1::Architecture& arch,
                                           std::span<const catalog::PlannedTensor> plan,
                                           uint64_t alignment) {
  if (alignment == 0) return absl::InvalidArgumentError("alignment: must be positive");
  if (plan.empty()) return absl::InvalidArgumentError("plan: no tensors");
  ModelTensors model;
  model.arch = arch;
  model.tensors.reserve(plan.size());
  uint64_t offset = 0;
  for (const catalog::PlannedTensor& p : plan) {
    WeightTensor t;
    t.name = p.shape.name;
    t.ggml_type = p.ggml_type;
    t.dims = p.shape.dims;
    t.n_dims = p.shape.n_dims;
    t.bytes = p.bytes;
    t.offset = offset;
    t.role = p.shape.role;
    t.layer = p.shape.layer;
    // gguf_writer pads each tensor's data to the file's alignment.
    offset += (p.bytes + alignment - 1) / alignment * alignment;
    model.tensors.push_back(std::move(t));
  }
  return model;
}

}  // namespace headroom::fit
