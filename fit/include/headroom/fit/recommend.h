// The recommender: over candidate quants (GGUF files or catalog file types) x context x KV
// cache type x placement, the configuration that meets the constraints and is best for the
// stated preference, with ranked alternatives and a one-line reason each. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headroom/fit/model_tensors.h"
#include "headroom/fit/plan.h"

namespace headroom::fit {

// One quant the caller could load.
struct Candidate {
  std::string label;      // file path or file type name, echoed back
  std::string file_type;  // "Q4_K_M"
  ModelTensors model;     // exact tensors (file) or the quantizer's plan (catalog)
  // Quality loss against F16 (KL divergence, lower is better) from the catalog's quality
  // table; negative = unknown (ranked by bits per weight instead).
  double kld = -1;
};

enum class Prefer { kQuality, kSpeed, kContext };

struct Constraints {
  uint32_t min_context = 4096;  // tokens
  uint32_t max_context = 0;     // tokens; 0 = the model's trained context
  double min_decode_tok_s = 0;
  Prefer prefer = Prefer::kQuality;
  uint64_t margin_bytes = 256ull << 20;  // kept free on every device
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
  uint32_t n_gpu_layers = 0;
  bool experts_on_cpu = false;
  Plan plan;
  bool meets_constraints = false;
  std::string reason;  // "Q5_K_M: all 33 layers on GPU at 32768 ctx; Q6_K needs 1.2 GiB more"
};

struct Recommendation {
  bool found = false;              // pick is valid
  Option pick;
  std::vector<Option> alternatives;  // best first, one per candidate (its best option)
  std::string reason;
};

// InvalidArgument for an empty candidate list or bad constraints (naming the field).
absl::StatusOr<Recommendation> Recommend(const std::vector<Candidate>& candidates,
                                         const Machine& machine, const Constraints& constraints);

}  // namespace headroom::fit
