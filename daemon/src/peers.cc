#include "peers.h"

#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace headroom::daemon {

void PeerRegistry::Set(int fd, PeerCredentials credentials) {
  std::lock_guard<std::mutex> lock(mu_);
  by_fd_[fd] = credentials;
}

std::optional<PeerCredentials> PeerRegistry::Find(const std::string& grpc_peer) const {
  int fd = -1;
  if (!absl::StartsWith(grpc_peer, "fd:") || !absl::SimpleAtoi(grpc_peer.substr(3), &fd)) {
    return std::nullopt;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return std::nullopt;
  return it->second;
}

PeerPolicy::PeerPolicy(const PeerRegistry* registry, bool allow_paths_over_tcp)
    : registry_(registry), allow_paths_over_tcp_(allow_paths_over_tcp), own_uid_(getuid()) {}

PathAccess PeerPolicy::ForPeer(const std::string& grpc_peer) const {
  if (std::optional<PeerCredentials> creds = registry_->Find(grpc_peer)) {
    if (creds->uid == own_uid_) return {true, ""};
    return {false, absl::StrCat("the caller (uid ", creds->uid, ", pid ", creds->pid,
                                ") is not the daemon's user (uid ", own_uid_, ")")};
  }
  if (absl::StartsWith(grpc_peer, "ipv4:") || absl::StartsWith(grpc_peer, "ipv6:")) {
    if (allow_paths_over_tcp_) return {true, ""};
    return {false, absl::StrCat("files are not opened for TCP callers (", grpc_peer,
                                "); use the unix socket or start headroomd with "
                                "--allow-paths-over-tcp")};
  }
  return {false, absl::StrCat("the caller's identity is unknown (", grpc_peer, ")")};
}

UnixAcceptor::UnixAcceptor(int listen_fd, grpc::Server* server, PeerRegistry* registry, Logger* log)
    : listen_fd_(listen_fd), server_(server), registry_(registry), log_(log) {}

UnixAcceptor::~UnixAcceptor() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::Status UnixAcceptor::Start() {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void UnixAcceptor::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0)
    log_->Error("acceptor wake: {}", std::strerror(errno));
  thread_.join();
}

void UnixAcceptor::Run() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log_->Error("poll on the unix socket: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        log_->Warning("accept on the unix socket: {}", std::strerror(errno));
      }
      continue;
    }
    ucred cred{};
    socklen_t length = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
      log_->Warning("SO_PEERCRED: {}; dropping the connection", std::strerror(errno));
      close(fd);
      continue;
    }
    registry_->Set(fd, {cred.pid, cred.uid});
    log_->Debug("connection fd:{} from pid {} uid {}", fd, cred.pid, cred.uid);
    grpc::AddInsecureChannelFromFd(server_, fd);  // gRPC owns and closes the fd from here
  }
}

}  // namespace headroom::daemon
