// Every entry point given NULL (or a truncated struct) answers with a status and never
// crashes; request fields are validated before any I/O, with messages naming the field.
#include <cstddef>
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "headroom/headroom.h"

namespace {

// Stores an int into an enum field the way a C caller can (any value of the int).
template <typename Enum>
void SetInt(Enum& field, int value) {
  static_assert(sizeof(Enum) == sizeof(int));
  std::memcpy(&field, &value, sizeof value);
}

std::string LastError(hr_client* client) {
  std::string text(hr_client_last_error(client, nullptr, 0), '\0');
  hr_client_last_error(client, text.data(), text.size() + 1);
  return text;
}

TEST(NullSafetyTest, ClientFunctions) {
  EXPECT_EQ(hr_client_create(nullptr, nullptr), HR_STATUS_INVALID_ARGUMENT);
  hr_client_destroy(nullptr);
  EXPECT_EQ(hr_client_connect(nullptr), HR_STATUS_INVALID_ARGUMENT);
  char buf[8] = "x";
  EXPECT_EQ(hr_client_endpoint(nullptr, buf, sizeof buf), 0U);
  EXPECT_STREQ(buf, "");
  EXPECT_EQ(hr_client_endpoint(nullptr, nullptr, 0), 0U);
  EXPECT_EQ(hr_client_last_error(nullptr, nullptr, 0), 0U);
  hr_result* result = nullptr;
  const hr_request request = hr_request_default();
  EXPECT_EQ(hr_recommend(nullptr, &request, &result), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(hr_recommend(nullptr, nullptr, nullptr), HR_STATUS_INVALID_ARGUMENT);
  const hr_run_report report = hr_run_report_default();
  uint32_t samples = 7;
  EXPECT_EQ(hr_report_run(nullptr, &report, &samples), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(samples, 0U);
  EXPECT_EQ(hr_report_run(nullptr, nullptr, nullptr), HR_STATUS_INVALID_ARGUMENT);
}

TEST(NullSafetyTest, ResultFunctions) {
  hr_result_free(nullptr);
  char buf[8] = "x";
  EXPECT_EQ(hr_result_reason(nullptr, buf, sizeof buf), 0U);
  EXPECT_STREQ(buf, "");
  size_t count = 9;
  EXPECT_EQ(hr_result_alternative_count(nullptr, &count), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(count, 0U);
  hr_choice choice;
  choice.struct_size = sizeof choice;
  EXPECT_EQ(hr_result_choice(nullptr, HR_PICK, &choice), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(hr_result_choice_string(nullptr, HR_PICK, HR_CHOICE_FILE, buf, sizeof buf), 0U);
  hr_device device;
  device.struct_size = sizeof device;
  EXPECT_EQ(hr_result_device(nullptr, HR_PICK, 0, &device), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(hr_result_device_name(nullptr, HR_PICK, 0, buf, sizeof buf), 0U);
}

class RequestValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hr_client_params params = hr_client_params_default();
    params.endpoint = "unix:/tmp/headroom-no-such-daemon/headroomd.sock";
    params.autostart = false;
    ASSERT_EQ(hr_client_create(&params, &client_), HR_STATUS_OK);
  }
  void TearDown() override { hr_client_destroy(client_); }

  hr_status Recommend(const hr_request& request) {
    hr_result* result = nullptr;
    const hr_status status = hr_recommend(client_, &request, &result);
    EXPECT_EQ(result, nullptr);
    hr_result_free(result);
    return status;
  }

  hr_client* client_ = nullptr;
};

TEST_F(RequestValidationTest, NullArgumentsNameTheArgument) {
  EXPECT_EQ(hr_recommend(client_, nullptr, nullptr), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(client_), "request: NULL");
  const hr_request request = hr_request_default();
  EXPECT_EQ(hr_recommend(client_, &request, nullptr), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(client_), "out: NULL");
  EXPECT_EQ(hr_report_run(client_, nullptr, nullptr), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(client_), "report: NULL");
}

TEST_F(RequestValidationTest, NoModel) {
  EXPECT_EQ(Recommend(hr_request_default()), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(LastError(client_).find("model_files, model_glob, catalog_id"), std::string::npos);
}

TEST_F(RequestValidationTest, ArraysAndTheirCounts) {
  hr_request request = hr_request_default();
  request.model_file_count = 2;
  EXPECT_EQ(Recommend(request), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(client_), "request.model_files: NULL with a count of 2");

  const char* files[] = {HEADROOM_FIXTURES_DIR "/groundtruth/models/llama-gqa-Q4_0.gguf", nullptr};
  request.model_files = files;
  EXPECT_EQ(Recommend(request), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(client_), "request.model_files[1]: NULL or empty");

  request.model_file_count = 1;
  request.kv_type_count = 1;
  EXPECT_EQ(Recommend(request), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(client_), "request.kv_types: NULL with a count of 1");
}

TEST_F(RequestValidationTest, MissingFilesAndEmptyGlobsAreNotFound) {
  hr_request request = hr_request_default();
  const char* files[] = {"/nonexistent/model-Q4_K_M.gguf"};
  request.model_files = files;
  request.model_file_count = 1;
  EXPECT_EQ(Recommend(request), HR_STATUS_NOT_FOUND);
  EXPECT_EQ(LastError(client_),
            "request.model_files[0]: no such file: /nonexistent/model-Q4_K_M.gguf");

  request = hr_request_default();
  request.model_glob = "/nonexistent/*.gguf";
  EXPECT_EQ(Recommend(request), HR_STATUS_NOT_FOUND);
  EXPECT_EQ(LastError(client_), "request.model_glob: no file matches '/nonexistent/*.gguf'");
}

TEST_F(RequestValidationTest, RangesAndEnums) {
  hr_request request = hr_request_default();
  request.catalog_id = "llama-3.1-8b";
  request.min_ctx = 8192;
  request.max_ctx = 4096;
  EXPECT_EQ(Recommend(request), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(client_), "request.min_ctx: 8192 > max_ctx 4096");

  request.max_ctx = 0;
  request.min_decode_tok_s = -1;
  EXPECT_EQ(Recommend(request), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(LastError(client_).find("request.min_decode_tok_s"), std::string::npos);

  request.min_decode_tok_s = 0;
  SetInt(request.runtime, 7);
  EXPECT_EQ(Recommend(request), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(client_), "request.runtime: unknown runtime 7");

  request.runtime = HR_RUNTIME_LLAMA_CPP;
  SetInt(request.prefer, -1);
  EXPECT_EQ(Recommend(request), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(client_), "request.prefer: unknown preference -1");
}

TEST_F(RequestValidationTest, ValidRequestWithoutDaemonIsUnavailable) {
  hr_request request = hr_request_default();
  request.catalog_id = "llama-3.1-8b";
  EXPECT_EQ(Recommend(request), HR_STATUS_UNAVAILABLE);
  EXPECT_EQ(LastError(client_),
            "no daemon answers at unix:/tmp/headroom-no-such-daemon/headroomd.sock "
            "(autostart is off)");
  EXPECT_EQ(hr_client_connect(client_), HR_STATUS_UNAVAILABLE);
}

TEST_F(RequestValidationTest, OlderCallersStructIsReadUpToItsSize) {
  hr_request request = hr_request_default();
  request.catalog_id = "llama-3.1-8b";
  // Fields past struct_size are garbage an older caller never wrote: they must be ignored.
  request.kv_type_count = 3;
  request.kv_types = nullptr;
  request.struct_size = static_cast<uint32_t>(offsetof(hr_request, kv_types));
  EXPECT_EQ(Recommend(request), HR_STATUS_UNAVAILABLE) << LastError(client_);

  request.struct_size = 3;
  EXPECT_EQ(Recommend(request), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(client_), "request.struct_size: 3 is too small");
}

TEST_F(RequestValidationTest, RunReportFields) {
  hr_run_report report = hr_run_report_default();
  EXPECT_EQ(hr_report_run(client_, &report, nullptr), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(client_), "report: give model_file or catalog_id");
  report.catalog_id = "llama-3.1-8b";
  report.device_count = 1;
  EXPECT_EQ(hr_report_run(client_, &report, nullptr), HR_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(LastError(client_).find("report.device_names"), std::string::npos);
  report.device_count = 0;
  report.decode_tok_s = -3;
  EXPECT_EQ(hr_report_run(client_, &report, nullptr), HR_STATUS_INVALID_ARGUMENT);
}

}  // namespace
