// Shared by the end-to-end tests of the `headroom` binary: running it, golden files
// (HEADROOM_UPDATE_GOLDEN=1 rewrites them), and checks that printed tables and JSON add up.
// Used from one test thread.
#pragma once

#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"

namespace headroom::cli_test {

constexpr uint64_t kGiB = uint64_t{1} << 30;

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs headroom with `args` (already shell-quoted) in `cwd`, with `env` ("NAME=value ...",
// shell-quoted) put before the command.
CliResult RunCli(const std::string& args, const std::string& cwd, const std::string& env = "");

// Runs headroom with `args` in the fixture models directory, with no daemon to answer
// (in-process). Paths of the fixtures read "FIXTURES" in the output.
CliResult RunHeadroom(const std::string& args);

// The fixture models directory (tests/fixtures/groundtruth/models).
std::string ModelsDir();

// A whole file.
std::string Slurp(const std::string& path);

// Output equals tests/golden/<golden_name> exactly.
void ExpectGolden(const std::string& actual, const std::string& golden_name);

// JSON equal to the golden's, floating-point fields within 1e-9 relative.
void ExpectJsonGolden(const std::string& actual, const std::string& golden_name);

// Every device row of the human table: its five printed parts add up to its printed total.
void ExpectTableAddsUp(const std::string& out);

// A proto3 JSON 64-bit integer (printed as a string) or a plain number.
uint64_t U64(const nlohmann::json& j);

// A DeviceUsage's five parts add up to its total_bytes.
void ExpectJsonSumsOfParts(const nlohmann::json& device);

}  // namespace headroom::cli_test
