// Where headroomd listens by default and where its clients look for it: the one rule shared
// by the daemon, the CLI, libheadroom and the tray (each used to carry its own copy, and they
// disagreed on a relative XDG_RUNTIME_DIR). Header-only and free of proto and gRPC, so
// libheadroom can use it and stay small.
// Thread-compatible: the functions read the environment (getenv), so they must not race with
// setenv/unsetenv in another thread.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace headroom::endpoint {

// The variable that names the daemon's endpoint for every client ("unix:/path", "host:port").
inline constexpr const char* kEndpointVariable = "HEADROOM_ENDPOINT";

// $XDG_RUNTIME_DIR/headroom/headroomd.sock, or /tmp/headroom-<uid>/headroomd.sock when
// XDG_RUNTIME_DIR is unset, empty or relative (the XDG base directory spec says to ignore a
// relative value).
inline std::string DefaultSocketPath() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  if (runtime != nullptr && runtime[0] == '/') {
    return std::string(runtime) + "/headroom/headroomd.sock";
  }
  return "/tmp/headroom-" + std::to_string(::getuid()) + "/headroomd.sock";
}

// "unix:" + DefaultSocketPath().
inline std::string DefaultEndpoint() { return "unix:" + DefaultSocketPath(); }

// $HEADROOM_ENDPOINT when set and not empty, else DefaultEndpoint(). What a client connects to
// when nothing more specific (a flag, a config file, a parameter) names the endpoint.
inline std::string EndpointFromEnvironment() {
  const char* from_env = std::getenv(kEndpointVariable);
  if (from_env != nullptr && from_env[0] != '\0') return from_env;
  return DefaultEndpoint();
}

}  // namespace headroom::endpoint
