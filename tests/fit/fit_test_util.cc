#include "fit_test_util.h"

#include <utility>

#include "gtest/gtest.h"
#include "headroom/catalog/ggml_types.h"
#include "headroom/catalog/gguf.h"
#include "headroom/catalog/gguf_inspect.h"
#include "headroom/catalog/quant_plan.h"
#include "test_util.h"

namespace headroom::fit::fixtures {

const catalog::Catalog& TheCatalog() {
  static const catalog::Catalog* const kCatalog = [] {
    absl::StatusOr<catalog::Catalog> c = catalog::Catalog::LoadBuiltin();
    EXPECT_TRUE(c.ok()) << c.status();
    return new catalog::Catalog(*std::move(c));
  }();
  return *kCatalog;
}

ModelTensors CatalogModel(const std::string& id, const std::string& file_type) {
  const headroom::v1::ModelSpec* spec = TheCatalog().FindModel(id);
  const catalog::FileTypeTraits* ft = catalog::FindFileTypeByName(file_type);
  if (spec == nullptr || ft == nullptr) {
    ADD_FAILURE() << "no catalog model " << id << " at " << file_type;
    return {};
  }
  auto planned = catalog::PlanQuantization(spec->architecture(), ft->id);
  EXPECT_TRUE(planned.ok()) << planned.status();
  if (!planned.ok()) return {};
  auto model = ModelFromPlan(spec->architecture(), *planned);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *std::move(model) : ModelTensors{};
}

ModelTensors GroundtruthModel(const std::string& file) {
  auto gguf = catalog::ReadGgufModel(headroom::testing::FixturePath("groundtruth/models/" + file));
  EXPECT_TRUE(gguf.ok()) << gguf.status();
  if (!gguf.ok()) return {};
  auto inspection = catalog::InspectGguf(*gguf, {.include_tensors = true});
  EXPECT_TRUE(inspection.ok()) << inspection.status();
  if (!inspection.ok()) return {};
  auto model = ModelFromInspection(*inspection);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *std::move(model) : ModelTensors{};
}

}  // namespace headroom::fit::fixtures
