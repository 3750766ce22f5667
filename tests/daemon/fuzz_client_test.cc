// A fuzzing client against the real headroomd: >= 100k calls (HEADROOMD_FUZZ_CALLS) from 4
// threads with a fixed seed, each one of: random bytes sent as the message of a random method
// (streams included), a valid request with bytes flipped or cut, a structurally valid request
// with random field values, or a method that does not exist. Afterwards the daemon must still
// answer, and its RSS must have grown by less than 10% over the level reached after a warm-up
// of 40k calls of the same mix (gRPC's pools and the handler threads settle during it).
// The client is the daemon's own uid on the unix socket, so PERMISSION_DENIED is right only
// for a request naming a file this uid may not read; each one is checked for that.
#include <fcntl.h>
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "daemon_harness.h"
#include "headroom/v1/service.grpc.pb.h"

namespace headroom::daemon_test {
namespace {

namespace v1 = headroom::v1;

constexpr uint32_t kSeed = 20261130;
constexpr int kThreads = 4;

const std::vector<std::string> kMethods = {
    "/headroom.v1.FitService/Estimate",
    "/headroom.v1.FitService/Recommend",
    "/headroom.v1.FitService/WatchFit",
    "/headroom.v1.HardwareService/Get",
    "/headroom.v1.HardwareService/Watch",
    "/headroom.v1.CatalogService/ListModels",
    "/headroom.v1.CatalogService/GetModel",
    "/headroom.v1.RunReportService/Report",
    "/headroom.v1.RunReportService/GetCalibration",
    "/grpc.health.v1.Health/Check",
    "/headroom.v1.FitService/NoSuchMethod",
    "/no.such.Service/Call",
};
const std::vector<std::string> kWords = {"deepseek-r1-distill-qwen-7b",
                                         "Q4_K_M",
                                         "q8_0",
                                         "",
                                         "rtx-4090",
                                         "/etc/passwd",
                                         "no-such",
                                         "\xff\xfe",
                                         "F16",
                                         "host",
                                         std::string(300, 'x')};

grpc::Status RawCall(grpc::GenericStub& stub, grpc::CompletionQueue& cq, const std::string& method,
                     const std::string& payload, int deadline_ms) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
  grpc::Slice slice(payload);
  grpc::ByteBuffer request(&slice, 1);
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(&context, method, request, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  return status;
}

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  std::string Bytes(size_t max_size) {
    std::string out(Pick(max_size + 1), '\0');
    for (char& c : out) c = static_cast<char>(Pick(256));
    return out;
  }
  std::string Word() { return kWords[Pick(kWords.size())]; }

  // A request of the method's own type with random values in its fields.
  std::string Structured() {
    v1::EstimateRequest request;
    switch (Pick(4)) {
      case 0:
        request.mutable_model()->set_catalog_id(Word());
        break;
      case 1:
        request.mutable_model()->set_gguf_path(Word());
        break;
      case 2:
        request.mutable_model()->set_config_json_path(Word());
        break;
      default:
        request.mutable_model()->mutable_architecture()->set_block_count(Rand32());
        break;
    }
    request.mutable_model()->set_file_type(Word());
    if (Pick(2) == 0) request.mutable_hardware()->mutable_hypothetical()->add_gpu_ids(Word());
    request.mutable_llama_cpp()->set_n_ctx(Rand32());
    request.mutable_llama_cpp()->set_n_parallel(Rand32() % 1024);
    request.mutable_llama_cpp()->set_n_ubatch(Rand32());
    request.mutable_llama_cpp()->set_cache_type_k(Word());
    if (Pick(2) == 0) request.mutable_llama_cpp()->set_n_gpu_layers(Rand32());
    request.set_runtime(static_cast<v1::Runtime>(Pick(4)));
    request.mutable_vllm()->set_gpu_memory_utilization(static_cast<double>(Rand32()) / 1e6 - 1);
    return request.SerializeAsString();
  }

  // A valid request with some bytes flipped, or cut short.
  std::string Mutated() {
    std::string bytes = Structured();
    if (bytes.empty()) return bytes;
    if (Pick(3) == 0) return bytes.substr(0, Pick(bytes.size()));
    for (size_t i = 0, n = 1 + Pick(8); i < n; ++i) {
      bytes[Pick(bytes.size())] = static_cast<char>(Pick(256));
    }
    return bytes;
  }

  size_t Pick(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }
  uint32_t Rand32() { return static_cast<uint32_t>(rng_()); }

 private:
  std::mt19937 rng_;
};

// A call answered PERMISSION_DENIED, kept to check why.
struct Denied {
  std::string method;
  std::string payload;
  std::string message;
};

// What the calls of one mix ended with.
struct MixResult {
  std::map<int, int> codes;
  std::vector<Denied> denied;
};

void AddPaths(const v1::ModelRef& model, std::vector<std::string>* paths) {
  if (model.has_gguf_path()) paths->push_back(model.gguf_path());
  if (model.has_config_json_path()) paths->push_back(model.config_json_path());
}

// The files a request names, decoded as the daemon decodes it (by the method's request type).
std::vector<std::string> NamedPaths(const std::string& method, const std::string& payload) {
  std::vector<std::string> paths;
  if (method == "/headroom.v1.FitService/Estimate") {
    v1::EstimateRequest r;
    if (r.ParseFromString(payload)) AddPaths(r.model(), &paths);
  } else if (method == "/headroom.v1.FitService/Recommend") {
    v1::RecommendRequest r;
    if (r.ParseFromString(payload)) {
      AddPaths(r.model(), &paths);
      paths.insert(paths.end(), r.gguf_paths().begin(), r.gguf_paths().end());
    }
  } else if (method == "/headroom.v1.FitService/WatchFit") {
    v1::WatchFitRequest r;
    if (r.ParseFromString(payload)) {
      for (const v1::WatchedModel& m : r.models()) AddPaths(m.estimate().model(), &paths);
    }
  } else if (method == "/headroom.v1.RunReportService/Report") {
    v1::RunReportRequest r;
    if (r.ParseFromString(payload)) AddPaths(r.estimate().model(), &paths);
  }
  return paths;
}

// True when this process (the daemon's uid) is refused reading one of `paths`.
bool SomePathUnreadable(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
    } else if (errno == EACCES || errno == EPERM) {
      return true;
    }
  }
  return false;
}

void Hammer(const std::string& endpoint, uint32_t seed, int calls, std::atomic<int>* done,
            MixResult* result, std::mutex* mu) {
  grpc::GenericStub stub(Connect(endpoint));
  grpc::CompletionQueue cq;
  Generator gen(seed);
  std::map<int, int> local;
  std::vector<Denied> denied;
  for (int i = 0; i < calls; ++i) {
    const std::string& method = kMethods[gen.Pick(kMethods.size())];
    std::string payload;
    switch (gen.Pick(3)) {
      case 0:
        payload = gen.Bytes(512);
        break;
      case 1:
        payload = gen.Mutated();
        break;
      default:
        payload = gen.Structured();
        break;
    }
    // Streams never end on their own: a short deadline ends them.
    const bool stream = method.find("Watch") != std::string::npos;
    const grpc::Status status = RawCall(stub, cq, method, payload, stream ? 150 : 5000);
    if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      denied.push_back({method, payload, status.error_message()});
    }
    ++local[static_cast<int>(status.error_code())];
    ++*done;
  }
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
  std::lock_guard<std::mutex> lock(*mu);
  for (const auto& [code, count] : local) result->codes[code] += count;
  result->denied.insert(result->denied.end(), denied.begin(), denied.end());
}

MixResult RunMix(const std::string& endpoint, uint32_t seed, int total) {
  MixResult result;
  std::atomic<int> done{0};
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(Hammer, endpoint, seed + static_cast<uint32_t>(t), total / kThreads, &done,
                         &result, &mu);
  }
  for (std::thread& t : threads) t.join();
  return result;
}

// Every PERMISSION_DENIED must name the path field and come from a request naming a file this
// uid may not read. (The fuzzer once got 68 for a 300-byte relative gguf_path: open() said
// ENAMETOOLONG, which the GGUF reader reported as PERMISSION_DENIED; the daemon now refuses
// such paths as INVALID_ARGUMENT before opening them.)
void ExpectDeniedOnlyForUnreadablePaths(const std::vector<Denied>& denied) {
  for (const Denied& d : denied) {
    const std::vector<std::string> paths = NamedPaths(d.method, d.payload);
    EXPECT_TRUE(d.message.find("path") != std::string::npos)
        << d.method << ": PERMISSION_DENIED without naming the path field: " << d.message;
    EXPECT_TRUE(SomePathUnreadable(paths))
        << d.method << ": PERMISSION_DENIED for the daemon's own uid, but no file the request "
        << "names (" << paths.size() << ") is unreadable for it: " << d.message;
  }
}

TEST(DaemonFuzzTest, SurvivesGarbageWithoutGrowing) {
  const char* env_calls = std::getenv("HEADROOMD_FUZZ_CALLS");
  const int calls = env_calls != nullptr ? std::atoi(env_calls) : 100'000;
  // Strings with invalid UTF-8 are part of the garbage; protobuf would log each one it writes.
  google::protobuf::SetLogHandler(nullptr);
  TestDaemon daemon({"--log-level=warning"});
  ASSERT_TRUE(daemon.ok()) << daemon.process().Log();

  // The warm-up fills what is bounded by design (the sync server's thread pool and its malloc
  // arenas, the engine's ModelCache of planned catalog models): with 20k calls the measured
  // growth varied from 6 % to 11 % between runs; the baseline is taken after it settles.
  const MixResult warmup = RunMix(daemon.endpoint(), kSeed + 1000, 40'000);
  const uint64_t rss_before = RssBytes(daemon.process().pid());
  ASSERT_GT(rss_before, 0u);

  MixResult mix = RunMix(daemon.endpoint(), kSeed, calls);
  std::map<int, int>& codes = mix.codes;
  const uint64_t rss_after = RssBytes(daemon.process().pid());

  ASSERT_FALSE(daemon.process().Exited()) << daemon.process().Log();
  EXPECT_TRUE(WaitServing(daemon.endpoint(), std::chrono::seconds(10)));
  v1::EstimateRequest valid;
  valid.mutable_model()->set_catalog_id("deepseek-r1-distill-qwen-7b");
  v1::Estimate estimate;
  grpc::ClientContext context;
  EXPECT_TRUE(v1::FitService::NewStub(daemon.channel())->Estimate(&context, valid, &estimate).ok());

  int total = 0;
  std::string summary;
  for (const auto& [code, count] : codes) {
    total += count;
    summary += " code " + std::to_string(code) + ": " + std::to_string(count) + ";";
  }
  EXPECT_EQ(total, calls / kThreads * kThreads);
  // The garbage must be refused, not answered: most calls end with an error status.
  EXPECT_LT(codes[0], total / 2) << summary;
  const double growth = static_cast<double>(rss_after) / static_cast<double>(rss_before) - 1;
  std::printf("fuzz: %d calls;%s RSS %.1f MiB -> %.1f MiB (%+.1f%%)\n", total, summary.c_str(),
              static_cast<double>(rss_before) / (1 << 20),
              static_cast<double>(rss_after) / (1 << 20), growth * 100);
  EXPECT_LT(growth, 0.10);
  ExpectDeniedOnlyForUnreadablePaths(warmup.denied);
  ExpectDeniedOnlyForUnreadablePaths(mix.denied);
}

}  // namespace
}  // namespace headroom::daemon_test
