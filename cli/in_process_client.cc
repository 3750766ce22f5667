// The in-process backend: the built-in catalog and the engine in this process, the live
// machine probed on first need (a question about a hypothetical machine never probes).
#include <optional>

#include "fit_client.h"
#include "headroom/catalog/catalog.h"
#include "headroom/engine/engine.h"
#include "headroom/probe/source.h"

namespace headroom::cli {
namespace {

namespace v1 = headroom::v1;

bool NeedsLive(const v1::HardwareRef& ref) {
  return ref.source_case() == v1::HardwareRef::kLive ||
         ref.source_case() == v1::HardwareRef::SOURCE_NOT_SET;
}

class InProcessClient final : public FitClient {
 public:
  explicit InProcessClient(catalog::Catalog catalog) : catalog_(std::move(catalog)) {}

  absl::StatusOr<v1::Estimate> Estimate(const v1::EstimateRequest& request) override {
    absl::StatusOr<engine::Context> context = ContextFor(request.hardware());
    if (!context.ok()) return context.status();
    return engine::Estimate(request, *context);
  }

  absl::StatusOr<v1::Recommendation> Recommend(const v1::RecommendRequest& request) override {
    absl::StatusOr<engine::Context> context = ContextFor(request.hardware());
    if (!context.ok()) return context.status();
    return engine::Recommend(request, *context);
  }

  absl::StatusOr<v1::Hardware> GetHardware() override {
    if (absl::Status s = ProbeOnce(); !s.ok()) return s;
    return *live_;
  }

  absl::StatusOr<v1::Calibration> GetCalibration() override {
    return absl::FailedPreconditionError(
        "calibration is kept by headroomd from launchers' run reports; no daemon is running");
  }
  std::string Describe() const override { return "in-process"; }

 private:
  absl::Status ProbeOnce() {
    if (live_.has_value()) return absl::OkStatus();
    // A CLI run must answer in well under a second: bandwidth comes from the cache the
    // daemon fills, else from the GPU table.
    probe::LiveOptions options;
    options.measure_bandwidth = false;
    std::unique_ptr<probe::HardwareSource> source = probe::MakeLiveSource(options);
    absl::StatusOr<v1::Hardware> snapshot = source->Snapshot(/*remeasure_bandwidth=*/false);
    if (!snapshot.ok()) return snapshot.status();
    live_ = *std::move(snapshot);
    return absl::OkStatus();
  }

  absl::StatusOr<engine::Context> ContextFor(const v1::HardwareRef& ref) {
    engine::Context context;
    context.catalog = &catalog_;
    context.allow_paths = true;  // our own process, our own files
    if (NeedsLive(ref)) {
      if (absl::Status s = ProbeOnce(); !s.ok()) return s;
      context.live = &*live_;
    }
    return context;
  }

  catalog::Catalog catalog_;
  std::optional<v1::Hardware> live_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FitClient>> MakeInProcessClient() {
  absl::StatusOr<catalog::Catalog> catalog = catalog::Catalog::LoadBuiltin();
  if (!catalog.ok()) return catalog.status();
  return std::make_unique<InProcessClient>(*std::move(catalog));
}

}  // namespace headroom::cli
