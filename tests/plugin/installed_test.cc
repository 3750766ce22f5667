// The installed package as outsiders use it: `cmake --install --component plugin` into a
// scratch prefix, then a C program compiled as C99 through pkg-config, a separate CMake
// project through find_package(headroom), and the Python binding under Debian's python3,
// each against the real daemon serving a fixture.
#include <string>

#include "client_helpers.h"
#include "daemon_harness.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "process.h"

namespace headroom::plugin_test {
namespace {

using ::testing::HasSubstr;

const std::string kGlob =
    std::string(HEADROOM_FIXTURES_DIR) + "/groundtruth/models/llama-big-*.gguf";

class InstalledTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    prefix_ = new std::string(MakeTempDir());
    const Output installed =
        RunShell(Quote(HEADROOM_CMAKE_COMMAND) + " --install " + Quote(HEADROOM_BINARY_DIR) +
                 " --component plugin --prefix " + Quote(*prefix_));
    install_log_ = new std::string(installed.text);
    install_ok_ = installed.exit_code == 0;
  }
  static void TearDownTestSuite() {
    RemoveTree(*prefix_);
    delete prefix_;
    delete install_log_;
  }
  void SetUp() override { ASSERT_TRUE(install_ok_) << *install_log_; }

  // PKG_CONFIG_PATH for the prefix, wherever GNUInstallDirs put the library.
  static std::string PkgConfigEnv() {
    const Output pc = RunShell("find " + Quote(*prefix_) + " -name headroom.pc");
    std::string dir = pc.text.substr(0, pc.text.rfind('/'));
    return "PKG_CONFIG_PATH=" + Quote(dir) + " ";
  }

  static std::string* prefix_;
  static std::string* install_log_;
  static bool install_ok_;
  DaemonHarness harness_;
};

std::string* InstalledTest::prefix_ = nullptr;
std::string* InstalledTest::install_log_ = nullptr;
bool InstalledTest::install_ok_ = false;

TEST_F(InstalledTest, CProgramThroughPkgConfigPicksAQuant) {
  ASSERT_EQ(harness_.Start(Fixture("gpu_640mib")), "");
  const std::string exe = harness_.dir() + "/c_client";
  const std::string env = PkgConfigEnv();
  const Output built = RunShell(
      env + Quote(HEADROOM_C_COMPILER) + " -std=c99 -pedantic -Wall -Wextra -Werror -x c " +
      Quote(std::string(HEADROOM_SOURCE_DIR) + "/tests/plugin/c_client.c") + " -o " + Quote(exe) +
      " $(" + env + "pkg-config --cflags --libs headroom) -Wl,-rpath,$(" + env +
      "pkg-config --variable=libdir headroom)");
  ASSERT_EQ(built.exit_code, 0) << built.text;
  // The header came from the prefix, not the source tree.
  EXPECT_THAT(RunShell(env + "pkg-config --cflags headroom").text, HasSubstr(*prefix_));

  const Output ran = RunShell(Quote(exe) + " " + Quote(kGlob));
  ASSERT_EQ(ran.exit_code, 0) << ran.text;
  hr_client* client = NewClient();
  hr_request request = hr_request_default();
  request.model_glob = kGlob.c_str();
  request.min_ctx = 4096;
  hr_result* result = nullptr;
  ASSERT_EQ(hr_recommend(client, &request, &result), HR_STATUS_OK) << LastError(client);
  FullChoice pick;
  ASSERT_EQ(GetChoice(result, HR_PICK, pick), HR_STATUS_OK);
  hr_result_free(result);
  hr_client_destroy(client);
  EXPECT_THAT(ran.text, HasSubstr("file=" + pick.file + "\nquant=" + pick.file_type +
                                  "\nn_ctx=" + std::to_string(pick.numbers.n_ctx) +
                                  "\nn_gpu_layers=" + std::to_string(pick.numbers.n_gpu_layers)));
}

TEST_F(InstalledTest, FindPackageFromASeparateProject) {
  const std::string build = harness_.dir() + "/find_package";
  const Output configured =
      RunShell(Quote(HEADROOM_CMAKE_COMMAND) + " -S " +
               Quote(std::string(HEADROOM_SOURCE_DIR) + "/tests/plugin/find_package") + " -B " +
               Quote(build) + " -DCMAKE_PREFIX_PATH=" + Quote(*prefix_) +
               " -DCMAKE_C_COMPILER=" + Quote(HEADROOM_C_COMPILER));
  ASSERT_EQ(configured.exit_code, 0) << configured.text;
  const Output built = RunShell(Quote(HEADROOM_CMAKE_COMMAND) + " --build " + Quote(build));
  ASSERT_EQ(built.exit_code, 0) << built.text;
  const Output ran = RunShell(Quote(build + "/find_package_client"));
  EXPECT_EQ(ran.exit_code, 0) << ran.text;
  EXPECT_THAT(ran.text, HasSubstr("abi " + std::to_string(HR_API_VERSION)));
}

TEST_F(InstalledTest, PythonBindingWithDebianPython) {
  ASSERT_EQ(harness_.Start(Fixture("gpu_8gib")), "");
  const Output lib = RunShell("find " + Quote(*prefix_) + " -name 'libheadroom.so.1'");
  ASSERT_FALSE(lib.text.empty());
  const Output py = RunShell("find " + Quote(*prefix_) + " -name headroom.py");
  ASSERT_FALSE(py.text.empty());
  const std::string py_dir = py.text.substr(0, py.text.rfind('/'));
  const Output ran =
      RunShell("HEADROOM_LIBRARY=" + Quote(lib.text.substr(0, lib.text.find('\n'))) +
               " PYTHONPATH=" + Quote(py_dir) + " HEADROOM_TEST_MODELS=" + Quote(kGlob) +
               " /usr/bin/python3 " +
               Quote(std::string(HEADROOM_SOURCE_DIR) + "/tests/plugin/python_binding_test.py"));
  EXPECT_EQ(ran.exit_code, 0) << ran.text;
  EXPECT_THAT(ran.text, HasSubstr("OK"));
}

}  // namespace
}  // namespace headroom::plugin_test
