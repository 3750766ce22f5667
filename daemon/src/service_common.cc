// Shared pieces of the handlers: status conversion, the per-call engine context, path checks,
// and the catalog listing.
#include <fmt/format.h>
#include <limits.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "headroom/catalog/ggml_types.h"
#include "headroom/catalog/quant_plan.h"
#include "headroom/catalog/tensor_layout.h"
#include "services.h"

namespace headroom::daemon {

namespace v1 = headroom::v1;

// How much of a refused path an error message repeats.
constexpr size_t kMaxPathEcho = 80;

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

absl::Status CheckFilePath(const std::string& path, const std::string& field,
                           const PathAccess& access) {
  if (!access.allowed) {
    return absl::PermissionDeniedError(absl::StrCat(field, ": ", access.why_not));
  }
  // The daemon opens the path itself: what the kernel would refuse for its form (not for
  // who asks) is the caller's mistake, INVALID_ARGUMENT, never PERMISSION_DENIED.
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", absl::CHexEscape(path.substr(0, kMaxPathEcho)),
                     "\" is not an absolute path (headroomd's working directory is not the "
                     "caller's)"));
  }
  if (path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": contains a NUL byte"));
  }
  if (path.size() >= PATH_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", path.size(), " bytes, the limit is ", PATH_MAX - 1));
  }
  for (const absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.size() > NAME_MAX) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": a path component is ", part.size(),
                                                     " bytes, the limit is ", NAME_MAX));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckModelPaths(const v1::ModelRef& model, const std::string& field,
                             const PathAccess& access) {
  if (model.source_case() == v1::ModelRef::kGgufPath) {
    return CheckFilePath(model.gguf_path(), field + ".gguf_path", access);
  }
  if (model.source_case() == v1::ModelRef::kConfigJsonPath) {
    return CheckFilePath(model.config_json_path(), field + ".config_json_path", access);
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
