// Placement of a model across GPUs and host RAM the way llama.cpp places it, the memory each
// device needs, a verdict, the largest context that fits, and decode/prefill speed.
// Devices are values (hand-built or converted from a headroom.v1.Hardware); nothing here
// probes or does I/O. Pure functions; thread-safe.
#pragma once

#include <cstdint>
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
  uint64_t free_bytes = 0;   // memory free for the model, bytes
  uint64_t total_bytes = 0;  // device memory, bytes
  double bandwidth_gbps = 0;  // memory bandwidth, 1e9 bytes/s
  double fp16_tflops = 0;     // dense FP16 throughput
};

// The machine a plan is made for.
struct Machine {
  std::vector<Gpu> gpus;             // in the order the runtime enumerates them
  uint64_t host_available_bytes = 0;  // RAM a new process can have, bytes
  uint64_t host_total_bytes = 0;      // physical RAM (or cgroup limit), bytes
  double host_bandwidth_gbps = 0;     // measured host read bandwidth (STREAM-like), 1e9 B/s
  uint32_t host_threads = 2;          // threads llama.cpp computes with on the CPU
};

// Converts a snapshot; non-placeable GPUs are left out. Errors name the field.
absl::StatusOr<Machine> MachineFromHardware(const headroom::v1::Hardware& hardware);

struct PlanOptions {
  Request request;                        // context, KV types, batch sizes, mmap
  std::optional<uint32_t> n_gpu_layers;   // unset = the largest that fits
  bool experts_on_cpu = false;            // MoE expert tensors stay in host RAM (-ot exps=CPU)
  uint32_t n_prompt = 512;                // prompt length for prefill speed and TTFT, tokens
  uint32_t decode_depth = 0;              // tokens already in the context while decoding
  uint64_t gpu_margin_bytes = 256ull << 20;  // kept free on each GPU by the auto placement
};

enum class PlanVerdict { kFits, kPartial, kCpuOnly, kDoesNotFit };

// "FITS", "PARTIAL", "CPU_ONLY", "DOES_NOT_FIT".
const char* PlanVerdictName(PlanVerdict verdict);

// Bytes one device holds; total_bytes is the sum of the five parts.
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
  uint32_t layers = 0;  // repeating layers placed here
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
  uint32_t n_layers = 0;
  uint32_t n_gpu_layers = 0;  // counted from the last layer backwards
  uint32_t kv_cells = 0;
  uint32_t max_context = 0;   // largest context (multiple of 256) that fits this placement
  int64_t headroom_bytes = 0;  // smallest free - total over devices; negative = shortfall
  Speed speed;
  std::string reason;
};

// The plan, or InvalidArgument naming the field (options.request.n_ctx, machine.gpus[1]...).
absl::StatusOr<Plan> PlanFit(const ModelTensors& model, const Machine& machine,
                             const PlanOptions& options);

}  // namespace headroom::fit
