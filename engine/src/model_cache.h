// Models made ready for planning (fit::PreparedModel), and the daemon's cache of them: a
// catalog model at a file type is planned by the quantizer rules once, and what the estimator
// works out for it (per-layer tables, compute buffers over ranges of contexts) is kept with it,
// so a later Estimate or Recommend of it skips both. Private to headroom::engine.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "headroom/engine/engine.h"
#include "headroom/fit/plan.h"
#include "model_ref.h"

namespace headroom::engine::internal {

struct PreparedResolved {
  std::shared_ptr<const fit::PreparedModel> prepared;  // owns the tensors
  headroom::v1::ModelSummary summary;
  std::string gguf_path;  // set when the model came from a file
  const fit::ModelTensors& tensors() const { return prepared->model(); }
};

// `model` prepared (not cached); `same_architecture` as fit::PreparedModel's.
std::shared_ptr<const PreparedResolved> Prepare(
    ResolvedModel model, const fit::PreparedModel* same_architecture = nullptr);

// Any ModelRef, as ResolveModel; a catalog id or a GGUF file comes from context.model_cache
// when it holds it (and goes there when it does not).
absl::StatusOr<std::shared_ptr<const PreparedResolved>> ResolvePrepared(
    const headroom::v1::ModelRef& ref, const Context& context, const std::string& field);

// A GGUF file, as ModelFromGgufFile. A single-file model is cached under its path and the
// file's identity and age (device, inode, size, modification time), so a file replaced or
// rewritten is read again; a split model is read every time (its other shards are not
// checked).
absl::StatusOr<std::shared_ptr<const PreparedResolved>> PreparedFromGgufFile(
    const std::string& path, const Context& context, const std::string& field);

// `source` at `file_type`, as ModelAtFileType; cached under `catalog_id` when it is not empty.
absl::StatusOr<std::shared_ptr<const PreparedResolved>> PreparedAtFileType(
    const ArchitectureSource& source, const catalog::FileTypeTraits& file_type,
    const std::string& catalog_id, const Context& context);

}  // namespace headroom::engine::internal
