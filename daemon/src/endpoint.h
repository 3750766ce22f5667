// Where headroomd listens: parsing "unix:/path" and "HOST:PORT" endpoints, taking over a
// unix socket path safely (directory 0700, socket 0600, a stale socket from a dead daemon
// replaced, a live daemon's socket never stolen), and sockets passed by systemd. The default
// per-user socket path is headroom::endpoint::DefaultSocketPath(), shared with the clients.
// Functions are thread-compatible; a UnixListener is owned by one thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace headroom::daemon {

struct Endpoint {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;  // kUnix
  std::string host;  // kTcp, without brackets
  int port = 0;      // kTcp

  // "unix:/path" or "host:port" ("[::1]:port" for IPv6), as gRPC clients take it.
  std::string ToString() const;
};

// "unix:/abs/path", "tcp:HOST:PORT", "HOST:PORT", "[IPV6]:PORT". `field` names the flag or
// config field in errors.
absl::StatusOr<Endpoint> ParseEndpoint(const std::string& text, const std::string& field);

// 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

// A bound, listening unix socket. Holds `<path>.lock` (flock) for its lifetime so two
// daemons starting at once cannot both take the path; removes the socket (if it is still
// the one it bound) and the lock on destruction.
class UnixListener {
 public:
  // Creates the parent directory (0700) when missing; with `enforce_private_dir` also
  // tightens an existing directory owned by this uid to 0700 (the default socket's dir).
  // FailedPrecondition when a live daemon answers on `path` or holds the lock.
  static absl::StatusOr<UnixListener> Bind(const std::string& path, bool enforce_private_dir,
                                           bool* replaced_stale);
  // Adopts a socket passed by systemd socket activation (not unlinked on destruction).
  static UnixListener Adopt(int fd, std::string path);

  UnixListener(UnixListener&& other) noexcept;
  UnixListener& operator=(UnixListener&& other) = delete;
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;
  ~UnixListener();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  UnixListener() = default;

  int fd_ = -1;
  int lock_fd_ = -1;
  std::string path_;
  unsigned long inode_ = 0;  // of the socket file we bound; 0 = do not unlink
};

// The listening sockets systemd passed by socket activation, per sd_listen_fds(3): only when
// LISTEN_PID is this process, LISTEN_FDS sockets from fd 3 on. Each is made close-on-exec and
// must be a listening unix stream socket (the daemon reads SO_PEERCRED on what it accepts).
// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are unset, so children do not inherit them; as
// unsetenv is not thread-safe, call this before any thread starts. Empty when not activated;
// InvalidArgument (naming the variable or fd) when the variables or sockets are not usable.
absl::StatusOr<std::vector<UnixListener>> TakeSystemdListeners();

}  // namespace headroom::daemon
