// Running programs from tests: a shell command's exit code and output, scratch directories,
// and small file helpers. Not thread-safe (changes the process environment).
#pragma once

#include <string>

namespace headroom::plugin_test {

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr together
};

// Runs `command` with /bin/sh; stderr goes with stdout.
Output RunShell(const std::string& command);

// A fresh directory under /tmp (short: unix socket paths are limited to 107 bytes).
std::string MakeTempDir();

// Removes a directory tree; errors are ignored.
void RemoveTree(const std::string& path);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text, bool executable = false);

// Single-quotes `text` for /bin/sh.
std::string Quote(const std::string& text);

}  // namespace headroom::plugin_test
