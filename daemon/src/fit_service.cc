#include <chrono>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services.h"

namespace headroom::daemon {
namespace {

namespace v1 = headroom::v1;

constexpr uint64_t kDefaultWatchMarginBytes = 512ull << 20;
constexpr int kMaxWatchedModels = 256;
constexpr std::chrono::milliseconds kCancelPoll{500};

absl::Status ValidateWatch(const v1::WatchFitRequest& request, const PathAccess& access) {
  if (request.models().empty()) {
    return absl::InvalidArgumentError("models: at least one model to watch is required");
  }
  if (request.models_size() > kMaxWatchedModels) {
    return absl::InvalidArgumentError(
        absl::StrCat("models: ", request.models_size(), " entries, at most ", kMaxWatchedModels));
  }
  std::set<std::string> keys;
  for (int i = 0; i < request.models_size(); ++i) {
    const v1::WatchedModel& watched = request.models(i);
    const std::string field = absl::StrCat("models[", i, "]");
    if (watched.key().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".key: required (echoed in events)"));
    }
    if (!keys.insert(watched.key()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".key: \"", watched.key(), "\" is used twice"));
    }
    if (!watched.has_estimate() || !watched.estimate().has_model()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".estimate.model: required"));
    }
    if (absl::Status s =
            CheckModelPaths(watched.estimate().model(), field + ".estimate.model", access);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

uint64_t GpuUsedByOthers(const v1::Hardware& hardware) {
  uint64_t used = 0;
  for (const v1::GpuDevice& gpu : hardware.gpus()) {
    if (gpu.memory_total_bytes() > gpu.memory_free_bytes()) {
      used += gpu.memory_total_bytes() - gpu.memory_free_bytes();
    }
  }
  return used;
}

// What a watcher last told its client about one model.
struct Watched {
  bool sent = false;
  v1::Verdict verdict = v1::VERDICT_UNSPECIFIED;
  int64_t headroom_bytes = 0;
  std::string error;
};

// The event to send for one model now, if any: the first answer, a verdict change, a margin
// crossing, or a new error.
std::optional<v1::FitEvent> Evaluate(const v1::WatchedModel& model, const engine::Context& context,
                                     int64_t margin, uint64_t used_by_others, Watched& state) {
  absl::StatusOr<v1::Estimate> estimate = engine::Estimate(model.estimate(), context);
  v1::FitEvent event;
  event.set_key(model.key());
  event.set_previous_verdict(state.verdict);
  event.set_previous_headroom_bytes(state.headroom_bytes);
  event.set_gpu_used_by_others_bytes(used_by_others);
  if (!estimate.ok()) {
    const std::string error = estimate.status().ToString();
    if (state.sent && state.error == error) return std::nullopt;
    event.set_change("error");
    event.set_error(error);
    state = {true, v1::VERDICT_UNSPECIFIED, 0, error};
    return event;
  }
  const bool crossed = (state.headroom_bytes >= margin) != (estimate->headroom_bytes() >= margin);
  if (!state.sent) {
    event.set_change("initial");
  } else if (!state.error.empty() || state.verdict != estimate->verdict()) {
    event.set_change("verdict");
  } else if (crossed) {
    event.set_change("margin");
  } else {
    return std::nullopt;
  }
  state = {true, estimate->verdict(), estimate->headroom_bytes(), ""};
  *event.mutable_estimate() = *std::move(estimate);
  return event;
}

}  // namespace

grpc::Status FitServiceImpl::Estimate(grpc::ServerContext* context,
                                      const v1::EstimateRequest* request, v1::Estimate* response) {
  absl::StatusOr<CallContext> call = MakeCallContext(deps_, *context);
  if (!call.ok()) return ToGrpc(call.status());
  if (!request->has_model()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "model: required (catalog_id, gguf_path, config_json_path or "
                        "architecture)");
  }
  if (absl::Status s = CheckModelPaths(request->model(), "model", call->paths); !s.ok()) {
    return ToGrpc(s);
  }
  absl::StatusOr<v1::Estimate> estimate = engine::Estimate(*request, call->engine);
  if (!estimate.ok()) return ToGrpc(estimate.status());
  *response = *std::move(estimate);
  return grpc::Status::OK;
}

grpc::Status FitServiceImpl::Recommend(grpc::ServerContext* context,
                                       const v1::RecommendRequest* request,
                                       v1::Recommendation* response) {
  absl::StatusOr<CallContext> call = MakeCallContext(deps_, *context);
  if (!call.ok()) return ToGrpc(call.status());
  if (!request->has_model() && request->gguf_paths().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "model: required (or gguf_paths: candidate files)");
  }
  if (absl::Status s = CheckModelPaths(request->model(), "model", call->paths); !s.ok()) {
    return ToGrpc(s);
  }
  for (int i = 0; i < request->gguf_paths_size(); ++i) {
    if (absl::Status s =
            CheckFilePath(request->gguf_paths(i), absl::StrCat("gguf_paths[", i, "]"), call->paths);
        !s.ok()) {
      return ToGrpc(s);
    }
  }
  absl::StatusOr<v1::Recommendation> pick = engine::Recommend(*request, call->engine);
  if (!pick.ok()) return ToGrpc(pick.status());
  *response = *std::move(pick);
  return grpc::Status::OK;
}

grpc::Status FitServiceImpl::WatchFit(grpc::ServerContext* context,
                                      const v1::WatchFitRequest* request,
                                      grpc::ServerWriter<v1::FitEvent>* writer) {
  absl::StatusOr<CallContext> call = MakeCallContext(deps_, *context);
  if (!call.ok()) return ToGrpc(call.status());
  if (absl::Status s = ValidateWatch(*request, call->paths); !s.ok()) return ToGrpc(s);
  const auto margin = static_cast<int64_t>(request->has_margin_bytes() ? request->margin_bytes()
                                                                       : kDefaultWatchMarginBytes);
  std::vector<Watched> states(static_cast<size_t>(request->models_size()));
  uint64_t evaluated_version = 0;
  while (!context->IsCancelled()) {
    if (call->published.shutting_down) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "headroomd is shutting down");
    }
    if (call->published.version != evaluated_version) {
      const uint64_t others = GpuUsedByOthers(*call->published.hardware);
      for (int i = 0; i < request->models_size(); ++i) {
        std::optional<v1::FitEvent> event = Evaluate(request->models(i), call->engine, margin,
                                                     others, states[static_cast<size_t>(i)]);
        if (event && !writer->Write(*event)) return grpc::Status::OK;  // the client left
      }
      evaluated_version = call->published.version;
    }
    const Published next = deps_.live->WaitNewer(evaluated_version, kCancelPoll);
    absl::StatusOr<CallContext> refreshed = MakeCallContext(deps_, *context);
    if (!refreshed.ok() || next.shutting_down) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "headroomd is shutting down");
    }
    call = std::move(refreshed);
  }
  return grpc::Status::CANCELLED;
}

}  // namespace headroom::daemon
