#include "cli_test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "gtest/gtest.h"

namespace headroom::cli_test {
namespace {

namespace fs = std::filesystem;

// Floating-point fields may differ in their last digits between build types (contraction,
// vectorization); everything else must match exactly.
void ExpectJsonNear(const nlohmann::json& actual, const nlohmann::json& golden,
                    const std::string& where) {
  if (actual.is_number_float() || golden.is_number_float()) {
    ASSERT_TRUE(actual.is_number() && golden.is_number()) << where;
    const double a = actual.get<double>();
    const double g = golden.get<double>();
    EXPECT_NEAR(a, g, 1e-9 * std::max(1.0, std::abs(g))) << where;
    return;
  }
  if (actual.is_object() && golden.is_object()) {
    EXPECT_EQ(actual.size(), golden.size()) << where;
    for (const auto& [key, value] : golden.items()) {
      ASSERT_TRUE(actual.contains(key)) << where << "." << key;
      ExpectJsonNear(actual.at(key), value, where + "." + key);
    }
    return;
  }
  if (actual.is_array() && golden.is_array()) {
    ASSERT_EQ(actual.size(), golden.size()) << where;
    for (size_t i = 0; i < golden.size(); ++i) {
      ExpectJsonNear(actual[i], golden[i], where + "[" + std::to_string(i) + "]");
    }
    return;
  }
  EXPECT_EQ(actual, golden) << where;
}

// Hundredths of a GiB as printed ("12.34" -> 1234).
int64_t Centi(const std::string& s) {
  const size_t dot = s.find('.');
  return std::stoll(s.substr(0, dot)) * 100 + std::stoll(s.substr(dot + 1));
}

// Writes `actual` over the golden file and returns true when HEADROOM_UPDATE_GOLDEN=1.
bool UpdatedGolden(const std::string& actual, const std::string& path) {
  const char* update = std::getenv("HEADROOM_UPDATE_GOLDEN");
  if (update == nullptr || std::string(update) != "1") return false;
  std::ofstream(path, std::ios::binary) << actual;
  return true;
}

}  // namespace

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ModelsDir() { return std::string(HEADROOM_FIXTURES_DIR) + "/groundtruth/models"; }

CliResult RunCli(const std::string& args, const std::string& cwd, const std::string& env) {
  const fs::path err_file =
      fs::temp_directory_path() / ("headroom-cli-err-" + std::to_string(::getpid()));
  const std::string cmd = "cd '" + cwd + "' && " + env + " '" + HEADROOM_CLI_PATH + "' " + args +
                          " 2>'" + err_file.string() + "'";
  CliResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = Slurp(err_file.string());
  fs::remove(err_file);
  return r;
}

CliResult RunHeadroom(const std::string& args) {
  // No daemon answers on this endpoint: the default backend choice falls back to in-process.
  CliResult r = RunCli(args, ModelsDir(), "HEADROOM_ENDPOINT=unix:/nonexistent/headroomd.sock");
  const std::string fixtures = fs::canonical(HEADROOM_FIXTURES_DIR).string();
  for (size_t pos = 0; (pos = r.out.find(fixtures, pos)) != std::string::npos;) {
    r.out.replace(pos, fixtures.size(), "FIXTURES");
  }
  return r;
}

void ExpectGolden(const std::string& actual, const std::string& golden_name) {
  const std::string path = std::string(HEADROOM_GOLDEN_DIR) + "/" + golden_name;
  if (UpdatedGolden(actual, path)) return;
  ASSERT_TRUE(fs::exists(path)) << path << " is missing; run with HEADROOM_UPDATE_GOLDEN=1";
  EXPECT_EQ(actual, Slurp(path)) << "output differs from " << path
                                 << " (HEADROOM_UPDATE_GOLDEN=1 rewrites it)";
}

void ExpectJsonGolden(const std::string& actual, const std::string& golden_name) {
  const std::string path = std::string(HEADROOM_GOLDEN_DIR) + "/" + golden_name;
  if (UpdatedGolden(actual, path)) return;
  ASSERT_TRUE(fs::exists(path)) << path << " is missing; run with HEADROOM_UPDATE_GOLDEN=1";
  ExpectJsonNear(nlohmann::json::parse(actual), nlohmann::json::parse(Slurp(path)), golden_name);
}

void ExpectTableAddsUp(const std::string& out) {
  const std::regex row(R"(\s(\d+)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+)"
                       R"((\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\n)");
  int rows = 0;
  for (std::sregex_iterator it(out.begin(), out.end(), row), end; it != end; ++it, ++rows) {
    const std::smatch& m = *it;
    int64_t parts = 0;
    for (size_t i = 2; i <= 6; ++i) parts += Centi(m[i]);
    EXPECT_EQ(parts, Centi(m[7])) << m[0];
  }
  EXPECT_GE(rows, 1) << out;
}

uint64_t U64(const nlohmann::json& j) {
  // proto3 JSON prints 64-bit integers as strings.
  return j.is_string() ? std::stoull(j.get<std::string>()) : j.get<uint64_t>();
}

void ExpectJsonSumsOfParts(const nlohmann::json& device) {
  uint64_t parts = 0;
  for (const char* f :
       {"weights_bytes", "kv_cache_bytes", "compute_bytes", "output_bytes", "overhead_bytes"}) {
    parts += U64(device.at(f));
  }
  EXPECT_EQ(parts, U64(device.at("total_bytes"))) << device.dump();
}

}  // namespace headroom::cli_test
