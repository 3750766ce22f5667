// libheadroom round trips against the real daemon (headroomd serving the 8 GiB GPU fixture of
// tests/fixtures/plugin). Run: build/bench/plugin_bench
//   BM_RecommendCatalog  - a catalog id (llama-3.1-8b, every quant): the wire and the recommender
//   BM_RecommendFiles    - the 8 groundtruth llama-gqa-*.gguf files (glob, headers read)
//   BM_ColdStart         - no daemon running: create, start on demand, first answer
// p50_us / p99_us counters are the per-call latencies (targets: p50 <= 1 ms warm, <= 1 s cold).
// Links libheadroom only: never the proto libraries (one process registers each .proto once).
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "headroom/headroom.h"

namespace {

using Clock = std::chrono::steady_clock;

const std::string kFixture = std::string(HEADROOM_FIXTURES_DIR) + "/plugin/gpu_8gib.txtpb";

pid_t ListenerPid(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  pid_t pid = -1;
  if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0) {
      pid = credentials.pid;
    }
  }
  if (fd >= 0) ::close(fd);
  return pid;
}

// A scratch XDG_RUNTIME_DIR and a HEADROOM_DAEMON wrapper serving the fixture; the daemon
// libheadroom starts there is stopped (by its pid) on destruction.
class Scratch {
 public:
  Scratch() {
    char pattern[] = "/tmp/hrbench-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    ::setenv("XDG_RUNTIME_DIR", dir_.c_str(), 1);
    ::setenv("XDG_STATE_HOME", dir_.c_str(), 1);
    ::unsetenv("HEADROOM_ENDPOINT");
    const std::string wrapper = dir_ + "/headroomd-fixture";
    FILE* f = std::fopen(wrapper.c_str(), "w");
    std::fprintf(f, "#!/bin/sh\nexec '%s' --fixture '%s' --state-dir '%s' \"$@\"\n",
                 HEADROOM_DAEMON_PATH, kFixture.c_str(), dir_.c_str());
    std::fclose(f);
    ::chmod(wrapper.c_str(), 0755);
    ::setenv("HEADROOM_DAEMON", wrapper.c_str(), 1);
    socket_ = dir_ + "/headroom/headroomd.sock";
  }
  ~Scratch() {
    StopDaemon();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void StopDaemon() {
    const pid_t pid = ListenerPid(socket_);
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    while (ListenerPid(socket_) == pid) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

 private:
  std::string dir_;
  std::string socket_;
};

void ReportPercentiles(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

bool Recommend(hr_client* client, const hr_request& request, benchmark::State& state) {
  hr_result* result = nullptr;
  const hr_status status = hr_recommend(client, &request, &result);
  if (status != HR_STATUS_OK) {
    char error[512];
    hr_client_last_error(client, error, sizeof error);
    state.SkipWithError((std::string(hr_status_str(status)) + ": " + error).c_str());
    return false;
  }
  hr_result_free(result);
  return true;
}

void WarmRoundTrips(benchmark::State& state, const hr_request& request) {
  Scratch scratch;
  hr_client* client = nullptr;
  hr_client_create(nullptr, &client);
  if (!Recommend(client, request, state)) {  // starts the daemon, outside the timing
    hr_client_destroy(client);
    return;
  }
  std::vector<double> us;
  for (auto _ : state) {
    const auto start = Clock::now();
    if (!Recommend(client, request, state)) break;
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  ReportPercentiles(state, us);
  hr_client_destroy(client);
}

void BM_RecommendCatalog(benchmark::State& state) {
  hr_request request = hr_request_default();
  request.catalog_id = "llama-3.1-8b";
  WarmRoundTrips(state, request);
}
BENCHMARK(BM_RecommendCatalog)->Unit(benchmark::kMicrosecond);

void BM_RecommendFiles(benchmark::State& state) {
  hr_request request = hr_request_default();
  const std::string glob =
      std::string(HEADROOM_FIXTURES_DIR) + "/groundtruth/models/llama-gqa-*.gguf";
  request.model_glob = glob.c_str();
  WarmRoundTrips(state, request);
}
BENCHMARK(BM_RecommendFiles)->Unit(benchmark::kMicrosecond);

void BM_ColdStart(benchmark::State& state) {
  Scratch scratch;
  hr_request request = hr_request_default();
  request.catalog_id = "llama-3.1-8b";
  std::vector<double> us;
  for (auto _ : state) {
    state.PauseTiming();
    scratch.StopDaemon();
    state.ResumeTiming();
    const auto start = Clock::now();
    hr_client* client = nullptr;
    hr_client_create(nullptr, &client);
    const bool ok = Recommend(client, request, state);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    hr_client_destroy(client);
    if (!ok) break;
  }
  ReportPercentiles(state, us);
}
BENCHMARK(BM_ColdStart)->Unit(benchmark::kMillisecond)->Iterations(10);

}  // namespace

BENCHMARK_MAIN();
