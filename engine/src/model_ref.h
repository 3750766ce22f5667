// Resolves a headroom.v1.ModelRef into the estimator's ModelTensors plus the ModelSummary the
// answer carries. Private to headroom::engine.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headroom/catalog/ggml_types.h"
#include "headroom/engine/engine.h"
#include "headroom/fit/model_tensors.h"
#include "headroom/v1/fit.pb.h"
#include "headroom/v1/model.pb.h"

namespace headroom::engine::internal {

// A status with `field: ` put in front of its message, same code.
absl::Status Annotate(const absl::Status& status, const std::string& field);

struct ResolvedModel {
  fit::ModelTensors tensors;
  headroom::v1::ModelSummary summary;
  std::string gguf_path;  // set when the model came from a file
};

// An architecture and its names, before a file type is chosen (catalog, config.json, inline).
struct ArchitectureSource {
  headroom::v1::Architecture arch;
  std::string id;
  std::string name;
  // The catalog entry's file types (empty for config.json and inline architectures).
  std::vector<std::string> file_types;
};

// The file type named `name` ("Q4_K_M", case-insensitive); empty = Q4_K_M. InvalidArgument
// naming `field` otherwise.
absl::StatusOr<const catalog::FileTypeTraits*> ParseFileType(const std::string& name,
                                                             const std::string& field);

// The architecture behind a catalog id, config.json path or inline architecture. `field` is
// the ModelRef's name in the request ("model").
absl::StatusOr<ArchitectureSource> ResolveArchitecture(const headroom::v1::ModelRef& ref,
                                                       const Context& context,
                                                       const std::string& field);

// The model `source` would be as a file of type `file_type` (llama.cpp's quantizer rules).
absl::StatusOr<ResolvedModel> ModelAtFileType(const ArchitectureSource& source,
                                              const catalog::FileTypeTraits& file_type);

// PermissionDenied naming `field` unless the context may open files.
absl::Status CheckPathsAllowed(const Context& context, const std::string& field);

// A GGUF file (any shard of a split model) read header-only. `field` names the path in errors.
absl::StatusOr<ResolvedModel> ModelFromGgufFile(const std::string& path, const Context& context,
                                                const std::string& field);

// Any ModelRef: a file, or an architecture at ref.file_type.
absl::StatusOr<ResolvedModel> ResolveModel(const headroom::v1::ModelRef& ref,
                                           const Context& context, const std::string& field);

}  // namespace headroom::engine::internal
