// Systemd socket activation without systemd: the test binds and listens on a unix socket, then
// starts headroomd the way systemd does (sd_listen_fds(3): the socket as fd 3, LISTEN_FDS=1,
// LISTEN_PID = the daemon's own pid, set in the child between fork and exec). The daemon must
// serve on that socket, bind nothing of its own, and leave the socket file alone. Also checks
// that the shipped user units name each other and the default socket.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "headroom/v1/service.grpc.pb.h"

extern char** environ;

namespace headroom::daemon_test {
namespace {

namespace v1 = headroom::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kSdListenFdsStart = 3;

// A listening unix socket at `path`, as systemd creates it for ListenStream=; -1 on failure.
int ListenOn(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      chmod(path.c_str(), 0600) != 0 || listen(fd, 16) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

// Writes `value` in decimal into `out` (async-signal-safe, for the child after fork).
void FormatPid(pid_t value, char* out) {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < 15);
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
}

// Starts headroomd with `listen_fd` as fd 3 and the sd_listen_fds variables, stdout and
// stderr to `log_path`. Everything is prepared before fork; the child only fills in its pid.
pid_t SpawnActivated(int listen_fd, const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env, const std::string& log_path) {
  std::vector<std::string> argv_storage = {HeadroomdPath()};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    if (env.count(key) == 0 && key.rfind("LISTEN_", 0) != 0) env_storage.push_back(entry);
  }
  for (const auto& [key, value] : env) env_storage.push_back(key + "=" + value);
  env_storage.push_back("LISTEN_FDS=1");
  env_storage.push_back("LISTEN_PID=" + std::string(16, '\0'));  // filled in by the child
  char* listen_pid = env_storage.back().data();
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) return -1;

  const pid_t pid = fork();
  if (pid == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    // dup2 clears FD_CLOEXEC on fd 3; when the socket already is fd 3, clear it by hand.
    if (listen_fd == kSdListenFdsStart) {
      fcntl(listen_fd, F_SETFD, 0);
    } else if (dup2(listen_fd, kSdListenFdsStart) != kSdListenFdsStart) {
      _exit(120);
    }
    FormatPid(getpid(), listen_pid + std::strlen("LISTEN_PID="));
    execve(argv[0], argv.data(), envp.data());
    _exit(121);
  }
  close(log_fd);
  return pid;
}

ino_t Inode(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(DaemonSocketActivationTest, ServesThePassedSocketAndLeavesItAlone) {
  TempDir dir;
  WriteFixture(dir.path() + "/hardware.txtpb", {});
  const std::string socket_path = dir.path() + "/activated.sock";
  const int listen_fd = ListenOn(socket_path);
  ASSERT_GE(listen_fd, 0) << std::strerror(errno);
  const ino_t inode = Inode(socket_path);
  // No --listen: with activation the daemon serves what it was given and binds nothing,
  // not even its default socket under XDG_RUNTIME_DIR.
  const std::string default_socket = dir.path() + "/run/headroom/headroomd.sock";
  const std::map<std::string, std::string> env = {{"XDG_CONFIG_HOME", dir.path() + "/config"},
                                                  {"XDG_STATE_HOME", dir.path() + "/xdg-state"},
                                                  {"XDG_CACHE_HOME", dir.path() + "/cache"},
                                                  {"XDG_RUNTIME_DIR", dir.path() + "/run"}};
  const std::vector<std::string> args = {"--fixture=" + dir.path() + "/hardware.txtpb",
                                         "--refresh-seconds=1", "--log-level=debug",
                                         "--state-dir=" + dir.path() + "/state"};
  DaemonProcess daemon;
  const pid_t pid = SpawnActivated(listen_fd, args, env, dir.path() + "/headroomd.log");
  ASSERT_GT(pid, 0);
  daemon.Adopt(pid, dir.path() + "/headroomd.log");

  const std::string endpoint = "unix:" + socket_path;
  ASSERT_TRUE(WaitServing(endpoint, std::chrono::seconds(30))) << daemon.Log();
  v1::EstimateRequest request;
  request.mutable_model()->set_catalog_id("deepseek-r1-distill-qwen-7b");
  v1::Estimate estimate;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  const grpc::Status status =
      v1::FitService::NewStub(Connect(endpoint))->Estimate(&context, request, &estimate);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(estimate.model().id(), "deepseek-r1-distill-qwen-7b");
  EXPECT_THAT(daemon.Log(), HasSubstr("socket activation: serving " + socket_path));
  EXPECT_FALSE(std::filesystem::exists(default_socket));
  EXPECT_FALSE(std::filesystem::exists(socket_path + ".lock"));

  EXPECT_EQ(daemon.Stop(SIGTERM), 0) << daemon.Log();
  // The socket belongs to systemd: still there, the same file, and still accepting through
  // the listening fd systemd (here the test) holds, so the next connection starts the daemon
  // again.
  EXPECT_EQ(Inode(socket_path), inode);
  const int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
      << std::strerror(errno);
  close(client);
  close(listen_fd);
}

TEST(DaemonSocketActivationTest, RefusesAPassedFdThatIsNotAUnixListener) {
  TempDir dir;
  WriteFixture(dir.path() + "/hardware.txtpb", {});
  // A plain file where the listening socket should be.
  const int file_fd =
      open((dir.path() + "/not-a-socket").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(file_fd, 0);
  DaemonProcess daemon;
  const pid_t pid = SpawnActivated(
      file_fd, {"--fixture=" + dir.path() + "/hardware.txtpb"},
      {{"XDG_RUNTIME_DIR", dir.path() + "/run"}, {"XDG_CONFIG_HOME", dir.path() + "/config"}},
      dir.path() + "/headroomd.log");
  ASSERT_GT(pid, 0);
  daemon.Adopt(pid, dir.path() + "/headroomd.log");
  for (int i = 0; i < 200 && !daemon.Exited(); ++i) usleep(50'000);
  EXPECT_EQ(daemon.Stop(SIGKILL), 1) << daemon.Log();
  EXPECT_THAT(daemon.Log(), HasSubstr("LISTEN_FDS: fd 3 is not a listening unix stream socket"));
  close(file_fd);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(DaemonSocketActivationTest, UserUnitsNameEachOtherAndTheDefaultSocket) {
  const std::string socket_unit = ReadText(std::string(HEADROOM_SYSTEMD_DIR) + "/headroomd.socket");
  const std::string service_unit =
      ReadText(std::string(HEADROOM_SYSTEMD_DIR) + "/headroomd.service.in");
  ASSERT_FALSE(socket_unit.empty());
  ASSERT_FALSE(service_unit.empty());
  // headroomd.socket activates headroomd.service (same name); %t is $XDG_RUNTIME_DIR for user
  // units, so the socket is the clients' default endpoint.
  EXPECT_THAT(socket_unit, HasSubstr("\nListenStream=%t/headroom/headroomd.sock\n"));
  EXPECT_THAT(socket_unit, HasSubstr("\nSocketMode=0600\n"));
  EXPECT_THAT(socket_unit, HasSubstr("\nDirectoryMode=0700\n"));
  EXPECT_THAT(socket_unit, Not(HasSubstr("Accept=yes")));  // one daemon, not one per connection
  EXPECT_THAT(service_unit, HasSubstr("\nRequires=headroomd.socket\n"));
  EXPECT_THAT(service_unit, HasSubstr("\nExecStart=@CMAKE_INSTALL_FULL_BINDIR@/headroomd\n"));
  // No --listen on the command line: the daemon must serve only the socket it is given.
  EXPECT_THAT(service_unit, Not(HasSubstr("--listen")));
}

}  // namespace
}  // namespace headroom::daemon_test
