#include "headroom/daemon/daemon.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "endpoint.h"
#include "headroom/catalog/embedded.h"
#include "headroom/endpoint/default_endpoint.h"
#include "headroom/probe/source.h"
#include "reflection_service.h"
#include "services.h"

namespace headroom::catalog {
// The protoc descriptor set with source info (daemon/CMakeLists.txt embeds it).
std::span<const EmbeddedFile> HeadroomdDescriptorSet();
}  // namespace headroom::catalog

namespace headroom::daemon {
namespace {

namespace v1 = headroom::v1;

constexpr uint32_t kDefaultRefreshSeconds = 2;
// Bounds the sync server's handler threads (each open stream holds one).
constexpr int kMaxServerThreads = 64;
constexpr std::chrono::seconds kShutdownGrace{2};
constexpr const char* kServices[] = {"headroom.v1.HardwareService", "headroom.v1.FitService",
                                     "headroom.v1.CatalogService", "headroom.v1.RunReportService"};
constexpr const char* kHealthService = "grpc.health.v1.Health";
constexpr const char* kReflectionService = "grpc.reflection.v1alpha.ServerReflection";

absl::StatusOr<std::unique_ptr<ReflectionService>> MakeReflection() {
  const auto files = catalog::HeadroomdDescriptorSet();
  if (files.empty()) return absl::InternalError("reflection: no descriptor set compiled in");
  std::vector<std::string> names(std::begin(kServices), std::end(kServices));
  names.push_back(kHealthService);
  names.push_back(kReflectionService);
  return ReflectionService::Create(std::string(files[0].content), std::move(names));
}

absl::StatusOr<std::unique_ptr<probe::HardwareSource>> MakeSource(const v1::DaemonConfig& c) {
  if (!c.fixture().empty()) {
    absl::StatusOr<std::unique_ptr<probe::HardwareSource>> source =
        probe::MakeFixtureSource(c.fixture());
    if (!source.ok()) {
      return absl::Status(source.status().code(),
                          absl::StrCat("fixture: ", source.status().message()));
    }
    return source;
  }
  probe::LiveOptions options;
  options.measure_bandwidth = !c.skip_bandwidth_measurement();
  return probe::MakeLiveSource(options);
}

absl::StatusOr<catalog::Catalog> LoadCatalog(const v1::DaemonConfig& c) {
  absl::StatusOr<catalog::Catalog> cat = c.catalog_dir().empty()
                                             ? catalog::Catalog::LoadBuiltin()
                                             : catalog::Catalog::LoadWithExtraDir(c.catalog_dir());
  if (!cat.ok()) {
    return absl::Status(cat.status().code(), absl::StrCat("catalog: ", cat.status().message()));
  }
  return cat;
}

}  // namespace

struct Daemon::Impl {
  explicit Impl(LogLevel level) : log(level) {}

  absl::Status Init(const v1::DaemonConfig& config);
  absl::Status Listen(const v1::DaemonConfig& config, grpc::ServerBuilder& builder,
                      std::vector<std::pair<Endpoint, std::unique_ptr<int>>>& tcp_ports);
  absl::Status Serve(const v1::DaemonConfig& config);

  Logger log;
  std::optional<catalog::Catalog> catalog;
  v1::ModelList model_list;
  engine::ModelCache model_cache;  // catalog models planned once, shared by every call
  std::unique_ptr<LiveState> live;
  std::unique_ptr<CalibrationStore> calibration;
  PeerRegistry peer_registry;
  std::unique_ptr<PeerPolicy> peers;
  std::unique_ptr<HardwareServiceImpl> hardware_service;
  std::unique_ptr<FitServiceImpl> fit_service;
  std::unique_ptr<CatalogServiceImpl> catalog_service;
  std::unique_ptr<RunReportServiceImpl> run_report_service;
  std::unique_ptr<ReflectionService> reflection_service;
  std::vector<UnixListener> unix_listeners;
  std::vector<std::string> endpoints;
  // Destroyed before the services and state above.
  std::unique_ptr<grpc::Server> server;
  std::vector<std::unique_ptr<UnixAcceptor>> acceptors;
  std::mutex shutdown_mu;
  bool shut_down = false;  // guarded by shutdown_mu
};

absl::Status Daemon::Impl::Init(const v1::DaemonConfig& config) {
  absl::StatusOr<catalog::Catalog> cat = LoadCatalog(config);
  if (!cat.ok()) return cat.status();
  catalog.emplace(*std::move(cat));
  absl::StatusOr<v1::ModelList> list = BuildModelList(*catalog);
  if (!list.ok()) return list.status();
  model_list = *std::move(list);

  absl::StatusOr<std::unique_ptr<probe::HardwareSource>> source = MakeSource(config);
  if (!source.ok()) return source.status();
  live = std::make_unique<LiveState>(*std::move(source), &log);
  const uint32_t seconds =
      config.refresh_seconds() == 0 ? kDefaultRefreshSeconds : config.refresh_seconds();
  if (absl::Status s = live->Start(std::chrono::seconds(seconds)); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("hardware snapshot: ", s.message()));
  }
  log.Info("hardware from {}, refreshed every {} s", live->Describe(), seconds);
  const std::string state_dir = config.state_dir().empty() ? DefaultStateDir() : config.state_dir();
  calibration = std::make_unique<CalibrationStore>(state_dir);
  peers = std::make_unique<PeerPolicy>(&peer_registry, config.allow_paths_over_tcp());
  const ServiceDeps deps{&*catalog,   &model_list, live.get(),  calibration.get(),
                         peers.get(), &log,        &model_cache};
  hardware_service = std::make_unique<HardwareServiceImpl>(deps);
  fit_service = std::make_unique<FitServiceImpl>(deps);
  catalog_service = std::make_unique<CatalogServiceImpl>(deps);
  run_report_service = std::make_unique<RunReportServiceImpl>(deps);
  absl::StatusOr<std::unique_ptr<ReflectionService>> reflection = MakeReflection();
  if (!reflection.ok()) return reflection.status();
  reflection_service = *std::move(reflection);
  return absl::OkStatus();
}

absl::Status Daemon::Impl::Listen(const v1::DaemonConfig& config, grpc::ServerBuilder& builder,
                                  std::vector<std::pair<Endpoint, std::unique_ptr<int>>>& tcp) {
  std::vector<std::string> listen(config.listen().begin(), config.listen().end());
  // Sockets systemd passed (Daemon::Start took them): systemd owns their files, which are
  // served as they are, never unlinked or replaced.
  std::set<std::string> activated;
  for (const UnixListener& listener : unix_listeners) {
    activated.insert(listener.path());
    endpoints.push_back("unix:" + listener.path());
    log.Info("socket activation: serving {} (fd {}) passed by systemd", listener.path(),
             listener.fd());
  }
  const std::string default_socket = headroom::endpoint::DefaultSocketPath();
  if (activated.empty() && listen.empty()) listen.push_back("unix:" + default_socket);
  for (size_t i = 0; i < listen.size(); ++i) {
    absl::StatusOr<Endpoint> endpoint = ParseEndpoint(listen[i], absl::StrCat("listen[", i, "]"));
    if (!endpoint.ok()) return endpoint.status();
    if (endpoint->kind == Endpoint::Kind::kUnix) {
      if (activated.count(endpoint->path) != 0) continue;  // systemd passed it already
      bool stale = false;
      absl::StatusOr<UnixListener> listener =
          UnixListener::Bind(endpoint->path, endpoint->path == default_socket, &stale);
      if (!listener.ok()) return listener.status();
      if (stale)
        log.Info("replaced the stale socket {} (no daemon answered on it)", endpoint->path);
      unix_listeners.push_back(*std::move(listener));
      endpoints.push_back(endpoint->ToString());
      continue;
    }
    if (!IsLoopbackHost(endpoint->host)) {
      if (!config.allow_remote()) {
        return absl::InvalidArgumentError(
            absl::StrCat("listen[", i, "]: ", endpoint->host,
                         " is not a loopback address; the API has no authentication, so this needs "
                         "--allow-remote"));
      }
      log.Warning("listening on non-loopback {}: anyone who can reach it can use the daemon",
                  endpoint->ToString());
    }
    auto port = std::make_unique<int>(0);
    builder.AddListeningPort(endpoint->ToString(), grpc::InsecureServerCredentials(), port.get());
    tcp.emplace_back(*std::move(endpoint), std::move(port));
  }
  return absl::OkStatus();
}

absl::Status Daemon::Impl::Serve(const v1::DaemonConfig& config) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  std::vector<std::pair<Endpoint, std::unique_ptr<int>>> tcp;
  if (absl::Status s = Listen(config, builder, tcp); !s.ok()) return s;
  grpc::ResourceQuota quota("headroomd");
  quota.SetMaxThreads(kMaxServerThreads);
  builder.SetResourceQuota(quota);
  builder.RegisterService(hardware_service.get());
  builder.RegisterService(fit_service.get());
  builder.RegisterService(catalog_service.get());
  builder.RegisterService(run_report_service.get());
  builder.RegisterService(reflection_service.get());
  server = builder.BuildAndStart();
  if (server == nullptr) {
    std::vector<std::string> names;
    for (const auto& [endpoint, port] : tcp) names.push_back(endpoint.ToString());
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", absl::StrJoin(names, ", "), " (address in use?)"));
  }
  for (auto& [endpoint, port] : tcp) {
    endpoint.port = *port;
    endpoints.push_back(endpoint.ToString());
  }
  for (const char* service : kServices) {
    server->GetHealthCheckService()->SetServingStatus(service, true);
  }
  for (UnixListener& listener : unix_listeners) {
    acceptors.push_back(
        std::make_unique<UnixAcceptor>(listener.fd(), server.get(), &peer_registry, &log));
    if (absl::Status s = acceptors.back()->Start(); !s.ok()) return s;
  }
  log.Info("serving on {}", absl::StrJoin(endpoints, ", "));
  return absl::OkStatus();
}

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Daemon::~Daemon() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const v1::DaemonConfig& config) {
  absl::StatusOr<LogLevel> level = ParseLogLevel(config.log_level());
  if (!level.ok()) return level.status();
  auto impl = std::make_unique<Impl>(*level);
  // Before Init starts the first thread: taking the sockets unsets LISTEN_* (unsetenv).
  absl::StatusOr<std::vector<UnixListener>> activated = TakeSystemdListeners();
  if (!activated.ok()) return activated.status();
  impl->unix_listeners = *std::move(activated);
  if (absl::Status s = impl->Init(config); !s.ok()) return s;
  std::unique_ptr<Daemon> daemon(new Daemon(std::move(impl)));
  if (absl::Status s = daemon->impl_->Serve(config); !s.ok()) return s;
  return daemon;
}

void Daemon::Shutdown() {
  Impl& d = *impl_;
  {
    std::lock_guard<std::mutex> lock(d.shutdown_mu);
    if (d.shut_down) return;
    d.shut_down = true;
  }
  d.log.Info("shutting down");
  for (auto& acceptor : d.acceptors) acceptor->Stop();
  if (d.server != nullptr) d.server->GetHealthCheckService()->SetServingStatus(false);
  if (d.live != nullptr) d.live->Shutdown();  // streams see it and end with UNAVAILABLE
  if (d.server != nullptr) {
    d.server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
    d.server->Wait();
  }
  d.unix_listeners.clear();  // removes the socket files
  d.log.Info("stopped");
}

const std::vector<std::string>& Daemon::endpoints() const { return impl_->endpoints; }

}  // namespace headroom::daemon
