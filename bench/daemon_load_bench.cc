// Load client for headroomd (not a Google Benchmark: it measures a separate process).
// Estimate over the daemon's socket: single-client latency (p50/p99), calls/s with N
// concurrent clients (one connection each), the daemon's idle CPU and its RSS after a given
// number of calls. Figures and the command are recorded in docs/PERFORMANCE.md.
//
//   daemon_load_bench --endpoint=unix:/run/user/1000/headroom/headroomd.sock --pid=PID
//       [--model=deepseek-r1-distill-qwen-7b] [--single-calls=20000] [--clients=16]
//       [--total-calls=1000000] [--idle-seconds=60]
//
// --pid enables the idle-CPU and RSS figures (read from /proc/PID). --idle-seconds=0 skips
// the idle measurement.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "headroom/v1/service.grpc.pb.h"

namespace {

namespace v1 = headroom::v1;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string endpoint;
  std::string model = "deepseek-r1-distill-qwen-7b";
  long single_calls = 20000;
  long clients = 16;
  long total_calls = 1000000;
  long idle_seconds = 60;
  long pid = 0;
};

bool ParseArgs(int argc, char** argv, Options& o) {
  std::map<std::string, std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos) {
      std::fprintf(stderr,
                   "usage: %s --endpoint=E [--pid=P] [--model=ID] [--single-calls=N] "
                   "[--clients=N] [--total-calls=N] [--idle-seconds=S]\n",
                   argv[0]);
      return false;
    }
    args[a.substr(2, eq - 2)] = a.substr(eq + 1);
  }
  auto number = [&](const char* key, long& out) {
    if (args.count(key) != 0) out = std::strtol(args[key].c_str(), nullptr, 10);
  };
  if (args.count("endpoint") != 0) o.endpoint = args["endpoint"];
  if (args.count("model") != 0) o.model = args["model"];
  number("single-calls", o.single_calls);
  number("clients", o.clients);
  number("total-calls", o.total_calls);
  number("idle-seconds", o.idle_seconds);
  number("pid", o.pid);
  if (o.endpoint.empty()) {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    o.endpoint = runtime != nullptr
                     ? std::string("unix:") + runtime + "/headroom/headroomd.sock"
                     : "unix:/tmp/headroom-" + std::to_string(getuid()) + "/headroomd.sock";
  }
  return o.clients > 0 && o.single_calls > 0;
}

std::shared_ptr<grpc::Channel> Channel(const std::string& endpoint) {
  // A private subchannel pool gives every client its own connection.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
}

v1::EstimateRequest Request(const Options& o) {
  v1::EstimateRequest request;
  request.mutable_model()->set_catalog_id(o.model);
  request.mutable_llama_cpp()->set_n_ctx(8192);
  return request;
}

double Percentile(std::vector<double>& us, double p) {
  if (us.empty()) return 0;
  const auto k = static_cast<size_t>(p * static_cast<double>(us.size() - 1));
  std::nth_element(us.begin(), us.begin() + static_cast<long>(k), us.end());
  return us[k];
}

// One client's loop; latencies in microseconds. Stops at `budget` calls overall.
void Client(const Options& o, std::atomic<long>& budget, std::vector<double>& latencies,
            std::atomic<long>& failures) {
  auto stub = v1::FitService::NewStub(Channel(o.endpoint));
  const v1::EstimateRequest request = Request(o);
  v1::Estimate response;
  while (budget.fetch_sub(1) > 0) {
    grpc::ClientContext context;
    const auto start = Clock::now();
    const grpc::Status status = stub->Estimate(&context, request, &response);
    const auto end = Clock::now();
    if (!status.ok()) {
      if (failures.fetch_add(1) == 0) {
        std::fprintf(stderr, "Estimate failed: %s\n", status.error_message().c_str());
      }
      continue;
    }
    latencies.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
}

struct RunFigures {
  double seconds = 0;
  long calls = 0;
  double p50_us = 0;
  double p99_us = 0;
};

RunFigures Run(const Options& o, long clients, long calls, std::atomic<long>& failures) {
  std::atomic<long> budget{calls};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (long c = 0; c < clients; ++c) {
    threads.emplace_back(Client, std::cref(o), std::ref(budget),
                         std::ref(latencies[static_cast<size_t>(c)]), std::ref(failures));
  }
  for (std::thread& t : threads) t.join();
  RunFigures f;
  f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  f.calls = static_cast<long>(all.size());
  f.p50_us = Percentile(all, 0.50);
  f.p99_us = Percentile(all, 0.99);
  return f;
}

double CpuSeconds(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;  // fields 3..13
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double RssMiB(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, o)) return 2;
  std::atomic<long> failures{0};
  std::printf("endpoint %s, model %s\n", o.endpoint.c_str(), o.model.c_str());
  if (o.pid > 0) std::printf("daemon RSS at start: %.1f MiB\n", RssMiB(o.pid));

  Run(o, 1, std::min(o.single_calls, 1000L), failures);  // warm-up: connections, caches
  const RunFigures single = Run(o, 1, o.single_calls, failures);
  std::printf("single client: %ld calls, p50 %.0f us, p99 %.0f us, %.0f calls/s\n", single.calls,
              single.p50_us, single.p99_us, static_cast<double>(single.calls) / single.seconds);

  const long many_calls = std::max(o.total_calls - o.single_calls - 1000, o.clients * 100);
  const RunFigures many = Run(o, o.clients, many_calls, failures);
  std::printf("%ld clients: %ld calls in %.1f s, %.0f calls/s, p50 %.0f us, p99 %.0f us\n",
              o.clients, many.calls, many.seconds, static_cast<double>(many.calls) / many.seconds,
              many.p50_us, many.p99_us);
  if (o.pid > 0) {
    std::printf("daemon RSS after %ld calls: %.1f MiB\n",
                single.calls + many.calls + std::min(o.single_calls, 1000L), RssMiB(o.pid));
  }
  if (o.pid > 0 && o.idle_seconds > 0) {
    const double before = CpuSeconds(o.pid);
    std::this_thread::sleep_for(std::chrono::seconds(o.idle_seconds));
    const double after = CpuSeconds(o.pid);
    std::printf("daemon idle CPU over %ld s: %.3f%% of one core\n", o.idle_seconds,
                100.0 * (after - before) / static_cast<double>(o.idle_seconds));
  }
  if (failures > 0) {
    std::printf("%ld calls failed\n", failures.load());
    return 1;
  }
  return 0;
}
