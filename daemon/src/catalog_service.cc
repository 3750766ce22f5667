#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services.h"

namespace headroom::daemon {

namespace v1 = headroom::v1;

grpc::Status CatalogServiceImpl::ListModels(grpc::ServerContext* /*context*/,
                                            const v1::ListModelsRequest* request,
                                            v1::ModelList* response) {
  if (request->filter().empty()) {
    *response = *deps_.model_list;
    return grpc::Status::OK;
  }
  const std::string filter = absl::AsciiStrToLower(request->filter());
  for (const v1::CatalogModel& model : deps_.model_list->models()) {
    if (absl::StrContains(absl::AsciiStrToLower(model.spec().id()), filter) ||
        absl::StrContains(absl::AsciiStrToLower(model.spec().name()), filter)) {
      *response->add_models() = model;
    }
  }
  return grpc::Status::OK;
}

grpc::Status CatalogServiceImpl::GetModel(grpc::ServerContext* /*context*/,
                                          const v1::GetModelRequest* request,
                                          v1::CatalogModel* response) {
  if (request->id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "id: required (a catalog model id)");
  }
  const v1::ModelSpec* spec = deps_.catalog->FindModel(request->id());
  if (spec == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("id: no catalog model \"", request->id(),
                                     "\" (Catalog.ListModels lists them)"));
  }
  for (const v1::CatalogModel& model : deps_.model_list->models()) {
    if (model.spec().id() == spec->id()) {
      *response = model;
      return grpc::Status::OK;
    }
  }
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      absl::StrCat("id: \"", spec->id(), "\" is missing from the listing"));
}

}  // namespace headroom::daemon
