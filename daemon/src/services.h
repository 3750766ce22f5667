// The gRPC services of headroomd. Handlers stay thin: validate the request (messages name the
// field), convert, call headroom::engine / the catalog / the calibration store, convert the
// status and finish. Streams end with UNAVAILABLE when the daemon shuts down.
// Every service is thread-safe (sync server: one handler thread per call).
#pragma once

#include <grpcpp/grpcpp.h>

#include "calibration.h"
#include "headroom/catalog/catalog.h"
#include "headroom/engine/engine.h"
#include "headroom/v1/service.grpc.pb.h"
#include "live_state.h"
#include "log.h"
#include "peers.h"

namespace headroom::daemon {

// What every handler reads; owned by the Daemon, outlives the server.
struct ServiceDeps {
  const catalog::Catalog* catalog = nullptr;
  const headroom::v1::ModelList* model_list = nullptr;  // the catalog with computed sizes
  LiveState* live = nullptr;
  CalibrationStore* calibration = nullptr;
  const PeerPolicy* peers = nullptr;
  Logger* log = nullptr;
  engine::ModelCache* models = nullptr;  // catalog models already planned (may be null)
};

// absl and gRPC share the canonical code numbers.
grpc::Status ToGrpc(const absl::Status& status);

// The engine context for one call: the live snapshot at call time, its calibration, and
// whether this peer may name files. Holds the snapshot alive for the call.
struct CallContext {
  Published published;
  std::shared_ptr<const headroom::v1::Calibration> calibration;
  PathAccess paths;
  engine::Context engine;
};
absl::StatusOr<CallContext> MakeCallContext(const ServiceDeps& deps,
                                            const grpc::ServerContext& server_context);

// For a file named in a request (`field` names it in errors): PERMISSION_DENIED when this peer
// may not name files (checked first, so another user learns nothing about the path), then
// INVALID_ARGUMENT when the path cannot name a file: relative, a NUL byte, longer than
// PATH_MAX or a component longer than NAME_MAX.
absl::Status CheckFilePath(const std::string& path, const std::string& field,
                           const PathAccess& access);
// CheckFilePath for `model`'s gguf_path or config_json_path, if it names one.
absl::Status CheckModelPaths(const headroom::v1::ModelRef& model, const std::string& field,
                             const PathAccess& access);

class HardwareServiceImpl final : public headroom::v1::HardwareService::Service {
 public:
  explicit HardwareServiceImpl(ServiceDeps deps) : deps_(deps) {}
  grpc::Status Get(grpc::ServerContext* context, const headroom::v1::GetHardwareRequest* request,
                   headroom::v1::Hardware* response) override;
  grpc::Status Watch(grpc::ServerContext* context,
                     const headroom::v1::WatchHardwareRequest* request,
                     grpc::ServerWriter<headroom::v1::Hardware>* writer) override;

 private:
  ServiceDeps deps_;
};

class FitServiceImpl final : public headroom::v1::FitService::Service {
 public:
  explicit FitServiceImpl(ServiceDeps deps) : deps_(deps) {}
  grpc::Status Estimate(grpc::ServerContext* context, const headroom::v1::EstimateRequest* request,
                        headroom::v1::Estimate* response) override;
  grpc::Status Recommend(grpc::ServerContext* context,
                         const headroom::v1::RecommendRequest* request,
                         headroom::v1::Recommendation* response) override;
  grpc::Status WatchFit(grpc::ServerContext* context, const headroom::v1::WatchFitRequest* request,
                        grpc::ServerWriter<headroom::v1::FitEvent>* writer) override;

 private:
  ServiceDeps deps_;
};

class CatalogServiceImpl final : public headroom::v1::CatalogService::Service {
 public:
  explicit CatalogServiceImpl(ServiceDeps deps) : deps_(deps) {}
  grpc::Status ListModels(grpc::ServerContext* context,
                          const headroom::v1::ListModelsRequest* request,
                          headroom::v1::ModelList* response) override;
  grpc::Status GetModel(grpc::ServerContext* context, const headroom::v1::GetModelRequest* request,
                        headroom::v1::CatalogModel* response) override;

 private:
  ServiceDeps deps_;
};

class RunReportServiceImpl final : public headroom::v1::RunReportService::Service {
 public:
  explicit RunReportServiceImpl(ServiceDeps deps) : deps_(deps) {}
  grpc::Status Report(grpc::ServerContext* context, const headroom::v1::RunReportRequest* request,
                      headroom::v1::RunReportResponse* response) override;
  grpc::Status GetCalibration(grpc::ServerContext* context,
                              const headroom::v1::GetCalibrationRequest* request,
                              headroom::v1::Calibration* response) override;

 private:
  ServiceDeps deps_;
};

// The catalog listing with parameter counts and per-file-type sizes (computed once at start).
absl::StatusOr<headroom::v1::ModelList> BuildModelList(const catalog::Catalog& catalog);

}  // namespace headroom::daemon
