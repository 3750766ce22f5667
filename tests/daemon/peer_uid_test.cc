// Files named in a request are opened only for a caller with the daemon's uid on the unix
// socket (issue 5), checked with the caller's SO_PEERCRED: the real headroomd runs as the test
// (root), and daemon_peer_client asks the same socket as another uid (nobody, 65534).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "headroom/v1/service.grpc.pb.h"

namespace headroom::daemon_test {
namespace {

namespace v1 = headroom::v1;
using ::testing::HasSubstr;

constexpr uid_t kOtherUid = 65534;  // nobody
constexpr gid_t kOtherGid = 65534;  // nogroup
const std::string kGroundtruthGguf =
    std::string(HEADROOM_FIXTURES_DIR) + "/groundtruth/models/llama-big-Q4_K_M.gguf";

struct CallResult {
  int code = -1;
  std::string message;
  std::string output;  // everything the client printed, for failure messages
};

// Runs daemon_peer_client (`client`) as kOtherUid: fork, drop the supplementary groups, the
// gid and the uid, then exec, so the child creates its gRPC channel only as the other user.
// Only async-signal-safe calls between fork and exec (this process runs gRPC threads).
CallResult CallAsOtherUid(const std::string& client, const std::string& endpoint,
                          const std::string& field, const std::string& value) {
  std::vector<std::string> args = {client, endpoint, field, value};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    if (setgroups(0, nullptr) != 0 || setgid(kOtherGid) != 0 || setuid(kOtherUid) != 0) {
      _exit(120);
    }
    execv(argv[0], argv.data());
    _exit(121);
  }
  close(out[1]);
  CallResult result;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = read(out[0], buffer, sizeof(buffer))) > 0) {
    result.output.append(buffer, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    result.output += " (client exit status " + std::to_string(status) + ")";
    return result;
  }
  const size_t space = result.output.find(' ');
  result.code = std::atoi(result.output.substr(0, space).c_str());
  if (space != std::string::npos) result.message = result.output.substr(space + 1);
  return result;
}

TEST(DaemonPeerUidTest, FilesAreOpenedOnlyForTheDaemonsUid) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root: the other caller is run as uid " << kOtherUid
                 << " with setuid, which only root may do";
  }
  TestDaemon daemon;
  ASSERT_TRUE(daemon.ok()) << daemon.process().Log();
  // For this test only, the other uid may reach the socket: the test's directory becomes
  // searchable (0711, not listable) and the socket writable. The daemon's own defaults (0700
  // directory, 0600 socket) are what keep other users out in normal use.
  ASSERT_EQ(chmod(daemon.dir().path().c_str(), 0711), 0);
  ASSERT_EQ(chmod(daemon.socket_path().c_str(), 0666), 0);
  // The client binary is copied beside the socket: the build tree may not be reachable by the
  // other uid.
  const std::string client = daemon.dir().path() + "/peer_client";
  std::filesystem::copy_file(HEADROOM_PEER_CLIENT_PATH, client);
  ASSERT_EQ(chmod(client.c_str(), 0755), 0);

  // The daemon's own uid may name the file.
  v1::EstimateRequest by_path;
  by_path.mutable_model()->set_gguf_path(kGroundtruthGguf);
  v1::Estimate estimate;
  grpc::ClientContext root_context;
  const grpc::Status root_status =
      v1::FitService::NewStub(daemon.channel())->Estimate(&root_context, by_path, &estimate);
  EXPECT_TRUE(root_status.ok()) << root_status.error_message();

  // Another uid may not: the same request is refused, naming the field and the caller.
  CallResult other = CallAsOtherUid(client, daemon.endpoint(), "gguf_path", kGroundtruthGguf);
  EXPECT_EQ(other.code, static_cast<int>(grpc::StatusCode::PERMISSION_DENIED)) << other.output;
  EXPECT_THAT(other.message, HasSubstr("model.gguf_path"));
  EXPECT_THAT(other.message, HasSubstr("uid 65534"));
  // Refused before anything is opened: a missing file gets the same answer, so the other
  // user learns nothing about which of the daemon user's paths exist.
  other =
      CallAsOtherUid(client, daemon.endpoint(), "gguf_path", daemon.dir().path() + "/absent.gguf");
  EXPECT_EQ(other.code, static_cast<int>(grpc::StatusCode::PERMISSION_DENIED)) << other.output;
  EXPECT_THAT(other.message, HasSubstr("model.gguf_path"));
  other = CallAsOtherUid(client, daemon.endpoint(), "config_json_path",
                         daemon.dir().path() + "/config.json");
  EXPECT_EQ(other.code, static_cast<int>(grpc::StatusCode::PERMISSION_DENIED)) << other.output;
  EXPECT_THAT(other.message, HasSubstr("model.config_json_path"));

  // What names no file is still answered for the other uid.
  other = CallAsOtherUid(client, daemon.endpoint(), "catalog_id", "deepseek-r1-distill-qwen-7b");
  EXPECT_EQ(other.code, 0) << other.output;
  // The uid came from the connection (SO_PEERCRED), as the debug log records it.
  EXPECT_THAT(daemon.process().Log(), HasSubstr("uid 65534"));
}

}  // namespace
}  // namespace headroom::daemon_test
