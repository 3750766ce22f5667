// Leveled logging to stderr. Under systemd (JOURNAL_STREAM set) each line carries the
// syslog priority prefix journald understands ("<4>"), otherwise a readable level tag.
// Thread-safe: lines from different threads never interleave.
#pragma once

#include <fmt/format.h>

#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace headroom::daemon {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning" (or "warn"), "error"; empty = info.
absl::StatusOr<LogLevel> ParseLogLevel(const std::string& name);

class Logger {
 public:
  explicit Logger(LogLevel min_level);

  bool Enabled(LogLevel level) const { return level >= min_level_; }
  void Write(LogLevel level, std::string_view message);

  template <typename... Args>
  void Debug(fmt::format_string<Args...> format, Args&&... args) {
    Log(LogLevel::kDebug, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Info(fmt::format_string<Args...> format, Args&&... args) {
    Log(LogLevel::kInfo, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Warning(fmt::format_string<Args...> format, Args&&... args) {
    Log(LogLevel::kWarning, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Error(fmt::format_string<Args...> format, Args&&... args) {
    Log(LogLevel::kError, format, std::forward<Args>(args)...);
  }

 private:
  template <typename... Args>
  void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
    if (Enabled(level)) Write(level, fmt::format(format, std::forward<Args>(args)...));
  }

  const LogLevel min_level_;
  const bool journal_;
  std::mutex mu_;
};

}  // namespace headroom::daemon
