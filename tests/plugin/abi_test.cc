// The built libheadroom.so as a launcher sees it: dlopen, its version, its status names, its
// defaults, and that it exports the C ABI and nothing else.
#include <dlfcn.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "headroom/headroom.h"
#include "process.h"

namespace {

TEST(AbiTest, DlopenedLibraryReportsTheHeaderVersion) {
  void* library = dlopen(HEADROOM_PLUGIN_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(library, nullptr) << dlerror();
  using VersionFn = uint32_t (*)();
  auto version = reinterpret_cast<VersionFn>(dlsym(library, "hr_abi_version"));
  ASSERT_NE(version, nullptr) << dlerror();
  EXPECT_EQ(version(), static_cast<uint32_t>(HR_API_VERSION));
  EXPECT_EQ(version() / 10000, static_cast<uint32_t>(HR_API_VERSION_MAJOR));
  // Internal C++ symbols stay hidden.
  EXPECT_EQ(dlsym(library, "_ZN8headroom6plugin15DefaultEndpointB5cxx11Ev"), nullptr);
  EXPECT_EQ(dlclose(library), 0);
}

TEST(AbiTest, ExportsOnlyTheCApi) {
  const headroom::plugin_test::Output nm = headroom::plugin_test::RunShell(
      "nm -D --defined-only " + headroom::plugin_test::Quote(HEADROOM_PLUGIN_LIBRARY));
  ASSERT_EQ(nm.exit_code, 0) << nm.text;
  size_t exported = 0;
  size_t start = 0;
  while (start < nm.text.size()) {
    size_t end = nm.text.find('\n', start);
    if (end == std::string::npos) end = nm.text.size();
    const std::string line = nm.text.substr(start, end - start);
    start = end + 1;
    const std::string name = line.substr(line.rfind(' ') + 1);
    if (line.find(" A ") != std::string::npos) continue;  // version node HEADROOM_1
    EXPECT_EQ(name.rfind("hr_", 0), 0U) << "unexpected export: " << line;
    ++exported;
  }
  // The 19 functions of headroom.h 1.0; a new one is a deliberate ABI change.
  EXPECT_EQ(exported, 19U);
}

TEST(AbiTest, SonameCarriesTheMajorVersion) {
  const headroom::plugin_test::Output dump = headroom::plugin_test::RunShell(
      "objdump -p " + headroom::plugin_test::Quote(HEADROOM_PLUGIN_LIBRARY));
  ASSERT_EQ(dump.exit_code, 0) << dump.text;
  EXPECT_NE(
      dump.text.find("SONAME               libheadroom.so." + std::to_string(HR_API_VERSION_MAJOR)),
      std::string::npos)
      << dump.text;
}

TEST(AbiTest, EveryStatusHasAName) {
  for (int s = HR_STATUS_OK; s <= HR_STATUS_INTERNAL; ++s) {
    const std::string name = hr_status_str(static_cast<hr_status>(s));
    EXPECT_EQ(name.rfind("HR_STATUS_", 0), 0U) << s;
    EXPECT_NE(name, "HR_STATUS_UNKNOWN") << s;
  }
  EXPECT_STREQ(hr_status_str(HR_STATUS_NO_FIT), "HR_STATUS_NO_FIT");
  // A C caller can pass any int: store one the way C would.
  hr_status unknown = HR_STATUS_OK;
  const int value = 1000;
  std::memcpy(&unknown, &value, sizeof value);
  EXPECT_STREQ(hr_status_str(unknown), "HR_STATUS_UNKNOWN");
}

TEST(AbiTest, DefaultsCarryTheirStructSize) {
  const hr_client_params params = hr_client_params_default();
  EXPECT_EQ(params.struct_size, sizeof(hr_client_params));
  EXPECT_TRUE(params.autostart);
  EXPECT_GT(params.timeout_ms, 0U);
  EXPECT_GT(params.start_timeout_ms, 0U);
  const hr_request request = hr_request_default();
  EXPECT_EQ(request.struct_size, sizeof(hr_request));
  EXPECT_EQ(request.runtime, HR_RUNTIME_LLAMA_CPP);
  EXPECT_EQ(request.prefer, HR_PREFER_QUALITY);
  EXPECT_LT(request.margin_bytes, 0);
  const hr_run_report report = hr_run_report_default();
  EXPECT_EQ(report.struct_size, sizeof(hr_run_report));
  EXPECT_LT(report.n_gpu_layers, 0);
}

TEST(AbiTest, EndpointComesFromTheEnvironment) {
  ASSERT_EQ(setenv("HEADROOM_ENDPOINT", "unix:/tmp/headroom-abi-test.sock", 1), 0);
  hr_client* client = nullptr;
  ASSERT_EQ(hr_client_create(nullptr, &client), HR_STATUS_OK);
  char endpoint[64];
  EXPECT_EQ(hr_client_endpoint(client, endpoint, sizeof endpoint),
            std::strlen("unix:/tmp/headroom-abi-test.sock"));
  EXPECT_STREQ(endpoint, "unix:/tmp/headroom-abi-test.sock");
  // A short buffer gets a truncated, terminated copy and the full length.
  char small[8];
  EXPECT_EQ(hr_client_endpoint(client, small, sizeof small), std::strlen(endpoint));
  EXPECT_STREQ(small, "unix:/t");
  hr_client_destroy(client);
  ASSERT_EQ(unsetenv("HEADROOM_ENDPOINT"), 0);
}

TEST(AbiTest, ClientParamsAreValidated) {
  hr_client_params params = hr_client_params_default();
  params.timeout_ms = 0;
  hr_client* client = reinterpret_cast<hr_client*>(&params);  // must be reset to NULL
  EXPECT_EQ(hr_client_create(&params, &client), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(client, nullptr);
  params = hr_client_params_default();
  params.struct_size = 2;
  EXPECT_EQ(hr_client_create(&params, &client), HR_STATUS_INVALID_ARGUMENT);
}

}  // namespace
