// Placement of a model across GPUs and host RAM the way llama.cpp places it, the memory each
// device needs, a verdict, the largest context that fits, and decode/prefill speed.
// Devices are values (hand-built or converted from a headroom.v1.Hardware); nothing here
// probes or does I/O. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headroom/fit/estimate.h"
#include "headroom/fit/model_tensors.h"
#include "headroom/v1/hardware.pb.h"

namespace headroom::fit {

enum class Backend { kCpu, kCuda, kVulkan, kMetal };

// "cpu", "cuda", "vulkan", "metal".
const char* BackendName(Backend backend);

// One GPU as the estimator sees it.
struct Gpu {
  std::string name;
  Backend backend = Backend::kVulkan;
  uint64_t free_bytes = 0;    // memory free for the model, bytes
  uint64_t total_bytes = 0;   // device memory, bytes
  double bandwidth_gbps = 0;  // memory bandwidth, 1e9 bytes/s; 0 = unknown (no speed)
  double fp16_tflops = 0;     // dense FP16 throughput; 0 = unknown (no prefill speed)
  // Memory shared with the host (Apple silicon, APUs, DGX Spark): what this GPU holds also
  // comes out of Machine::host_available_bytes.
  bool unified_memory = false;
};

// The machine a plan is made for.
struct Machine {
  std::vector<Gpu> gpus;              // in the order the runtime enumerates them
  uint64_t host_available_bytes = 0;  // RAM a new process can have, bytes
  uint64_t host_total_bytes = 0;      // physical RAM (or cgroup limit), bytes
  double host_bandwidth_gbps = 0;     // measured host read bandwidth (STREAM-like), 1e9 B/s
  uint32_t host_threads = 2;          // threads llama.cpp computes with on the CPU
};

// Converts a snapshot; non-placeable GPUs are left out. Errors name the field.
absl::StatusOr<Machine> MachineFromHardware(const headroom::v1::Hardware& hardware);

struct PlanOptions {
  Request request;  // context, KV types, batch sizes, mmap
  // llama.cpp's -ngl: the last n layers go to the GPUs, counting the output layer as one, so
  // arch.block_count() + 1 puts everything there (larger values are clamped). Unset = the
  // largest that fits with gpu_margin_bytes free on every GPU.
  std::optional<uint32_t> n_gpu_layers;
  // MoE expert tensors in host RAM. true: every layer's (-ot exps=CPU, --cpu-moe); false: none;
  // unset (auto): none when the model fits on the GPUs, else the fastest placement that fits
  // among fewer GPU layers and the experts of the first N layers on the CPU (--n-cpu-moe N).
  std::optional<bool> experts_on_cpu;
  uint32_t n_prompt = 512;                   // prompt length for prefill speed and TTFT, tokens
  uint32_t decode_depth = 0;                 // tokens already in the context while decoding
  uint64_t gpu_margin_bytes = 256ull << 20;  // kept free on each GPU by the auto placement
};

// FITS: every layer and expert on the GPUs. PARTIAL: some layers (or MoE expert tensors) in
// host RAM. CPU_ONLY: nothing on a GPU. DOES_NOT_FIT: some device (or the unified pool) lacks
// the bytes. The margin does not decide the verdict; it only bounds the auto placement and
// max_context.
enum class PlanVerdict { kFits, kPartial, kCpuOnly, kDoesNotFit };

// "FITS", "PARTIAL", "CPU_ONLY", "DOES_NOT_FIT".
const char* PlanVerdictName(PlanVerdict verdict);

// Bytes one device holds; total_bytes is the sum of the five parts. A GPU's figures are its
// allocations; the host's are what RAM must really hold: the weights the CPU reads (its tensors
// that are not repacked, with mmap as mapped pages, and the CPU_REPACK copies of the others;
// pages read once, for an upload or a repack, are page cache the kernel reclaims), and of a
// CPU-only compute reservation the part a prompt of request.n_prompt touches. A CPU-only plan's
// KV, compute and output are EstimateCpuMemory's kv_bytes, touched compute and output_bytes,
// and its total is peak_rss_bytes less those reclaimable pages (with mmap: the repacked
// tensors' and the file's padding).
struct DeviceUsage {
  std::string name;
  Backend backend = Backend::kCpu;
  uint64_t weights_bytes = 0;
  uint64_t kv_cache_bytes = 0;
  uint64_t compute_bytes = 0;
  uint64_t output_bytes = 0;
  uint64_t overhead_bytes = 0;
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint32_t layers = 0;  // repeating layers placed here (the output layer not counted)
};

struct Speed {
  double decode_tok_s = 0;
  double prefill_tok_s = 0;
  double time_to_first_token_s = 0;
  uint64_t weights_read_per_token_bytes = 0;  // active weights read per decoded token
  uint64_t kv_read_per_token_bytes = 0;       // KV read per decoded token at the depth
};

struct Plan {
  PlanVerdict verdict = PlanVerdict::kDoesNotFit;
  std::vector<DeviceUsage> gpus;
  DeviceUsage host;
  uint32_t n_layers = 0;      // as llama.cpp counts them: arch.block_count() + 1 (output)
  uint32_t n_gpu_layers = 0;  // the -ngl to load with; n_layers = everything on the GPUs
  uint32_t n_cpu_moe = 0;     // leading layers whose expert tensors stay in host RAM
  uint32_t n_ctx = 0;         // the context llama.cpp allocates: padded, all sequences (-c)
  uint32_t kv_cells = 0;      // per stream
  uint32_t kv_streams = 1;    // 1, or n_parallel with a split (non-unified) KV cache
  bool flash_attn = true;     // as resolved (auto = on: every backend modelled supports it)
  // Largest context (multiple of 256, at most the trained context x n_parallel) that fits this
  // placement with gpu_margin_bytes free on every GPU, n_gpu_layers and n_cpu_moe unchanged;
  // 0 when not even 256 tokens fit.
  uint32_t max_context = 0;
  // Smallest free - total over the devices in use (a unified GPU's total also counts against
  // the host's RAM); negative = the shortfall. The margin is not subtracted.
  int64_t headroom_bytes = 0;
  Speed speed;
  std::string reason;
};

// The plan, or InvalidArgument naming the field (options.request.n_ctx, machine.gpus[1]...),
// or FailedPrecondition where llama.cpp refuses the request (as EstimateCpuMemory).
absl::StatusOr<Plan> PlanFit(const ModelTensors& model, const Machine& machine,
                             const PlanOptions& options);

namespace internal {
class PreparedState;
}

// A model made ready for many plans: it keeps its tensors summed per layer (per pair of KV
// cache types) and the compute buffers it has replayed (each exact over a range of contexts),
// so a later plan skips that work. The answers are those of PlanFit on model(). Thread-safe:
// plans on several threads may share one.
class PreparedModel {
 public:
  // `same_architecture`: another quant of the same model, whose compute buffers this one can
  // share (the graph holds no weights); ignored when the architectures differ.
  explicit PreparedModel(std::shared_ptr<const ModelTensors> model,
                         const PreparedModel* same_architecture = nullptr);
  ~PreparedModel();
  PreparedModel(const PreparedModel&) = delete;
  PreparedModel& operator=(const PreparedModel&) = delete;

  const ModelTensors& model() const { return *model_; }
  // What it keeps; for headroom::fit's own use.
  internal::PreparedState& state() const { return *state_; }

 private:
  std::shared_ptr<const ModelTensors> model_;
  std::unique_ptr<internal::PreparedState> state_;
};

absl::StatusOr<Plan> PlanFit(const PreparedModel& model, const Machine& machine,
                             const PlanOptions& options);

}  // namespace headroom::fit
