#include "endpoint.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace headroom::daemon {
namespace {

std::string Errno(int error) { return std::strerror(error); }

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("unix socket path is ", path.size(),
                                                   " bytes, the limit is ",
                                                   sizeof(address.sun_path) - 1, ": ", path));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// True when something accepts connections on `path` (a live daemon, or systemd's socket).
bool SomeoneListens(const sockaddr_un& address) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool live = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return live;
}

absl::Status PrepareDirectory(const std::filesystem::path& dir, bool enforce_private) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create socket directory ", dir.string(), ": ", error.message()));
    }
    if (chmod(dir.c_str(), 0700) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("chmod 0700 ", dir.string(), ": ", Errno(errno)));
    }
    return absl::OkStatus();
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir.string(), " is not a directory"));
  }
  if (enforce_private) {
    if (st.st_uid != getuid()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "socket directory ", dir.string(), " belongs to uid ", st.st_uid, ", not ", getuid()));
    }
    if ((st.st_mode & 0777) != 0700 && chmod(dir.c_str(), 0700) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("chmod 0700 ", dir.string(), ": ", Errno(errno)));
    }
  }
  return absl::OkStatus();
}

constexpr int kSdListenFdsStart = 3;  // SD_LISTEN_FDS_START, sd_listen_fds(3)
constexpr int kMaxSystemdSockets = 16;

// The path a listening unix stream socket is bound to, after making `fd` close-on-exec.
absl::StatusOr<std::string> ListeningUnixSocketPath(int fd) {
  const std::string what = absl::StrCat("LISTEN_FDS: fd ", fd);
  const int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return absl::InvalidArgumentError(absl::StrCat(what, ": ", Errno(errno)));
  if (fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": FD_CLOEXEC: ", Errno(errno)));
  }
  int domain = 0;
  int type = 0;
  int listening = 0;
  socklen_t length = sizeof(int);
  const bool is_socket = getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 &&
                         getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 &&
                         getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0;
  if (!is_socket || domain != AF_UNIX || type != SOCK_STREAM || listening == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what,
                     " is not a listening unix stream socket (headroomd.socket needs ListenStream= "
                     "with a path)"));
  }
  sockaddr_un address{};
  socklen_t address_length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_length) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": getsockname: ", Errno(errno)));
  }
  const size_t path_bytes = address_length > offsetof(sockaddr_un, sun_path)
                                ? address_length - offsetof(sockaddr_un, sun_path)
                                : 0;
  if (path_bytes == 0 || address.sun_path[0] == '\0') {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not bound to a path"));
  }
  return std::string(address.sun_path, strnlen(address.sun_path, path_bytes));
}

}  // namespace

std::string Endpoint::ToString() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<Endpoint> ParseEndpoint(const std::string& text, const std::string& field) {
  Endpoint endpoint;
  if (absl::StartsWith(text, "unix:")) {
    endpoint.path = text.substr(5);
    if (endpoint.path.empty() || endpoint.path[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": \"", text, "\": a unix endpoint needs an absolute path"));
    }
    return endpoint;
  }
  std::string rest = absl::StartsWith(text, "tcp:") ? text.substr(4) : text;
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", text, "\": expected unix:/path, HOST:PORT or tcp:HOST:PORT"));
  }
  endpoint.kind = Endpoint::Kind::kTcp;
  endpoint.host = rest.substr(0, colon);
  if (endpoint.host.size() >= 2 && endpoint.host.front() == '[' && endpoint.host.back() == ']') {
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
  }
  if (!absl::SimpleAtoi(rest.substr(colon + 1), &endpoint.port) || endpoint.port < 0 ||
      endpoint.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": \"", text, "\": port \"",
                                                   rest.substr(colon + 1),
                                                   "\" is not a number in 0..65535"));
  }
  return endpoint;
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<UnixListener> UnixListener::Bind(const std::string& path, bool enforce_private_dir,
                                                bool* replaced_stale) {
  *replaced_stale = false;
  absl::StatusOr<sockaddr_un> address = UnixAddress(path);
  if (!address.ok()) return address.status();
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (absl::Status s = PrepareDirectory(parent, enforce_private_dir); !s.ok()) return s;

  UnixListener listener;
  listener.path_ = path;
  const std::string lock_path = path + ".lock";
  const int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat("open ", lock_path, ": ", Errno(errno)));
  }
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    close(lock_fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "another headroomd holds ", lock_path, "; it serves unix:", path, " (not taking it)"));
  }
  listener.lock_fd_ = lock_fd;  // from here on the destructor removes the lock file
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " exists and is not a socket; not replacing it"));
    }
    if (SomeoneListens(*address)) {
      return absl::FailedPreconditionError(absl::StrCat("a live daemon answers on unix:", path,
                                                        "; not taking its socket (stop it first)"));
    }
    if (unlink(path.c_str()) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot remove stale socket ", path, ": ", Errno(errno)));
    }
    *replaced_stale = true;
  }
  listener.fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener.fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", Errno(errno)));
  // The umask makes the socket 0600 from the moment it exists; chmod below is the same again
  // for file systems that ignore it.
  const mode_t old_umask = umask(0177);
  const int bound =
      bind(listener.fd_, reinterpret_cast<const sockaddr*>(&*address), sizeof(*address));
  const int bind_errno = errno;
  umask(old_umask);
  if (bound != 0) {
    return absl::FailedPreconditionError(absl::StrCat("bind ", path, ": ", Errno(bind_errno)));
  }
  if (chmod(path.c_str(), 0600) != 0 || stat(path.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("chmod 0600 ", path, ": ", Errno(errno)));
  }
  listener.inode_ = st.st_ino;
  if (listen(listener.fd_, 128) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("listen ", path, ": ", Errno(errno)));
  }
  return listener;
}

UnixListener UnixListener::Adopt(int fd, std::string path) {
  UnixListener listener;
  listener.fd_ = fd;
  listener.path_ = std::move(path);
  return listener;
}

UnixListener::UnixListener(UnixListener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      lock_fd_(std::exchange(other.lock_fd_, -1)),
      path_(std::move(other.path_)),
      inode_(std::exchange(other.inode_, 0)) {}

UnixListener::~UnixListener() {
  if (inode_ != 0) {
    // Only remove the file if it is still ours (nobody replaced it meanwhile).
    struct stat st {};
    if (lstat(path_.c_str(), &st) == 0 && st.st_ino == inode_) unlink(path_.c_str());
  }
  if (fd_ >= 0) close(fd_);
  if (lock_fd_ >= 0) {
    unlink((path_ + ".lock").c_str());
    close(lock_fd_);
  }
}

absl::StatusOr<std::vector<UnixListener>> TakeSystemdListeners() {
  const char* pid_text = std::getenv("LISTEN_PID");
  const char* fds_text = std::getenv("LISTEN_FDS");
  const std::string pid = pid_text != nullptr ? pid_text : "";
  const std::string fds = fds_text != nullptr ? fds_text : "";
  // sd_listen_fds(3) with unset_environment: the variables go in every case, whether they
  // were meant for this process or inherited from a parent that was activated.
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  if (pid_text == nullptr || fds_text == nullptr) return std::vector<UnixListener>{};
  int listen_pid = 0;
  if (!absl::SimpleAtoi(pid, &listen_pid) || listen_pid <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("LISTEN_PID=\"", pid, "\": not a pid"));
  }
  if (listen_pid != getpid()) return std::vector<UnixListener>{};  // meant for another process
  int count = 0;
  if (!absl::SimpleAtoi(fds, &count) || count < 0 || count > kMaxSystemdSockets) {
    return absl::InvalidArgumentError(
        absl::StrCat("LISTEN_FDS=\"", fds, "\": expected a count in 0..", kMaxSystemdSockets));
  }
  std::vector<UnixListener> listeners;
  for (int fd = kSdListenFdsStart; fd < kSdListenFdsStart + count; ++fd) {
    absl::StatusOr<std::string> path = ListeningUnixSocketPath(fd);
    if (!path.ok()) return path.status();
    listeners.push_back(UnixListener::Adopt(fd, *std::move(path)));
  }
  return listeners;
}

}  // namespace headroom::daemon
