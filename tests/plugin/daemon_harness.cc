#include "daemon_harness.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "process.h"

namespace headroom::plugin_test {
namespace {

// The pid of the process listening on a unix socket, or -1.
pid_t ListenerPid(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  pid_t pid = -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0) {
      pid = credentials.pid;
    }
  }
  ::close(fd);
  return pid;
}

}  // namespace

std::string Fixture(const std::string& name) {
  return std::string(HEADROOM_FIXTURES_DIR) + "/plugin/" + name + ".txtpb";
}

DaemonHarness::DaemonHarness() : dir_(MakeTempDir()) {
  for (const char* sub : {"/run", "/state", "/config", "/cache"}) {
    std::filesystem::create_directories(dir_ + sub);
  }
  ::setenv("XDG_RUNTIME_DIR", (dir_ + "/run").c_str(), 1);
  ::setenv("XDG_STATE_HOME", (dir_ + "/state").c_str(), 1);
  ::setenv("XDG_CONFIG_HOME", (dir_ + "/config").c_str(), 1);
  ::setenv("XDG_CACHE_HOME", (dir_ + "/cache").c_str(), 1);
  ::unsetenv("HEADROOM_ENDPOINT");
  ::unsetenv("HEADROOM_DAEMON");
  socket_path_ = dir_ + "/run/headroom/headroomd.sock";
}

DaemonHarness::~DaemonHarness() {
  Stop();
  RemoveTree(dir_);
}

std::string DaemonHarness::UseFixtureForAutostart(const std::string& fixture_path) {
  const std::string wrapper = dir_ + "/headroomd-fixture";
  WriteFile(wrapper,
            "#!/bin/sh\nexec " + Quote(HEADROOM_DAEMON_PATH) + " --fixture " + Quote(fixture_path) +
                " --state-dir " + Quote(dir_ + "/state") + " \"$@\"\n",
            /*executable=*/true);
  ::setenv("HEADROOM_DAEMON", wrapper.c_str(), 1);
  return wrapper;
}

std::string DaemonHarness::Start(const std::string& fixture_path) {
  std::filesystem::create_directories(dir_ + "/run/headroom");
  const std::string log = dir_ + "/headroomd-started.log";
  const Output started = RunShell(Quote(HEADROOM_DAEMON_PATH) + " --listen " + Quote(endpoint()) +
                                  " --fixture " + Quote(fixture_path) + " --state-dir " +
                                  Quote(dir_ + "/state") + " > " + Quote(log) + " 2>&1 & echo");
  if (started.exit_code != 0) return "cannot run headroomd: " + started.text;
  for (int i = 0; i < 1000 && !Running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Running() ? std::string() : "headroomd did not start: " + ReadFile(log);
}

void DaemonHarness::Stop() {
  const pid_t pid = ListenerPid(socket_path_);
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 500 && ListenerPid(socket_path_) == pid; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool DaemonHarness::Running() const { return ListenerPid(socket_path_) > 0; }
pid_t DaemonHarness::Pid() const { return ListenerPid(socket_path_); }

}  // namespace headroom::plugin_test
