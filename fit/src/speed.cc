#include "speed.h"

#include <algorithm>
#include <cmath>

#include "absl/container/inlined_vector.h"
#include "headroom/catalog/ggml_types.h"

// Decode is a roofline per device: a GPU streams its weights and KV cache at a fraction of
// its bandwidth; the CPU either streams them or runs out of arithmetic first (dequantizing
// on a few cores is slower than memory), whichever takes longer, plus a fixed cost per graph
// node and the attention over the cached tokens. Devices run one after another for one
// token, with a hop between them. Prefill is compute-bound: FLOPs over throughput.
//
// CPU figures are per thread of the groundtruth machine (tests/fixtures/groundtruth: AMD EPYC
// with AVX-512, llama.cpp CPU build of 2026-09, 70 GB/s STREAM read on 2 threads). They were
// fitted (minimax of the relative error) to its 31 llama-bench rows: llama-big at 8 file
// types, 1 and 2 threads, flash attention on and off, depth 0 and 4096, and the small GQA,
// MoE, MLA and qwen2 models. Result: decode within 20 % on every row (runs of one
// configuration differ by up to 11 % there), prefill of llama-big within 15 % (small models
// run faster than predicted: their weights stay in cache). On other CPUs the per-thread
// rates scale roughly with clock and SIMD width; calibration on the machine refines them.

namespace headroom::fit::internal {
namespace {

using catalog::GgmlType;

// Kernel families of ggml-cpu: F16/BF16/F32 dot products; the repacked interleaved layouts
// (repack.cpp; Q4_0, Q4_K, Q2_K, IQ4_NL on this CPU); the other K-quants and i-quants;
// the legacy 32-element block types (Q8_0, Q5_0, Q4_1...).
enum class Kernel { kFloat, kRepacked, kKQuant, kLegacy };

struct KernelRates {
  double decode_elements_per_s;  // GEMV, one thread
  double prefill_flops_per_s;    // GEMM, one thread
};

// Fitted as above. Decode: F16 11.9e9 elements/s/thread = 23.8 GB/s of F16 per thread;
// repacked Q4 kernels are three times faster per element than F16, Q8_0 1.4x.
constexpr KernelRates kRates[] = {
    {11.9e9, 150e9},  // kFloat
    {36.7e9, 298e9},  // kRepacked
    {23.5e9, 72e9},   // kKQuant
    {16.6e9, 117e9},  // kLegacy
};

// The share of host_bandwidth_gbps (a STREAM-like read) llama.cpp's decode reaches when
// memory-bound: 0.68, the fit; the README's F16 row alone reads 47 GB/s of 70 (0.67).
constexpr double kCpuMemoryEfficiency = 0.68;
// Per weight-reading graph node per token: the threads' barrier and dispatch (fitted; it
// dominates tiny models: 8-layer llama-gqa spends ~0.35 ms of its 1.2 ms per token there).
constexpr double kCpuNodeSeconds = 4.8e-6;
// Attention over the cache, FLOP/s per thread: the -d 4096 rows (flash attention on: 33.7
// tok/s, off: 49.2 tok/s, against 92-102 at depth 0). The CPU flash-attention kernel walks
// the cache one position at a time with an online softmax, so it is the slower one.
constexpr double kCpuAttentionFlopsFlash = 10.7e9;
constexpr double kCpuAttentionFlopsPlain = 20.7e9;
constexpr double kCpuPrefillAttentionFlops = 49e9;

// GPU decode reads at 0.72 of the specified bandwidth: ggml-org/llama.cpp PR #15802 reports
// llama 8B Q4_0 at ubatch 1 on an RTX 3090 at 155 tok/s, about 4.37e9 bytes per token (the
// file less token_embd) = 677 GB/s of 936.
constexpr double kGpuDecodeEfficiency = 0.72;
// GPU prefill reaches 0.8 of the dense FP16 rate: PR #7676 (RTX 4090, llama 8B Q4_0, pp512:
// 10359 tok/s = 166 TFLOP/s, 1.0 of 165) and PR #7860 (Q4_K_S, pp2048: 9278 tok/s = 0.9);
// F16 models through cuBLAS and the attention run lower, so 0.8.
constexpr double kGpuPrefillEfficiency = 0.8;
// Moving the activations between two devices: a small copy and a stream synchronisation.
// Assumed 20 us (CUDA copy and launch latencies are 5-10 us each); no measurement found.
constexpr double kHopSeconds = 20e-6;

Kernel KernelOf(uint32_t type, bool repacked) {
  if (repacked) return Kernel::kRepacked;
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
      return Kernel::kFloat;
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ8_0:
    case GgmlType::kIQ4_NL:
      return Kernel::kLegacy;
    default:
      return Kernel::kKQuant;
  }
}

uint64_t Elements(const WeightTensor& t) {
  uint64_t n = 1;
  for (uint32_t i = 0; i < t.n_dims && i < t.dims.size(); ++i) n *= t.dims[i];
  return n;
}

// Positions a decoded token attends to in one layer.
double Attended(const SpeedInput::Layer& l, uint32_t depth) {
  return static_cast<double>(l.window > 0 ? std::min(depth, l.window) : depth);
}

// Causal prefill of n tokens from an empty cache: sum over tokens of the positions attended.
double PrefillAttended(const SpeedInput::Layer& l, uint32_t n) {
  const double full = static_cast<double>(n) * (static_cast<double>(n) + 1) / 2;
  if (l.window == 0 || l.window >= n) return full;
  return static_cast<double>(l.window) * static_cast<double>(n);
}

struct DeviceLoad {
  TokenWork work;
  uint64_t kv_bytes = 0;          // decode: KV read per token
  double attn_flops = 0;          // decode: per token
  double prefill_attn_flops = 0;  // the whole prompt
};

}  // namespace

double DecodeBandwidthEfficiency(bool gpu) {
  return gpu ? kGpuDecodeEfficiency : kCpuMemoryEfficiency;
}

TokenWork& TokenWork::operator+=(const TokenWork& o) {
  read_bytes += o.read_bytes;
  flops += o.flops;
  cpu_decode_s += o.cpu_decode_s;
  cpu_prefill_s += o.cpu_prefill_s;
  tensors += o.tensors;
  return *this;
}

TokenWork TensorWork(const WeightTensor& t, double active, bool repacked) {
  const KernelRates& rate = kRates[static_cast<int>(KernelOf(t.ggml_type, repacked))];
  const double elements = static_cast<double>(Elements(t)) * active;
  TokenWork w;
  // Whole tensors (all but routed experts) skip the rounding, which gives the same bytes below
  // 2^53; this runs once per tensor of the model on every plan.
  w.read_bytes = active == 1.0 && t.bytes < (uint64_t{1} << 53)
                     ? t.bytes
                     : static_cast<uint64_t>(std::llround(static_cast<double>(t.bytes) * active));
  w.flops = 2 * elements;
  w.cpu_decode_s = elements / rate.decode_elements_per_s;
  w.cpu_prefill_s = 2 * elements / rate.prefill_flops_per_s;
  w.tensors = 1;
  return w;
}

Speed EstimateSpeed(const SpeedInput& in, const Machine& machine) {
  const size_t n_gpus = machine.gpus.size();
  absl::InlinedVector<DeviceLoad, 8> load(n_gpus + 1);  // [0] = host, [1 + g] = GPU g
  auto at = [&load](int device) -> DeviceLoad& { return load[static_cast<size_t>(device + 1)]; };
  // Devices in the order one token visits them, to count the hops.
  int current = -1;
  uint32_t hops = 0;
  auto visit = [&](int device) {
    if (device != current) ++hops;
    current = device;
  };
  for (const SpeedInput::Layer& l : in.layers) {
    DeviceLoad& d = at(l.device);
    d.work += l.dense;
    d.kv_bytes += l.kv_bytes_per_position * static_cast<uint64_t>(Attended(l, in.decode_depth));
    d.attn_flops += l.attn_flops_per_position * Attended(l, in.decode_depth);
    d.prefill_attn_flops += l.attn_flops_per_position * PrefillAttended(l, in.n_prompt);
    visit(l.device);
    if (l.experts.tensors > 0) {
      at(l.expert_device).work += l.experts;
      visit(l.expert_device);
      visit(l.device);  // the residual add after the experts runs with the layer
    }
  }
  at(in.output_device).work += in.output;
  visit(in.output_device);
  visit(-1);  // logits come back to the host

  Speed s;
  double decode_s = kHopSeconds * hops;
  double prefill_s =
      kHopSeconds * hops * std::ceil(static_cast<double>(in.n_prompt) / std::max(1u, in.n_ubatch));
  const double threads = std::max(1u, machine.host_threads);
  const double prompt = in.n_prompt;
  bool known = true;
  for (size_t i = 0; i < load.size(); ++i) {
    const DeviceLoad& d = load[i];
    if (d.work.tensors == 0 && d.kv_bytes == 0) continue;
    s.weights_read_per_token_bytes += d.work.read_bytes;
    s.kv_read_per_token_bytes += d.kv_bytes;
    const double bytes = static_cast<double>(d.work.read_bytes + d.kv_bytes);
    if (i == 0) {
      const double bandwidth = machine.host_bandwidth_gbps * 1e9 * kCpuMemoryEfficiency;
      if (bandwidth <= 0) known = false;
      const double attention = in.flash_attn ? kCpuAttentionFlopsFlash : kCpuAttentionFlopsPlain;
      decode_s += std::max(bytes / bandwidth, d.work.cpu_decode_s / threads) +
                  d.attn_flops / (threads * attention) + kCpuNodeSeconds * d.work.tensors;
      prefill_s += prompt * d.work.cpu_prefill_s / threads +
                   d.prefill_attn_flops / (threads * kCpuPrefillAttentionFlops);
    } else {
      const Gpu& gpu = machine.gpus[i - 1];
      const double bandwidth = gpu.bandwidth_gbps * 1e9 * kGpuDecodeEfficiency;
      const double flops = gpu.fp16_tflops * 1e12 * kGpuPrefillEfficiency;
      if (bandwidth <= 0 || flops <= 0) known = false;
      decode_s += bytes / bandwidth;
      prefill_s += (prompt * d.work.flops + d.prefill_attn_flops) / flops;
    }
  }
  if (!known || !(decode_s > 0) || !(prefill_s > 0)) return s;  // a rate is unknown
  s.decode_tok_s = 1 / decode_s;
  s.prefill_tok_s = prompt / prefill_s;
  s.time_to_first_token_s = prefill_s;
  return s;
}

}  // namespace headroom::fit::internal
