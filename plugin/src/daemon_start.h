// Finding the daemon's endpoint and starting headroomd on demand, the way gpg-agent is
// started: a detached process (double fork, new session) whose stdio goes to a log file
// beside its socket, then a bounded wait for the socket to accept. Thread-compatible: the
// caller serializes starts per client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "headroom/headroom.h"

namespace headroom::plugin {

// The socket path of a "unix:/path" or "unix:///path" endpoint; nullopt for TCP endpoints.
std::optional<std::string> UnixSocketPath(const std::string& endpoint);

// Whether something accepts connections on the unix socket now (no gRPC involved).
bool SocketAccepts(const std::string& socket_path);

struct StartResult {
  hr_status status = HR_STATUS_OK;
  std::string message;  // why it failed, with the daemon's last log line
};

// The daemon executable: `configured` when set, else $HEADROOM_DAEMON, else headroomd in the
// bin directory beside this library's lib directory, else headroomd on PATH. Empty when none.
std::string FindDaemon(const std::string& configured);

// Starts `daemon` listening on `endpoint` (a unix endpoint with socket `socket_path`) and waits
// up to `timeout_ms` for the socket to accept. Succeeds at once if another client's daemon
// wins the race to the socket.
StartResult StartDaemon(const std::string& daemon, const std::string& endpoint,
                        const std::string& socket_path, uint32_t timeout_ms);

}  // namespace headroom::plugin
