// headroom: will this model fit this machine, and how fast will it run?
#include <iostream>

#include "CLI/CLI.hpp"
#include "commands.h"

int main(int argc, char** argv) {
  using headroom::cli::kExitUsage;
  CLI::App app{
      "headroom: will a local LLM fit this machine, how fast will it run, and which quant and\n"
      "context to load."};
  app.name("headroom");
  app.set_version_flag("--version", std::string("headroom ") + HEADROOM_VERSION);
  app.require_subcommand(1);

  headroom::cli::ModelsOptions models;
  CLI::App* models_cmd = app.add_subcommand("models", "List the model catalog with computed sizes");
  models_cmd->add_flag("--json", models.json, "Print the ModelList message as JSON");
  models_cmd->add_option("--catalog-dir", models.catalog_dir, "Also load DIR/models/*.txtpb")
      ->check(CLI::ExistingDirectory);

  headroom::cli::InspectOptions inspect;
  CLI::App* inspect_cmd =
      app.add_subcommand("inspect", "Show what a GGUF file holds, in exact bytes");
  inspect_cmd->add_option("file", inspect.path, "GGUF file (any shard of a split model)")
      ->required();
  inspect_cmd->add_flag("--json", inspect.json, "Print the GgufInspection message as JSON");
  inspect_cmd->add_flag("--tensors", inspect.tensors, "List every tensor");
  inspect_cmd->add_flag("--layers", inspect.layers, "Show bytes per layer");

  headroom::cli::HwOptions hw;
  CLI::App* hw_cmd = app.add_subcommand(
      "hw", "This machine as the probe sees it: CPU, RAM, GPUs, bandwidth and their sources");
  hw_cmd->add_flag("--json", hw.json, "Print the Hardware message as JSON");
  hw_cmd->add_flag("--bench", hw.bench, "Measure memory bandwidth now (a few seconds)");
  hw_cmd->add_option("--capture", hw.capture_dir, "Record this machine as a fixture in DIR");
  hw_cmd->add_option("--fixture", hw.fixture,
                     "Show a recorded machine: fixture DIR, hwloc .xml or Hardware .txtpb");

  // fit / pick / gpus: sizes stay text here so the commands can name the flag in errors.
  const auto add_machine = [](CLI::App* cmd, std::vector<std::string>& gpus, std::string& ram,
                              std::string& host_bw, std::string& hw_file) {
    // One value per --gpu, so a model name after it is not taken for a second GPU.
    cmd->add_option("--gpu", gpus,
                    "Hypothetical GPU from the table, repeatable: rtx-4090, \"2x rtx-3090\"")
        ->allow_extra_args(false);
    cmd->add_option("--ram", ram, "Hypothetical host RAM: 64GiB, 512MiB (GB = 1e9 bytes)");
    cmd->add_option("--host-bw", host_bw, "Hypothetical host memory bandwidth, GB/s");
    cmd->add_option("--hw", hw_file, "Machine from a text-format headroom.v1.Hardware file");
  };
  headroom::cli::FitOptions fit;
  CLI::App* fit_cmd = app.add_subcommand("fit", "Will MODEL fit, and how fast will it run?");
  fit_cmd->add_option("model", fit.model, "Catalog id, .gguf file or config.json")->required();
  fit_cmd->add_option("--quant", fit.quant, "File type for a catalog id or config.json (Q4_K_M)");
  fit_cmd->add_option("--ctx", fit.ctx, "Context, tokens: 8192, 32k (0 = trained context)");
  fit_cmd->add_option("--parallel", fit.parallel, "Parallel sequences (-np)");
  fit_cmd->add_option("--ctk", fit.ctk, "K cache type: f16, q8_0, q4_0, ... (vLLM: auto, fp8)");
  fit_cmd->add_option("--ctv", fit.ctv, "V cache type");
  fit_cmd->add_option("--fa", fit.fa, "Flash attention: on, off, auto");
  fit_cmd->add_option("--ngl", fit.ngl, "GPU layers (default: the most that fit)");
  fit_cmd->add_flag("--cpu-moe", fit.cpu_moe, "Keep MoE expert tensors in host RAM");
  fit_cmd->add_option("--prompt", fit.prompt, "Prompt length for prefill speed (512)");
  fit_cmd->add_option("--runtime", fit.runtime, "llama.cpp or vllm");
  fit_cmd->add_option("--gpu-util", fit.gpu_util, "vLLM gpu_memory_utilization (0.9)");
  add_machine(fit_cmd, fit.gpus, fit.ram, fit.host_bw, fit.hw_file);
  fit_cmd->add_flag("--json", fit.json, "Print the Estimate message as JSON");
  fit_cmd->add_flag("--no-daemon", fit.no_daemon, "Answer in this process");
  fit_cmd->add_option("--endpoint", fit.endpoint, "Ask the headroomd at this endpoint only")
      ->excludes("--no-daemon");

  headroom::cli::PickOptions pick;
  CLI::App* pick_cmd =
      app.add_subcommand("pick", "Which quant, context, KV type and GPU layers to load");
  pick_cmd->add_option("model", pick.models, "Catalog id or config.json, or .gguf files")
      ->required();
  pick_cmd->add_option("--quant", pick.quants, "Candidate file types (default: all ranked)")
      ->allow_extra_args(false);
  pick_cmd->add_option("--min-ctx", pick.min_ctx, "Smallest acceptable context (4k)");
  pick_cmd->add_option("--max-ctx", pick.max_ctx, "Largest context wanted (trained)");
  pick_cmd->add_option("--min-tok-s", pick.min_tok_s, "Slowest acceptable decode, tok/s");
  pick_cmd->add_option("--prefer", pick.prefer, "quality, speed or context");
  pick_cmd->add_option("--kv", pick.kv, "Allowed KV cache types: f16,q8_0");
  pick_cmd->add_option("--parallel", pick.parallel, "Parallel sequences");
  add_machine(pick_cmd, pick.gpus, pick.ram, pick.host_bw, pick.hw_file);
  pick_cmd->add_flag("--json", pick.json, "Print the Recommendation message as JSON");
  pick_cmd->add_flag("--no-daemon", pick.no_daemon, "Answer in this process");
  pick_cmd->add_option("--endpoint", pick.endpoint, "Ask the headroomd at this endpoint only")
      ->excludes("--no-daemon");

  headroom::cli::GpusOptions gpus;
  CLI::App* gpus_cmd = app.add_subcommand("gpus", "Which GPUs of the catalog run MODEL");
  gpus_cmd->add_option("model", gpus.model, "Catalog id, .gguf file or config.json")->required();
  gpus_cmd->add_option("--quant", gpus.quant, "File type (Q4_K_M)");
  gpus_cmd->add_option("--ctx", gpus.ctx, "Context, tokens (8k)");
  gpus_cmd->add_option("--ram", gpus.ram, "Host RAM of each machine (64GiB)");
  gpus_cmd->add_flag("--json", gpus.json, "Print the table as JSON");
  gpus_cmd->add_flag("--no-daemon", gpus.no_daemon, "Answer in this process");
  gpus_cmd->add_option("--endpoint", gpus.endpoint, "Ask the headroomd at this endpoint only")
      ->excludes("--no-daemon");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    // --help and --version exit 0; everything else CLI11 rejects is a usage error.
    return code == 0 ? 0 : kExitUsage;
  }
  if (*models_cmd) return headroom::cli::RunModels(models, std::cout, std::cerr);
  if (*inspect_cmd) return headroom::cli::RunInspect(inspect, std::cout, std::cerr);
  if (*hw_cmd) return headroom::cli::RunHw(hw, std::cout, std::cerr);
  if (*fit_cmd) return headroom::cli::RunFit(fit, std::cout, std::cerr);
  if (*pick_cmd) return headroom::cli::RunPick(pick, std::cout, std::cerr);
  if (*gpus_cmd) return headroom::cli::RunGpus(gpus, std::cout, std::cerr);
  return kExitUsage;
}
