// `headroom gpus MODEL`: which GPUs of the catalog's table run the model entirely on GPU, with
// one, two or four cards, and how fast; smallest total memory first.
#include <fmt/format.h>

#include <algorithm>

#include "commands.h"
#include "fit_args.h"
#include "format.h"
#include "headroom/catalog/catalog.h"
#include "nlohmann/json.hpp"

namespace headroom::cli {
namespace {

namespace v1 = headroom::v1;

constexpr uint32_t kDefaultContext = 8192;
constexpr int kCardCounts[] = {1, 2, 4};

struct Row {
  const v1::GpuSpec* gpu = nullptr;
  int cards = 0;
  v1::Estimate estimate;
};

// `ram_given`: --ram was on the command line. Otherwise a unified-memory machine (Apple, DGX
// Spark) is asked about with its own memory as host RAM: its GPU allocations come out of that
// pool, and the engine's default of 64 GiB would refuse a 512 GB Mac Studio any model larger.
v1::EstimateRequest RequestFor(const v1::EstimateRequest& base, const v1::GpuSpec& gpu, int cards,
                               bool ram_given) {
  v1::EstimateRequest r = base;
  v1::HypotheticalMachine& m = *r.mutable_hardware()->mutable_hypothetical();
  m.clear_gpu_ids();
  for (int i = 0; i < cards; ++i) m.add_gpu_ids(gpu.id());
  if (gpu.unified_memory() && !ram_given) m.set_ram_bytes(gpu.memory_bytes());
  return r;
}

absl::StatusOr<v1::EstimateRequest> BaseRequest(const GpusOptions& o) {
  v1::EstimateRequest r;
  *r.mutable_model() = ModelRefFromArg(o.model);
  if (!o.quant.empty()) {
    if (r.model().has_gguf_path()) {
      return absl::InvalidArgumentError("--quant: a GGUF file has its own file type");
    }
    r.mutable_model()->set_file_type(o.quant);
  }
  uint32_t ctx = kDefaultContext;
  if (!o.ctx.empty()) {
    absl::StatusOr<uint32_t> t = ParseTokens(o.ctx, "--ctx");
    if (!t.ok()) return t.status();
    ctx = *t;
  }
  r.set_runtime(v1::RUNTIME_LLAMA_CPP);
  r.mutable_llama_cpp()->set_n_ctx(ctx);
  absl::StatusOr<v1::HardwareRef> hw =
      HardwareRefFromFlags({.gpus = {}, .ram = o.ram, .host_bandwidth = "", .hw_file = ""});
  if (!hw.ok()) return hw.status();
  // Always hypothetical, even without --ram: the question is about other machines.
  *r.mutable_hardware()->mutable_hypothetical() = hw->hypothetical();
  return r;
}

nlohmann::json RowJson(const Row& row) {
  const v1::Estimate& e = row.estimate;
  return {{"gpu_id", row.gpu->id()},
          {"name", row.gpu->name()},
          {"cards", row.cards},
          {"memory_bytes", row.gpu->memory_bytes() * static_cast<uint64_t>(row.cards)},
          {"bandwidth_gbps", row.gpu->bandwidth_gbps()},
          {"verdict", VerdictName(e.verdict())},
          {"n_gpu_layers", e.n_gpu_layers()},
          {"n_layers", e.n_layers()},
          {"max_context", e.max_context()},
          {"headroom_bytes", e.headroom_bytes()},
          {"decode_tok_s", e.decode_tok_s()},
          {"prefill_tok_s", e.prefill_tok_s()}};
}

void PrintHuman(const v1::EstimateRequest& base, const v1::ModelSummary& model,
                const std::vector<Row>& fits, const std::vector<std::string>& misses,
                std::ostream& out) {
  out << fmt::format("{} ({}) {} at {} context: GPUs of the catalog that hold it entirely\n\n",
                     model.name(), model.id(), model.file_type(), Tokens(base.llama_cpp().n_ctx()));
  Table t({"GPU", "cards", "memory", "bandwidth", "verdict", "decode tok/s", "max context",
           "headroom"});
  for (const Row& r : fits) {
    t.AddRow({r.gpu->id(), fmt::format("{}x", r.cards),
              Gib(r.gpu->memory_bytes() * static_cast<uint64_t>(r.cards)),
              fmt::format("{:.0f} GB/s", r.gpu->bandwidth_gbps()),
              VerdictName(r.estimate.verdict()), fmt::format("{:.1f}", r.estimate.decode_tok_s()),
              Tokens(r.estimate.max_context()), SignedGib(r.estimate.headroom_bytes())});
  }
  out << t.Render();
  out << fmt::format(
      "\n{} configurations, smallest total memory first. Memory: per configuration, GiB = 2^30 "
      "bytes;\nbandwidth per card from the table (GB/s = 1e9 B/s); all memory assumed free; a "
      "unified-memory\nmachine's RAM is its memory unless --ram says otherwise.\n",
      fits.size());
  if (!misses.empty()) {
    out << fmt::format("Not entirely on GPU even with the most cards tried: {}\n",
                       fmt::join(misses, ", "));
  }
}

struct Survey {
  std::vector<Row> fits;            // one per GPU that holds the model, fewest cards
  std::vector<std::string> misses;  // GPUs that do not, even with the most cards tried
  v1::ModelSummary model;
};

// Asks, for every GPU of the table, 1, 2 and then 4 cards until the model fits entirely.
absl::Status SurveyGpus(FitClient& client, const v1::EstimateRequest& base,
                        const catalog::Catalog& cat, bool ram_given, Survey& survey) {
  for (const v1::GpuSpec& gpu : cat.gpus().gpus()) {
    // Unified-memory machines (Apple, DGX Spark) are whole computers, not cards to stack.
    bool found = false;
    for (int cards : kCardCounts) {
      if (gpu.unified_memory() && cards > 1) break;
      // Cards that cannot hold the weights alone cannot hold the model: no need to ask.
      const uint64_t weights = survey.model.weights_bytes();
      if (weights > 0 && gpu.memory_bytes() * static_cast<uint64_t>(cards) < weights) continue;
      absl::StatusOr<v1::Estimate> e = client.Estimate(RequestFor(base, gpu, cards, ram_given));
      if (!e.ok()) return e.status();
      survey.model = e->model();
      if (e->verdict() == v1::VERDICT_FITS) {
        survey.fits.push_back({&gpu, cards, *std::move(e)});
        found = true;
        break;
      }
    }
    if (!found) survey.misses.push_back(gpu.id());
  }
  return absl::OkStatus();
}

}  // namespace

int RunGpus(const GpusOptions& o, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::EstimateRequest> base = BaseRequest(o);
  if (!base.ok()) {
    err << "headroom gpus: " << base.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<catalog::Catalog> cat = catalog::Catalog::LoadBuiltin();
  if (!cat.ok()) {
    err << "headroom gpus: " << cat.status().message() << "\n";
    return kExitError;
  }
  absl::StatusOr<std::unique_ptr<FitClient>> client =
      OpenClient({.no_daemon = o.no_daemon, .endpoint = o.endpoint});
  if (!client.ok()) {
    err << "headroom gpus: " << client.status().message() << "\n";
    return kExitError;
  }
  Survey survey;
  if (absl::Status st = SurveyGpus(**client, *base, *cat, !o.ram.empty(), survey); !st.ok()) {
    err << "headroom gpus: " << st.message() << "\n";
    return st.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitError;
  }
  std::vector<Row>& fits = survey.fits;
  const std::vector<std::string>& misses = survey.misses;
  const v1::ModelSummary& model = survey.model;
  std::stable_sort(fits.begin(), fits.end(), [](const Row& a, const Row& b) {
    const uint64_t ma = a.gpu->memory_bytes() * static_cast<uint64_t>(a.cards);
    const uint64_t mb = b.gpu->memory_bytes() * static_cast<uint64_t>(b.cards);
    if (ma != mb) return ma < mb;
    if (a.gpu->bandwidth_gbps() != b.gpu->bandwidth_gbps()) {
      return a.gpu->bandwidth_gbps() > b.gpu->bandwidth_gbps();
    }
    return a.gpu->id() < b.gpu->id();
  });
  if (o.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const Row& r : fits) rows.push_back(RowJson(r));
    const nlohmann::json j = {{"model", model.id()},
                              {"file_type", model.file_type()},
                              {"n_ctx", base->llama_cpp().n_ctx()},
                              {"configurations", rows},
                              {"not_fitting", misses}};
    out << j.dump(2) << "\n";
  } else {
    PrintHuman(*base, model, fits, misses, out);
  }
  return kExitOk;
}

}  // namespace headroom::cli
