// The FitClient backend that asks a running headroomd over gRPC.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "fit_client.h"
#include "headroom/endpoint/default_endpoint.h"
#include "headroom/v1/service.grpc.pb.h"

namespace headroom::cli {
namespace {

namespace v1 = headroom::v1;

// Fit questions are answered in well under a millisecond; the deadline only guards against a
// daemon that hangs.
constexpr std::chrono::seconds kCallDeadline{30};

absl::Status FromGrpc(const grpc::Status& status, const std::string& endpoint) {
  if (status.ok()) return absl::OkStatus();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("headroomd at ", endpoint, ": ", status.error_message()));
  }
  // gRPC and absl share the canonical code numbers; the daemon's message names the field.
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

class DaemonClient final : public FitClient {
 public:
  DaemonClient(std::string endpoint, std::shared_ptr<grpc::Channel> channel)
      : endpoint_(std::move(endpoint)),
        fit_(v1::FitService::NewStub(channel)),
        hardware_(v1::HardwareService::NewStub(channel)),
        reports_(v1::RunReportService::NewStub(channel)) {}

  absl::StatusOr<v1::Estimate> Estimate(const v1::EstimateRequest& request) override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    v1::Estimate response;
    if (absl::Status s = FromGrpc(fit_->Estimate(&context, request, &response), endpoint_);
        !s.ok()) {
      return s;
    }
    return response;
  }

  absl::StatusOr<v1::Recommendation> Recommend(const v1::RecommendRequest& request) override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    v1::Recommendation response;
    if (absl::Status s = FromGrpc(fit_->Recommend(&context, request, &response), endpoint_);
        !s.ok()) {
      return s;
    }
    return response;
  }

  absl::StatusOr<v1::Hardware> GetHardware() override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    v1::Hardware response;
    if (absl::Status s = FromGrpc(hardware_->Get(&context, {}, &response), endpoint_); !s.ok()) {
      return s;
    }
    return response;
  }

  absl::StatusOr<v1::Calibration> GetCalibration() override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    v1::Calibration response;
    if (absl::Status s = FromGrpc(reports_->GetCalibration(&context, {}, &response), endpoint_);
        !s.ok()) {
      return s;
    }
    return response;
  }

  std::string Describe() const override { return "daemon " + endpoint_; }

 private:
  const std::string endpoint_;
  std::unique_ptr<v1::FitService::Stub> fit_;
  std::unique_ptr<v1::HardwareService::Stub> hardware_;
  std::unique_ptr<v1::RunReportService::Stub> reports_;
};

}  // namespace

// The rule lives in headroom/endpoint/default_endpoint.h, shared with the daemon, the plugin
// and the tray.
std::string DefaultEndpoint() { return endpoint::DefaultEndpoint(); }

std::string EndpointFromEnvironment() { return endpoint::EndpointFromEnvironment(); }

bool SocketFileAbsent(const std::string& endpoint) {
  constexpr std::string_view kUnix = "unix:";
  return endpoint.rfind(kUnix, 0) == 0 && !std::filesystem::exists(endpoint.substr(kUnix.size()));
}

absl::StatusOr<std::unique_ptr<FitClient>> MakeDaemonClient(const std::string& endpoint,
                                                            int timeout_ms) {
  const std::string target = endpoint.empty() ? EndpointFromEnvironment() : endpoint;
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::milliseconds(timeout_ms))) {
    return absl::UnavailableError(
        absl::StrCat("no headroomd answers on ", target, " within ", timeout_ms, " ms"));
  }
  return std::make_unique<DaemonClient>(target, std::move(channel));
}

}  // namespace headroom::cli
