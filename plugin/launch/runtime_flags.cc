#include "runtime_flags.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <span>
#include <string_view>

namespace headroom::launch {
namespace {

using Names = std::span<const std::string_view>;

// llama.cpp's spellings (common/arg.cpp).
constexpr std::array<std::string_view, 2> kModel = {"-m", "--model"};
constexpr std::array<std::string_view, 2> kCtx = {"-c", "--ctx-size"};
constexpr std::array<std::string_view, 3> kGpuLayers = {"-ngl", "--gpu-layers", "--n-gpu-layers"};
constexpr std::array<std::string_view, 6> kExperts = {
    "-ot", "--override-tensor", "-cmoe", "--cpu-moe", "-ncmoe", "--n-cpu-moe"};
constexpr std::array<std::string_view, 2> kCacheK = {"-ctk", "--cache-type-k"};
constexpr std::array<std::string_view, 2> kCacheV = {"-ctv", "--cache-type-v"};
constexpr std::array<std::string_view, 2> kFlashAttn = {"-fa", "--flash-attn"};
// vLLM's (its parser also accepts underscores and --flag=value).
constexpr std::array<std::string_view, 1> kVllmModel = {"--model"};
constexpr std::array<std::string_view, 2> kVllmLen = {"--max-model-len", "--max_model_len"};
constexpr std::array<std::string_view, 2> kVllmUtil = {"--gpu-memory-utilization",
                                                       "--gpu_memory_utilization"};
constexpr std::array<std::string_view, 2> kVllmKv = {"--kv-cache-dtype", "--kv_cache_dtype"};

// `arg` is one of `names`, alone or as name=value; `value` gets what follows '='.
bool Matches(std::string_view arg, Names names, std::string_view* value = nullptr) {
  for (std::string_view name : names) {
    if (arg == name) return true;
    if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
      if (value != nullptr) *value = arg.substr(name.size() + 1);
      return true;
    }
  }
  return false;
}

bool Has(const std::vector<std::string>& command, Names names) {
  for (size_t i = 1; i < command.size(); ++i) {
    if (Matches(command[i], names)) return true;
  }
  return false;
}

std::optional<uint32_t> ParseCtx(std::string_view text) {
  uint32_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Walks flags of the form `-f VALUE` or `--flag=VALUE`, recording model, context, KV types.
void ScanFlags(const std::vector<std::string>& command, size_t first, Names model, Names ctx,
               std::initializer_list<Names> kv, CommandInfo& info) {
  for (size_t i = first; i < command.size(); ++i) {
    std::string_view inline_value;
    const bool has_next = i + 1 < command.size();
    auto value_of = [&](std::string_view arg, Names names) -> std::optional<size_t> {
      inline_value = {};
      if (!Matches(arg, names, &inline_value)) return std::nullopt;
      if (!inline_value.empty()) return SIZE_MAX;  // value inside the argument
      return has_next ? std::optional<size_t>(i + 1) : std::nullopt;
    };
    const std::string& arg = command[i];
    if (auto at = value_of(arg, model); at.has_value() && *at != SIZE_MAX) {
      info.model_index = *at;
      info.model = command[*at];
      ++i;
    } else if (auto c = value_of(arg, ctx); c.has_value()) {
      info.user_ctx = ParseCtx(*c == SIZE_MAX ? inline_value : std::string_view(command[*c]));
      if (*c != SIZE_MAX) ++i;
    } else {
      for (Names names : kv) {
        if (auto k = value_of(arg, names); k.has_value()) {
          info.user_kv_types.emplace_back(*k == SIZE_MAX ? inline_value
                                                         : std::string_view(command[*k]));
          if (*k != SIZE_MAX) ++i;
          break;
        }
      }
    }
  }
}

// The pick keeps the experts of some leading layers, not all, in host RAM.
bool PartialExperts(const Pick& pick) {
  const uint32_t blocks = pick.n_layers > 0 ? pick.n_layers - 1 : 0;
  return pick.n_cpu_moe > 0 && pick.n_cpu_moe < blocks;
}

void Append(std::vector<std::string>& out, std::string_view flag, std::string value) {
  out.emplace_back(flag);
  out.push_back(std::move(value));
}

void AddLlamaCppFlags(const std::vector<std::string>& command, const Pick& pick,
                      std::vector<std::string>& out) {
  if (!Has(command, kCtx)) Append(out, "-c", std::to_string(pick.n_ctx));
  if (!Has(command, kGpuLayers)) Append(out, "-ngl", std::to_string(pick.n_gpu_layers));
  if (!Has(command, kExperts)) {
    // Only the first layers' experts in host RAM is --n-cpu-moe N (llama.cpp common/arg.cpp);
    // all of them is the override (as --cpu-moe). The override for a partial pick would move
    // every layer's experts and run slower than predicted.
    if (PartialExperts(pick)) {
      Append(out, "--n-cpu-moe", std::to_string(pick.n_cpu_moe));
    } else if (pick.experts_on_cpu) {
      Append(out, "-ot", "exps=CPU");
    }
  }
  if (!pick.cache_type_k.empty() && !Has(command, kCacheK)) {
    Append(out, "-ctk", pick.cache_type_k);
  }
  if (!pick.cache_type_v.empty() && !Has(command, kCacheV)) {
    Append(out, "-ctv", pick.cache_type_v);
  }
  if (!Has(command, kFlashAttn)) Append(out, "-fa", pick.flash_attn ? "on" : "off");
}

void AddVllmFlags(const std::vector<std::string>& command, const Pick& pick,
                  std::vector<std::string>& out) {
  if (!Has(command, kVllmLen)) Append(out, "--max-model-len", std::to_string(pick.n_ctx));
  if (pick.gpu_memory_utilization > 0 && !Has(command, kVllmUtil)) {
    // Rounded down to 0.01 so vLLM's budget never exceeds the one the estimate assumed.
    // (The epsilon keeps 0.9 read back as 0.8999999 at 0.90.)
    const double util = std::floor(pick.gpu_memory_utilization * 100.0 + 1e-6) / 100.0;
    char text[16];
    std::snprintf(text, sizeof text, "%.2f", util);
    Append(out, "--gpu-memory-utilization", text);
  }
  if (!Has(command, kVllmKv)) {
    const bool fp8 = pick.cache_type_k.rfind("fp8", 0) == 0;
    Append(out, "--kv-cache-dtype", fp8 ? pick.cache_type_k : "auto");
  }
}

}  // namespace

CommandInfo InspectCommand(const std::vector<std::string>& command) {
  CommandInfo info;
  if (command.empty()) return info;
  const std::string program = Basename(command[0]);
  if (program.rfind("llama", 0) == 0) {
    info.runtime = Runtime::kLlamaCpp;
    ScanFlags(command, 1, kModel, kCtx, {kCacheK, kCacheV}, info);
  } else if (program == "vllm") {
    info.runtime = Runtime::kVllm;
    size_t first = 1;
    if (command.size() > 1 && command[1] == "serve") {
      first = 2;
      if (command.size() > 2 && command[2].rfind('-', 0) != 0) {
        info.model_index = 2;
        info.model = command[2];
        first = 3;
      }
    }
    ScanFlags(command, first, kVllmModel, kVllmLen, {kVllmKv}, info);
  }
  return info;
}

std::vector<std::string> RewriteCommand(const std::vector<std::string>& command,
                                        const CommandInfo& info, const Pick& pick) {
  std::vector<std::string> out = command;
  if (info.model_index.has_value() && !pick.file.empty()) out[*info.model_index] = pick.file;
  if (!info.model_index.has_value() && !pick.file.empty() && info.runtime == Runtime::kLlamaCpp) {
    Append(out, "-m", pick.file);
  }
  if (info.runtime == Runtime::kLlamaCpp) AddLlamaCppFlags(command, pick, out);
  if (info.runtime == Runtime::kVllm) AddVllmFlags(command, pick, out);
  return out;
}

std::string OllamaModelfile(const Pick& pick) {
  std::string text = "# Written by headroom-launch: " + Summary(pick) + "\n";
  text += "FROM " + pick.file + "\n";
  text += "PARAMETER num_ctx " + std::to_string(pick.n_ctx) + "\n";
  text += "PARAMETER num_gpu " + std::to_string(pick.n_gpu_layers) + "\n";
  // Ollama sets these per server, not per model: say what the estimate assumed.
  text +=
      "# The estimate assumed OLLAMA_FLASH_ATTENTION=" + std::string(pick.flash_attn ? "1" : "0");
  if (!pick.cache_type_k.empty()) text += " and OLLAMA_KV_CACHE_TYPE=" + pick.cache_type_k;
  text += " on the Ollama server.\n";
  return text;
}

std::string ShellQuote(const std::vector<std::string>& command) {
  std::string line;
  for (const std::string& arg : command) {
    if (!line.empty()) line += ' ';
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789_@%+=:,./-") == std::string::npos;
    if (plain) {
      line += arg;
      continue;
    }
    line += '\'';
    for (char c : arg) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

std::string Summary(const Pick& pick) {
  char speed[32];
  std::snprintf(speed, sizeof speed, "%.1f", pick.decode_tok_s);
  std::string line = "picked " + pick.file_type;
  if (!pick.file.empty()) line += " (" + Basename(pick.file) + ")";
  line += ": ctx " + std::to_string(pick.n_ctx) + ", " + std::to_string(pick.n_gpu_layers) + "/" +
          std::to_string(pick.n_layers) + " layers on GPU";
  if (PartialExperts(pick)) {
    line += ", experts of the first " + std::to_string(pick.n_cpu_moe) + " layers on CPU";
  } else if (pick.experts_on_cpu) {
    line += ", experts on CPU";
  }
  line += ", KV " + pick.cache_type_k + "/" + pick.cache_type_v + ", flash attention " +
          (pick.flash_attn ? "on" : "off") + "; " + pick.verdict + ", " + speed +
          " tok/s predicted";
  if (!pick.reason.empty()) line += "; " + pick.reason;
  return line;
}

}  // namespace headroom::launch
