"""Python binding of libheadroom (ctypes): ask the Headroom daemon which quant, context, GPU
layers and KV type to load a model with, and report measured runs.

    import headroom
    with headroom.Client() as client:
        rec = client.recommend(glob="models/Qwen3-8B-*.gguf", min_ctx=8192)
        if rec.pick:
            print(rec.pick.file, rec.pick.n_ctx, rec.pick.n_gpu_layers)

The library is found through $HEADROOM_LIBRARY, else the loader's search (libheadroom.so.1).
A Client may be shared between threads (the library serializes calls on it).
"""

import ctypes
import ctypes.util
import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

ABI_MAJOR = 1

STATUS_NAMES = {
    0: "OK", 1: "INVALID_ARGUMENT", 2: "NOT_FOUND", 3: "UNAVAILABLE", 4: "TIMEOUT",
    5: "PERMISSION_DENIED", 6: "FAILED_PRECONDITION", 7: "NO_FIT", 8: "DAEMON_START_FAILED",
    9: "INTERNAL",
}
RUNTIMES = {"llama.cpp": 0, "vllm": 1}
PREFERENCES = {"quality": 0, "speed": 1, "context": 2}
VERDICTS = {0: "UNSPECIFIED", 1: "FITS", 2: "PARTIAL", 3: "CPU_ONLY", 4: "DOES_NOT_FIT"}
_NO_FIT = 7
_NOT_FOUND = 2
_CHOICE_FILE, _CHOICE_FILE_TYPE, _CHOICE_CACHE_K, _CHOICE_CACHE_V, _CHOICE_REASON = range(5)

_char_pp = ctypes.POINTER(ctypes.c_char_p)


class _ClientParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("endpoint", ctypes.c_char_p),
                ("timeout_ms", ctypes.c_uint32), ("autostart", ctypes.c_bool),
                ("start_timeout_ms", ctypes.c_uint32), ("daemon_path", ctypes.c_char_p)]


class _Request(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("model_files", _char_pp),
                ("model_file_count", ctypes.c_size_t), ("model_glob", ctypes.c_char_p),
                ("catalog_id", ctypes.c_char_p), ("config_json", ctypes.c_char_p),
                ("file_types", _char_pp), ("file_type_count", ctypes.c_size_t),
                ("runtime", ctypes.c_int), ("min_ctx", ctypes.c_uint32),
                ("max_ctx", ctypes.c_uint32), ("min_decode_tok_s", ctypes.c_double),
                ("prefer", ctypes.c_int), ("margin_bytes", ctypes.c_int64),
                ("kv_types", _char_pp), ("kv_type_count", ctypes.c_size_t),
                ("n_parallel", ctypes.c_uint32)]


class _Choice(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_ctx", ctypes.c_uint32),
                ("n_gpu_layers", ctypes.c_uint32), ("n_layers", ctypes.c_uint32),
                ("experts_on_cpu", ctypes.c_bool), ("flash_attn", ctypes.c_bool),
                ("meets_constraints", ctypes.c_bool), ("verdict", ctypes.c_int),
                ("decode_tok_s", ctypes.c_double), ("prefill_tok_s", ctypes.c_double),
                ("headroom_bytes", ctypes.c_int64), ("device_count", ctypes.c_uint32),
                ("gpu_memory_utilization", ctypes.c_double), ("n_cpu_moe", ctypes.c_uint32)]


class _Device(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("total_bytes", ctypes.c_uint64),
                ("weights_bytes", ctypes.c_uint64), ("kv_cache_bytes", ctypes.c_uint64),
                ("free_bytes", ctypes.c_uint64), ("layers", ctypes.c_uint32),
                ("is_host", ctypes.c_bool)]


class _RunReport(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("model_file", ctypes.c_char_p),
                ("catalog_id", ctypes.c_char_p), ("file_type", ctypes.c_char_p),
                ("runtime", ctypes.c_int), ("n_ctx", ctypes.c_uint32),
                ("n_gpu_layers", ctypes.c_int32), ("experts_on_cpu", ctypes.c_bool),
                ("cache_type_k", ctypes.c_char_p), ("cache_type_v", ctypes.c_char_p),
                ("flash_attn", ctypes.c_bool), ("device_names", _char_pp),
                ("device_used_bytes", ctypes.POINTER(ctypes.c_uint64)),
                ("device_count", ctypes.c_size_t), ("prefill_tok_s", ctypes.c_double),
                ("decode_tok_s", ctypes.c_double), ("runtime_version", ctypes.c_char_p)]


def _load():
    path = os.environ.get("HEADROOM_LIBRARY") or ctypes.util.find_library("headroom")
    lib = ctypes.CDLL(path or "libheadroom.so.1")
    sig = {
        "hr_abi_version": (ctypes.c_uint32, []),
        "hr_status_str": (ctypes.c_char_p, [ctypes.c_int]),
        "hr_client_params_default": (_ClientParams, []),
        "hr_request_default": (_Request, []),
        "hr_run_report_default": (_RunReport, []),
        "hr_client_create": (ctypes.c_int, [ctypes.POINTER(_ClientParams),
                                            ctypes.POINTER(ctypes.c_void_p)]),
        "hr_client_destroy": (None, [ctypes.c_void_p]),
        "hr_client_connect": (ctypes.c_int, [ctypes.c_void_p]),
        "hr_client_endpoint": (ctypes.c_size_t, [ctypes.c_void_p, ctypes.c_char_p,
                                                 ctypes.c_size_t]),
        "hr_client_last_error": (ctypes.c_size_t, [ctypes.c_void_p, ctypes.c_char_p,
                                                   ctypes.c_size_t]),
        "hr_recommend": (ctypes.c_int, [ctypes.c_void_p, ctypes.POINTER(_Request),
                                        ctypes.POINTER(ctypes.c_void_p)]),
        "hr_report_run": (ctypes.c_int, [ctypes.c_void_p, ctypes.POINTER(_RunReport),
                                         ctypes.POINTER(ctypes.c_uint32)]),
        "hr_result_free": (None, [ctypes.c_void_p]),
        "hr_result_reason": (ctypes.c_size_t, [ctypes.c_void_p, ctypes.c_char_p,
                                               ctypes.c_size_t]),
        "hr_result_alternative_count": (ctypes.c_int, [ctypes.c_void_p,
                                                       ctypes.POINTER(ctypes.c_size_t)]),
        "hr_result_choice": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t,
                                            ctypes.POINTER(_Choice)]),
        "hr_result_choice_string": (ctypes.c_size_t, [ctypes.c_void_p, ctypes.c_size_t,
                                                      ctypes.c_int, ctypes.c_char_p,
                                                      ctypes.c_size_t]),
        "hr_result_device": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t,
                                            ctypes.c_size_t, ctypes.POINTER(_Device)]),
        "hr_result_device_name": (ctypes.c_size_t, [ctypes.c_void_p, ctypes.c_size_t,
                                                    ctypes.c_size_t, ctypes.c_char_p,
                                                    ctypes.c_size_t]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    version = lib.hr_abi_version()
    if version // 10000 != ABI_MAJOR:
        raise ImportError(f"libheadroom ABI {version} is not major version {ABI_MAJOR}")
    return lib


_lib = _load()


def abi_version() -> int:
    """The loaded library's HR_API_VERSION (major * 10000 + minor * 100 + patch)."""
    return int(_lib.hr_abi_version())


def _string(getter, *args) -> str:
    """Calls a (…, char* buf, size_t size) -> needed getter twice: size, then text."""
    needed = getter(*args, None, 0)
    buf = ctypes.create_string_buffer(needed + 1)
    getter(*args, buf, needed + 1)
    return buf.value.decode("utf-8", "replace")


def _strings(items: Optional[Sequence[str]]):
    items = list(items or [])
    array = (ctypes.c_char_p * max(len(items), 1))(*[s.encode() for s in items])
    return array, len(items)


class HeadroomError(Exception):
    """A call failed: `status` is the hr_status name, the message the handle's last error."""

    def __init__(self, status: int, message: str):
        self.status = STATUS_NAMES.get(status, str(status))
        super().__init__(f"{self.status}: {message}")


@dataclass
class Device:
    name: str
    total_bytes: int
    weights_bytes: int
    kv_cache_bytes: int
    free_bytes: int
    layers: int
    is_host: bool


@dataclass
class Choice:
    file: str
    file_type: str
    n_ctx: int
    n_gpu_layers: int
    n_layers: int
    experts_on_cpu: bool
    flash_attn: bool
    cache_type_k: str
    cache_type_v: str
    meets_constraints: bool
    verdict: str
    decode_tok_s: float
    prefill_tok_s: float
    headroom_bytes: int
    gpu_memory_utilization: float
    reason: str
    devices: List[Device] = field(default_factory=list)
    # MoE layers whose experts stay in host RAM (llama.cpp --n-cpu-moe N; all blocks: --cpu-moe).
    n_cpu_moe: int = 0


@dataclass
class Recommendation:
    pick: Optional[Choice]
    alternatives: List[Choice]
    reason: str


def _choice(result, index: int) -> Optional[Choice]:
    c = _Choice()
    c.struct_size = ctypes.sizeof(_Choice)
    status = _lib.hr_result_choice(result, index, ctypes.byref(c))
    if status in (_NO_FIT, _NOT_FOUND):
        return None
    if status != 0:
        raise HeadroomError(status, "hr_result_choice")
    text = lambda which: _string(_lib.hr_result_choice_string, result, index, which)
    devices = []
    for d in range(c.device_count):
        dev = _Device()
        dev.struct_size = ctypes.sizeof(_Device)
        if _lib.hr_result_device(result, index, d, ctypes.byref(dev)) == 0:
            devices.append(Device(_string(_lib.hr_result_device_name, result, index, d),
                                  dev.total_bytes, dev.weights_bytes, dev.kv_cache_bytes,
                                  dev.free_bytes, dev.layers, dev.is_host))
    return Choice(text(_CHOICE_FILE), text(_CHOICE_FILE_TYPE), c.n_ctx, c.n_gpu_layers,
                  c.n_layers, c.experts_on_cpu, c.flash_attn, text(_CHOICE_CACHE_K),
                  text(_CHOICE_CACHE_V), c.meets_constraints, VERDICTS.get(c.verdict, "?"),
                  c.decode_tok_s, c.prefill_tok_s, c.headroom_bytes,
                  c.gpu_memory_utilization, text(_CHOICE_REASON), devices,
                  n_cpu_moe=c.n_cpu_moe)


class Client:
    """A connection to headroomd; starts one on demand unless autostart=False."""

    _handle = None

    def __init__(self, endpoint: Optional[str] = None, timeout_ms: int = 10000,
                 autostart: bool = True, start_timeout_ms: int = 5000,
                 daemon_path: Optional[str] = None):
        params = _lib.hr_client_params_default()
        self._keep = [s.encode() if s else None for s in (endpoint, daemon_path)]
        params.endpoint, params.daemon_path = self._keep
        params.timeout_ms, params.autostart = timeout_ms, autostart
        params.start_timeout_ms = start_timeout_ms
        handle = ctypes.c_void_p()
        status = _lib.hr_client_create(ctypes.byref(params), ctypes.byref(handle))
        if status != 0:
            raise HeadroomError(status, "hr_client_create")
        self._handle = handle

    def close(self) -> None:
        if self._handle:
            _lib.hr_client_destroy(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    @property
    def endpoint(self) -> str:
        return _string(_lib.hr_client_endpoint, self._handle)

    def _check(self, status: int) -> None:
        if status != 0:
            raise HeadroomError(status, _string(_lib.hr_client_last_error, self._handle))

    def connect(self) -> None:
        """Makes sure a daemon answers (starting one when allowed)."""
        self._check(_lib.hr_client_connect(self._handle))

    def recommend(self, files: Optional[Sequence[str]] = None, glob: Optional[str] = None,
                  catalog_id: Optional[str] = None, config_json: Optional[str] = None,
                  file_types: Optional[Sequence[str]] = None, runtime: str = "llama.cpp",
                  min_ctx: int = 0, max_ctx: int = 0, min_decode_tok_s: float = 0.0,
                  prefer: str = "quality", margin_bytes: Optional[int] = None,
                  kv_types: Optional[Sequence[str]] = None,
                  n_parallel: int = 0) -> Recommendation:
        """Asks the daemon to pick among files (a list or a glob) or a catalog model."""
        if runtime not in RUNTIMES or prefer not in PREFERENCES:
            raise ValueError(f"runtime must be one of {list(RUNTIMES)}, "
                             f"prefer one of {list(PREFERENCES)}")
        req = _lib.hr_request_default()
        files_a, req.model_file_count = _strings(files)
        types_a, req.file_type_count = _strings(file_types)
        kv_a, req.kv_type_count = _strings(kv_types)
        req.model_files = ctypes.cast(files_a, _char_pp)
        req.file_types = ctypes.cast(types_a, _char_pp)
        req.kv_types = ctypes.cast(kv_a, _char_pp)
        req.model_glob = glob.encode() if glob else None
        req.catalog_id = catalog_id.encode() if catalog_id else None
        req.config_json = config_json.encode() if config_json else None
        req.runtime, req.prefer = RUNTIMES[runtime], PREFERENCES[prefer]
        req.min_ctx, req.max_ctx, req.min_decode_tok_s = min_ctx, max_ctx, min_decode_tok_s
        req.margin_bytes = -1 if margin_bytes is None else margin_bytes
        req.n_parallel = n_parallel
        result = ctypes.c_void_p()
        self._check(_lib.hr_recommend(self._handle, ctypes.byref(req), ctypes.byref(result)))
        try:
            count = ctypes.c_size_t()
            _lib.hr_result_alternative_count(result, ctypes.byref(count))
            alternatives = [_choice(result, i + 1) for i in range(count.value)]
            return Recommendation(_choice(result, 0), [a for a in alternatives if a],
                                  _string(_lib.hr_result_reason, result))
        finally:
            _lib.hr_result_free(result)

    def report_run(self, model_file: str, n_ctx: int, n_gpu_layers: int = -1,
                   cache_type_k: str = "f16", cache_type_v: str = "f16",
                   flash_attn: bool = True, experts_on_cpu: bool = False,
                   devices: Optional[dict] = None, prefill_tok_s: float = 0.0,
                   decode_tok_s: float = 0.0, runtime_version: str = "") -> int:
        """Reports a measured llama.cpp run; returns the calibration's sample count."""
        rep = _lib.hr_run_report_default()
        rep.model_file, rep.n_ctx, rep.n_gpu_layers = model_file.encode(), n_ctx, n_gpu_layers
        rep.cache_type_k, rep.cache_type_v = cache_type_k.encode(), cache_type_v.encode()
        rep.flash_attn, rep.experts_on_cpu = flash_attn, experts_on_cpu
        names, count = _strings(list((devices or {}).keys()))
        used = (ctypes.c_uint64 * max(count, 1))(*(devices or {}).values())
        rep.device_names, rep.device_used_bytes, rep.device_count = (
            ctypes.cast(names, _char_pp), ctypes.cast(used, ctypes.POINTER(ctypes.c_uint64)),
            count)
        rep.prefill_tok_s, rep.decode_tok_s = prefill_tok_s, decode_tok_s
        rep.runtime_version = runtime_version.encode()
        samples = ctypes.c_uint32()
        self._check(_lib.hr_report_run(self._handle, ctypes.byref(rep), ctypes.byref(samples)))
        return samples.value
