#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "services.h"

namespace headroom::daemon {
namespace {

namespace v1 = headroom::v1;

absl::Status ValidateSpeed(double value, const char* field) {
  if (!std::isfinite(value) || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be a finite number >= 0 (0 = not measured), got ", value));
  }
  return absl::OkStatus();
}

absl::Status ValidateReport(const v1::RunReportRequest& report) {
  if (!report.has_estimate() || !report.estimate().has_model()) {
    return absl::InvalidArgumentError(
        "estimate.model: required (the question that was asked for this run)");
  }
  const v1::HardwareRef& hardware = report.estimate().hardware();
  if (hardware.source_case() != v1::HardwareRef::SOURCE_NOT_SET &&
      hardware.source_case() != v1::HardwareRef::kLive) {
    return absl::InvalidArgumentError(
        "estimate.hardware: a run report calibrates the live machine; leave hardware unset or "
        "live");
  }
  if (absl::Status s = ValidateSpeed(report.decode_tok_s(), "decode_tok_s"); !s.ok()) return s;
  if (absl::Status s = ValidateSpeed(report.prefill_tok_s(), "prefill_tok_s"); !s.ok()) return s;
  std::set<std::string> names;
  for (int i = 0; i < report.devices_size(); ++i) {
    const v1::MeasuredDevice& device = report.devices(i);
    if (device.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "devices[", i, "].name: required (a GPU name of the estimate, or \"host\")"));
    }
    if (!names.insert(device.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("devices[", i, "].name: \"", device.name(), "\" is reported twice"));
    }
    if (device.used_bytes() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("devices[", i, "].used_bytes: required (> 0)"));
    }
  }
  if (report.devices().empty() && report.decode_tok_s() == 0 && report.prefill_tok_s() == 0) {
    return absl::InvalidArgumentError(
        "devices, decode_tok_s, prefill_tok_s: nothing measured; report at least one");
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status RunReportServiceImpl::Report(grpc::ServerContext* context,
                                          const v1::RunReportRequest* request,
                                          v1::RunReportResponse* response) {
  absl::StatusOr<CallContext> call = MakeCallContext(deps_, *context);
  if (!call.ok()) return ToGrpc(call.status());
  if (absl::Status s = ValidateReport(*request); !s.ok()) return ToGrpc(s);
  if (absl::Status s = CheckModelPaths(request->estimate().model(), "estimate.model", call->paths);
      !s.ok()) {
    return ToGrpc(s);
  }
  // Compare with the uncalibrated prediction, so corrections never compound.
  engine::Context raw = call->engine;
  raw.calibration = nullptr;
  absl::StatusOr<v1::Estimate> predicted = engine::Estimate(request->estimate(), raw);
  if (!predicted.ok()) return ToGrpc(predicted.status());
  const std::string& fingerprint = call->published.hardware->fingerprint();
  absl::StatusOr<v1::Calibration> calibration =
      deps_.calibration->Add(fingerprint, *request, *predicted);
  if (!calibration.ok()) return ToGrpc(calibration.status());
  deps_.log->Info("run report folded in for {} ({} samples; decode x{:.3f}, prefill x{:.3f})",
                  fingerprint, calibration->samples(), calibration->decode_scale(),
                  calibration->prefill_scale());
  *response->mutable_calibration() = *std::move(calibration);
  *response->mutable_predicted() = *std::move(predicted);
  return grpc::Status::OK;
}

grpc::Status RunReportServiceImpl::GetCalibration(grpc::ServerContext* context,
                                                  const v1::GetCalibrationRequest* /*request*/,
                                                  v1::Calibration* response) {
  absl::StatusOr<CallContext> call = MakeCallContext(deps_, *context);
  if (!call.ok()) return ToGrpc(call.status());
  absl::StatusOr<std::shared_ptr<const v1::Calibration>> calibration =
      deps_.calibration->Get(call->published.hardware->fingerprint());
  if (!calibration.ok()) return ToGrpc(calibration.status());
  *response = **calibration;
  return grpc::Status::OK;
}

}  // namespace headroom::daemon
