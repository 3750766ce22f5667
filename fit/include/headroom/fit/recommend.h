// The recommender: over candidate quants (GGUF files or catalog file types) x context x KV
// cache type x placement, the configuration that meets the constraints and is best for the
// stated preference, with ranked alternatives and a one-line reason each. Every memory and
// speed figure comes from PlanFit; contexts are searched by bisection in steps of 256 tokens
// (llama.cpp pads n_ctx to 256). Pure; deterministic; thread-safe.
//
// Per candidate, the options are placement tiers (all layers on GPU; PlanFit's auto partial
// placement, which may also keep MoE experts in host RAM; CPU only) x allowed (K, V) cache
// types (a quantized V needs flash attention, MLA models need K == V: llama.cpp's refusals).
// The best option of a candidate, by preference:
//   kQuality: all-on-GPU first, then the better KV types (f16 before q8_0: q8_0 is used when
//             it buys min_context or all layers on GPU), then the context, then speed;
//   kContext: the largest context, then tier, KV types, speed;
//   kSpeed:   the fastest (speeds within 2% tie), then context, tier, KV types.
// Under kQuality and kSpeed a partial placement found at min_context is kept and the context
// grows only into memory that is left; under kContext GPU layers are given up for context.
// Candidates are then ranked: those meeting the constraints first, then
//   kQuality: lowest KLD (bits per weight when any candidate's KLD is unknown), context, speed;
//   kContext: largest context, quality, speed;  kSpeed: fastest, quality, context;
// ties by input index.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headroom/fit/model_tensors.h"
#include "headroom/fit/plan.h"

namespace headroom::fit {

// One quant the caller could load.
struct Candidate {
  std::string label;        // file path or file type name, echoed back
  std::string file_type;    // "Q4_K_M"
  ModelTensors model = {};  // exact tensors (file) or the quantizer's plan (catalog)
  // Instead of `model` (then left empty): the model prepared by a caller that keeps it between
  // recommendations, so its tables and compute buffers are not worked out again.
  std::shared_ptr<const PreparedModel> prepared = nullptr;
  // Quality loss against F16 (KL divergence, lower is better) from the catalog's quality
  // table; negative = unknown (ranked by bits per weight instead).
  double kld = -1;

  const ModelTensors& tensors() const { return prepared != nullptr ? prepared->model() : model; }
};

enum class Prefer { kQuality, kSpeed, kContext };

// Contexts are per sequence; Option::n_ctx is what llama.cpp's -c gets (x n_parallel).
struct Constraints {
  uint32_t min_context = 4096;  // tokens
  uint32_t max_context = 0;     // tokens; 0 (or above it) = the model's trained context
  double min_decode_tok_s = 0;
  Prefer prefer = Prefer::kQuality;
  uint64_t margin_bytes = 256ull << 20;     // kept free on every device
  std::vector<uint32_t> kv_types = {1, 8};  // ggml type ids allowed for K and V (F16, Q8_0)
  uint32_t n_parallel = 1;
  Request base;  // batch sizes, mmap, n_prompt... (n_ctx and cache types are chosen)
};

struct Option {
  size_t candidate = 0;  // index into the candidates
  uint32_t n_ctx = 0;
  uint32_t type_k = 1;
  uint32_t type_v = 1;
  bool flash_attn = true;
  uint32_t n_gpu_layers = 0;    // llama.cpp's -ngl (block_count + 1 = everything)
  uint32_t n_cpu_moe = 0;       // --n-cpu-moe: leading layers whose experts stay in host RAM
  bool experts_on_cpu = false;  // every layer's experts in host RAM (--cpu-moe)
  Plan plan;
  bool meets_constraints = false;
  std::string reason;  // "Q5_K_M: all 33 layers on GPU at 32768 ctx; Q6_K needs 1.2 GiB more"
};

struct Recommendation {
  bool found = false;  // pick is valid
  Option pick;
  // The other candidates, best first, one option each: its best, or when it meets no
  // constraint set the attempt that came closest (meets_constraints false).
  std::vector<Option> alternatives;
  // The pick's reason and why the nearest better-quality candidates lost; or why nothing fits.
  std::string reason;
};

// Runs fn(0), ..., fn(n - 1), in any order and possibly on several threads, and returns when
// all have run. The candidates are independent, so Recommend can spread them over a caller's
// threads (fit starts none); the answer is the same either way.
using ParallelFor = std::function<void(size_t n, const std::function<void(size_t)>& fn)>;

// InvalidArgument for an empty candidate list or bad constraints (naming the field).
// `parallel`: how to run the candidates' searches; null = one after another.
absl::StatusOr<Recommendation> Recommend(const std::vector<Candidate>& candidates,
                                         const Machine& machine, const Constraints& constraints,
                                         const ParallelFor& parallel = nullptr);

}  // namespace headroom::fit
