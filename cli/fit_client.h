// The one interface the CLI asks fit questions through, with two backends: the daemon over
// gRPC (default when one answers) and in-process (engine + live probe) when no daemon is
// wanted or none runs. Both return the wire messages, so output is the same either way.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "headroom/v1/fit.pb.h"
#include "headroom/v1/hardware.pb.h"
#include "headroom/v1/service.pb.h"

namespace headroom::cli {

class FitClient {
 public:
  virtual ~FitClient() = default;
  virtual absl::StatusOr<headroom::v1::Estimate> Estimate(
      const headroom::v1::EstimateRequest& request) = 0;
  virtual absl::StatusOr<headroom::v1::Recommendation> Recommend(
      const headroom::v1::RecommendRequest& request) = 0;
  virtual absl::StatusOr<headroom::v1::Hardware> GetHardware() = 0;
  // The live machine's calibration from run reports (samples = 0: none yet). Only the daemon
  // keeps one: FailedPrecondition in-process.
  virtual absl::StatusOr<headroom::v1::Calibration> GetCalibration() = 0;
  // "daemon unix:/run/user/1000/headroom/headroomd.sock" or "in-process".
  virtual std::string Describe() const = 0;
};

// In-process: loads the built-in catalog and probes the live machine once (no bandwidth
// measurement unless cached). Defined in in_process_client.cc.
absl::StatusOr<std::unique_ptr<FitClient>> MakeInProcessClient();

// A daemon at `endpoint` ("unix:/path", "host:port"; empty = HEADROOM_ENDPOINT or the default
// socket). Unavailable when nothing answers within `timeout_ms`. Defined in daemon_client.cc.
absl::StatusOr<std::unique_ptr<FitClient>> MakeDaemonClient(const std::string& endpoint,
                                                            int timeout_ms = 1000);

// The default endpoint: unix:$XDG_RUNTIME_DIR/headroom/headroomd.sock, or
// unix:/tmp/headroom-<uid>/headroomd.sock when XDG_RUNTIME_DIR is unset.
std::string DefaultEndpoint();

// HEADROOM_ENDPOINT when set, else DefaultEndpoint().
std::string EndpointFromEnvironment();

// True when `endpoint` is a unix socket whose file does not exist: no daemon can answer, so
// callers skip the connection attempt and its timeout.
bool SocketFileAbsent(const std::string& endpoint);

}  // namespace headroom::cli
