// `headroom hw` end to end: a recorded desktop (golden text and JSON fields), a capture of this
// machine replayed, the live machine, and bad arguments.
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

using headroom::cli_test::ExpectGolden;
using Result = headroom::cli_test::CliResult;

// Runs `headroom hw ARGS` in `cwd` with a private cache directory, so no user cache leaks in.
Result RunHw(const std::string& args, const std::string& cwd) {
  const std::string cache = (fs::temp_directory_path() / "headroom-hw-cli-cache").string();
  // No daemon answers here: the calibration line must say so, not wait or guess.
  return headroom::cli_test::RunCli(
      "hw " + args, cwd,
      "HEADROOM_ENDPOINT=unix:/nonexistent/headroomd.sock XDG_CACHE_HOME='" + cache + "'");
}

std::string HwlocFixtures() { return std::string(HEADROOM_FIXTURES_DIR) + "/hwloc"; }

TEST(HwCli, FixtureGolden) {
  // A relative path keeps the golden file free of this checkout's location.
  Result r = RunHw("--fixture desktop-rtx4090", HwlocFixtures());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NVIDIA GeForce RTX 4090"));
  EXPECT_THAT(r.out, HasSubstr("1008.0 GB/s"));
  ExpectGolden(r.out, "hw_desktop-rtx4090.txt");
}

TEST(HwCli, FixtureJsonIsTheHardwareMessage) {
  Result r = RunHw("--fixture desktop-rtx4090 --json", HwlocFixtures());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["cpu"]["model"], "AMD Ryzen 9 7950X 16-Core Processor");
  EXPECT_EQ(j["cpu"]["cores"], 16);
  EXPECT_EQ(j["cpu"]["threads"], 32);
  // Proto JSON writes 64-bit integers as strings.
  EXPECT_EQ(j["ram"]["total_bytes"], "66428358656");
  EXPECT_EQ(j["ram"]["source"], "/proc/meminfo MemTotal, MemAvailable");
  ASSERT_EQ(j["gpus"].size(), 1u);
  EXPECT_EQ(j["gpus"][0]["bandwidth_gbps"], 1008);
  EXPECT_EQ(j["gpus"][0]["bandwidth_source"], "SOURCE_TABLE");
  EXPECT_EQ(j["gpus"][0]["placeable"], true);
  EXPECT_EQ(j["gpus"][0]["numa_node"], 0);
  EXPECT_EQ(j["host_bandwidth_source"], "SOURCE_ASSUMED");
}

TEST(HwCli, CaptureThenReplay) {
  const std::string dir =
      (fs::temp_directory_path() / ("headroom-hw-capture-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  Result capture = RunHw("--capture '" + dir + "'", "/");
  ASSERT_EQ(capture.exit_code, 0) << capture.err;
  EXPECT_THAT(capture.out, HasSubstr("Captured this machine"));
  Result live = RunHw("--json", "/");
  Result replay = RunHw("--json --fixture '" + dir + "'", "/");
  ASSERT_EQ(live.exit_code, 0) << live.err;
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  const nlohmann::json a = nlohmann::json::parse(live.out);
  const nlohmann::json b = nlohmann::json::parse(replay.out);
  EXPECT_EQ(a["cpu"], b["cpu"]);
  EXPECT_EQ(a["ram"]["total_bytes"], b["ram"]["total_bytes"]);
  EXPECT_EQ(a["gpus"].size(), b["gpus"].size());
  EXPECT_EQ(a["fingerprint"], b["fingerprint"]);
  fs::remove_all(dir);
}

TEST(HwCli, LiveHumanOutputNamesItsSources) {
  Result r = RunHw("", "/");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Machine: live"));
  EXPECT_THAT(r.out, HasSubstr("source: /proc/meminfo"));
  EXPECT_THAT(r.out, HasSubstr("host read bandwidth"));
  EXPECT_THAT(r.out, HasSubstr("calibration  unknown: no headroomd running"));
}

TEST(HwCli, BadArguments) {
  Result missing = RunHw("--fixture /nonexistent/machine", "/");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/machine"));
  Result both = RunHw("--capture /tmp/x --fixture /tmp/y", "/");
  EXPECT_EQ(both.exit_code, 2);
}

}  // namespace
