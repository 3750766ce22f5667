/*
 * libheadroom: the C ABI launchers link to ask the Headroom daemon (headroomd) which quant,
 * context, GPU layers and KV-cache type to load a model with, and to report what a run really
 * used so the daemon calibrates. Plain C99; no C++ types.
 *
 * Conventions:
 * - Every function that can fail returns an hr_status; HR_STATUS_OK is 0. A handle's last
 *   error (hr_client_last_error) says why, naming the field or endpoint.
 * - Strings come out through (char* buf, size_t size): the function copies at most size - 1
 *   bytes plus a NUL and returns the length the whole string needs (without the NUL), like
 *   snprintf; buf may be NULL when size is 0.
 * - Parameter and output structs start with uint32_t struct_size. Fill inputs from the
 *   hr_*_default() functions and set outputs' struct_size = sizeof(the struct); fields may be
 *   appended in later versions without breaking older callers.
 * - Every entry point accepts NULL arguments (returns HR_STATUS_INVALID_ARGUMENT), catches
 *   everything, and is bounded by the client's timeouts.
 *
 * Thread-safety: one hr_client may be used from several threads at once (calls on a handle
 * are serialized by a mutex in it). An hr_result is immutable: any thread may read it.
 */
#ifndef HEADROOM_HEADROOM_H_
#define HEADROOM_HEADROOM_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define HR_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define HR_API __attribute__((visibility("default")))
#else
#define HR_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this header: major * 10000 + minor * 100 + patch. A new minor appends fields and
 * functions; a new major (and a new SOVERSION) may change them. */
#define HR_API_VERSION_MAJOR 1
#define HR_API_VERSION_MINOR 1
#define HR_API_VERSION_PATCH 0
#define HR_API_VERSION \
  (HR_API_VERSION_MAJOR * 10000 + HR_API_VERSION_MINOR * 100 + HR_API_VERSION_PATCH)

typedef enum hr_status {
  HR_STATUS_OK = 0,
  /* A NULL or malformed argument, or the daemon rejected a field (INVALID_ARGUMENT). */
  HR_STATUS_INVALID_ARGUMENT = 1,
  /* A catalog id, model file or choice index that does not exist. */
  HR_STATUS_NOT_FOUND = 2,
  /* No daemon answers at the endpoint (and none could be started). */
  HR_STATUS_UNAVAILABLE = 3,
  /* The call ran past the client's timeout. */
  HR_STATUS_TIMEOUT = 4,
  /* The daemon refused: a path of another user, or over TCP. */
  HR_STATUS_PERMISSION_DENIED = 5,
  /* The runtime would refuse the configuration (FAILED_PRECONDITION). */
  HR_STATUS_FAILED_PRECONDITION = 6,
  /* The recommendation has no pick: nothing meets the constraints (see hr_result_reason). */
  HR_STATUS_NO_FIT = 7,
  /* The daemon could not be started on demand (see the last error for its log). */
  HR_STATUS_DAEMON_START_FAILED = 8,
  /* Out of memory, or an unexpected error inside the library or the daemon. */
  HR_STATUS_INTERNAL = 9
} hr_status;

typedef enum hr_runtime {
  HR_RUNTIME_LLAMA_CPP = 0, /* llama.cpp, and Ollama / LM Studio which embed it */
  HR_RUNTIME_VLLM = 1
} hr_runtime;

typedef enum hr_prefer {
  HR_PREFER_QUALITY = 0, /* best quality quant, then the largest context */
  HR_PREFER_SPEED = 1,   /* fastest decode */
  HR_PREFER_CONTEXT = 2  /* largest context */
} hr_prefer;

typedef enum hr_verdict {
  HR_VERDICT_UNSPECIFIED = 0,
  HR_VERDICT_FITS = 1,        /* everything on GPUs */
  HR_VERDICT_PARTIAL = 2,     /* some layers or the experts in host RAM */
  HR_VERDICT_CPU_ONLY = 3,    /* no GPU used */
  HR_VERDICT_DOES_NOT_FIT = 4 /* not even host RAM holds it */
} hr_verdict;

/* Opaque handles. */
typedef struct hr_client hr_client;
typedef struct hr_result hr_result;

/* How to reach the daemon. */
typedef struct hr_client_params {
  uint32_t struct_size;
  /* "unix:/path" or "host:port"; NULL = $HEADROOM_ENDPOINT, else
   * unix:$XDG_RUNTIME_DIR/headroom/headroomd.sock (unix:/tmp/headroom-<uid>/headroomd.sock
   * when XDG_RUNTIME_DIR is unset). */
  const char* endpoint;
  /* Deadline of one call, milliseconds (default 10000). */
  uint32_t timeout_ms;
  /* Start headroomd when nothing answers at a unix endpoint (default true). */
  bool autostart;
  /* How long to wait for a daemon started on demand to answer, milliseconds (default 5000). */
  uint32_t start_timeout_ms;
  /* The daemon executable to start; NULL = $HEADROOM_DAEMON, else headroomd in the bin
   * directory beside the library's lib directory, else headroomd on PATH. */
  const char* daemon_path;
} hr_client_params;

/* What to choose among, and the constraints. */
typedef struct hr_request {
  uint32_t struct_size;
  /* Candidate GGUF files (one model in several quants). */
  const char* const* model_files;
  size_t model_file_count;
  /* A glob(3) pattern of candidate files, expanded here and added to model_files; NULL = none.
   * A pattern that matches nothing is HR_STATUS_NOT_FOUND. */
  const char* model_glob;
  /* A catalog id ("qwen3-8b"), used when no file is given; NULL = none. */
  const char* catalog_id;
  /* A Hugging Face config.json (a vLLM model directory's), used when no file or catalog id is
   * given; NULL = none. */
  const char* config_json;
  /* Allowed llama.cpp file types for a catalog model ("Q4_K_M"); none = every known type. */
  const char* const* file_types;
  size_t file_type_count;
  /* HR_RUNTIME_VLLM asks about one model (one file, a catalog id or a config.json): the pick is
   * the daemon's vLLM estimate at max_ctx, or at the longest max_model_len that fits. */
  hr_runtime runtime;
  /* Smallest acceptable context, tokens (0 = the daemon's default, 4096). */
  uint32_t min_ctx;
  /* Largest context wanted, tokens (0 = the model's trained context). */
  uint32_t max_ctx;
  /* Smallest acceptable decode speed, tokens/s (0 = any). */
  double min_decode_tok_s;
  hr_prefer prefer;
  /* Bytes kept free on every device; negative = the daemon's default (256 MiB). */
  int64_t margin_bytes;
  /* Allowed KV cache types ("f16", "q8_0", "q4_0"); none = the daemon's default. */
  const char* const* kv_types;
  size_t kv_type_count;
  /* Parallel sequences (0 = 1). */
  uint32_t n_parallel;
} hr_request;

/* One configuration of a result. Index HR_PICK is the pick; HR_ALTERNATIVE(i) the i-th
 * alternative, best first. */
#define HR_PICK 0u
#define HR_ALTERNATIVE(i) ((i) + 1u)

typedef struct hr_choice {
  uint32_t struct_size;
  uint32_t n_ctx;        /* context, tokens (-c) */
  uint32_t n_gpu_layers; /* layers on GPUs (-ngl) */
  uint32_t n_layers;     /* layers on -ngl's scale (a full offload is n_gpu_layers == n_layers) */
  bool experts_on_cpu;   /* MoE experts in host RAM (-ot exps=CPU) */
  bool flash_attn;       /* -fa on */
  bool meets_constraints;
  hr_verdict verdict;
  double decode_tok_s;  /* predicted decode speed, tokens/s */
  double prefill_tok_s; /* predicted prefill speed, tokens/s */
  /* Smallest (free - used) over the devices used, bytes; negative is a shortfall. */
  int64_t headroom_bytes;
  /* Devices with memory predictions (hr_result_device); the last one is the host. */
  uint32_t device_count;
  /* vLLM: the gpu_memory_utilization the estimate assumed (0 when unknown or not vLLM). */
  double gpu_memory_utilization;
  /* Since 1.1. MoE layers, from the first, whose experts stay in host RAM: llama.cpp's
   * --n-cpu-moe N when 0 < N < n_layers - 1; N = n_layers - 1 (every block) is --cpu-moe.
   * 0 when no experts are in host RAM or the model is dense. */
  uint32_t n_cpu_moe;
} hr_choice;

typedef enum hr_choice_string {
  HR_CHOICE_FILE = 0,         /* the GGUF file (empty for a catalog model) */
  HR_CHOICE_FILE_TYPE = 1,    /* quant, "Q4_K_M" */
  HR_CHOICE_CACHE_TYPE_K = 2, /* -ctk */
  HR_CHOICE_CACHE_TYPE_V = 3, /* -ctv */
  HR_CHOICE_REASON = 4        /* one line: why */
} hr_choice_string;

/* Predicted memory on one device (a GPU, or "host"). */
typedef struct hr_device {
  uint32_t struct_size;
  uint64_t total_bytes;    /* weights + KV + compute + output + overhead */
  uint64_t weights_bytes;  /* model weights */
  uint64_t kv_cache_bytes; /* KV cache */
  uint64_t free_bytes;     /* free before loading */
  uint32_t layers;         /* repeating layers placed here */
  bool is_host;
} hr_device;

/* What a launcher measured after loading a model. */
typedef struct hr_run_report {
  uint32_t struct_size;
  /* The model as loaded: a GGUF file, or a catalog id with its file type. */
  const char* model_file;
  const char* catalog_id;
  const char* file_type;
  hr_runtime runtime;
  /* The settings it was loaded with. */
  uint32_t n_ctx;
  int32_t n_gpu_layers; /* negative = unset (the most that fit) */
  bool experts_on_cpu;
  const char* cache_type_k; /* NULL = f16 */
  const char* cache_type_v; /* NULL = f16 */
  bool flash_attn;
  /* Measured memory per device: names as the runtime printed them (or "host"). */
  const char* const* device_names;
  const uint64_t* device_used_bytes;
  size_t device_count;
  double prefill_tok_s;        /* 0 = not measured */
  double decode_tok_s;         /* 0 = not measured */
  const char* runtime_version; /* "llama.cpp b6500" */
} hr_run_report;

/* The library's HR_API_VERSION (compare with the header's to detect a mismatch). */
HR_API uint32_t hr_abi_version(void);

/* A static English name of a status ("HR_STATUS_OK"); never NULL. */
HR_API const char* hr_status_str(hr_status status);

/* Defaults with struct_size set. */
HR_API hr_client_params hr_client_params_default(void);
HR_API hr_request hr_request_default(void);
HR_API hr_run_report hr_run_report_default(void);

/* Creates a client; does no I/O (the first call connects, starting a daemon if allowed).
 * params may be NULL for the defaults. *out is NULL on error. */
HR_API hr_status hr_client_create(const hr_client_params* params, hr_client** out);

/* Destroys a client; NULL is a no-op. Not concurrently with other calls on it. */
HR_API void hr_client_destroy(hr_client* client);

/* Makes sure a daemon answers, starting one when allowed. */
HR_API hr_status hr_client_connect(hr_client* client);

/* The endpoint this client talks to. */
HR_API size_t hr_client_endpoint(const hr_client* client, char* buf, size_t size);

/* The last error of a call on this handle ("" after a success). */
HR_API size_t hr_client_last_error(hr_client* client, char* buf, size_t size);

/* Asks the daemon to pick. On HR_STATUS_OK *out holds the answer (free it with
 * hr_result_free); a result without a pick is still HR_STATUS_OK (see hr_result_choice). */
HR_API hr_status hr_recommend(hr_client* client, const hr_request* request, hr_result** out);

/* Sends a measured run; *calibration_samples (may be NULL) receives the number of reports the
 * daemon has folded into this machine's calibration. */
HR_API hr_status hr_report_run(hr_client* client, const hr_run_report* report,
                               uint32_t* calibration_samples);

/* Frees a result; NULL is a no-op. */
HR_API void hr_result_free(hr_result* result);

/* The daemon's summary: why this pick, or why nothing was picked. */
HR_API size_t hr_result_reason(const hr_result* result, char* buf, size_t size);

/* Number of alternatives (the pick not counted). */
HR_API hr_status hr_result_alternative_count(const hr_result* result, size_t* count);

/* Fills *out (set out->struct_size first) for choice `index` (HR_PICK or HR_ALTERNATIVE(i)).
 * HR_STATUS_NO_FIT for HR_PICK when nothing was picked; HR_STATUS_NOT_FOUND past the end. */
HR_API hr_status hr_result_choice(const hr_result* result, size_t index, hr_choice* out);

/* A string of choice `index`; "" when the index does not exist. */
HR_API size_t hr_result_choice_string(const hr_result* result, size_t index, hr_choice_string which,
                                      char* buf, size_t size);

/* Predicted memory on device `device` (0 .. device_count - 1) of choice `index`. */
HR_API hr_status hr_result_device(const hr_result* result, size_t index, size_t device,
                                  hr_device* out);

/* That device's name ("NVIDIA GeForce RTX 4090", "host"). */
HR_API size_t hr_result_device_name(const hr_result* result, size_t index, size_t device, char* buf,
                                    size_t size);

#ifdef __cplusplus
}
#endif

#endif /* HEADROOM_HEADROOM_H_ */
