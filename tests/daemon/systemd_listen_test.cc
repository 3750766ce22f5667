// TakeSystemdListeners (daemon/src/endpoint.h) in-process: the sd_listen_fds(3) protocol the
// daemon follows when systemd starts it for headroomd.socket. socket_activation_test.cc runs
// the real binary the same way; this checks what a process cannot see from outside (the
// variables are unset, the fd becomes close-on-exec) and each refusal.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "endpoint.h"

namespace headroom::daemon {
namespace {

using ::testing::HasSubstr;

constexpr int kFirstFd = 3;

// Puts `fd` at fd 3 for one test (saving whatever was there) and restores fd 3 afterwards.
class AtFd3 {
 public:
  explicit AtFd3(int fd) {
    saved_ = fcntl(kFirstFd, F_DUPFD_CLOEXEC, 10);  // -1 when fd 3 was free
    if (fd != kFirstFd) {
      dup2(fd, kFirstFd);
      close(fd);
    }
  }
  ~AtFd3() {
    if (saved_ >= 0) {
      dup2(saved_, kFirstFd);
      close(saved_);
    } else {
      close(kFirstFd);
    }
  }
  AtFd3(const AtFd3&) = delete;
  AtFd3& operator=(const AtFd3&) = delete;

 private:
  int saved_ = -1;
};

void SetActivation(const std::string& pid, const std::string& fds) {
  setenv("LISTEN_PID", pid.c_str(), 1);
  setenv("LISTEN_FDS", fds.c_str(), 1);
  setenv("LISTEN_FDNAMES", "headroomd.socket", 1);
}

bool ActivationVariablesGone() {
  return std::getenv("LISTEN_PID") == nullptr && std::getenv("LISTEN_FDS") == nullptr &&
         std::getenv("LISTEN_FDNAMES") == nullptr;
}

// A unix stream socket bound to `path`, listening when `listening`.
int UnixSocket(const std::string& path, bool listening) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);  // no CLOEXEC, as systemd passes it
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return -1;
  if (listening && listen(fd, 4) != 0) return -1;
  return fd;
}

class SystemdListenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hrsd-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string dir_;
  const std::string pid_ = std::to_string(getpid());
};

TEST_F(SystemdListenTest, NotActivatedWithoutTheVariables) {
  absl::StatusOr<std::vector<UnixListener>> listeners = TakeSystemdListeners();
  ASSERT_TRUE(listeners.ok()) << listeners.status();
  EXPECT_TRUE(listeners->empty());
}

TEST_F(SystemdListenTest, TakesTheSocketMakesItCloexecAndUnsetsTheVariables) {
  const std::string path = dir_ + "/headroomd.sock";
  const int fd = UnixSocket(path, true);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  AtFd3 at3(fd);
  SetActivation(pid_, "1");
  absl::StatusOr<std::vector<UnixListener>> listeners = TakeSystemdListeners();
  ASSERT_TRUE(listeners.ok()) << listeners.status();
  ASSERT_EQ(listeners->size(), 1u);
  EXPECT_EQ((*listeners)[0].fd(), kFirstFd);
  EXPECT_EQ((*listeners)[0].path(), path);
  EXPECT_NE(fcntl(kFirstFd, F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_TRUE(ActivationVariablesGone());
  // An adopted socket belongs to systemd: dropping the listener closes the fd, not the file.
  listeners->clear();
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST_F(SystemdListenTest, VariablesForAnotherProcessAreIgnoredAndUnset) {
  const int fd = UnixSocket(dir_ + "/headroomd.sock", true);
  ASSERT_GE(fd, 0);
  AtFd3 at3(fd);
  SetActivation(std::to_string(getpid() + 1), "1");  // inherited from an activated parent
  absl::StatusOr<std::vector<UnixListener>> listeners = TakeSystemdListeners();
  ASSERT_TRUE(listeners.ok()) << listeners.status();
  EXPECT_TRUE(listeners->empty());
  EXPECT_TRUE(ActivationVariablesGone());
  EXPECT_EQ(fcntl(kFirstFd, F_GETFD) & FD_CLOEXEC, 0);  // not ours: untouched
}

TEST_F(SystemdListenTest, MalformedVariablesNameTheVariable) {
  SetActivation("twelve", "1");
  absl::StatusOr<std::vector<UnixListener>> listeners = TakeSystemdListeners();
  EXPECT_EQ(listeners.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(listeners.status().message(), HasSubstr("LISTEN_PID"));
  SetActivation(pid_, "-1");
  listeners = TakeSystemdListeners();
  EXPECT_EQ(listeners.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(listeners.status().message(), HasSubstr("LISTEN_FDS"));
  EXPECT_TRUE(ActivationVariablesGone());
}

TEST_F(SystemdListenTest, RefusesWhatIsNotAListeningUnixStreamSocket) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  {
    AtFd3 at3(pipe_fds[0]);
    SetActivation(pid_, "1");
    absl::StatusOr<std::vector<UnixListener>> listeners = TakeSystemdListeners();
    EXPECT_EQ(listeners.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(listeners.status().message(),
                HasSubstr("fd 3 is not a listening unix stream socket"));
  }
  close(pipe_fds[1]);
  const int bound_only = UnixSocket(dir_ + "/not-listening.sock", false);
  ASSERT_GE(bound_only, 0);
  AtFd3 at3(bound_only);
  SetActivation(pid_, "1");
  absl::StatusOr<std::vector<UnixListener>> listeners = TakeSystemdListeners();
  EXPECT_EQ(listeners.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(listeners.status().message(), HasSubstr("not a listening unix stream socket"));
}

}  // namespace
}  // namespace headroom::daemon
