// `headroom pick MODEL | FILES...`: the quant, context, KV type and placement to load, and the
// ranked alternatives with the reason each lost.
#include <fmt/format.h>

#include "absl/strings/str_split.h"
#include "commands.h"
#include "fit_args.h"
#include "format.h"

namespace headroom::cli {
namespace {

namespace v1 = headroom::v1;

absl::StatusOr<v1::RecommendRequest> BuildRequest(const PickOptions& o) {
  v1::RecommendRequest r;
  if (o.models.empty()) return absl::InvalidArgumentError("MODEL: required");
  bool all_gguf = true;
  for (const std::string& m : o.models) {
    if (!ModelRefFromArg(m).has_gguf_path()) all_gguf = false;
  }
  if (o.models.size() > 1 && !all_gguf) {
    return absl::InvalidArgumentError(
        "MODEL: give one catalog id or config.json, or several .gguf files of one model");
  }
  if (all_gguf) {
    if (!o.quants.empty()) {
      return absl::InvalidArgumentError("--quant: GGUF files have their own file types");
    }
    for (const std::string& m : o.models) r.add_gguf_paths(ModelRefFromArg(m).gguf_path());
  } else {
    *r.mutable_model() = ModelRefFromArg(o.models.front());
    for (const std::string& q : o.quants) r.add_file_types(q);
  }
  absl::StatusOr<v1::HardwareRef> hw = HardwareRefFromFlags(
      {.gpus = o.gpus, .ram = o.ram, .host_bandwidth = o.host_bw, .hw_file = o.hw_file});
  if (!hw.ok()) return hw.status();
  *r.mutable_hardware() = *hw;
  if (!o.min_ctx.empty()) {
    absl::StatusOr<uint32_t> t = ParseTokens(o.min_ctx, "--min-ctx");
    if (!t.ok()) return t.status();
    r.set_min_context(*t);
  }
  if (!o.max_ctx.empty()) {
    absl::StatusOr<uint32_t> t = ParseTokens(o.max_ctx, "--max-ctx");
    if (!t.ok()) return t.status();
    r.set_max_context(*t);
  }
  if (!(o.min_tok_s >= 0)) return absl::InvalidArgumentError("--min-tok-s: must be 0 or more");
  r.set_min_decode_tok_s(o.min_tok_s);
  if (o.prefer == "quality") {
    r.set_prefer(v1::PREFERENCE_QUALITY);
  } else if (o.prefer == "speed") {
    r.set_prefer(v1::PREFERENCE_SPEED);
  } else if (o.prefer == "context") {
    r.set_prefer(v1::PREFERENCE_CONTEXT);
  } else {
    return absl::InvalidArgumentError(
        fmt::format("--prefer: \"{}\" is not quality, speed or context", o.prefer));
  }
  if (!o.kv.empty()) {
    for (absl::string_view kv : absl::StrSplit(o.kv, ',', absl::SkipEmpty())) {
      r.add_kv_types(std::string(kv));
    }
  }
  if (o.parallel < 0) return absl::InvalidArgumentError("--parallel: must be 1 or more");
  r.set_n_parallel(static_cast<uint32_t>(o.parallel));
  return r;
}

std::string Placement(const v1::Choice& c) {
  const uint32_t n_layers = c.estimate().n_layers();
  std::string s = fmt::format("{}/{} layers on GPU", c.n_gpu_layers(), n_layers);
  const std::string experts = ExpertFlag(c.experts_on_cpu(), c.n_cpu_moe(), n_layers);
  if (experts == "--cpu-moe") {
    s += ", experts in RAM";
  } else if (!experts.empty()) {
    s += fmt::format(", experts of {} layers in RAM", c.n_cpu_moe());
  }
  return s;
}

// The llama.cpp flags that load this choice.
std::string Flags(const v1::Choice& c) {
  std::string s = fmt::format("-c {} -ngl {} -ctk {} -ctv {} -fa {}", c.n_ctx(), c.n_gpu_layers(),
                              c.cache_type_k(), c.cache_type_v(), c.flash_attn() ? "on" : "off");
  // --cpu-moe for a choice that keeps only the first layers' experts in RAM would load slower
  // than the estimate says: every layer's experts would move.
  const std::string experts =
      ExpertFlag(c.experts_on_cpu(), c.n_cpu_moe(), c.estimate().n_layers());
  if (!experts.empty()) s += " " + experts;
  if (!c.gguf_path().empty()) s = fmt::format("-m {} ", c.gguf_path()) + s;
  return s;
}

void PrintHuman(const v1::Recommendation& rec, std::ostream& out) {
  if (rec.has_pick()) {
    const v1::Choice& p = rec.pick();
    const v1::Estimate& e = p.estimate();
    out << fmt::format("pick      {} at {} context, K {} / V {}, {}\n", p.file_type(),
                       Tokens(p.n_ctx()), p.cache_type_k(), p.cache_type_v(), Placement(p));
    out << fmt::format("          {}, headroom {}; decode {:.1f} tok/s, prefill {:.1f} tok/s\n",
                       VerdictName(e.verdict()), SignedGib(e.headroom_bytes()), e.decode_tok_s(),
                       e.prefill_tok_s());
    out << fmt::format("why       {}\n", p.reason());
    out << fmt::format("llama.cpp {}\n", Flags(p));
  } else {
    out << "pick      none meets the constraints\n";
  }
  out << fmt::format("summary   {}\n", rec.reason());
  if (rec.alternatives().empty()) return;
  out << "\nalternatives, best first:\n";
  Table t({"#", "quant", "context", "K/V", "placement", "verdict", "decode tok/s", "meets"});
  for (int i = 0; i < rec.alternatives_size(); ++i) {
    const v1::Choice& c = rec.alternatives(i);
    t.AddRow({std::to_string(i + 1), c.file_type(), Tokens(c.n_ctx()),
              c.cache_type_k() + "/" + c.cache_type_v(), Placement(c),
              VerdictName(c.estimate().verdict()),
              fmt::format("{:.1f}", c.estimate().decode_tok_s()),
              c.meets_constraints() ? "yes" : "no"});
  }
  out << t.Render() << "\n";
  // Reasons are sentences; a right-aligned table column would make them unreadable.
  for (int i = 0; i < rec.alternatives_size(); ++i) {
    out << fmt::format("{:>2}. {}\n", i + 1, rec.alternatives(i).reason());
  }
}

}  // namespace

int RunPick(const PickOptions& o, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::RecommendRequest> request = BuildRequest(o);
  if (!request.ok()) {
    err << "headroom pick: " << request.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<FitClient>> client =
      OpenClient({.no_daemon = o.no_daemon, .endpoint = o.endpoint});
  if (!client.ok()) {
    err << "headroom pick: " << client.status().message() << "\n";
    return kExitError;
  }
  absl::StatusOr<v1::Recommendation> rec = (*client)->Recommend(*request);
  if (!rec.ok()) {
    err << "headroom pick: " << rec.status().message() << "\n";
    return rec.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitError;
  }
  if (o.json) {
    out << ToJson(*rec);
  } else {
    PrintHuman(*rec, out);
  }
  return kExitOk;
}

}  // namespace headroom::cli
