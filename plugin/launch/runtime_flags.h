// Turning the daemon's pick into a runtime's flags: llama.cpp (llama-server, llama-cli, ...),
// vLLM (`vllm serve`) and an Ollama Modelfile. Flags the user already gave win: they are
// kept and never duplicated. Pure functions; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace headroom::launch {

enum class Runtime { kLlamaCpp, kVllm, kOther };

// What the daemon picked, copied out of an hr_result.
struct Pick {
  std::string file;       // GGUF file ("" for a catalog model)
  std::string file_type;  // "Q4_K_M"
  uint32_t n_ctx = 0;
  uint32_t n_gpu_layers = 0;
  uint32_t n_layers = 0;
  bool experts_on_cpu = false;
  // MoE layers, from the first, whose experts stay in host RAM; n_layers - 1 (every block)
  // means all of them, as experts_on_cpu.
  uint32_t n_cpu_moe = 0;
  std::string cache_type_k;
  std::string cache_type_v;
  bool flash_attn = false;
  double gpu_memory_utilization = 0;  // vLLM; 0 = unknown
  std::string verdict;                // "FITS"
  double decode_tok_s = 0;
  std::string reason;
};

// What a command already says, read before asking the daemon.
struct CommandInfo {
  Runtime runtime = Runtime::kOther;
  std::optional<size_t> model_index;       // index of the model argument's value in the command
  std::string model;                       // its value (a path or a glob)
  std::optional<uint32_t> user_ctx;        // -c / --max-model-len given by the user
  std::vector<std::string> user_kv_types;  // -ctk / -ctv / --kv-cache-dtype values
};

// The runtime from the command's program name (llama-*, vllm) and the flags already there.
CommandInfo InspectCommand(const std::vector<std::string>& command);

// The command with the model replaced by the pick and the missing flags appended.
std::vector<std::string> RewriteCommand(const std::vector<std::string>& command,
                                        const CommandInfo& info, const Pick& pick);

// An Ollama Modelfile for the pick (FROM, PARAMETER num_ctx, PARAMETER num_gpu).
std::string OllamaModelfile(const Pick& pick);

// The command as one shell-quoted line (for --dry-run).
std::string ShellQuote(const std::vector<std::string>& command);

// One line for stderr: what was picked and why.
std::string Summary(const Pick& pick);

}  // namespace headroom::launch
