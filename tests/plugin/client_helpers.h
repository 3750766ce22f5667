// Small C++ conveniences over the C ABI for tests: strings out of (buf, size) getters and a
// whole choice as one struct.
#pragma once

#include <string>

#include "headroom/headroom.h"

namespace headroom::plugin_test {

inline std::string LastError(hr_client* client) {
  std::string text(hr_client_last_error(client, nullptr, 0), '\0');
  hr_client_last_error(client, text.data(), text.size() + 1);
  return text;
}

inline std::string ChoiceString(const hr_result* result, size_t index, hr_choice_string which) {
  std::string text(hr_result_choice_string(result, index, which, nullptr, 0), '\0');
  hr_result_choice_string(result, index, which, text.data(), text.size() + 1);
  return text;
}

struct FullChoice {
  hr_choice numbers{};
  std::string file, file_type, cache_type_k, cache_type_v, reason;
};

// HR_STATUS_OK and the choice, or the status of hr_result_choice.
inline hr_status GetChoice(const hr_result* result, size_t index, FullChoice& out) {
  out.numbers.struct_size = sizeof out.numbers;
  const hr_status status = hr_result_choice(result, index, &out.numbers);
  out.file = ChoiceString(result, index, HR_CHOICE_FILE);
  out.file_type = ChoiceString(result, index, HR_CHOICE_FILE_TYPE);
  out.cache_type_k = ChoiceString(result, index, HR_CHOICE_CACHE_TYPE_K);
  out.cache_type_v = ChoiceString(result, index, HR_CHOICE_CACHE_TYPE_V);
  out.reason = ChoiceString(result, index, HR_CHOICE_REASON);
  return status;
}

// A client of `endpoint` (empty = the default) that may start a daemon.
inline hr_client* NewClient(const std::string& endpoint = "", bool autostart = true) {
  hr_client_params params = hr_client_params_default();
  params.endpoint = endpoint.empty() ? nullptr : endpoint.c_str();
  params.autostart = autostart;
  hr_client* client = nullptr;
  return hr_client_create(&params, &client) == HR_STATUS_OK ? client : nullptr;
}

}  // namespace headroom::plugin_test
