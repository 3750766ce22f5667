// `headroom fit MODEL`: the memory per device, the verdict, the largest context and the speed
// of one configuration, on this machine or a hypothetical one.
#include <fmt/format.h>

#include <charconv>

#include "commands.h"
#include "fit_args.h"
#include "format.h"

namespace headroom::cli {
namespace {

namespace v1 = headroom::v1;

constexpr uint32_t kDefaultPrompt = 512;

absl::StatusOr<v1::FlashAttention> ParseFa(const std::string& fa) {
  if (fa == "auto") return v1::FLASH_ATTENTION_AUTO;
  if (fa == "on") return v1::FLASH_ATTENTION_ENABLED;
  if (fa == "off") return v1::FLASH_ATTENTION_DISABLED;
  return absl::InvalidArgumentError(fmt::format("--fa: \"{}\" is not on, off or auto", fa));
}

absl::Status FillLlamaCpp(const FitOptions& o, v1::LlamaCppParams& p) {
  if (!o.ctx.empty()) {
    absl::StatusOr<uint32_t> ctx = ParseTokens(o.ctx, "--ctx");
    if (!ctx.ok()) return ctx.status();
    p.set_n_ctx(*ctx);
  }
  if (o.parallel < 0) return absl::InvalidArgumentError("--parallel: must be 1 or more");
  p.set_n_parallel(static_cast<uint32_t>(o.parallel));
  p.set_cache_type_k(o.ctk);
  p.set_cache_type_v(o.ctv);
  absl::StatusOr<v1::FlashAttention> fa = ParseFa(o.fa);
  if (!fa.ok()) return fa.status();
  p.set_flash_attn(*fa);
  if (o.ngl < -1) return absl::InvalidArgumentError("--ngl: must be 0 or more");
  if (o.ngl >= 0) p.set_n_gpu_layers(static_cast<uint32_t>(o.ngl));
  if (o.cpu_moe) p.set_experts(v1::EXPERT_PLACEMENT_CPU);
  if (!o.prompt.empty()) {
    absl::StatusOr<uint32_t> prompt = ParseTokens(o.prompt, "--prompt");
    if (!prompt.ok()) return prompt.status();
    if (*prompt == 0) return absl::InvalidArgumentError("--prompt: must be 1 token or more");
    p.set_n_prompt(*prompt);
  }
  return absl::OkStatus();
}

absl::Status FillVllm(const FitOptions& o, v1::VllmParams& p) {
  if (!o.ctx.empty()) {
    absl::StatusOr<uint32_t> ctx = ParseTokens(o.ctx, "--ctx");
    if (!ctx.ok()) return ctx.status();
    p.set_max_model_len(*ctx);
  }
  if (o.parallel < 0) return absl::InvalidArgumentError("--parallel: must be 1 or more");
  p.set_max_num_seqs(static_cast<uint32_t>(o.parallel));
  if (o.ctk != o.ctv) {
    return absl::InvalidArgumentError("--ctk/--ctv: vLLM has one KV cache dtype (auto or fp8)");
  }
  p.set_kv_cache_dtype(o.ctk);
  if (!o.gpu_util.empty()) {
    double util = 0;
    const char* end = o.gpu_util.data() + o.gpu_util.size();
    const auto [ptr, ec] = std::from_chars(o.gpu_util.data(), end, util);
    if (ec != std::errc() || ptr != end) util = -1;
    if (!(util > 0 && util <= 1)) {
      return absl::InvalidArgumentError(
          fmt::format("--gpu-util: \"{}\" is not a fraction in (0, 1]", o.gpu_util));
    }
    p.set_gpu_memory_utilization(util);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::EstimateRequest> BuildRequest(const FitOptions& o) {
  v1::EstimateRequest r;
  *r.mutable_model() = ModelRefFromArg(o.model);
  if (!o.quant.empty()) {
    if (r.model().has_gguf_path()) {
      return absl::InvalidArgumentError("--quant: a GGUF file has its own file type");
    }
    r.mutable_model()->set_file_type(o.quant);
  }
  absl::StatusOr<v1::HardwareRef> hw = HardwareRefFromFlags(
      {.gpus = o.gpus, .ram = o.ram, .host_bandwidth = o.host_bw, .hw_file = o.hw_file});
  if (!hw.ok()) return hw.status();
  *r.mutable_hardware() = *hw;
  if (o.runtime == "vllm") {
    r.set_runtime(v1::RUNTIME_VLLM);
    if (absl::Status s = FillVllm(o, *r.mutable_vllm()); !s.ok()) return s;
  } else if (o.runtime == "llama.cpp" || o.runtime == "llama-cpp") {
    r.set_runtime(v1::RUNTIME_LLAMA_CPP);
    if (absl::Status s = FillLlamaCpp(o, *r.mutable_llama_cpp()); !s.ok()) return s;
  } else {
    return absl::InvalidArgumentError(
        fmt::format("--runtime: \"{}\" is not llama.cpp or vllm", o.runtime));
  }
  return r;
}

std::string ModelLine(const v1::ModelSummary& m) {
  std::string params = HumanCount(m.parameters()) + " parameters";
  if (m.active_parameters() != 0 && m.active_parameters() != m.parameters()) {
    params += fmt::format(" ({} active per token)", HumanCount(m.active_parameters()));
  }
  return fmt::format("{} ({}) {}: {}, {} of weights, trained context {}\n", m.name(), m.id(),
                     m.file_type(), params, Gib(m.weights_bytes()), Tokens(m.context_length()));
}

// Where the MoE experts are, with the llama.cpp flag that puts them there.
std::string ExpertsText(const v1::Estimate& e) {
  const std::string flag = ExpertFlag(e.experts_on_cpu(), e.n_cpu_moe(), e.n_layers());
  if (flag.empty()) return "";
  if (flag == "--cpu-moe") return ", MoE experts in host RAM (--cpu-moe)";
  return fmt::format(", MoE experts of the first {} layers in host RAM ({})", e.n_cpu_moe(), flag);
}

// The calculators' table, MoE-aware and with the KV reads of the context: what this model
// decodes at on other memory, if it fitted there entirely.
void PrintBandwidthMatrix(const v1::Estimate& e, std::ostream& out) {
  if (e.bandwidth_matrix().empty()) return;
  const v1::ModelSummary& m = e.model();
  const bool moe = m.active_parameters() != 0 && m.active_parameters() != m.parameters();
  out << fmt::format(
      "\ndecode by memory system at the end of the {} context, if the whole model fitted in that "
      "memory:\na token reads {} of weights{} + {} of KV cache\n\n",
      Tokens(e.n_ctx()), HumanBytes(e.weights_read_per_token_bytes()),
      moe ? " (the experts in use only)" : "", HumanBytes(e.kv_read_per_token_bytes()));
  Table t({"memory", "bandwidth", "efficiency", "decode tok/s"});
  for (const v1::BandwidthRow& r : e.bandwidth_matrix()) {
    t.AddRow({r.label(), fmt::format("{:.1f} GB/s", r.bandwidth_gbps()),
              fmt::format("{:.2f}", r.efficiency()), fmt::format("{:.1f}", r.decode_tok_s())});
  }
  out << t.Render();
  out << "\nGB/s = 1e9 bytes/s, rated peak; tok/s = bandwidth x efficiency / bytes per token, a\n"
         "memory-bound ceiling (compute and transfers between devices not counted).\n";
}

void PrintLlamaCpp(const v1::Estimate& e, uint32_t n_prompt, std::ostream& out) {
  out << fmt::format(
      "llama.cpp: context {} ({} KV cells), K {} / V {}, flash attention {}, {} "
      "of {} layers on GPU{}\n\n",
      Tokens(e.n_ctx()), Grouped(e.kv_cells()), e.cache_type_k(), e.cache_type_v(),
      e.flash_attn() ? "on" : "off", e.n_gpu_layers(), e.n_layers(), ExpertsText(e));
  out << DeviceTable(e) << "\n";
  out << fmt::format("verdict      {}, headroom {} on the tightest device\n",
                     VerdictName(e.verdict()), SignedGib(e.headroom_bytes()));
  out << fmt::format("max context  {} tokens with this placement\n", Tokens(e.max_context()));
  out << fmt::format("decode       {:.1f} tok/s\n", e.decode_tok_s());
  out << fmt::format(
      "prefill      {:.1f} tok/s; time to first token {:.2f} s for a {}-token "
      "prompt\n",
      e.prefill_tok_s(), e.time_to_first_token_s(), n_prompt);
}

void PrintVllm(const v1::Estimate& e, std::ostream& out) {
  const v1::VllmEstimate& v = e.vllm();
  out << fmt::format("vLLM: max_model_len {}, KV cache {}, tensor parallel {}\n\n",
                     Tokens(e.n_ctx()), e.cache_type_k(), e.devices_size());
  out << DeviceTable(e) << "\n";
  out << fmt::format("verdict      {}, headroom {} on the tightest device\n",
                     VerdictName(e.verdict()), SignedGib(e.headroom_bytes()));
  out << fmt::format("budget       {} per GPU (gpu_memory_utilization x total)\n",
                     Gib(v.budget_bytes()));
  out << fmt::format("KV blocks    {} x {} tokens = {} tokens per GPU\n", Grouped(v.num_blocks()),
                     v.block_size(), Grouped(v.kv_tokens()));
  out << fmt::format("max length   {} tokens for one sequence; {} sequences of {} at once\n",
                     Tokens(v.max_model_len()), v.max_concurrency(), Tokens(e.n_ctx()));
  out << fmt::format("decode       {:.1f} tok/s (one sequence)\n", e.decode_tok_s());
}

}  // namespace

int RunFit(const FitOptions& o, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::EstimateRequest> request = BuildRequest(o);
  if (!request.ok()) {
    err << "headroom fit: " << request.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<FitClient>> client =
      OpenClient({.no_daemon = o.no_daemon, .endpoint = o.endpoint});
  if (!client.ok()) {
    err << "headroom fit: " << client.status().message() << "\n";
    return kExitError;
  }
  absl::StatusOr<v1::Estimate> e = (*client)->Estimate(*request);
  if (!e.ok()) {
    err << "headroom fit: " << e.status().message() << "\n";
    return e.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitError;
  }
  if (o.json) {
    out << ToJson(*e);
    return kExitOk;
  }
  out << ModelLine(e->model());
  if (request->runtime() == v1::RUNTIME_VLLM) {
    PrintVllm(*e, out);
  } else {
    const uint32_t n_prompt =
        request->llama_cpp().n_prompt() == 0 ? kDefaultPrompt : request->llama_cpp().n_prompt();
    PrintLlamaCpp(*e, n_prompt, out);
  }
  out << fmt::format("reason       {}\n", e->reason());
  for (const std::string& note : e->notes()) out << fmt::format("note         {}\n", note);
  PrintBandwidthMatrix(*e, out);
  return kExitOk;
}

}  // namespace headroom::cli
