// The client handle: connection (starting the daemon on demand), the calls, and the
// per-handle last error. Every exported body runs under the handle's mutex inside Guarded(),
// which turns any exception into HR_STATUS_INTERNAL.
#include <chrono>
#include <exception>
#include <new>
#include <utility>

#include "convert.h"
#include "daemon_start.h"
#include "headroom/endpoint/default_endpoint.h"
#include "internal.h"

namespace headroom::plugin {
namespace {

namespace v1 = headroom::v1;

std::chrono::system_clock::time_point Deadline(uint32_t timeout_ms) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms);
}

// Runs `body` with the handle locked; exceptions become HR_STATUS_INTERNAL with a message.
template <typename Body>
hr_status Guarded(hr_client& client, Body body) {
  std::lock_guard<std::mutex> lock(client.mu);
  try {
    client.last_error.clear();
    return body();
  } catch (const std::bad_alloc&) {
    client.last_error = "out of memory";
  } catch (const std::exception& e) {
    client.last_error = std::string("internal error: ") + e.what();
  } catch (...) {
    client.last_error = "internal error";
  }
  return HR_STATUS_INTERNAL;
}

hr_status Fail(hr_client& client, hr_status status, std::string message) {
  client.last_error = std::move(message);
  return status;
}

// Makes the channel; first starts a daemon when a unix endpoint has no listener. mu held.
hr_status Connect(hr_client& client) {
  if (client.channel) return HR_STATUS_OK;
  const std::optional<std::string> socket = UnixSocketPath(client.endpoint);
  if (socket.has_value() && !SocketAccepts(*socket)) {
    if (!client.autostart) {
      return Fail(client, HR_STATUS_UNAVAILABLE,
                  "no daemon answers at " + client.endpoint + " (autostart is off)");
    }
    const std::string daemon = FindDaemon(client.daemon_path);
    if (daemon.empty()) {
      return Fail(client, HR_STATUS_DAEMON_START_FAILED,
                  "no daemon answers at " + client.endpoint +
                      " and headroomd was not found (set HEADROOM_DAEMON or put it on PATH)");
    }
    StartResult started = StartDaemon(daemon, client.endpoint, *socket, client.start_timeout_ms);
    if (started.status != HR_STATUS_OK) {
      return Fail(client, started.status, std::move(started.message));
    }
  }
  grpc::ChannelArguments args;
  // A daemon that just started must not wait out gRPC's default 1 s reconnect backoff. The
  // minimum backoff is left alone: gRPC 1.51 also takes it as the timeout of one connection
  // attempt, and 10 ms there failed every call to a daemon slow to send its first frame (a
  // loaded machine). The call's own deadline bounds the wait.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  client.channel =
      grpc::CreateCustomChannel(client.endpoint, grpc::InsecureChannelCredentials(), args);
  client.fit = v1::FitService::NewStub(client.channel);
  client.run_report = v1::RunReportService::NewStub(client.channel);
  client.hardware = v1::HardwareService::NewStub(client.channel);
  return HR_STATUS_OK;
}

void Disconnect(hr_client& client) {
  client.fit.reset();
  client.run_report.reset();
  client.hardware.reset();
  client.channel.reset();
}

// One RPC with the client's deadline. UNAVAILABLE on the first try gets one retry on a fresh
// channel: the daemon may have been restarted (the old connection is broken) or gone (a unix
// endpoint with autostart then starts one). A call that is not `idempotent` is retried only
// when nothing listens any more, so it cannot have been served. mu held.
template <typename Call>
hr_status Rpc(hr_client& client, const char* what, Call call, bool idempotent = true) {
  for (int attempt = 0;; ++attempt) {
    const hr_status connected = Connect(client);
    if (connected != HR_STATUS_OK) return connected;
    grpc::ClientContext context;
    context.set_deadline(Deadline(client.timeout_ms));
    const grpc::Status status = call(context);
    if (status.ok()) return HR_STATUS_OK;
    const std::optional<std::string> socket = UnixSocketPath(client.endpoint);
    const bool gone = socket.has_value() && !SocketAccepts(*socket);
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE && attempt == 0 &&
        (idempotent || gone)) {
      Disconnect(client);
      continue;
    }
    std::string message = std::string(what) + " at " + client.endpoint + ": ";
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      message += "no answer within " + std::to_string(client.timeout_ms) + " ms";
    } else {
      message += status.error_message();
    }
    return Fail(client, FromGrpc(status), std::move(message));
  }
}

// vLLM: one Estimate at the wanted max_model_len; when the trained context does not fit, a
// second one at the longest the daemon says fits. mu held.
hr_status RecommendVllm(hr_client& client, const v1::RecommendRequest& wire,
                        v1::Recommendation& out) {
  v1::EstimateRequest request;
  ConvertError error = ToVllmEstimateRequest(wire, wire.max_context(), request);
  if (error.status != HR_STATUS_OK) return Fail(client, error.status, std::move(error.message));
  v1::Estimate estimate;
  auto ask = [&](grpc::ClientContext& context) {
    return client.fit->Estimate(&context, request, &estimate);
  };
  hr_status status = Rpc(client, "FitService.Estimate", ask);
  if (status != HR_STATUS_OK) return status;
  const uint32_t longest = estimate.vllm().max_model_len();
  if (estimate.verdict() != v1::VERDICT_FITS && longest > 0 && longest < estimate.n_ctx()) {
    request.mutable_vllm()->set_max_model_len(longest);
    status = Rpc(client, "FitService.Estimate", ask);
    if (status != HR_STATUS_OK) return status;
  }
  out = VllmRecommendation(wire, estimate);
  return HR_STATUS_OK;
}

// vLLM: the gpu_memory_utilization each choice's estimate assumed, from its budget and the
// first GPU's total memory. Unknown (0) when the hardware cannot be read.
void FillUtilization(hr_client& client, hr_result& result) {
  v1::Hardware hardware;
  const hr_status status = Rpc(client, "HardwareService.Get", [&](grpc::ClientContext& context) {
    return client.hardware->Get(&context, v1::GetHardwareRequest(), &hardware);
  });
  client.last_error.clear();
  if (status != HR_STATUS_OK || hardware.gpus_size() == 0 ||
      hardware.gpus(0).memory_total_bytes() == 0) {
    return;
  }
  const auto total = static_cast<double>(hardware.gpus(0).memory_total_bytes());
  auto utilization = [&](const v1::Choice& choice) {
    return static_cast<double>(choice.estimate().vllm().budget_bytes()) / total;
  };
  result.gpu_memory_utilization.push_back(utilization(result.recommendation.pick()));
  for (const v1::Choice& choice : result.recommendation.alternatives()) {
    result.gpu_memory_utilization.push_back(utilization(choice));
  }
}

}  // namespace

hr_status FromGrpc(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return HR_STATUS_OK;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return HR_STATUS_INVALID_ARGUMENT;
    case grpc::StatusCode::NOT_FOUND:
      return HR_STATUS_NOT_FOUND;
    case grpc::StatusCode::UNAVAILABLE:
      return HR_STATUS_UNAVAILABLE;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return HR_STATUS_TIMEOUT;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return HR_STATUS_PERMISSION_DENIED;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return HR_STATUS_FAILED_PRECONDITION;
    default:
      return HR_STATUS_INTERNAL;
  }
}

}  // namespace headroom::plugin

using headroom::plugin::Guarded;

extern "C" {

HR_API hr_status hr_client_create(const hr_client_params* params, hr_client** out) {
  if (out == nullptr) return HR_STATUS_INVALID_ARGUMENT;
  *out = nullptr;
  try {
    hr_client_params p = hr_client_params_default();
    if (params != nullptr && !headroom::plugin::ReadVersioned(*params, p, p)) {
      return HR_STATUS_INVALID_ARGUMENT;
    }
    if (p.timeout_ms == 0 || p.start_timeout_ms == 0) return HR_STATUS_INVALID_ARGUMENT;
    auto client = std::make_unique<hr_client>();
    client->endpoint = p.endpoint != nullptr && p.endpoint[0] != '\0'
                           ? std::string(p.endpoint)
                           : headroom::endpoint::EndpointFromEnvironment();
    client->timeout_ms = p.timeout_ms;
    client->autostart = p.autostart;
    client->start_timeout_ms = p.start_timeout_ms;
    if (p.daemon_path != nullptr) client->daemon_path = p.daemon_path;
    *out = client.release();
    return HR_STATUS_OK;
  } catch (...) {
    return HR_STATUS_INTERNAL;
  }
}

HR_API void hr_client_destroy(hr_client* client) {
  try {
    delete client;
  } catch (...) {
    // A destructor of gRPC state threw: nothing a C caller can do about it.
  }
}

HR_API hr_status hr_client_connect(hr_client* client) {
  if (client == nullptr) return HR_STATUS_INVALID_ARGUMENT;
  return Guarded(*client, [&] {
    const hr_status status = headroom::plugin::Connect(*client);
    if (status != HR_STATUS_OK) return status;
    if (!client->channel->WaitForConnected(headroom::plugin::Deadline(client->start_timeout_ms))) {
      headroom::plugin::Disconnect(*client);
      return headroom::plugin::Fail(*client, HR_STATUS_UNAVAILABLE,
                                    "no daemon answers at " + client->endpoint + " within " +
                                        std::to_string(client->start_timeout_ms) + " ms");
    }
    return HR_STATUS_OK;
  });
}

HR_API size_t hr_client_endpoint(const hr_client* client, char* buf, size_t size) {
  if (client == nullptr) return headroom::plugin::CopyOut("", buf, size);
  return headroom::plugin::CopyOut(client->endpoint, buf, size);
}

HR_API size_t hr_client_last_error(hr_client* client, char* buf, size_t size) {
  if (client == nullptr) return headroom::plugin::CopyOut("", buf, size);
  try {
    std::lock_guard<std::mutex> lock(client->mu);
    return headroom::plugin::CopyOut(client->last_error, buf, size);
  } catch (...) {
    return headroom::plugin::CopyOut("", buf, size);
  }
}

HR_API hr_status hr_recommend(hr_client* client, const hr_request* request, hr_result** out) {
  if (out != nullptr) *out = nullptr;
  if (client == nullptr) return HR_STATUS_INVALID_ARGUMENT;
  return Guarded(*client, [&] {
    if (request == nullptr || out == nullptr) {
      return headroom::plugin::Fail(*client, HR_STATUS_INVALID_ARGUMENT,
                                    request == nullptr ? "request: NULL" : "out: NULL");
    }
    hr_request r = hr_request_default();
    if (!headroom::plugin::ReadVersioned(*request, r, r)) {
      return headroom::plugin::Fail(
          *client, HR_STATUS_INVALID_ARGUMENT,
          "request.struct_size: " + std::to_string(request->struct_size) + " is too small");
    }
    headroom::v1::RecommendRequest wire;
    headroom::plugin::ConvertError error = headroom::plugin::ToRecommendRequest(r, wire);
    if (error.status != HR_STATUS_OK) {
      return headroom::plugin::Fail(*client, error.status, std::move(error.message));
    }
    auto result = std::make_unique<hr_result>();
    auto recommend = [&](grpc::ClientContext& context) {
      return client->fit->Recommend(&context, wire, &result->recommendation);
    };
    const hr_status status =
        r.runtime == HR_RUNTIME_VLLM
            ? headroom::plugin::RecommendVllm(*client, wire, result->recommendation)
            : headroom::plugin::Rpc(*client, "FitService.Recommend", recommend);
    if (status != HR_STATUS_OK) return status;
    if (r.runtime == HR_RUNTIME_VLLM) headroom::plugin::FillUtilization(*client, *result);
    *out = result.release();
    return HR_STATUS_OK;
  });
}

HR_API hr_status hr_report_run(hr_client* client, const hr_run_report* report,
                               uint32_t* calibration_samples) {
  if (calibration_samples != nullptr) *calibration_samples = 0;
  if (client == nullptr) return HR_STATUS_INVALID_ARGUMENT;
  return Guarded(*client, [&] {
    if (report == nullptr) {
      return headroom::plugin::Fail(*client, HR_STATUS_INVALID_ARGUMENT, "report: NULL");
    }
    hr_run_report r = hr_run_report_default();
    if (!headroom::plugin::ReadVersioned(*report, r, r)) {
      return headroom::plugin::Fail(
          *client, HR_STATUS_INVALID_ARGUMENT,
          "report.struct_size: " + std::to_string(report->struct_size) + " is too small");
    }
    headroom::v1::RunReportRequest wire;
    headroom::plugin::ConvertError error = headroom::plugin::ToRunReportRequest(r, wire);
    if (error.status != HR_STATUS_OK) {
      return headroom::plugin::Fail(*client, error.status, std::move(error.message));
    }
    headroom::v1::RunReportResponse response;
    const hr_status status = headroom::plugin::Rpc(
        *client, "RunReportService.Report",
        [&](grpc::ClientContext& context) {
          return client->run_report->Report(&context, wire, &response);
        },
        /*idempotent=*/false);
    if (status == HR_STATUS_OK && calibration_samples != nullptr) {
      *calibration_samples = response.calibration().samples();
    }
    return status;
  });
}

}  // extern "C"
