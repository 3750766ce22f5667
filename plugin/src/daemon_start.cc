#include "daemon_start.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace headroom::plugin {
namespace {

namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

bool IsExecutable(const std::string& path) {
  std::error_code ec;
  return !path.empty() && fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

// Directory of the shared object this code is in ($prefix/lib or $prefix/lib/<multiarch>).
std::string LibraryDir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&FindDaemon), &info) == 0 || info.dli_fname == nullptr) {
    return {};
  }
  std::error_code ec;
  fs::path path = fs::canonical(info.dli_fname, ec);
  return ec ? std::string() : path.parent_path().string();
}

// The last non-empty line of the daemon's log, so a failed start says why.
std::string LastLogLine(const std::string& log_path) {
  std::ifstream in(log_path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const size_t start = text.rfind('\n');
  std::string line = start == std::string::npos ? text : text.substr(start + 1);
  if (line.size() > 300) line = line.substr(line.size() - 300);
  return line.empty() ? std::string("(log is empty)") : line;
}

// Runs in the grandchild after fork(): only async-signal-safe calls until execv. `alive` is
// the write end of a pipe kept open (not close-on-exec) for the daemon's lifetime, so the
// parent sees EOF if the daemon dies; an exec failure writes errno into it first.
[[noreturn]] void ExecDaemon(const char* daemon, char* const argv[], int log_fd, int alive) {
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  ::dup2(log_fd, STDOUT_FILENO);
  ::dup2(log_fd, STDERR_FILENO);
  ::dup2(alive, 3);  // dup2 clears close-on-exec on fd 3
  ::syscall(SYS_close_range, 4U, ~0U, 0U);
  if (::chdir("/") != 0) {
    // Keeping the caller's directory only pins it; not a reason to fail.
  }
  ::execv(daemon, argv);
  const int error = errno;
  ssize_t written = ::write(3, &error, sizeof error);
  (void)written;
  ::_exit(127);
}

}  // namespace

std::optional<std::string> UnixSocketPath(const std::string& endpoint) {
  if (endpoint.rfind("unix://", 0) == 0) return endpoint.substr(7);
  if (endpoint.rfind("unix:", 0) == 0) return endpoint.substr(5);
  return std::nullopt;
}

bool SocketAccepts(const std::string& socket_path) {
  sockaddr_un address{};
  if (socket_path.empty() || socket_path.size() >= sizeof address.sun_path) return false;
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

std::string FindDaemon(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::string from_env = Env("HEADROOM_DAEMON");
  if (!from_env.empty()) return from_env;
  const std::string lib_dir = LibraryDir();
  if (!lib_dir.empty()) {
    // $prefix/lib/libheadroom.so and $prefix/lib/x86_64-linux-gnu/libheadroom.so.
    for (const char* relative : {"../bin/headroomd", "../../bin/headroomd"}) {
      std::string candidate = (fs::path(lib_dir) / relative).lexically_normal().string();
      if (IsExecutable(candidate)) return candidate;
    }
  }
  const std::string path = Env("PATH");
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    const std::string dir = path.substr(begin, end - begin);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/headroomd";
    if (IsExecutable(candidate)) return candidate;
    begin = end + 1;
  }
  return {};
}

StartResult StartDaemon(const std::string& daemon, const std::string& endpoint,
                        const std::string& socket_path, uint32_t timeout_ms) {
  std::error_code ec;
  const std::string executable = fs::absolute(daemon, ec).string();
  if (ec || !IsExecutable(executable)) {
    return {HR_STATUS_DAEMON_START_FAILED,
            "cannot start the daemon: '" + daemon + "' is not an executable file"};
  }
  const fs::path dir = fs::path(socket_path).parent_path();
  fs::create_directories(dir, ec);
  ::chmod(dir.c_str(), 0700);
  const std::string log_path = (dir / "headroomd.log").string();
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return {HR_STATUS_DAEMON_START_FAILED, "cannot start the daemon: cannot write its log " +
                                               log_path + ": " + std::strerror(errno)};
  }
  int alive[2];
  if (::pipe2(alive, O_CLOEXEC) != 0) {
    ::close(log_fd);
    return {HR_STATUS_DAEMON_START_FAILED, std::string("pipe: ") + std::strerror(errno)};
  }
  // Everything the child needs is built before fork(): afterwards only async-signal-safe calls.
  std::vector<std::string> args = {executable, "--listen", endpoint};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const pid_t child = ::fork();
  if (child == 0) {
    ::setsid();
    if (::fork() == 0) ExecDaemon(executable.c_str(), argv.data(), log_fd, alive[1]);
    ::_exit(0);
  }
  ::close(log_fd);
  ::close(alive[1]);
  if (child < 0) {
    ::close(alive[0]);
    return {HR_STATUS_DAEMON_START_FAILED, std::string("fork: ") + std::strerror(errno)};
  }
  int ignored = 0;
  while (::waitpid(child, &ignored, 0) < 0 && errno == EINTR) {
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  StartResult result{HR_STATUS_DAEMON_START_FAILED, "headroomd (" + executable +
                                                        ") did not accept on " + socket_path +
                                                        " within " + std::to_string(timeout_ms) +
                                                        " ms; its log " + log_path + " ends: "};
  while (true) {
    if (SocketAccepts(socket_path)) {
      result = {HR_STATUS_OK, ""};
      break;
    }
    pollfd poll_fd{alive[0], POLLIN, 0};
    if (::poll(&poll_fd, 1, 5) > 0) {
      int exec_errno = 0;
      const ssize_t n = ::read(alive[0], &exec_errno, sizeof exec_errno);
      if (SocketAccepts(socket_path)) {  // another client's daemon won the race
        result = {HR_STATUS_OK, ""};
      } else if (n == static_cast<ssize_t>(sizeof exec_errno)) {
        result.message =
            "cannot execute headroomd (" + executable + "): " + std::strerror(exec_errno);
      } else {
        result.message = "headroomd (" + executable + ") exited while starting; its log " +
                         log_path + " ends: " + LastLogLine(log_path);
      }
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      result.message += LastLogLine(log_path);
      break;
    }
  }
  ::close(alive[0]);
  return result;
}

}  // namespace headroom::plugin
