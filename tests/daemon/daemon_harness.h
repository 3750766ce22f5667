// Starts the real headroomd binary for integration tests: a private temporary directory
// (XDG dirs, a hardware fixture whose free memory the test can change, the socket), the
// process itself, and real gRPC channels to it.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace headroom::daemon_test {

// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The recorded machine the tests serve: one RTX 4090 and 64 GiB of RAM.
struct FixtureMemory {
  uint64_t gpu_free_bytes = 22ull << 30;
  uint64_t ram_available_bytes = 48ull << 30;
};
constexpr const char* kFixtureFingerprint = "test-fixture-0001";
constexpr const char* kFixtureGpuName = "NVIDIA GeForce RTX 4090";
// Writes (atomically: temp + rename) the fixture with these free-memory figures.
void WriteFixture(const std::string& path, const FixtureMemory& memory);

// The headroomd binary under test.
const char* HeadroomdPath();

// Runs headroomd to completion (for refusals); returns the exit code and fills `stderr_text`.
int RunToExit(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
              std::string* output);

// A running headroomd.
class DaemonProcess {
 public:
  DaemonProcess() = default;
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess();

  // Spawns headroomd with `args` and `env` (added to this process's environment); stdout and
  // stderr go to `log_path`.
  bool Spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
             const std::string& log_path);
  // Takes over a headroomd the test started itself (fork + exec), logging to `log_path`.
  void Adopt(pid_t pid, const std::string& log_path);
  // Sends `signal_number` and waits; the exit code, or 128 + signal when killed.
  int Stop(int signal_number);
  // Whether the process has exited already (reaps it).
  bool Exited();
  pid_t pid() const { return pid_; }
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string log_path_;
};

std::shared_ptr<grpc::Channel> Connect(const std::string& endpoint);
// Health.Check("") == SERVING within `timeout`.
bool WaitServing(const std::string& endpoint, std::chrono::milliseconds timeout);
// Resident set size of a process, bytes (0 when unknown).
uint64_t RssBytes(pid_t pid);

// The common setup: temp dir, fixture, a daemon on <tmp>/d.sock serving the fixture with a
// 1 s refresh. ASSERT-style failures are reported through gtest in the .cc.
class TestDaemon {
 public:
  // Extra flags are appended; `listen_unix` false leaves --listen to the extra flags.
  explicit TestDaemon(std::vector<std::string> extra_flags = {}, bool listen_unix = true);
  ~TestDaemon();

  bool ok() const { return ok_; }
  const TempDir& dir() const { return dir_; }
  std::string fixture_path() const { return dir_.path() + "/hardware.txtpb"; }
  std::string socket_path() const { return dir_.path() + "/d.sock"; }
  std::string endpoint() const { return "unix:" + socket_path(); }
  std::string state_dir() const { return dir_.path() + "/state"; }
  std::map<std::string, std::string> env() const;
  std::vector<std::string> base_flags() const;
  DaemonProcess& process() { return process_; }
  std::shared_ptr<grpc::Channel> channel();
  // The first "host:port" the log says it serves over TCP; empty when none.
  std::string TcpEndpointFromLog() const;

 private:
  TempDir dir_;
  DaemonProcess process_;
  std::shared_ptr<grpc::Channel> channel_;
  bool ok_ = false;
};

}  // namespace headroom::daemon_test
