#include "daemon_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"

extern char** environ;

namespace headroom::daemon_test {

TempDir::TempDir() {
  // Short: unix socket paths are limited to 107 bytes.
  std::string pattern = "/tmp/hrd-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void WriteFixture(const std::string& path, const FixtureMemory& memory) {
  std::ostringstream text;
  text << "cpu { model: \"Test CPU\" packages: 1 cores: 8 threads: 16 numa_nodes: 1 "
          "features: \"avx2\" llc_bytes: 33554432 }\n"
       << "ram { total_bytes: " << (64ull << 30)
       << " available_bytes: " << memory.ram_available_bytes << " source: \"fixture\" }\n"
       << "gpus { name: \"" << kFixtureGpuName << "\" vendor_id: 4318 device_id: 9860 "
       << "type: DEVICE_TYPE_DISCRETE_GPU placeable: true memory_total_bytes: " << (24ull << 30)
       << " memory_free_bytes: " << memory.gpu_free_bytes
       << " bandwidth_gbps: 1008 bandwidth_source: SOURCE_TABLE memory_source: SOURCE_REPORTED"
          " fp16_tflops: 165 numa_node: -1 catalog_id: \"rtx-4090\" }\n"
       << "host_bandwidth_gbps: 60\nhost_bandwidth_source: SOURCE_ASSUMED\n"
       << "fingerprint: \"" << kFixtureFingerprint << "\"\n";
  const std::string temp = path + ".tmp";
  std::ofstream(temp) << text.str();
  std::filesystem::rename(temp, path);
}

namespace {

std::vector<std::string> MergedEnv(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    if (env.count(key) == 0 && key != "LISTEN_FDS" && key != "LISTEN_PID") out.push_back(entry);
  }
  for (const auto& [key, value] : env) out.push_back(key + "=" + value);
  return out;
}

pid_t SpawnWithOutput(const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env, const std::string& out) {
  std::vector<std::string> argv_storage = {HEADROOMD_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage = MergedEnv(env);
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

const char* HeadroomdPath() { return HEADROOMD_PATH; }

int RunToExit(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
              std::string* output) {
  TempDir dir;
  const std::string out = dir.path() + "/out";
  const pid_t pid = SpawnWithOutput(args, env, out);
  if (pid < 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  *output = ReadFile(out);
  return ExitCode(status);
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0 && exit_code_ < 0) Stop(SIGKILL);
}

bool DaemonProcess::Spawn(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env,
                          const std::string& log_path) {
  log_path_ = log_path;
  pid_ = SpawnWithOutput(args, env, log_path);
  return pid_ > 0;
}

void DaemonProcess::Adopt(pid_t pid, const std::string& log_path) {
  pid_ = pid;
  log_path_ = log_path;
}

int DaemonProcess::Stop(int signal_number) {
  if (exit_code_ >= 0) return exit_code_;
  kill(pid_, signal_number);
  int status = 0;
  waitpid(pid_, &status, 0);
  exit_code_ = ExitCode(status);
  return exit_code_;
}

bool DaemonProcess::Exited() {
  if (exit_code_ >= 0) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = ExitCode(status);
    return true;
  }
  return false;
}

std::string DaemonProcess::Log() const { return ReadFile(log_path_); }

std::shared_ptr<grpc::Channel> Connect(const std::string& endpoint) {
  return grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials());
}

bool WaitServing(const std::string& endpoint, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto stub = grpc::health::v1::Health::NewStub(Connect(endpoint));
  while (std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    if (stub->Check(&context, request, &response).ok() &&
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

uint64_t RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // kB
  }
  return 0;
}

TestDaemon::TestDaemon(std::vector<std::string> extra_flags, bool listen_unix) {
  WriteFixture(fixture_path(), {});
  std::vector<std::string> flags = base_flags();
  if (listen_unix) flags.push_back("--listen=" + endpoint());
  flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
  if (!process_.Spawn(flags, env(), dir_.path() + "/headroomd.log")) return;
  if (listen_unix) {
    for (int i = 0; i < 40 && !ok_ && !process_.Exited(); ++i) {
      ok_ = WaitServing(endpoint(), std::chrono::milliseconds(500));
    }
    return;
  }
  // Endpoints given by the test: wait for the log line that lists them.
  for (int i = 0; i < 400 && !process_.Exited(); ++i) {
    if (process_.Log().find("serving on") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (process_.Exited()) return;
  const std::string tcp = TcpEndpointFromLog();
  ok_ = tcp.empty() ? process_.Log().find("serving on") != std::string::npos
                    : WaitServing(tcp, std::chrono::seconds(20));
}

TestDaemon::~TestDaemon() { process_.Stop(SIGTERM); }

std::map<std::string, std::string> TestDaemon::env() const {
  return {{"XDG_CONFIG_HOME", dir_.path() + "/config"},
          {"XDG_STATE_HOME", dir_.path() + "/xdg-state"},
          {"XDG_CACHE_HOME", dir_.path() + "/cache"},
          {"XDG_RUNTIME_DIR", dir_.path() + "/run"}};
}

std::vector<std::string> TestDaemon::base_flags() const {
  return {"--fixture=" + fixture_path(), "--refresh-seconds=1", "--state-dir=" + state_dir(),
          "--log-level=debug"};
}

std::shared_ptr<grpc::Channel> TestDaemon::channel() {
  if (channel_ == nullptr) channel_ = Connect(endpoint());
  return channel_;
}

std::string TestDaemon::TcpEndpointFromLog() const {
  static const std::regex kServing(R"(serving on .*?((127\.0\.0\.1|0\.0\.0\.0):[0-9]+))");
  std::smatch match;
  const std::string log = process_.Log();
  if (std::regex_search(log, match, kServing)) return match[1].str();
  return "";
}

}  // namespace headroom::daemon_test
