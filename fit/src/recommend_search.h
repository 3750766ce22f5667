// The recommender's search for one candidate: the options (placement tier x K/V cache types)
// tried against the constraints, each grown to the largest context that fits by bisection on
// PlanFit. Private to headroom::fit; recommend.cc ranks the candidates and writes the reasons.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "headroom/fit/recommend.h"
#include "prepared.h"

namespace headroom::fit::internal {

inline constexpr uint32_t kCtxStep = 256;  // llama.cpp pads n_ctx to 256 cells

// kPartial leaves n_gpu_layers and the MoE experts to PlanFit's auto placement (fewer GPU
// layers, or the experts of the first layers in host RAM, whichever is faster).
enum class Tier { kFullGpu, kPartial, kCpuOnly };

struct KvPair {
  uint32_t k = 1;
  uint32_t v = 1;
};

// One evaluated (tier, KV pair): the option at its context, or why it cannot meet the
// constraints.
struct Evaluated {
  Option option;
  Tier tier = Tier::kFullGpu;
  KvPair kv;
  int kv_rank = 0;  // 0 = best KV quality
  bool feasible = false;
  bool memory_ok = false;  // fits at min_context (maybe too slow)
  int64_t shortfall_bytes = 0;
  std::string error;  // PlanFit's refusal
};

// One candidate's search: the contexts are per sequence.
struct Search {
  const Candidate* candidate = nullptr;
  size_t index = 0;
  const Machine* machine = nullptr;
  const Constraints* constraints = nullptr;
  uint32_t min_ctx = 0;               // per sequence, multiple of 256
  uint32_t cap_ctx = 0;               // per sequence, multiple of 256
  PreparedState* prepared = nullptr;  // what the candidate's plans keep (may be null)
};

struct Result {
  std::vector<Evaluated> tried;
  std::optional<size_t> best;  // index into tried of the best feasible option
};

// The options of one candidate: every one tried, and the best that meets the constraints
// under constraints->prefer (see recommend.h for the orders).
Result EvaluateCandidate(const Search& s);

// Decode speed in 2% buckets: speeds that close together count as equal, so that the next key
// decides.
int Speed(const Evaluated& e);

}  // namespace headroom::fit::internal
