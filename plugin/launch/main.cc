// headroom-launch: asks the daemon (through libheadroom) which quant, context and placement
// to load, then execs the runtime with those flags. Exit codes: 2 usage, 3 daemon or request
// error, 4 nothing fits, 127 the runtime could not be executed.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "headroom/headroom.h"
#include "launch_args.h"
#include "runtime_flags.h"

namespace {

using headroom::launch::CommandInfo;
using headroom::launch::Options;
using headroom::launch::Pick;
using headroom::launch::Runtime;

constexpr int kExitUsage = 2;
constexpr int kExitDaemon = 3;
constexpr int kExitNoFit = 4;

std::string ChoiceString(const hr_result* result, size_t index, hr_choice_string which) {
  std::string text(hr_result_choice_string(result, index, which, nullptr, 0), '\0');
  hr_result_choice_string(result, index, which, text.data(), text.size() + 1);
  return text;
}

const char* VerdictName(hr_verdict verdict) {
  switch (verdict) {
    case HR_VERDICT_FITS:
      return "FITS";
    case HR_VERDICT_PARTIAL:
      return "PARTIAL";
    case HR_VERDICT_CPU_ONLY:
      return "CPU_ONLY";
    case HR_VERDICT_DOES_NOT_FIT:
      return "DOES_NOT_FIT";
    default:
      return "UNKNOWN";
  }
}

Pick ToPick(const hr_result* result, const hr_choice& choice) {
  Pick pick;
  pick.file = ChoiceString(result, HR_PICK, HR_CHOICE_FILE);
  pick.file_type = ChoiceString(result, HR_PICK, HR_CHOICE_FILE_TYPE);
  pick.cache_type_k = ChoiceString(result, HR_PICK, HR_CHOICE_CACHE_TYPE_K);
  pick.cache_type_v = ChoiceString(result, HR_PICK, HR_CHOICE_CACHE_TYPE_V);
  pick.reason = ChoiceString(result, HR_PICK, HR_CHOICE_REASON);
  pick.n_ctx = choice.n_ctx;
  pick.n_gpu_layers = choice.n_gpu_layers;
  pick.n_layers = choice.n_layers;
  pick.experts_on_cpu = choice.experts_on_cpu;
  pick.n_cpu_moe = choice.n_cpu_moe;
  pick.flash_attn = choice.flash_attn;
  pick.gpu_memory_utilization = choice.gpu_memory_utilization;
  pick.verdict = VerdictName(choice.verdict);
  pick.decode_tok_s = choice.decode_tok_s;
  return pick;
}

// The candidates: the command's model argument, else --model; a vLLM model directory is
// asked about through its config.json.
void FillModel(const Options& options, const CommandInfo& info, std::deque<std::string>& keep,
               hr_request& request) {
  const std::string& model = !info.model.empty() ? info.model : options.model;
  const bool gguf =
      model.find(".gguf") != std::string::npos || model.find_first_of("*?[") != std::string::npos;
  if (!options.catalog_id.empty()) {
    request.catalog_id = options.catalog_id.c_str();
  } else if (info.runtime == Runtime::kVllm && !model.empty() && !gguf) {
    keep.push_back(model + "/config.json");
    request.config_json = keep.back().c_str();
  } else if (!model.empty()) {
    request.model_glob = model.c_str();
  }
}

hr_request BuildRequest(const Options& options, const CommandInfo& info,
                        std::deque<std::string>& keep, std::vector<const char*>& kv) {
  hr_request request = hr_request_default();
  FillModel(options, info, keep, request);
  request.runtime = info.runtime == Runtime::kVllm ? HR_RUNTIME_VLLM : HR_RUNTIME_LLAMA_CPP;
  request.min_ctx = info.user_ctx.value_or(options.min_ctx);
  request.max_ctx = info.user_ctx.value_or(options.max_ctx);
  request.min_decode_tok_s = options.min_tok_s;
  request.prefer = options.prefer == "speed"     ? HR_PREFER_SPEED
                   : options.prefer == "context" ? HR_PREFER_CONTEXT
                                                 : HR_PREFER_QUALITY;
  request.margin_bytes = options.margin_bytes;
  const std::vector<std::string>& types =
      info.user_kv_types.empty() ? options.kv_types : info.user_kv_types;
  for (const std::string& type : types) kv.push_back(type.c_str());
  request.kv_types = kv.data();
  request.kv_type_count = kv.size();
  return request;
}

std::string LastError(hr_client* client, hr_status status) {
  std::string text(hr_client_last_error(client, nullptr, 0), '\0');
  hr_client_last_error(client, text.data(), text.size() + 1);
  return std::string(hr_status_str(status)) + (text.empty() ? "" : ": " + text);
}

// Asks the daemon; fills `pick` or returns an exit code.
int Ask(const Options& options, const CommandInfo& info, Pick& pick) {
  hr_client_params params = hr_client_params_default();
  params.endpoint = options.endpoint.empty() ? nullptr : options.endpoint.c_str();
  params.timeout_ms = options.timeout_ms;
  params.autostart = options.autostart;
  hr_client* client = nullptr;
  if (hr_client_create(&params, &client) != HR_STATUS_OK) {
    std::cerr << "headroom-launch: cannot create a client\n";
    return kExitDaemon;
  }
  std::deque<std::string> keep;  // stable addresses for the request's strings
  std::vector<const char*> kv;
  const hr_request request = BuildRequest(options, info, keep, kv);
  hr_result* result = nullptr;
  const hr_status status = hr_recommend(client, &request, &result);
  if (status != HR_STATUS_OK) {
    std::cerr << "headroom-launch: " << LastError(client, status) << "\n";
    hr_client_destroy(client);
    return kExitDaemon;
  }
  hr_choice choice{};  // zeroed: a 1.0 library leaves the fields it does not know (n_cpu_moe)
  choice.struct_size = sizeof choice;
  int rc = 0;
  if (hr_result_choice(result, HR_PICK, &choice) != HR_STATUS_OK) {
    std::string reason(hr_result_reason(result, nullptr, 0), '\0');
    hr_result_reason(result, reason.data(), reason.size() + 1);
    std::cerr << "headroom-launch: nothing fits the constraints: " << reason << "\n";
    rc = kExitNoFit;
  } else {
    pick = ToPick(result, choice);
  }
  hr_result_free(result);
  hr_client_destroy(client);
  return rc;
}

int Run(const Options& options) {
  const CommandInfo info = headroom::launch::InspectCommand(options.command);
  if (!options.command.empty() && info.runtime == Runtime::kOther &&
      options.ollama_modelfile.empty()) {
    std::cerr << "headroom-launch: unknown runtime '" << options.command[0]
              << "': known are llama.cpp programs (llama-*) and vllm\n";
    return kExitUsage;
  }
  if (info.model.empty() && options.model.empty() && options.catalog_id.empty()) {
    std::cerr << "headroom-launch: no model: give the runtime's -m/--model, or --model\n";
    return kExitUsage;
  }
  Pick pick;
  if (const int rc = Ask(options, info, pick); rc != 0) return rc;
  std::cerr << "headroom-launch: " << headroom::launch::Summary(pick) << "\n";
  if (!options.ollama_modelfile.empty()) {
    std::ofstream out(options.ollama_modelfile, std::ios::trunc);
    out << headroom::launch::OllamaModelfile(pick);
    if (!out.flush()) {
      std::cerr << "headroom-launch: cannot write " << options.ollama_modelfile << "\n";
      return kExitUsage;
    }
  }
  if (options.command.empty()) return 0;
  std::vector<std::string> command = headroom::launch::RewriteCommand(options.command, info, pick);
  if (options.dry_run) {
    std::cout << headroom::launch::ShellQuote(command) << "\n";
    return 0;
  }
  std::vector<char*> argv;
  argv.reserve(command.size() + 1);
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::cout.flush();
  ::execvp(argv[0], argv.data());
  std::cerr << "headroom-launch: cannot execute " << command[0] << ": " << std::strerror(errno)
            << "\n";
  return 127;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  const headroom::launch::ParseResult parsed = headroom::launch::ParseArgs(args);
  if (parsed.help) {
    std::cout << headroom::launch::Usage();
    return 0;
  }
  if (parsed.version) {
    std::cout << "headroom-launch " << HEADROOM_VERSION << " (libheadroom ABI " << hr_abi_version()
              << ")\n";
    return 0;
  }
  if (!parsed.error.empty()) {
    std::cerr << "headroom-launch: " << parsed.error << "\n" << headroom::launch::Usage();
    return kExitUsage;
  }
  return Run(parsed.options);
}
