// headroomd as a library: loads its configuration, owns the live hardware snapshot, the
// catalog and the calibration store, and serves headroom.v1's services (plus grpc.health.v1
// and server reflection) on a unix socket and/or loopback TCP. main.cc only parses flags and
// waits for a signal. Start() and Shutdown() may be called from different threads;
// Shutdown() is idempotent.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headroom/v1/daemon_config.pb.h"

namespace headroom::daemon {

// $XDG_CONFIG_HOME/headroom/headroomd.txtpb (or ~/.config/headroom/headroomd.txtpb).
std::string DefaultConfigPath();

// Parses a text-format DaemonConfig. A missing file is NotFound; a syntax error names the
// file, line and column.
absl::StatusOr<headroom::v1::DaemonConfig> LoadConfigFile(const std::string& path);

// $XDG_STATE_HOME/headroom (or ~/.local/state/headroom).
std::string DefaultStateDir();

class Daemon {
 public:
  // Everything up to "serving": FailedPrecondition when an endpoint is taken (a live daemon's
  // socket is never stolen), InvalidArgument naming the config field otherwise.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const headroom::v1::DaemonConfig& config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Health goes NOT_SERVING, open streams end with UNAVAILABLE, the server stops and the
  // socket file is removed.
  void Shutdown();

  // What the daemon serves, as clients name it ("unix:/run/user/1000/...", "127.0.0.1:50051").
  const std::vector<std::string>& endpoints() const;

 private:
  struct Impl;
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace headroom::daemon
