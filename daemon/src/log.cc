#include "log.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"

namespace headroom::daemon {

absl::StatusOr<LogLevel> ParseLogLevel(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") return LogLevel::kDebug;
  if (lower.empty() || lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError("log_level: unknown level \"" + name +
                                    "\" (debug, info, warning, error)");
}

Logger::Logger(LogLevel min_level)
    : min_level_(min_level), journal_(std::getenv("JOURNAL_STREAM") != nullptr) {}

void Logger::Write(LogLevel level, std::string_view message) {
  // syslog priorities: debug 7, info 6, warning 4, error 3.
  static constexpr const char* kJournalPrefix[] = {"<7>", "<6>", "<4>", "<3>"};
  static constexpr const char* kTag[] = {"debug", "info", "warning", "error"};
  const auto index = static_cast<size_t>(level);
  std::lock_guard<std::mutex> lock(mu_);
  if (journal_) {
    fmt::print(stderr, "{}{}\n", kJournalPrefix[index], message);
  } else {
    fmt::print(stderr, "headroomd [{}] {}\n", kTag[index], message);
  }
  std::fflush(stderr);
}

}  // namespace headroom::daemon
