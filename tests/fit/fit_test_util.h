// Models the estimator's tests plan on: catalog architectures at a file type (the quantizer's
// plan) and the groundtruth GGUF headers, read with their tensor tables.
#pragma once

#include <string>

#include "headroom/catalog/catalog.h"
#include "headroom/fit/model_tensors.h"

namespace headroom::fit::fixtures {

// The built-in catalog, loaded once.
const catalog::Catalog& TheCatalog();

// Catalog model `id` as a file of type `file_type` ("Q4_K_M"); fails the test when either is
// unknown.
ModelTensors CatalogModel(const std::string& id, const std::string& file_type);

// tests/fixtures/groundtruth/models/<file>, inspected with its tensors.
ModelTensors GroundtruthModel(const std::string& file);

}  // namespace headroom::fit::fixtures
