#include "placement.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "compute_buffer.h"
#include "kv_cache.h"
#include "prepared.h"
#include "weights.h"

namespace headroom::fit::internal {
namespace {

using headroom::v1::Architecture;
using headroom::v1::TensorRole;

constexpr uint64_t kMiB = 1024 * 1024;

uint64_t PadTo(uint64_t n, uint64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

bool IsMla(const Architecture& arch) {
  return arch.attention() == headroom::v1::ATTENTION_KIND_MLA;
}

uint32_t HeadCount(const Architecture& arch, uint32_t layer) {
  if (layer < static_cast<uint32_t>(arch.head_count_per_layer_size())) {
    return arch.head_count_per_layer(static_cast<int>(layer));
  }
  return arch.head_count();
}

// QK and PV multiply-adds per cached position a query attends, all heads of one layer. MLA
// runs absorbed: each head dots the latent and the rope part, then sums the latent as V.
double AttentionFlopsPerPosition(const Architecture& arch, uint32_t layer) {
  if (KWidth(arch, layer) == 0) return 0;
  const double heads = HeadCount(arch, layer);
  if (IsMla(arch)) {
    const double latent = arch.mla().kv_lora_rank();
    return 2 * heads * (2 * latent + arch.mla().qk_rope_head_dim());
  }
  return 2 * heads * static_cast<double>(arch.key_length() + arch.value_length());
}

uint32_t EffectiveUbatch(const Architecture& arch, const Request& request) {
  const uint64_t ctx = request.n_ctx == 0 ? arch.context_length() : request.n_ctx;
  const uint32_t n_batch = static_cast<uint32_t>(std::min<uint64_t>(request.n_batch, ctx));
  return std::min(request.n_ubatch, n_batch);
}

uint64_t SumParts(const DeviceUsage& u) {
  return u.weights_bytes + u.kv_cache_bytes + u.compute_bytes + u.output_bytes + u.overhead_bytes;
}

}  // namespace

// CUDA: the primary context costs 120-550 MB depending on the GPU (ggml-org/llama.cpp PR
// #20595; PR #23604 measured 107 MiB on an RTX 4060 Ti and 555 MiB on an RTX PRO 6000);
// unsloth's fit budget reserves 320 MiB after measuring about 330 MiB (unslothai/unsloth PR
// #6718). We take 330 MiB. Vulkan and Metal: assumed 64 MiB (driver objects and pipelines; no
// published measurement found). The CPU's is the resident code and heap measured on the
// groundtruth build (CpuRuntimeProfile).
uint64_t BackendOverheadBytes(Backend backend) {
  switch (backend) {
    case Backend::kCuda:
      return 330 * kMiB;
    case Backend::kVulkan:
    case Backend::kMetal:
      return 64 * kMiB;
    case Backend::kCpu: {
      const CpuRuntimeProfile profile;
      return profile.code_resident_bytes + profile.heap_resident_bytes;
    }
  }
  return 0;
}

ModelTable BuildWeightTable(const ModelTensors& model) {
  const Architecture& arch = model.arch;
  const uint32_t n_layer = arch.block_count();
  ModelTable table;
  table.layers.resize(n_layer);
  table.moe = arch.has_moe() && arch.moe().expert_count() > 0;
  const double expert_active =
      table.moe ? static_cast<double>(arch.moe().expert_used_count()) / arch.moe().expert_count()
                : 1.0;
  const CpuFeatures cpu;  // the repack rules of EstimateCpuMemory's default CPU
  bool has_head = false;
  const WeightTensor* embedding = nullptr;
  for (const WeightTensor& t : model.tensors) {
    const bool repacked = IsRepacked(t, cpu);
    const uint64_t repack = repacked ? t.bytes : 0;
    if (t.layer >= 0 && static_cast<uint32_t>(t.layer) < n_layer) {
      ModelTable::Layer& l = table.layers[static_cast<size_t>(t.layer)];
      if (t.role == TensorRole::TENSOR_ROLE_FFN_EXPERTS) {
        l.expert_bytes += t.bytes;
        l.expert_repack_bytes += repack;
        l.experts += TensorWork(t, expert_active, repacked);
      } else {
        l.dense_bytes += t.bytes;
        l.dense_repack_bytes += repack;
        l.dense += TensorWork(t, 1.0, repacked);
      }
    } else if (t.role == TensorRole::TENSOR_ROLE_OUTPUT ||
               (t.role == TensorRole::TENSOR_ROLE_NORM && t.layer < 0)) {
      // output_norm carries the output role too; the head is the matrix.
      has_head = has_head || (t.role == TensorRole::TENSOR_ROLE_OUTPUT && t.n_dims >= 2);
      table.output_bytes += t.bytes;
      table.output_repack_bytes += repack;
      table.output += TensorWork(t, 1.0, repacked);
    } else if (t.layer >= 0) {
      // Blocks past block_count (multi-token prediction) are not run; llama.cpp skips them, the
      // estimate keeps them with the output layer so the CPU totals still match the file.
      table.output_bytes += t.bytes;
      table.output_repack_bytes += repack;
    } else {
      if (t.role == TensorRole::TENSOR_ROLE_EMBEDDING) embedding = &t;
      table.input_bytes += t.bytes;
      table.input_repack_bytes += repack;
    }
  }
  if (!has_head && embedding != nullptr) {
    table.tied_head_bytes = embedding->bytes;
    table.output += TensorWork(*embedding, 1.0, false);
  }
  table.logits_row_bytes = uint64_t{arch.vocab_size()} * 4;
  table.window = arch.has_sliding_window() ? arch.sliding_window().window_tokens() : 0;
  for (uint32_t il = 0; il < n_layer; ++il) {
    ModelTable::Layer& l = table.layers[il];
    l.sliding = IsSlidingLayer(arch, il);
    l.attn_flops_per_position = AttentionFlopsPerPosition(arch, il);
  }
  return table;
}

absl::StatusOr<ModelTable> WithKvRows(ModelTable table, const Architecture& arch,
                                      const Request& request) {
  for (uint32_t il = 0; il < table.layers.size(); ++il) {
    ModelTable::Layer& l = table.layers[il];
    if (const uint64_t kw = KWidth(arch, il); kw > 0) {
      absl::StatusOr<uint64_t> row = RowBytes(request.type_k, kw);
      if (!row.ok())
        return absl::InvalidArgumentError(absl::StrCat("type_k: ", row.status().message()));
      l.k_row_bytes = *row;
    }
    if (const uint64_t vw = VWidth(arch, il); vw > 0) {
      absl::StatusOr<uint64_t> row = RowBytes(request.type_v, vw);
      if (!row.ok())
        return absl::InvalidArgumentError(absl::StrCat("type_v: ", row.status().message()));
      l.v_row_bytes = *row;
    }
  }
  return table;
}

absl::StatusOr<ModelTable> BuildModelTable(const ModelTensors& model, const Request& request) {
  return WithKvRows(BuildWeightTable(model), model.arch, request);
}

ComputePricer::ComputePricer(const Architecture& arch, const Request& request, bool touched,
                             ComputeMemo* memo)
    : arch_(&arch), request_(&request), touched_(touched), memo_(memo) {
  known_.reserve(8);  // a plan meets a few regimes; growing the vector showed in profiles
}

ComputeStages ComputePricer::Price(const GraphShape& shape) {
  for (const auto& [key, regime] : known_) {
    if (SameGraph(key, shape) && regime.Covers(shape.n_kv)) return regime.At(shape.n_kv);
  }
  std::optional<ComputeRegime> regime;
  if (memo_ != nullptr) regime = memo_->Find(shape);
  if (!regime) {
    regime = ReplayComputeRegime(*arch_, shape);
    if (memo_ != nullptr) memo_->Add(shape, *regime);
  }
  known_.emplace_back(shape, *regime);
  return regime->At(shape.n_kv);
}

ComputeAt ComputePricer::At(uint32_t n_ubatch, uint32_t cells) {
  const Request& r = *request_;
  // The reserve graph each backend's scheduler allocates (llama_context::sched_reserve).
  GraphShape shape{
      .n_tokens = n_ubatch,
      .n_outputs = r.n_outputs_max == 0 ? n_ubatch : std::min(n_ubatch, r.n_outputs_max),
      .n_kv = cells,
      .flash_attn = r.flash_attn != FlashAttention::kDisabled,
      .type_k = r.type_k,
      .type_v = r.type_v};
  ComputeAt at;
  at.reserve = Price(shape);
  if (!touched_) return at;
  // What a CPU-only run touches of its reservation, as EstimateCpuMemory counts it: the
  // prompt's ubatch, one row of logits, the cells in use padded to 256.
  const uint64_t prompt = r.n_prompt.value_or(n_ubatch);
  shape.n_tokens = std::min<uint64_t>(prompt, n_ubatch);
  shape.n_outputs = 1;
  shape.n_kv = std::min<uint64_t>(cells, PadTo(prompt, kKvPadCells));
  at.touched = Price(shape);
  return at;
}

absl::StatusOr<ContextCost> CostContext(const ModelTensors& model, const Request& request,
                                        ComputePricer& pricer) {
  const Architecture& arch = model.arch;
  ContextCost c;
  c.n_ubatch = EffectiveUbatch(arch, request);
  // The cells only: PlaceModel holds each device's row bytes (checked against the cache types
  // when the table was built), and this runs once per bisection step.
  absl::StatusOr<KvGeometry> g = ComputeKvCells(arch, request, c.n_ubatch);
  if (!g.ok()) return g.status();
  c.n_ctx = g->n_ctx;
  c.cells = g->cells;
  c.swa_cells = g->swa_cells;
  c.streams = g->streams;
  const ComputeAt at = pricer.At(c.n_ubatch, g->cells);
  c.layers_compute_bytes = std::max(at.reserve.attention_bytes, at.reserve.ffn_bytes);
  c.output_compute_bytes = at.reserve.peak_bytes();
  c.host_touched_compute_bytes = at.touched.peak_bytes();
  // With every layer offloaded the host graph only holds the token embeddings and their copy
  // to the device (llama.cpp prints CUDA_Host compute = 16.01 MiB for n_embd 4096, ubatch 512).
  c.input_compute_bytes = uint64_t{c.n_ubatch} * arch.embedding_length() * 4 * 2;
  return c;
}

Placement PlaceLayers(uint32_t n_layer, uint32_t n_gpu_layers, uint32_t n_cpu_moe,
                      const Machine& machine) {
  Placement p;
  p.layer_device.assign(n_layer, kHost);
  p.n_gpu_layers = machine.gpus.empty() ? 0 : std::min(n_gpu_layers, n_layer + 1);
  p.n_cpu_moe = std::min(n_cpu_moe, n_layer);
  if (p.n_gpu_layers == 0) return p;
  // Split points: cumulative shares of free memory (llama.cpp normalises tensor_split the same
  // way; a device reporting nothing gets an equal share here).
  double sum = 0;
  for (const Gpu& gpu : machine.gpus) sum += static_cast<double>(gpu.free_bytes);
  const size_t n_gpus = machine.gpus.size();
  auto device_of = [&](uint32_t slot_from_start) {
    const double pos = static_cast<double>(slot_from_start) / p.n_gpu_layers;
    double acc = 0;
    for (size_t i = 0; i < n_gpus; ++i) {
      acc += sum > 0 ? static_cast<double>(machine.gpus[i].free_bytes) / sum
                     : 1.0 / static_cast<double>(n_gpus);
      if (pos < acc) return static_cast<int>(i);  // std::upper_bound over the split points
    }
    return static_cast<int>(n_gpus - 1);
  };
  const uint32_t first = n_layer + 1 - p.n_gpu_layers;  // i_gpu_start
  for (uint32_t il = first; il < n_layer; ++il) p.layer_device[il] = device_of(il - first);
  p.output_device = device_of(n_layer - first);
  return p;
}

PlacedModel PlaceModel(const ModelTable& table, const Placement& placement,
                       const Machine& machine) {
  PlacedModel placed;
  Plan& plan = placed.base;
  const auto n_layer = static_cast<uint32_t>(table.layers.size());
  plan.n_layers = n_layer + 1;
  plan.n_gpu_layers = placement.n_gpu_layers;
  plan.n_cpu_moe = table.moe ? placement.n_cpu_moe : 0;
  plan.host.name = "host";
  plan.host.backend = Backend::kCpu;
  plan.host.free_bytes = machine.host_available_bytes;
  plan.gpus.resize(machine.gpus.size());
  for (size_t i = 0; i < machine.gpus.size(); ++i) {
    plan.gpus[i].backend = machine.gpus[i].backend;
    plan.gpus[i].free_bytes = machine.gpus[i].free_bytes;
  }
  placed.full_row_bytes.assign(machine.gpus.size() + 1, 0);
  placed.swa_row_bytes.assign(machine.gpus.size() + 1, 0);
  placed.output_device = placement.output_device;
  auto usage = [&plan](int device) -> DeviceUsage& {
    return device == kHost ? plan.host : plan.gpus[static_cast<size_t>(device)];
  };

  // Weights. On the host what counts is what the CPU keeps reading: the host tensors that are
  // not repacked (with mmap, their pages of the map) plus the CPU_REPACK copies of the rest.
  // The other pages of the map (GPU tensors read once for the upload, repacked tensors read
  // once for the copy) are clean page cache the kernel takes back under pressure, so they are
  // not needed, although a peak-RSS measurement without pressure shows them.
  uint64_t host_tensor_bytes = table.input_bytes;  // all host tensors, repacked or not
  for (uint32_t il = 0; il < n_layer; ++il) {
    const ModelTable::Layer& l = table.layers[il];
    const int device = placement.layer_device[il];
    const int expert_device = il < plan.n_cpu_moe ? kHost : device;
    (l.sliding ? placed.swa_row_bytes : placed.full_row_bytes)[static_cast<size_t>(device + 1)] +=
        l.k_row_bytes + l.v_row_bytes;
    usage(device).layers += 1;
    if (device == kHost) {
      host_tensor_bytes += l.dense_bytes;
    } else {
      usage(device).weights_bytes += l.dense_bytes;
    }
    if (expert_device == kHost) {
      host_tensor_bytes += l.expert_bytes;
    } else {
      usage(expert_device).weights_bytes += l.expert_bytes;
    }
  }
  if (placement.output_device == kHost) {
    host_tensor_bytes += table.output_bytes;
  } else {
    usage(placement.output_device).weights_bytes += table.output_bytes + table.tied_head_bytes;
  }
  // Repack copies are as large as their originals, so with or without mmap that is the bytes
  // of the host's tensors.
  plan.host.weights_bytes = host_tensor_bytes;
  // Logits live in host memory whatever the placement (llama_context::output_reserve); the
  // request's n_parallel is applied in PlanMemory.
  plan.host.output_bytes = table.logits_row_bytes;
  placed.host_runs_layers = plan.host.layers > 0 || plan.n_cpu_moe > 0;
  return placed;
}

Plan PlanMemory(const PlacedModel& placed, const ContextCost& context, const Machine& machine,
                const Request& request) {
  Plan plan = placed.base;
  plan.n_ctx = context.n_ctx;
  plan.kv_cells = context.cells;
  plan.kv_streams = context.streams;
  plan.flash_attn = request.flash_attn != FlashAttention::kDisabled;
  auto kv = [&](size_t slot) {
    return (placed.full_row_bytes[slot] * context.cells +
            placed.swa_row_bytes[slot] * context.swa_cells) *
           context.streams;
  };
  plan.host.kv_cache_bytes = kv(0);
  // Compute buffers: every backend that runs part of the graph reserves its worst case.
  bool gpus_used = false;
  for (size_t i = 0; i < plan.gpus.size(); ++i) {
    DeviceUsage& g = plan.gpus[i];
    g.kv_cache_bytes = kv(i + 1);
    const bool has_output = placed.output_device == static_cast<int>(i);
    if (g.weights_bytes == 0 && g.layers == 0 && !has_output) continue;
    gpus_used = true;
    g.compute_bytes = has_output ? context.output_compute_bytes : context.layers_compute_bytes;
    g.overhead_bytes = BackendOverheadBytes(machine.gpus[i].backend);
  }
  if (!gpus_used) {
    plan.host.compute_bytes = context.host_touched_compute_bytes;
  } else {
    // The host's buffer is pinned (CUDA_Host, Vulkan_Host), so the reservation is resident.
    plan.host.compute_bytes = placed.host_runs_layers ? std::max(context.layers_compute_bytes,
                                                                 context.input_compute_bytes)
                                                      : context.input_compute_bytes;
  }
  plan.host.output_bytes *= std::max(1u, request.n_parallel);
  plan.host.overhead_bytes = BackendOverheadBytes(Backend::kCpu);
  plan.host.total_bytes = SumParts(plan.host);
  for (DeviceUsage& g : plan.gpus) g.total_bytes = SumParts(g);
  return plan;
}

Plan PlanMemory(const ModelTable& table, const ContextCost& context, const Placement& placement,
                const Machine& machine, const Request& request) {
  return PlanMemory(PlaceModel(table, placement, machine), context, machine, request);
}

int64_t GpuHeadroom(const Plan& plan, uint64_t gpu_margin) {
  int64_t headroom = INT64_MAX;
  for (const DeviceUsage& g : plan.gpus) {
    if (g.total_bytes == 0) continue;
    headroom = std::min(headroom, static_cast<int64_t>(g.free_bytes) -
                                      static_cast<int64_t>(g.total_bytes + gpu_margin));
  }
  return headroom;
}

int64_t Headroom(const Plan& plan, const Machine& machine, uint64_t gpu_margin) {
  int64_t headroom =
      std::min(GpuHeadroom(plan, gpu_margin), static_cast<int64_t>(plan.host.free_bytes) -
                                                  static_cast<int64_t>(plan.host.total_bytes));
  uint64_t shared = plan.host.total_bytes;
  bool any_unified = false;
  for (size_t i = 0; i < plan.gpus.size(); ++i) {
    if (!machine.gpus[i].unified_memory || plan.gpus[i].total_bytes == 0) continue;
    shared += plan.gpus[i].total_bytes;
    any_unified = true;
  }
  if (any_unified) {
    headroom = std::min(headroom, static_cast<int64_t>(machine.host_available_bytes) -
                                      static_cast<int64_t>(shared));
  }
  return headroom;
}

SpeedInput MakeSpeedInput(const ModelTable& table, const Placement& placement,
                          const PlanOptions& options, uint32_t n_ubatch) {
  SpeedInput in;
  in.layers.reserve(table.layers.size());
  // One sequence's cache rows; MLA's V is read from the K latent it views.
  for (size_t il = 0; il < table.layers.size(); ++il) {
    const ModelTable::Layer& l = table.layers[il];
    const int device = placement.layer_device[il];
    in.layers.push_back({.device = device,
                         .expert_device = il < placement.n_cpu_moe ? kHost : device,
                         .dense = l.dense,
                         .experts = l.experts,
                         .kv_bytes_per_position = l.k_row_bytes + l.v_row_bytes,
                         .window = l.sliding ? table.window : 0,
                         .attn_flops_per_position = l.attn_flops_per_position});
  }
  in.output_device = placement.output_device;
  in.output = table.output;
  in.flash_attn = options.request.flash_attn != FlashAttention::kDisabled;
  in.decode_depth = options.decode_depth;
  in.n_prompt = options.n_prompt;
  in.n_ubatch = n_ubatch;
  return in;
}

}  // namespace headroom::fit::internal
