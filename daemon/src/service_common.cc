// Shared pieces of the handlers: status conversion, the per-call engine context, path checks,
// and the catalog listing.
#include <fmt/format.h>

#include "absl/strings/str_cat.h"
#include "headroom/catalog/ggml_types.h"
#include "headroom/catalog/quant_plan.h"
#include "headroom/catalog/tensor_layout.h"
#include "services.h"

namespace headroom::daemon {

namespace v1 = headroom::v1;

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  static_assert(static_cast<int>(absl::StatusCode::kUnauthenticated) ==
                static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  static_assert(static_cast<int>(absl::StatusCode::kInvalidArgument) ==
                static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  const int code = static_cast<int>(status.code());
  if (code < 0 || code > static_cast<int>(grpc::StatusCode::UNAUTHENTICATED)) {
    return grpc::Status(grpc::StatusCode::UNKNOWN, std::string(status.message()));
  }
  return grpc::Status(static_cast<grpc::StatusCode>(code), std::string(status.message()));
}

absl::StatusOr<CallContext> MakeCallContext(const ServiceDeps& deps,
                                            const grpc::ServerContext& server_context) {
  CallContext call;
  call.published = deps.live->Current();
  if (call.published.shutting_down) return absl::UnavailableError("headroomd is shutting down");
  absl::StatusOr<std::shared_ptr<const v1::Calibration>> calibration =
      deps.calibration->Get(call.published.hardware->fingerprint());
  if (!calibration.ok()) {
    // A damaged calibration file must not stop estimates: answer uncalibrated, say why once.
    deps.log->Warning("calibration ignored: {}", calibration.status().ToString());
  } else {
    call.calibration = *std::move(calibration);
  }
  call.paths = deps.peers->ForPeer(server_context.peer());
  call.engine.catalog = deps.catalog;
  call.engine.live = call.published.hardware.get();
  call.engine.allow_paths = call.paths.allowed;
  call.engine.calibration = call.calibration.get();
  call.engine.model_cache = deps.models;
  return call;
}

absl::Status CheckModelPaths(const v1::ModelRef& model, const std::string& field,
                             const PathAccess& access) {
  if (access.allowed) return absl::OkStatus();
  if (model.source_case() == v1::ModelRef::kGgufPath) {
    return absl::PermissionDeniedError(absl::StrCat(field, ".gguf_path: ", access.why_not));
  }
  if (model.source_case() == v1::ModelRef::kConfigJsonPath) {
    return absl::PermissionDeniedError(absl::StrCat(field, ".config_json_path: ", access.why_not));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ModelList> BuildModelList(const catalog::Catalog& cat) {
  v1::ModelList list;
  for (const v1::ModelSpec& spec : cat.models()) {
    v1::CatalogModel* m = list.add_models();
    *m->mutable_spec() = spec;
    absl::StatusOr<v1::ParameterCount> params = catalog::CountParameters(spec.architecture());
    if (!params.ok()) {
      return absl::Status(params.status().code(),
                          absl::StrCat("model \"", spec.id(), "\": ", params.status().message()));
    }
    *m->mutable_parameters() = *params;
    for (const std::string& name : spec.file_types()) {
      const catalog::FileTypeTraits* ft = catalog::FindFileTypeByName(name);
      if (ft == nullptr) continue;  // ValidateModel refused unknown names at load
      absl::StatusOr<uint64_t> bytes = catalog::EstimateTensorBytes(spec.architecture(), ft->id);
      if (!bytes.ok()) {
        return absl::Status(
            bytes.status().code(),
            absl::StrCat("model \"", spec.id(), "\" at ", name, ": ", bytes.status().message()));
      }
      v1::FileTypeSize* size = m->add_sizes();
      size->set_file_type(std::string(ft->name));
      size->set_tensor_bytes(*bytes);
    }
  }
  return list;
}

}  // namespace headroom::daemon
