// headroom-launch's own flags (everything before `--`) and the runtime command after it.
// Pure: no I/O, so tests call it directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace headroom::launch {

struct Options {
  uint32_t min_ctx = 0;               // --min-ctx
  uint32_t max_ctx = 0;               // --max-ctx
  double min_tok_s = 0;               // --min-tok-s
  std::string prefer = "quality";     // --prefer quality|speed|context
  int64_t margin_bytes = -1;          // --margin-mib (negative = the daemon's default)
  std::vector<std::string> kv_types;  // --kv-types f16,q8_0
  bool dry_run = false;               // --dry-run: print the command instead of running it
  std::string endpoint;               // --endpoint
  bool autostart = true;              // --no-autostart
  uint32_t timeout_ms = 10000;        // --timeout-ms
  std::string model;                  // --model GLOB: candidates when the command names none
  std::string catalog_id;             // --catalog-id ID
  std::string ollama_modelfile;       // --ollama-modelfile OUT
  std::vector<std::string> command;   // after `--`
};

struct ParseResult {
  Options options;
  bool help = false;
  bool version = false;
  std::string error;  // non-empty: a usage error naming the flag
};

// Parses argv[1..]; argv[0] is skipped.
ParseResult ParseArgs(const std::vector<std::string>& args);

// The --help text.
std::string Usage();

}  // namespace headroom::launch
