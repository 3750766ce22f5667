// Answers the wire questions (headroom.v1.EstimateRequest, RecommendRequest) with the
// domain libraries: resolves the model (catalog id, GGUF file, config.json, inline), the
// machine (live snapshot, given snapshot, hypothetical GPUs from the catalog table), calls
// headroom::fit, and converts back. Shared by the daemon's handlers and the CLI's in-process
// backend, so both give the same answer. Reads model files; never probes hardware.
// Functions are thread-safe when the Context's pointees are not mutated concurrently.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "headroom/catalog/catalog.h"
#include "headroom/v1/fit.pb.h"
#include "headroom/v1/hardware.pb.h"
#include "headroom/v1/service.pb.h"

namespace headroom::engine {

class ModelCache;

struct Context {
  const catalog::Catalog* catalog = nullptr;  // required
  // The live snapshot for HardwareRef.live (and the default); null = "no live snapshot"
  // (FAILED_PRECONDITION when a request needs it).
  const headroom::v1::Hardware* live = nullptr;
  // Whether gguf_path / config_json_path may be opened (the daemon checks the peer first).
  bool allow_paths = true;
  // Corrections for the live machine; null or samples == 0 = none.
  const headroom::v1::Calibration* calibration = nullptr;
  // Catalog models already planned and prepared at a file type; null = plan every time.
  ModelCache* model_cache = nullptr;
};

// Catalog models as the quantizer plans them, by (id, file type), each with what the
// estimator works out for it and keeps (fit::PreparedModel: per-layer tables, compute buffers
// over ranges of contexts): a long-lived caller (the daemon) keeps one so a request neither
// re-plans every tensor nor replays the compute graph. Only catalog ids are cached (files and
// config.json can change on disk). Thread-safe; bounded, oldest entry evicted: 64 holds every
// quant a Recommend over the quality table tries (28) for two models; a planned 671B MoE is
// ~100 KB, so a full cache stays a few MB.
class ModelCache {
 public:
  explicit ModelCache(size_t capacity = 64);
  ~ModelCache();
  ModelCache(const ModelCache&) = delete;
  ModelCache& operator=(const ModelCache&) = delete;
  size_t size() const;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Errors: InvalidArgument naming the field as the request spells it
// ("llama_cpp.cache_type_k: unknown type \"q9\"", "model.file_type: ..."), NotFound (catalog
// id, GPU id "hardware.hypothetical.gpu_ids[1]", file), FailedPrecondition (llama.cpp would
// refuse: its reason; or no live snapshot), PermissionDenied (paths not allowed).
// Layer counts are llama.cpp's (-ngl): blocks + the output layer. Every DeviceUsage total is
// the sum of its five parts. A calibration applies only to llama.cpp estimates of the live
// machine: free memory is lowered by its overhead deltas before planning, the deltas then
// show as overhead_bytes, and speeds are scaled, with a note saying so.
absl::StatusOr<headroom::v1::Estimate> Estimate(const headroom::v1::EstimateRequest& request,
                                                const Context& context);

// Candidates: gguf_paths, else model.gguf_path, else the file types asked for (or every type of
// the catalog's quality table plus the entry's own) of the model's architecture. llama.cpp
// runtime only (InvalidArgument for RUNTIME_VLLM).
absl::StatusOr<headroom::v1::Recommendation> Recommend(
    const headroom::v1::RecommendRequest& request, const Context& context);

// The machine a HardwareRef names (live, snapshot, or built from the GPU table).
absl::StatusOr<headroom::v1::Hardware> ResolveHardware(const headroom::v1::HardwareRef& ref,
                                                       const Context& context);

}  // namespace headroom::engine
