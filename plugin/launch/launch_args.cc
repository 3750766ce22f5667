#include "launch_args.h"

#include <charconv>
#include <cmath>
#include <string_view>
#include <system_error>

namespace headroom::launch {
namespace {

template <typename T>
bool ParseNumber(const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> items;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    if (end > begin) items.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return items;
}

// Applies one flag that takes a value; false when the value is malformed.
bool ApplyValue(const std::string& flag, const std::string& value, Options& o) {
  if (flag == "--min-ctx") return ParseNumber(value, o.min_ctx);
  if (flag == "--max-ctx") return ParseNumber(value, o.max_ctx);
  if (flag == "--min-tok-s") {
    return ParseNumber(value, o.min_tok_s) && std::isfinite(o.min_tok_s) && o.min_tok_s >= 0;
  }
  if (flag == "--prefer") {
    o.prefer = value;
    return value == "quality" || value == "speed" || value == "context";
  }
  if (flag == "--margin-mib") {
    uint32_t mib = 0;
    if (!ParseNumber(value, mib)) return false;
    o.margin_bytes = static_cast<int64_t>(mib) << 20;
    return true;
  }
  if (flag == "--kv-types") {
    o.kv_types = SplitCommas(value);
    return !o.kv_types.empty();
  }
  if (flag == "--timeout-ms") return ParseNumber(value, o.timeout_ms) && o.timeout_ms > 0;
  std::string* target = flag == "--endpoint"           ? &o.endpoint
                        : flag == "--model"            ? &o.model
                        : flag == "--catalog-id"       ? &o.catalog_id
                        : flag == "--ollama-modelfile" ? &o.ollama_modelfile
                                                       : nullptr;
  if (target == nullptr || value.empty()) return false;
  *target = value;
  return true;
}

bool TakesValue(std::string_view flag) {
  for (std::string_view known :
       {"--min-ctx", "--max-ctx", "--min-tok-s", "--prefer", "--margin-mib", "--kv-types",
        "--timeout-ms", "--endpoint", "--model", "--catalog-id", "--ollama-modelfile"}) {
    if (flag == known) return true;
  }
  return false;
}

}  // namespace

ParseResult ParseArgs(const std::vector<std::string>& args) {
  ParseResult result;
  Options& o = result.options;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_inline_value = false;
    if (const size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_inline_value = true;
    }
    if (flag == "--") {
      o.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (flag == "-h" || flag == "--help") {
      result.help = true;
    } else if (flag == "--version") {
      result.version = true;
    } else if (flag == "--dry-run") {
      o.dry_run = true;
    } else if (flag == "--no-autostart") {
      o.autostart = false;
    } else if (TakesValue(flag)) {
      if (!has_inline_value) {
        if (i + 1 >= args.size()) {
          result.error = flag + ": missing value";
          return result;
        }
        value = args[++i];
      }
      if (!ApplyValue(flag, value, o)) {
        result.error = flag + ": invalid value '" + value + "'";
        return result;
      }
    } else {
      result.error = "unknown flag '" + args[i] + "' (the runtime's command goes after --)";
      return result;
    }
  }
  if (!result.help && !result.version && o.command.empty() && o.ollama_modelfile.empty()) {
    result.error = "no command: headroom-launch [flags] -- RUNTIME ARGS...";
  }
  if (o.max_ctx != 0 && o.min_ctx > o.max_ctx) result.error = "--min-ctx is above --max-ctx";
  return result;
}

std::string Usage() {
  return R"(Usage: headroom-launch [flags] -- RUNTIME [ARGS...]
Asks the Headroom daemon which quant, context, GPU layers, KV type and flash attention fit
this machine, then runs RUNTIME with them filled in. Flags given in ARGS win.

  llama.cpp:  headroom-launch -- llama-server -m 'models/Qwen3-8B-*.gguf' --port 8080
              (fills -m, -c, -ngl, -ot exps=CPU or --n-cpu-moe N for MoE experts, -ctk,
               -ctv, -fa)
  vLLM:       headroom-launch -- vllm serve /models/Qwen3-8B
              (fills --max-model-len, --gpu-memory-utilization, --kv-cache-dtype)
  Ollama:     headroom-launch --model 'models/*.gguf' --ollama-modelfile Modelfile \
                -- ollama create qwen3 -f Modelfile
              (writes FROM, PARAMETER num_ctx and num_gpu; the command is optional)

Flags:
  --min-ctx N            smallest acceptable context, tokens (default 4096)
  --max-ctx N            largest context wanted, tokens (default: the trained context)
  --min-tok-s X          smallest acceptable decode speed, tokens/s
  --prefer P             quality (default), speed or context
  --margin-mib N         MiB kept free on every device (default 256)
  --kv-types A,B         allowed KV cache types (default f16,q8_0)
  --model GLOB           candidate GGUF files when the command names none
  --catalog-id ID        a catalog model instead of files
  --ollama-modelfile F   write an Ollama Modelfile to F
  --endpoint E           daemon endpoint (default $HEADROOM_ENDPOINT or the user socket)
  --no-autostart         do not start headroomd when none runs
  --timeout-ms N         deadline of the daemon call (default 10000)
  --dry-run              print the command instead of running it
  --help, --version
)";
}

}  // namespace headroom::launch
