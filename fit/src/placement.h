// Where llama.cpp puts each layer, expert tensor and KV cache row for one -ngl and
// --n-cpu-moe, and the bytes that adds up to on every device. The model is summarised once per
// layer (ModelTable) and the context once per n_ctx (ContextCost), so trying a placement is a
// pass over the layers, not over the tensors. Private to headroom::fit; pure, thread-safe.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "compute_buffer.h"
#include "headroom/fit/plan.h"
#include "speed.h"

namespace headroom::fit::internal {

inline constexpr int kHost = -1;

// Per-device runtime overhead, bytes (documented in placement.cc).
uint64_t BackendOverheadBytes(Backend backend);

// The model's tensors summed per layer and per role, for one request's KV cache types.
struct ModelTable {
  struct Layer {
    uint64_t dense_bytes = 0;         // everything but the routed experts
    uint64_t expert_bytes = 0;        // routed expert tensors (MoE)
    uint64_t dense_repack_bytes = 0;  // of those, what the CPU backend repacks on the host
    uint64_t expert_repack_bytes = 0;
    TokenWork dense;
    TokenWork experts;
    uint64_t k_row_bytes = 0;  // one cell of this layer's K cache
    uint64_t v_row_bytes = 0;
    bool sliding = false;
    double attn_flops_per_position = 0;
  };
  std::vector<Layer> layers;
  // token_embd and any other tensor outside the blocks and the output: the input layer, which
  // llama.cpp always keeps on the CPU (dev_input).
  uint64_t input_bytes = 0;
  uint64_t input_repack_bytes = 0;
  // output head and output norm: the output layer (dev_output = the device of layer n_layer).
  uint64_t output_bytes = 0;
  uint64_t output_repack_bytes = 0;
  // A model without an output tensor reads token_embd as its head; llama.cpp loads it a second
  // time (TENSOR_DUPLICATED) into the output layer's buffer when that is not the host's.
  uint64_t tied_head_bytes = 0;
  TokenWork output;
  uint64_t logits_row_bytes = 0;  // n_vocab f32 logits of one sequence
  uint32_t window = 0;            // sliding window, tokens
  bool moe = false;
};

// Error for an unknown tensor or KV cache type.
absl::StatusOr<ModelTable> BuildModelTable(const ModelTensors& model, const Request& request);

// The same in two steps: the pass over the tensors (KV rows left 0), then the KV rows for the
// request's cache types (a pass over the layers only).
ModelTable BuildWeightTable(const ModelTensors& model);
absl::StatusOr<ModelTable> WithKvRows(ModelTable table, const headroom::v1::Architecture& arch,
                                      const Request& request);

// The compute buffers at one KV size: the reserve graph, and what a CPU-only prompt touches.
struct ComputeAt {
  ComputeStages reserve;
  ComputeStages touched;
};

class ComputeMemo;

// Prices the compute buffers of one request at any number of cells. A price comes from a
// regime (ReplayComputeRegime: exact over a range of cells) already held here or in `memo`,
// else from a new replay, the costly part of an estimate. Not thread-safe (one per PlanFit
// call); `memo` is. `touched`: also price the CPU-only resident part (else it is 0).
class ComputePricer {
 public:
  ComputePricer(const headroom::v1::Architecture& arch, const Request& request, bool touched,
                ComputeMemo* memo = nullptr);
  ComputeAt At(uint32_t n_ubatch, uint32_t cells);

 private:
  ComputeStages Price(const GraphShape& shape);
  const headroom::v1::Architecture* arch_;
  const Request* request_;
  bool touched_;
  ComputeMemo* memo_;
  std::vector<std::pair<GraphShape, ComputeRegime>> known_;
};

// Everything that depends on n_ctx: KV bytes per layer and the compute buffers.
struct ContextCost {
  uint32_t n_ctx = 0;      // padded, all streams
  uint32_t cells = 0;      // per stream, full-attention layers
  uint32_t swa_cells = 0;  // per stream, sliding-window layers
  uint32_t streams = 1;
  uint32_t n_ubatch = 0;
  uint64_t layers_compute_bytes = 0;        // reserve of a device running layers (no output head)
  uint64_t output_compute_bytes = 0;        // reserve of the device running the output head too
  uint64_t host_touched_compute_bytes = 0;  // CPU-only: what a prompt touches (resident)
  uint64_t input_compute_bytes = 0;  // host with every layer offloaded: embeddings in, copied
};

// `request.n_ctx` is the context to cost (0 = trained). Refusals as EstimateCpuMemory's.
absl::StatusOr<ContextCost> CostContext(const ModelTensors& model, const Request& request,
                                        ComputePricer& pricer);

struct Placement {
  uint32_t n_gpu_layers = 0;      // llama.cpp's -ngl, clamped to n_layer + 1
  uint32_t n_cpu_moe = 0;         // leading layers whose experts stay on the host
  std::vector<int> layer_device;  // per repeating layer: GPU index or kHost
  int output_device = kHost;
};

// llama_model::load_tensors: the last n_gpu_layers of the n_layer + 1 layers (the output layer
// last) go to the GPUs, split in proportion to their free memory (the default tensor_split).
Placement PlaceLayers(uint32_t n_layer, uint32_t n_gpu_layers, uint32_t n_cpu_moe,
                      const Machine& machine);

// What a placement puts on each device whatever the context: `base` has the weights and
// layers of every device (GPUs unnamed) and n_layers, n_gpu_layers, n_cpu_moe; the KV cache
// is summed as the bytes of one cell over each device's full-attention and sliding layers
// (index 0 the host, then the GPUs). Trying contexts with it costs O(devices) each.
struct PlacedModel {
  Plan base;
  absl::InlinedVector<uint64_t, 8> full_row_bytes;
  absl::InlinedVector<uint64_t, 8> swa_row_bytes;
  int output_device = kHost;
  bool host_runs_layers = false;
};
PlacedModel PlaceModel(const ModelTable& table, const Placement& placement, const Machine& machine);

// Memory of every device at one context: Plan.gpus (unnamed), host, n_layers, n_gpu_layers,
// n_cpu_moe and kv_cells.
Plan PlanMemory(const PlacedModel& placed, const ContextCost& context, const Machine& machine,
                const Request& request);
Plan PlanMemory(const ModelTable& table, const ContextCost& context, const Placement& placement,
                const Machine& machine, const Request& request);

// Smallest free - total over the devices in use, less `gpu_margin` on each GPU; a unified
// GPU's total also counts against the host.
int64_t Headroom(const Plan& plan, const Machine& machine, uint64_t gpu_margin);

// Same, over the GPUs only (what the number of GPU layers decides).
int64_t GpuHeadroom(const Plan& plan, uint64_t gpu_margin);

// The speed model's view of a placement.
SpeedInput MakeSpeedInput(const ModelTable& table, const Placement& placement,
                          const PlanOptions& options, uint32_t n_ubatch);

}  // namespace headroom::fit::internal
