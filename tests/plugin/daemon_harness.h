// A scratch world for one test: XDG directories under a temp dir (so the default endpoint is
// the test's own socket), the real headroomd started with a hardware fixture, and a wrapper
// that lets libheadroom start it on demand with that fixture. Every daemon it started, itself
// or through the library, is stopped by process id (found with SO_PEERCRED) at the end.
#pragma once

#include <sys/types.h>

#include <string>

namespace headroom::plugin_test {

// tests/fixtures/plugin/<name>.txtpb
std::string Fixture(const std::string& name);

class DaemonHarness {
 public:
  DaemonHarness();
  ~DaemonHarness();
  DaemonHarness(const DaemonHarness&) = delete;
  DaemonHarness& operator=(const DaemonHarness&) = delete;

  // The scratch directory.
  const std::string& dir() const { return dir_; }
  // unix:$XDG_RUNTIME_DIR/headroom/headroomd.sock of this harness.
  std::string endpoint() const { return "unix:" + socket_path_; }
  const std::string& socket_path() const { return socket_path_; }

  // Writes a wrapper running headroomd with `fixture_path` and points HEADROOM_DAEMON at it.
  std::string UseFixtureForAutostart(const std::string& fixture_path);

  // Starts headroomd with `fixture_path` on endpoint() and waits for its socket. Empty on
  // success, else why not.
  std::string Start(const std::string& fixture_path);

  // Stops whatever daemon listens on the socket now (SIGTERM to its pid) and waits.
  void Stop();

  // Whether a daemon accepts on the socket.
  bool Running() const;

  // The process id of the daemon listening on the socket, or -1.
  pid_t Pid() const;

 private:
  std::string dir_;
  std::string socket_path_;
};

}  // namespace headroom::plugin_test
