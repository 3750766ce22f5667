#include "headroom/fit/plan.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "kv_cache.h"
#include "placement.h"
#include "prepared.h"
#include "speed.h"

namespace headroom::fit {
namespace {

using internal::ContextCost;
using internal::ModelTable;
using internal::Placement;

// Beyond any machine in the GPU table by orders of magnitude: 1 PiB.
constexpr uint64_t kAbsurdBytes = uint64_t{1} << 50;

std::string Gib(int64_t bytes) {
  const auto tenths = static_cast<int64_t>(
      std::llround(std::abs(static_cast<double>(bytes)) / (1024.0 * 1024.0 * 1024.0) * 10));
  return absl::StrCat(bytes < 0 ? "-" : "", tenths / 10, ".", tenths % 10, " GiB");
}

absl::Status CheckRate(double value, const std::string& field) {
  if (!std::isfinite(value) || value < 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be a finite number >= 0"));
  }
  return absl::OkStatus();
}

absl::Status CheckMachine(const Machine& m) {
  for (size_t i = 0; i < m.gpus.size(); ++i) {
    const Gpu& g = m.gpus[i];
    const std::string f = absl::StrCat("machine.gpus[", i, "].");
    if (g.free_bytes > kAbsurdBytes || g.total_bytes > kAbsurdBytes) {
      return absl::InvalidArgumentError(absl::StrCat(f, "free_bytes: absurd (over 1 PiB)"));
    }
    if (g.total_bytes != 0 && g.free_bytes > g.total_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(f, "free_bytes: more than total_bytes (",
                                                     g.free_bytes, " > ", g.total_bytes, ")"));
    }
    if (absl::Status s = CheckRate(g.bandwidth_gbps, f + "bandwidth_gbps"); !s.ok()) return s;
    if (absl::Status s = CheckRate(g.fp16_tflops, f + "fp16_tflops"); !s.ok()) return s;
  }
  if (m.host_available_bytes == 0) {
    return absl::InvalidArgumentError("machine.host_available_bytes: 0");
  }
  if (m.host_available_bytes > kAbsurdBytes || m.host_total_bytes > kAbsurdBytes) {
    return absl::InvalidArgumentError("machine.host_available_bytes: absurd (over 1 PiB)");
  }
  if (m.host_total_bytes != 0 && m.host_available_bytes > m.host_total_bytes) {
    return absl::InvalidArgumentError("machine.host_available_bytes: more than host_total_bytes");
  }
  if (m.host_threads == 0) return absl::InvalidArgumentError("machine.host_threads: 0");
  return CheckRate(m.host_bandwidth_gbps, "machine.host_bandwidth_gbps");
}

absl::Status CheckInputs(const ModelTensors& model, const Machine& machine, const PlanOptions& o) {
  if (absl::Status s = CheckModelTensors(model); !s.ok()) return s;
  const auto& arch = model.arch;
  const Request& r = o.request;
  if (r.n_ctx == 0 && arch.context_length() == 0) {
    return absl::InvalidArgumentError(
        "options.request.n_ctx: 0 (the trained context) and the model has no context_length");
  }
  if (r.n_batch == 0) return absl::InvalidArgumentError("options.request.n_batch: 0");
  if (r.n_ubatch == 0) return absl::InvalidArgumentError("options.request.n_ubatch: 0");
  if (r.n_prompt && *r.n_prompt == 0) {
    return absl::InvalidArgumentError("options.request.n_prompt: 0");
  }
  if (o.n_prompt == 0) return absl::InvalidArgumentError("options.n_prompt: 0");
  if (o.gpu_margin_bytes > kAbsurdBytes) {
    return absl::InvalidArgumentError("options.gpu_margin_bytes: absurd (over 1 PiB)");
  }
  if (absl::Status s = CheckMachine(machine); !s.ok()) return s;
  // llama.cpp's own refusals (FailedPrecondition) pass through; field errors get the path.
  absl::Status s = internal::CheckKvTypes(arch, r);
  if (s.code() == absl::StatusCode::kInvalidArgument) {
    return absl::InvalidArgumentError(absl::StrCat("options.request.", s.message()));
  }
  return s;
}

// One request's model and context summaries, and what trying a placement costs.
struct Search {
  const ModelTensors* model;
  const Machine* machine;
  const PlanOptions* options;
  const ModelTable& table;
  ContextCost context;
  internal::ComputePricer* pricer;

  uint32_t n_layer() const { return static_cast<uint32_t>(table.layers.size()); }
  Plan Memory(uint32_t ngl, uint32_t n_cpu_moe) const {
    return internal::PlanMemory(table, context,
                                internal::PlaceLayers(n_layer(), ngl, n_cpu_moe, *machine),
                                *machine, options->request);
  }
  bool GpusFit(uint32_t ngl, uint32_t n_cpu_moe) const {
    return internal::GpuHeadroom(Memory(ngl, n_cpu_moe), options->gpu_margin_bytes) >= 0;
  }
  // Largest -ngl in [0, n_layer + 1] whose GPUs fit (GPU memory grows with the layers).
  uint32_t MaxLayers(uint32_t n_cpu_moe) const {
    uint32_t lo = 0;
    uint32_t hi = n_layer() + 1;
    if (GpusFit(hi, n_cpu_moe)) return hi;
    while (hi - lo > 1) {
      const uint32_t mid = lo + (hi - lo) / 2;
      (GpusFit(mid, n_cpu_moe) ? lo : hi) = mid;
    }
    return lo;
  }
  // Smallest --n-cpu-moe whose GPUs fit at `ngl`, or none.
  std::optional<uint32_t> MinCpuMoe(uint32_t ngl) const {
    if (!GpusFit(ngl, n_layer())) return std::nullopt;
    uint32_t lo = 0;  // lo fails (or is 0), hi fits
    uint32_t hi = n_layer();
    if (GpusFit(ngl, 0)) return 0;
    while (hi - lo > 1) {
      const uint32_t mid = lo + (hi - lo) / 2;
      (GpusFit(ngl, mid) ? hi : lo) = mid;
    }
    return hi;
  }
  double DecodeTokS(uint32_t ngl, uint32_t n_cpu_moe) const {
    const Placement p = internal::PlaceLayers(n_layer(), ngl, n_cpu_moe, *machine);
    return internal::EstimateSpeed(internal::MakeSpeedInput(table, p, *options, context.n_ubatch),
                                   *machine)
        .decode_tok_s;
  }
};

// -ngl and --n-cpu-moe: the caller's, or the auto placement's.
std::pair<uint32_t, uint32_t> ChoosePlacement(const Search& s) {
  const PlanOptions& o = *s.options;
  const uint32_t n_layer = s.n_layer();
  const bool moe = s.table.moe;
  if (s.machine->gpus.empty()) return {0, 0};
  const bool auto_experts = moe && !o.experts_on_cpu.has_value();
  const uint32_t fixed_moe = moe && o.experts_on_cpu.value_or(false) ? n_layer : 0;
  if (o.n_gpu_layers) {
    const uint32_t ngl = std::min(*o.n_gpu_layers, n_layer + 1);
    if (!auto_experts) return {ngl, fixed_moe};
    return {ngl, s.MinCpuMoe(ngl).value_or(n_layer)};
  }
  const uint32_t layers = s.MaxLayers(fixed_moe);
  if (!auto_experts || layers == n_layer + 1) return {layers, fixed_moe};
  // The full model does not fit: keep every layer on the GPUs with the experts of the first
  // layers on the CPU if that fits, else every expert on the CPU with fewer layers; take it
  // over plain partial offload when it decodes faster (or when speed is unknown).
  std::pair<uint32_t, uint32_t> experts{n_layer + 1, 0};
  if (std::optional<uint32_t> k = s.MinCpuMoe(n_layer + 1)) {
    experts.second = *k;
  } else {
    experts = {s.MaxLayers(n_layer), n_layer};
  }
  const double partial_tok_s = s.DecodeTokS(layers, 0);
  const double experts_tok_s = s.DecodeTokS(experts.first, experts.second);
  if (partial_tok_s > 0 && partial_tok_s > experts_tok_s) return {layers, 0};
  return experts;
}

// Largest multiple of 256 up to the cap whose plan fits with the margin, placement fixed: a
// search on exact memory (a compute-buffer regime covers a range of contexts, so most steps
// replay nothing). The headroom is affine in the context between regime changes, so a step
// first aims where the line through the bracket's ends crosses zero (then checks the next
// context too, which settles it when the line held); a step that leaves more than half the
// bracket is followed by a halving, so it never takes more than twice bisection's steps.
uint32_t MaxContext(const Search& s, uint32_t ngl, uint32_t n_cpu_moe) {
  const auto& arch = s.model->arch;
  const Request& r = s.options->request;
  const uint64_t cap = arch.context_length() > 0
                           ? uint64_t{arch.context_length()} * std::max(1u, r.n_parallel)
                           : uint64_t{r.n_ctx} + internal::kKvPadCells - 1;
  const uint64_t units_cap = std::min<uint64_t>(cap, UINT32_MAX) / internal::kKvPadCells;
  const internal::PlacedModel placed = internal::PlaceModel(
      s.table, internal::PlaceLayers(s.n_layer(), ngl, n_cpu_moe, *s.machine), *s.machine);
  // Headroom with the margin at `units` x 256 tokens; INT64_MIN where the context is refused.
  auto headroom = [&](uint64_t units) -> int64_t {
    Request at = r;
    at.n_ctx = static_cast<uint32_t>(units * internal::kKvPadCells);
    absl::StatusOr<ContextCost> c = internal::CostContext(*s.model, at, *s.pricer);
    if (!c.ok()) return INT64_MIN;
    const Plan plan = internal::PlanMemory(placed, *c, *s.machine, at);
    return internal::Headroom(plan, *s.machine, s.options->gpu_margin_bytes);
  };
  if (units_cap == 0) return 0;
  // The requested context was priced for the plan itself: a free first bracket end.
  const uint64_t requested = r.n_ctx == 0 ? arch.context_length() : r.n_ctx;
  const uint64_t units_requested = std::clamp<uint64_t>(
      (requested + internal::kKvPadCells - 1) / internal::kKvPadCells, 1, units_cap);
  uint64_t lo = 1;          // fits: h_lo >= 0
  uint64_t hi = units_cap;  // does not: h_hi < 0
  int64_t h_lo = 0;
  int64_t h_hi = 0;
  if (const int64_t h = headroom(units_requested); h >= 0) {
    h_hi = headroom(units_cap);
    if (h_hi >= 0) return static_cast<uint32_t>(units_cap * internal::kKvPadCells);
    lo = units_requested;
    h_lo = h;
  } else {
    h_hi = h;
    if (units_requested == 1) return 0;
    h_lo = headroom(1);
    if (h_lo < 0) return 0;
    hi = units_requested;
  }
  bool aim = true;
  while (hi - lo > 1) {
    const uint64_t width = hi - lo;
    uint64_t mid = lo + width / 2;
    if (aim && h_hi != INT64_MIN) {
      const long double t = static_cast<long double>(h_lo) /
                            (static_cast<long double>(h_lo) - static_cast<long double>(h_hi));
      mid = std::clamp<uint64_t>(lo + static_cast<uint64_t>(t * static_cast<long double>(width)),
                                 lo + 1, hi - 1);
    }
    if (const int64_t h = headroom(mid); h >= 0) {
      lo = mid;
      h_lo = h;
      if (aim && mid + 1 < hi) {  // the line's answer is checked from above at once
        if (const int64_t next = headroom(mid + 1); next >= 0) {
          lo = mid + 1;
          h_lo = next;
        } else {
          hi = mid + 1;
          h_hi = next;
        }
      }
    } else {
      hi = mid;
      h_hi = h;
    }
    aim = aim ? (hi - lo) * 2 <= width : true;
  }
  return static_cast<uint32_t>(lo * internal::kKvPadCells);
}

// The device short of the most bytes, named for the reason.
std::string Shortfall(const Plan& plan, const Machine& machine) {
  std::string where = "host RAM";
  int64_t worst =
      static_cast<int64_t>(plan.host.free_bytes) - static_cast<int64_t>(plan.host.total_bytes);
  uint64_t need = plan.host.total_bytes;
  uint64_t free = plan.host.free_bytes;
  uint64_t shared = plan.host.total_bytes;
  for (size_t i = 0; i < plan.gpus.size(); ++i) {
    const DeviceUsage& g = plan.gpus[i];
    if (g.total_bytes == 0) continue;
    if (machine.gpus[i].unified_memory) shared += g.total_bytes;
    const int64_t h = static_cast<int64_t>(g.free_bytes) - static_cast<int64_t>(g.total_bytes);
    if (h < worst) {
      worst = h;
      where = absl::StrCat("GPU ", i, " (", g.name, ")");
      need = g.total_bytes;
      free = g.free_bytes;
    }
  }
  const int64_t unified =
      static_cast<int64_t>(machine.host_available_bytes) - static_cast<int64_t>(shared);
  if (shared != plan.host.total_bytes && unified < worst) {
    worst = unified;
    where = "unified memory (host + GPU)";
    need = shared;
    free = machine.host_available_bytes;
  }
  return absl::StrCat(where, " is short by ", Gib(-worst), ": needs ",
                      Gib(static_cast<int64_t>(need)), ", ", Gib(static_cast<int64_t>(free)),
                      " free");
}

// The MoE experts kept in host RAM, `where` and llama.cpp's flag for them: "the experts of the
// first 22 layers<where> (--n-cpu-moe 22)", "the experts of every layer<where> (--cpu-moe)";
// empty when none are. n_cpu_moe counts repeating layers; n_layers also counts the output layer.
std::string ExpertsInHost(const Plan& plan, const char* where) {
  if (plan.n_cpu_moe == 0) return "";
  if (plan.n_cpu_moe + 1 >= plan.n_layers) {
    return absl::StrCat("the experts of every layer", where, " (--cpu-moe)");
  }
  return absl::StrCat("the experts of the first ", plan.n_cpu_moe, " layers", where,
                      " (--n-cpu-moe ", plan.n_cpu_moe, ")");
}

void SetVerdict(Plan& plan, const Machine& machine, bool gpus_present) {
  plan.headroom_bytes = internal::Headroom(plan, machine, 0);
  const std::string spare = absl::StrCat(Gib(plan.headroom_bytes), " to spare");
  const std::string experts = ExpertsInHost(plan, " in host RAM");
  const bool all_layers = plan.n_gpu_layers == plan.n_layers;
  if (plan.headroom_bytes < 0) {
    plan.verdict = PlanVerdict::kDoesNotFit;
    plan.reason = absl::StrCat(plan.n_gpu_layers, " of ", plan.n_layers, " layers on GPU",
                               experts.empty() ? "" : absl::StrCat(", ", experts), ": ",
                               Shortfall(plan, machine));
  } else if (plan.n_gpu_layers == 0) {
    plan.verdict = PlanVerdict::kCpuOnly;
    plan.reason = absl::StrCat(gpus_present ? "no layer on a GPU" : "no GPU",
                               ": runs from host RAM with ", spare);
  } else if (all_layers && experts.empty()) {
    plan.verdict = PlanVerdict::kFits;
    plan.reason = absl::StrCat("all ", plan.n_layers, " layers on GPU with ", spare);
  } else if (all_layers) {  // only experts in host RAM
    plan.verdict = PlanVerdict::kPartial;
    plan.reason = absl::StrCat("all ", plan.n_layers, " layers on GPU, ", experts, "; ", spare);
  } else {
    plan.verdict = PlanVerdict::kPartial;
    plan.reason = absl::StrCat(
        plan.n_gpu_layers, " of ", plan.n_layers, " layers on GPU, the rest in host RAM",
        experts.empty() ? "" : absl::StrCat(", as are ", ExpertsInHost(plan, "")), "; ", spare);
  }
}

}  // namespace

const char* BackendName(Backend backend) {
  switch (backend) {
    case Backend::kCpu:
      return "cpu";
    case Backend::kCuda:
      return "cuda";
    case Backend::kVulkan:
      return "vulkan";
    case Backend::kMetal:
      return "metal";
  }
  return "unknown";
}

const char* PlanVerdictName(PlanVerdict verdict) {
  switch (verdict) {
    case PlanVerdict::kFits:
      return "FITS";
    case PlanVerdict::kPartial:
      return "PARTIAL";
    case PlanVerdict::kCpuOnly:
      return "CPU_ONLY";
    case PlanVerdict::kDoesNotFit:
      return "DOES_NOT_FIT";
  }
  return "UNKNOWN";
}

// llama.cpp's default thread count is the number of physical cores (cpu_get_num_math).
absl::StatusOr<Machine> MachineFromHardware(const headroom::v1::Hardware& hardware) {
  Machine m;
  const auto& ram = hardware.ram();
  if (ram.total_bytes() == 0) return absl::InvalidArgumentError("hardware.ram.total_bytes: 0");
  m.host_total_bytes =
      ram.limit_bytes() != 0 ? std::min(ram.total_bytes(), ram.limit_bytes()) : ram.total_bytes();
  m.host_available_bytes = std::min(ram.available_bytes(), m.host_total_bytes);
  m.host_bandwidth_gbps = hardware.host_bandwidth_gbps();
  const uint32_t cores =
      hardware.cpu().cores() != 0 ? hardware.cpu().cores() : hardware.cpu().threads();
  m.host_threads = std::max(1u, cores);
  for (int i = 0; i < hardware.gpus_size(); ++i) {
    const headroom::v1::GpuDevice& d = hardware.gpus(i);
    if (!d.placeable()) continue;
    if (d.memory_free_bytes() > d.memory_total_bytes()) {
      return absl::InvalidArgumentError(
          absl::StrCat("hardware.gpus[", i, "].memory_free_bytes: more than memory_total_bytes"));
    }
    Gpu g;
    g.name = d.name();
    // The usual llama.cpp backend of the vendor: CUDA on NVIDIA, Metal on Apple (no PCI id),
    // Vulkan elsewhere.
    g.backend = d.vendor_id() == 0x10de                    ? Backend::kCuda
                : d.vendor_id() == 0 && d.unified_memory() ? Backend::kMetal
                                                           : Backend::kVulkan;
    g.free_bytes = d.memory_free_bytes();
    g.total_bytes = d.memory_total_bytes();
    g.bandwidth_gbps = d.bandwidth_gbps();
    g.fp16_tflops = d.fp16_tflops();
    g.unified_memory = d.unified_memory();
    m.gpus.push_back(std::move(g));
  }
  if (absl::Status s = CheckMachine(m); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("hardware: ", s.message()));
  }
  return m;
}

absl::StatusOr<Plan> PlanFit(const ModelTensors& model, const Machine& machine,
                             const PlanOptions& options) {
  return internal::PlanFitWith(model, nullptr, machine, options);
}

PreparedModel::PreparedModel(std::shared_ptr<const ModelTensors> model,
                             const PreparedModel* same_architecture)
    : model_(std::move(model)) {
  const bool share =
      same_architecture != nullptr &&
      same_architecture->model().arch.SerializeAsString() == model_->arch.SerializeAsString();
  state_ = share
               ? std::make_unique<internal::PreparedState>(same_architecture->state_->shared_memo())
               : std::make_unique<internal::PreparedState>();
}
PreparedModel::~PreparedModel() = default;

absl::StatusOr<Plan> PlanFit(const PreparedModel& model, const Machine& machine,
                             const PlanOptions& options) {
  return internal::PlanFitWith(model.model(), &model.state(), machine, options);
}

namespace internal {

absl::StatusOr<Plan> PlanFitWith(const ModelTensors& model, PreparedState* state,
                                 const Machine& machine, const PlanOptions& options) {
  if (absl::Status s = CheckInputs(model, machine, options); !s.ok()) return s;
  std::shared_ptr<const ModelTable> table;
  if (state != nullptr) {
    absl::StatusOr<std::shared_ptr<const ModelTable>> kept = state->Table(model, options.request);
    if (!kept.ok()) return kept.status();
    table = *std::move(kept);
  } else {
    absl::StatusOr<ModelTable> built = BuildModelTable(model, options.request);
    if (!built.ok()) return built.status();
    table = std::make_shared<const ModelTable>(*std::move(built));
  }
  ComputeMemo* memo = state != nullptr ? state->memo() : nullptr;
  // Only a CPU-only plan needs the resident part of the compute reservation priced.
  const bool cpu_only = machine.gpus.empty() || options.n_gpu_layers.value_or(1) == 0;
  ComputePricer pricer(model.arch, options.request, cpu_only, memo);
  Search search{.model = &model,
                .machine = &machine,
                .options = &options,
                .table = *table,
                .context = {},
                .pricer = &pricer};
  absl::StatusOr<ContextCost> context = CostContext(model, options.request, pricer);
  if (!context.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("options.request.", context.status().message()));
  }
  search.context = *std::move(context);

  const auto [ngl, n_cpu_moe] = ChoosePlacement(search);
  if (ngl == 0 && !cpu_only) {  // nothing fits on the GPUs: price the CPU-only run
    pricer = ComputePricer(model.arch, options.request, true, memo);
    context = CostContext(model, options.request, pricer);
    if (!context.ok()) return context.status();
    search.context = *std::move(context);
  }
  const Placement placement = PlaceLayers(search.n_layer(), ngl, n_cpu_moe, machine);
  Plan plan = PlanMemory(search.table, search.context, placement, machine, options.request);
  for (size_t i = 0; i < plan.gpus.size(); ++i) plan.gpus[i].name = machine.gpus[i].name;
  SetVerdict(plan, machine, !machine.gpus.empty());
  plan.speed = EstimateSpeed(
      MakeSpeedInput(search.table, placement, options, search.context.n_ubatch), machine);
  plan.max_context = MaxContext(search, ngl, n_cpu_moe);
  return plan;
}

}  // namespace internal
}  // namespace headroom::fit
