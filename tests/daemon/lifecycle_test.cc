// headroomd as a process: flags, config file, endpoints (default socket, stale and live
// sockets, TCP with its path rule, non-loopback refusal) and shutdown on SIGTERM.
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

#include "daemon_harness.h"
#include "headroom/v1/service.grpc.pb.h"

namespace headroom::daemon_test {
namespace {

namespace v1 = headroom::v1;
using ::testing::HasSubstr;

const std::string kGroundtruthGguf =
    std::string(HEADROOM_FIXTURES_DIR) + "/groundtruth/models/llama-big-Q4_K_M.gguf";

std::unique_ptr<grpc::ClientContext> Deadline(int seconds = 20) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

grpc::Status EstimateFile(const std::shared_ptr<grpc::Channel>& channel) {
  v1::EstimateRequest request;
  request.mutable_model()->set_gguf_path(kGroundtruthGguf);
  v1::Estimate estimate;
  return v1::FitService::NewStub(channel)->Estimate(Deadline().get(), request, &estimate);
}

TEST(DaemonLifecycleTest, VersionAndHelp) {
  std::string out;
  EXPECT_EQ(RunToExit({"--version"}, {}, &out), 0);
  EXPECT_THAT(out, HasSubstr("headroomd 0.1.0"));
  EXPECT_EQ(RunToExit({"--help"}, {}, &out), 0);
  for (const char* flag : {"--listen", "--fixture", "--refresh-seconds", "--allow-remote",
                           "--allow-paths-over-tcp", "--config", "--log-level"}) {
    EXPECT_THAT(out, HasSubstr(flag));
  }
  EXPECT_EQ(RunToExit({"--no-such-flag"}, {}, &out), 2);
}

TEST(DaemonLifecycleTest, SigtermEndsStreamsAndRemovesTheSocket) {
  TestDaemon daemon;
  ASSERT_TRUE(daemon.ok()) << daemon.process().Log();
  EXPECT_EQ(Mode(daemon.socket_path()), 0600u);
  auto context = Deadline(30);
  auto reader = v1::HardwareService::NewStub(daemon.channel())->Watch(context.get(), {});
  v1::Hardware first;
  ASSERT_TRUE(reader->Read(&first));
  kill(daemon.process().pid(), SIGTERM);
  v1::Hardware more;
  while (reader->Read(&more)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("shutting down"));
  EXPECT_EQ(daemon.process().Stop(SIGTERM), 0) << daemon.process().Log();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));
  EXPECT_THAT(daemon.process().Log(), HasSubstr("stopped"));
}

TEST(DaemonLifecycleTest, DefaultSocketIsPrivateUnderXdgRuntimeDir) {
  TestDaemon daemon({}, /*listen_unix=*/false);
  // No --listen: TestDaemon waits for a TCP line that never comes, so wait here instead.
  const std::string socket = daemon.dir().path() + "/run/headroom/headroomd.sock";
  ASSERT_TRUE(WaitServing("unix:" + socket, std::chrono::seconds(20))) << daemon.process().Log();
  EXPECT_EQ(Mode(daemon.dir().path() + "/run/headroom"), 0700u);
  EXPECT_EQ(Mode(socket), 0600u);
  EXPECT_EQ(daemon.process().Stop(SIGINT), 0);
  EXPECT_FALSE(std::filesystem::exists(socket));
}

TEST(DaemonLifecycleTest, StaleSocketIsReplaced) {
  TempDir dir;
  const std::string path = dir.path() + "/d.sock";
  // A socket file nobody listens on, as a crashed daemon leaves it.
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  close(fd);
  ASSERT_TRUE(std::filesystem::exists(path));

  TestDaemon daemon({"--listen=unix:" + path}, /*listen_unix=*/false);
  ASSERT_TRUE(WaitServing("unix:" + path, std::chrono::seconds(20))) << daemon.process().Log();
  EXPECT_THAT(daemon.process().Log(), HasSubstr("stale socket"));
}

TEST(DaemonLifecycleTest, LiveDaemonsSocketIsNeverStolen) {
  TestDaemon first;
  ASSERT_TRUE(first.ok()) << first.process().Log();
  std::vector<std::string> flags = first.base_flags();
  flags.push_back("--listen=" + first.endpoint());
  std::string out;
  EXPECT_EQ(RunToExit(flags, first.env(), &out), 1);
  EXPECT_THAT(out, HasSubstr(first.socket_path()));
  EXPECT_THAT(out, ::testing::ContainsRegex("another headroomd|live daemon"));
  EXPECT_TRUE(WaitServing(first.endpoint(), std::chrono::seconds(5)));
}

TEST(DaemonLifecycleTest, TcpServesButRefusesPathsUnlessAllowed) {
  TestDaemon daemon({"--listen=127.0.0.1:0"}, /*listen_unix=*/false);
  ASSERT_TRUE(daemon.ok()) << daemon.process().Log();
  auto channel = Connect(daemon.TcpEndpointFromLog());
  grpc::Status status = EstimateFile(channel);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("model.gguf_path"));
  EXPECT_THAT(status.error_message(), HasSubstr("--allow-paths-over-tcp"));
  v1::EstimateRequest by_id;
  by_id.mutable_model()->set_catalog_id("deepseek-r1-distill-qwen-7b");
  v1::Estimate estimate;
  EXPECT_TRUE(v1::FitService::NewStub(channel)->Estimate(Deadline().get(), by_id, &estimate).ok());

  TestDaemon allowed({"--listen=127.0.0.1:0", "--allow-paths-over-tcp"}, false);
  ASSERT_TRUE(allowed.ok()) << allowed.process().Log();
  status = EstimateFile(Connect(allowed.TcpEndpointFromLog()));
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(DaemonLifecycleTest, NonLoopbackNeedsAllowRemoteAndWarns) {
  TestDaemon probe_env;  // for its fixture and env
  ASSERT_TRUE(probe_env.ok());
  std::vector<std::string> flags = probe_env.base_flags();
  flags.push_back("--listen=0.0.0.0:0");
  std::string out;
  EXPECT_EQ(RunToExit(flags, probe_env.env(), &out), 1);
  EXPECT_THAT(out, HasSubstr("--allow-remote"));
  EXPECT_THAT(out, HasSubstr("listen[0]"));

  TestDaemon remote({"--listen=0.0.0.0:0", "--allow-remote"}, false);
  ASSERT_TRUE(remote.ok()) << remote.process().Log();
  EXPECT_THAT(remote.process().Log(), HasSubstr("[warning] listening on non-loopback"));
}

TEST(DaemonLifecycleTest, ConfigFileIsReadAndFlagsOverrideIt) {
  TempDir dir;
  const std::string config_dir = dir.path() + "/config/headroom";
  std::filesystem::create_directories(config_dir);
  const std::string from_config = dir.path() + "/from-config.sock";
  std::ofstream(config_dir + "/headroomd.txtpb")
      << "listen: \"unix:" << from_config << "\"\nrefresh_seconds: 1\nlog_level: \"debug\"\n";
  WriteFixture(dir.path() + "/hw.txtpb", {});
  std::map<std::string, std::string> env = {{"XDG_CONFIG_HOME", dir.path() + "/config"},
                                            {"XDG_RUNTIME_DIR", dir.path() + "/run"}};
  const std::vector<std::string> base = {"--fixture=" + dir.path() + "/hw.txtpb",
                                         "--state-dir=" + dir.path() + "/state"};
  {
    DaemonProcess daemon;
    ASSERT_TRUE(daemon.Spawn(base, env, dir.path() + "/a.log"));
    EXPECT_TRUE(WaitServing("unix:" + from_config, std::chrono::seconds(20))) << daemon.Log();
    EXPECT_THAT(daemon.Log(), HasSubstr("[debug]"));
    EXPECT_EQ(daemon.Stop(SIGTERM), 0);
  }
  {
    const std::string from_flag = dir.path() + "/from-flag.sock";
    std::vector<std::string> flags = base;
    flags.push_back("--listen=unix:" + from_flag);
    DaemonProcess daemon;
    ASSERT_TRUE(daemon.Spawn(flags, env, dir.path() + "/b.log"));
    EXPECT_TRUE(WaitServing("unix:" + from_flag, std::chrono::seconds(20))) << daemon.Log();
    EXPECT_FALSE(std::filesystem::exists(from_config));
    EXPECT_EQ(daemon.Stop(SIGTERM), 0);
  }
  std::ofstream(config_dir + "/headroomd.txtpb") << "refresh_seconds: \"often\"\n";
  std::string out;
  EXPECT_EQ(RunToExit(base, env, &out), 2);
  EXPECT_THAT(out, HasSubstr("headroomd.txtpb:1:"));
}

}  // namespace
}  // namespace headroom::daemon_test
