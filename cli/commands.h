// The `headroom` subcommands. Each Run* returns the process exit code and writes only to the
// streams it is given, so tests can run them and golden files stay byte-exact.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace headroom::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // the request could not be answered (bad file, ...)
inline constexpr int kExitUsage = 2;  // bad flags or arguments

struct ModelsOptions {
  bool json = false;
  std::string catalog_dir;  // extra user models (<dir>/models/*.txtpb); empty = built-in only
};
int RunModels(const ModelsOptions& options, std::ostream& out, std::ostream& err);

struct InspectOptions {
  std::string path;
  bool json = false;
  bool tensors = false;  // list every tensor
  bool layers = false;   // per-layer table in human output
};
int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& err);

struct HwOptions {
  bool json = false;
  bool bench = false;       // re-measure bandwidth (host and GPUs) and update the cache
  std::string capture_dir;  // record this machine as a fixture directory
  std::string fixture;      // show a recorded machine instead of this one
};
int RunHw(const HwOptions& options, std::ostream& out, std::ostream& err);

// Flags of `fit`, `pick` and `gpus` are kept as text and parsed by the command, so a bad
// "32q" or "64GiX" gets an error naming the flag (exit 2).
struct FitOptions {
  std::string model;                  // catalog id, .gguf or config.json path
  std::string quant;                  // --quant (catalog id / config.json only)
  std::string ctx;                    // --ctx, tokens ("32k"); empty = the model's trained context
  int parallel = 0;                   // --parallel
  std::string ctk, ctv;               // --ctk / --ctv
  std::string fa = "auto";            // --fa on|off|auto
  int ngl = -1;                       // --ngl; -1 = the most that fit
  bool cpu_moe = false;               // --cpu-moe
  std::string prompt;                 // --prompt, tokens, for prefill speed and time to first token
  std::string runtime = "llama.cpp";  // --runtime llama.cpp|vllm
  std::string gpu_util;               // --gpu-util (vLLM)
  std::vector<std::string> gpus;      // --gpu, repeatable, "2x rtx-3090"
  std::string ram;                    // --ram
  std::string host_bw;                // --host-bw, GB/s
  std::string hw_file;                // --hw FILE (text-format headroom.v1.Hardware)
  bool json = false;
  bool no_daemon = false;
  std::string endpoint;  // --endpoint: this daemon only
};
int RunFit(const FitOptions& options, std::ostream& out, std::ostream& err);

struct PickOptions {
  std::vector<std::string> models;  // one catalog id / config.json, or GGUF files
  std::vector<std::string> quants;  // --quant, repeatable (catalog id / config.json)
  std::string min_ctx;              // --min-ctx
  std::string max_ctx;              // --max-ctx
  double min_tok_s = 0;             // --min-tok-s
  std::string prefer = "quality";   // --prefer quality|speed|context
  std::string kv;                   // --kv f16,q8_0
  int parallel = 0;                 // --parallel
  std::vector<std::string> gpus;
  std::string ram;
  std::string host_bw;
  std::string hw_file;
  bool json = false;
  bool no_daemon = false;
  std::string endpoint;
};
int RunPick(const PickOptions& options, std::ostream& out, std::ostream& err);

struct GpusOptions {
  std::string model;
  std::string quant;  // --quant
  std::string ctx;    // --ctx (default 8k)
  std::string ram;    // --ram of each hypothetical machine
  bool json = false;
  bool no_daemon = false;
  std::string endpoint;
};
int RunGpus(const GpusOptions& options, std::ostream& out, std::ostream& err);

}  // namespace headroom::cli
