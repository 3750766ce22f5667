// Memory estimate of llama.cpp's CPU backend for one model and one request: the buffers
// llama.cpp allocates (model incl. the CPU_REPACK copy, KV cache, compute, output), the
// resident memory they turn into, and a host-RAM verdict. Each formula follows llama.cpp's
// source (named beside it) and is checked against tests/fixtures/groundtruth.
// Pure functions of values: no I/O, no clocks, no globals; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "headroom/fit/model_tensors.h"

namespace headroom::fit {

enum class FlashAttention { kAuto, kEnabled, kDisabled };

// What llama.cpp is asked for (llama_context_params and llama_model_params).
struct Request {
  uint32_t n_ctx = 0;       // requested context, tokens; 0 = the model's trained context
  uint32_t n_parallel = 1;  // sequences (n_seq_max)
  bool kv_unified = false;  // one KV stream shared by all sequences (llama-server's default)
  uint32_t n_batch = 2048;  // logical batch, tokens
  uint32_t n_ubatch = 512;  // physical batch, tokens
  uint32_t type_k = 1;      // ggml type id of the K cache (1 = F16, 8 = Q8_0, 2 = Q4_0)
  uint32_t type_v = 1;      // ggml type id of the V cache
  FlashAttention flash_attn = FlashAttention::kAuto;
  bool use_mmap = true;   // weights are mapped from the file (llama.cpp's default)
  bool swa_full = false;  // sliding-window layers keep a full-size cache (--swa-full)
  // Longest prompt fed at once, tokens: decides how much of the compute reservation becomes
  // resident. Unset = a full ubatch (the worst case).
  std::optional<uint32_t> n_prompt;
  // Rows of logits a ubatch may output (llama_context_params.n_outputs_max); 0 = n_batch, the
  // library default. llama-server passes n_parallel (one sampled row per slot).
  uint32_t n_outputs_max = 0;
};

// The CPU the runtime runs on: decides which weights llama.cpp repacks.
struct CpuFeatures {
  bool avx2 = true;
  bool avx512 = true;
  bool neon_dotprod = false;
  bool neon_i8mm = false;
};

// The llama.cpp CPU runtime; the resident constants were measured on the groundtruth build
// (Debian 12, CPU-only llama.cpp 2026-09) and are a property of that build, not of a model.
struct CpuRuntimeProfile {
  CpuFeatures cpu;
  uint64_t code_resident_bytes = 12800 * 1024;  // binary + shared libraries (rss_file)
  uint64_t heap_resident_bytes = 9400 * 1024;   // allocator, vocab, sampler (rss_anon)
};

// Sizes of one estimate; every total is the sum of the fields above it.
struct MemoryEstimate {
  uint32_t n_ctx = 0;       // context after padding, tokens (all streams together)
  uint32_t n_ctx_seq = 0;   // context per sequence, tokens
  uint32_t kv_cells = 0;    // cells per KV stream
  uint32_t kv_streams = 1;  // 1 unified, or n_parallel
  uint32_t n_batch = 0;     // effective, after clamping to the context
  uint32_t n_ubatch = 0;
  bool flash_attn = false;  // as resolved

  uint64_t weights_mapped_bytes = 0;  // CPU_Mapped buffer (mmap) or CPU buffer (no mmap)
  uint64_t weights_repack_bytes = 0;  // CPU_REPACK buffer
  uint64_t weights_bytes = 0;         // mapped + repack

  uint64_t k_bytes = 0;
  uint64_t v_bytes = 0;
  uint64_t kv_bytes = 0;  // k + v

  uint64_t compute_bytes = 0;       // CPU compute buffer (graph reservation)
  uint64_t output_bytes = 0;        // logits buffer (CPU_Output)
  uint64_t total_buffer_bytes = 0;  // weights + kv + compute + output

  uint64_t rss_file_bytes = 0;  // file-backed resident pages at peak
  uint64_t rss_anon_bytes = 0;  // anonymous resident pages at peak
  uint64_t peak_rss_bytes = 0;  // rss_file + rss_anon
};

// The estimate, or FailedPrecondition where llama.cpp refuses the request (its message), or
// InvalidArgument naming the field.
absl::StatusOr<MemoryEstimate> EstimateCpuMemory(const ModelTensors& model, const Request& request,
                                                 const CpuRuntimeProfile& profile = {});

enum class Verdict { kCpuOnly, kDoesNotFit };

struct HostMemory {
  uint64_t total_bytes = 0;      // physical RAM (or the cgroup limit)
  uint64_t available_bytes = 0;  // what can be had now
};

struct CpuFit {
  MemoryEstimate memory;
  Verdict verdict = Verdict::kDoesNotFit;
  int64_t headroom_bytes = 0;  // available - needed; negative is the shortfall
  std::string reason;
};

// Whether the model runs from host RAM: the resident peak llama.cpp reaches (at the request's
// prompt length) against what is available.
absl::StatusOr<CpuFit> FitOnCpu(const ModelTensors& model, const Request& request,
                                const HostMemory& host, const CpuRuntimeProfile& profile = {});

}  // namespace headroom::fit
