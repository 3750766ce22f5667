// Who is calling. gRPC 1.51 exposes no peer credentials for unix sockets, so headroomd
// accepts unix connections itself: it reads SO_PEERCRED on each accepted fd, records it here,
// and hands the fd to gRPC (grpc::AddInsecureChannelFromFd), whose calls then report the
// peer as "fd:<n>". TCP calls report "ipv4:..." / "ipv6:...". Thread-safe.
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "log.h"

namespace grpc {
class Server;
}

namespace headroom::daemon {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
};

class PeerRegistry {
 public:
  // Records the credentials of a freshly accepted fd (replacing those of a closed fd that had
  // the same number).
  void Set(int fd, PeerCredentials credentials);
  // Credentials of a gRPC peer string "fd:<n>"; nullopt for TCP or unknown peers.
  std::optional<PeerCredentials> Find(const std::string& grpc_peer) const;

 private:
  mutable std::mutex mu_;
  std::map<int, PeerCredentials> by_fd_;  // guarded by mu_
};

// Whether a call may name files: same uid on the unix socket, or TCP when allowed.
struct PathAccess {
  bool allowed = false;
  std::string why_not;  // for the PERMISSION_DENIED message
};

class PeerPolicy {
 public:
  PeerPolicy(const PeerRegistry* registry, bool allow_paths_over_tcp);
  PathAccess ForPeer(const std::string& grpc_peer) const;

 private:
  const PeerRegistry* registry_;
  const bool allow_paths_over_tcp_;
  const uid_t own_uid_;
};

// Accepts connections on a listening unix socket and hands them to a started gRPC server.
class UnixAcceptor {
 public:
  UnixAcceptor(int listen_fd, grpc::Server* server, PeerRegistry* registry, Logger* log);
  UnixAcceptor(const UnixAcceptor&) = delete;
  UnixAcceptor& operator=(const UnixAcceptor&) = delete;
  ~UnixAcceptor();

  absl::Status Start();
  // Stops accepting (already handed connections stay with gRPC). Idempotent.
  void Stop();

 private:
  void Run();

  const int listen_fd_;
  grpc::Server* const server_;
  PeerRegistry* const registry_;
  Logger* const log_;
  int wake_fd_ = -1;  // eventfd that ends Run()
  std::thread thread_;
};

}  // namespace headroom::daemon
