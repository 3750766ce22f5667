// Byte-level GGUF header parsing. Layout: shared/reference/gguf.md; the checks follow what
// llama.cpp's own gguf.cpp refuses, so a file we accept is one the runtime would load.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gguf_cursor.h"
#include "headroom/catalog/ggml_types.h"
#include "headroom/catalog/gguf.h"

namespace headroom::catalog {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint64_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr uint64_t kMaxNameBytes = 63;   // GGML_MAX_NAME - 1 (room for the terminator)
// Smallest encodings, used to bound counts by the bytes left before allocating.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;  // key length, type, a u8 value
constexpr uint64_t kMinTensorInfoBytes =
    8 + 4 + 8 + 4 + 8;  // name len, n_dims, 1 dim, type, offset

uint64_t ElementBytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
      return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32:
      return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
    case GgufValueType::kString:  // its u64 length at least
      return 8;
    case GgufValueType::kArray:
      return 4 + 8;
  }
  return 1;
}

// Reads one scalar of `type` into a GgufValue.
absl::StatusOr<GgufValue> ReadScalar(Cursor& in, GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
      return GgufValue(uint64_t{in.ReadLe<uint8_t>()});
    case GgufValueType::kInt8:
      return GgufValue(int64_t{in.ReadLe<int8_t>()});
    case GgufValueType::kUint16:
      return GgufValue(uint64_t{in.ReadLe<uint16_t>()});
    case GgufValueType::kInt16:
      return GgufValue(int64_t{in.ReadLe<int16_t>()});
    case GgufValueType::kUint32:
      return GgufValue(uint64_t{in.ReadLe<uint32_t>()});
    case GgufValueType::kInt32:
      return GgufValue(int64_t{in.ReadLe<int32_t>()});
    case GgufValueType::kUint64:
      return GgufValue(in.ReadLe<uint64_t>());
    case GgufValueType::kInt64:
      return GgufValue(in.ReadLe<int64_t>());
    case GgufValueType::kFloat32:
      return GgufValue(double{in.ReadLe<float>()});
    case GgufValueType::kFloat64:
      return GgufValue(in.ReadLe<double>());
    case GgufValueType::kBool:
      return GgufValue(in.ReadLe<uint8_t>() != 0);
    case GgufValueType::kString: {
      std::string s;
      if (absl::Status st = in.ReadString(&s, "string value"); !st.ok()) return st;
      return GgufValue(std::move(s));
    }
    case GgufValueType::kArray:
      break;
  }
  return in.Fail("nested arrays are not supported");
}

void KeepElement(GgufArray& arr, GgufValue&& v) {
  if (auto* u = std::get_if<uint64_t>(&v)) {
    if (arr.element_type == GgufValueType::kUint64) {
      arr.uints.push_back(*u);
    } else {
      arr.ints.push_back(static_cast<int64_t>(*u));
    }
  } else if (auto* i = std::get_if<int64_t>(&v)) {
    arr.ints.push_back(*i);
  } else if (auto* d = std::get_if<double>(&v)) {
    arr.floats.push_back(*d);
  } else if (auto* b = std::get_if<bool>(&v)) {
    arr.ints.push_back(*b ? 1 : 0);
  } else if (auto* s = std::get_if<std::string>(&v)) {
    arr.strings.push_back(std::move(*s));
  }
}

absl::StatusOr<GgufArray> ReadArray(Cursor& in, const GgufLimits& limits) {
  GgufArray arr;
  const uint32_t element_type = in.ReadLe<uint32_t>();
  arr.count = in.ReadLe<uint64_t>();
  if (!in.ok()) return in.status();
  if (element_type >= kGgufValueTypeCount) {
    return in.Fail(absl::StrCat("array has unknown element type ", element_type));
  }
  arr.element_type = static_cast<GgufValueType>(element_type);
  if (arr.element_type == GgufValueType::kArray) {
    return in.Fail("nested arrays are not supported");
  }
  const uint64_t min_bytes = ElementBytes(arr.element_type);
  if (arr.count > in.remaining() / min_bytes) {
    return in.Fail(absl::StrCat("array of ", arr.count, " ", GgufValueTypeName(element_type),
                                " elements needs at least ", min_bytes, " bytes each; only ",
                                in.remaining(), " bytes are left in the file"));
  }
  const bool is_string = arr.element_type == GgufValueType::kString;
  arr.elements_kept =
      arr.count <= (is_string ? limits.max_kept_string_array : limits.max_kept_array_elements);
  if (!arr.elements_kept && !is_string) {
    // Fixed-size elements are skipped in one step: nothing here needs their values.
    if (absl::Status st = in.Skip(arr.count * min_bytes); !st.ok()) return st;
    return arr;
  }
  for (uint64_t i = 0; i < arr.count; ++i) {
    if (!arr.elements_kept) {  // a long string array: validate lengths, keep nothing
      if (absl::Status st = in.SkipString("array string element"); !st.ok()) return st;
      continue;
    }
    absl::StatusOr<GgufValue> v = ReadScalar(in, arr.element_type);
    if (!v.ok()) return v.status();
    if (!in.ok()) return in.status();
    KeepElement(arr, *std::move(v));
  }
  return arr;
}

absl::Status ReadMetadata(Cursor& in, uint64_t kv_count, const GgufLimits& limits,
                          GgufHeader& out) {
  if (kv_count > in.remaining() / kMinKvBytes) {
    return in.Fail(absl::StrCat("metadata count ", kv_count, " cannot fit in the ", in.remaining(),
                                " bytes left in the file"));
  }
  out.metadata.reserve(static_cast<size_t>(kv_count));
  std::set<std::string, std::less<>> seen;
  for (uint64_t i = 0; i < kv_count; ++i) {
    GgufKv kv;
    kv.offset = in.pos();
    in.SetSection(absl::StrCat("metadata key #", i));
    if (absl::Status st = in.ReadString(&kv.key, "key"); !st.ok()) return st;
    in.SetSection(absl::StrCat("metadata key #", i, " \"", kv.key, "\""));
    if (!seen.insert(kv.key).second) return in.Fail("duplicate key");
    const uint32_t type = in.ReadLe<uint32_t>();
    if (!in.ok()) return in.status();
    if (type >= kGgufValueTypeCount) {
      return in.Fail(absl::StrCat("unknown value type ", type));
    }
    kv.type = static_cast<GgufValueType>(type);
    if (kv.type == GgufValueType::kArray) {
      absl::StatusOr<GgufArray> arr = ReadArray(in, limits);
      if (!arr.ok()) return arr.status();
      kv.value = *std::move(arr);
    } else {
      absl::StatusOr<GgufValue> v = ReadScalar(in, kv.type);
      if (!v.ok()) return v.status();
      kv.value = *std::move(v);
    }
    if (!in.ok()) return in.status();
    out.metadata.push_back(std::move(kv));
  }
  return absl::OkStatus();
}

absl::Status ReadAlignment(Cursor& in, GgufHeader& out) {
  const GgufKv* kv = out.Find("general.alignment");
  if (kv == nullptr) return absl::OkStatus();
  const auto* v = std::get_if<uint64_t>(&kv->value);
  if (kv->type != GgufValueType::kUint32 || v == nullptr) {
    return in.FailAt(kv->offset, absl::StrCat("general.alignment must be a u32, found ",
                                              GgufValueTypeName(static_cast<uint32_t>(kv->type))));
  }
  if (*v == 0 || (*v & (*v - 1)) != 0) {
    return in.FailAt(kv->offset, absl::StrCat("general.alignment ", *v, " is not a power of two"));
  }
  out.alignment = *v;
  return absl::OkStatus();
}

absl::Status ReadTensorInfo(Cursor& in, GgufTensor& t) {
  if (absl::Status st = in.ReadString(&t.name, "tensor name"); !st.ok()) return st;
  if (t.name.size() > kMaxNameBytes) {
    return in.Fail(absl::StrCat("tensor name of ", t.name.size(), " bytes exceeds ggml's limit of ",
                                kMaxNameBytes));
  }
  const uint32_t n_dims = in.ReadLe<uint32_t>();
  if (!in.ok()) return in.status();
  if (n_dims == 0 || n_dims > kMaxDims) {
    return in.Fail(
        absl::StrCat("tensor \"", t.name, "\" has ", n_dims, " dimensions; 1 to 4 are allowed"));
  }
  t.dims.resize(n_dims);
  for (uint64_t& d : t.dims) d = in.ReadLe<uint64_t>();
  t.type = in.ReadLe<uint32_t>();
  t.offset = in.ReadLe<uint64_t>();
  if (!in.ok()) return in.status();
  for (uint64_t d : t.dims) {
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return in.Fail(absl::StrCat("tensor \"", t.name, "\" dimension ", d, " is out of range"));
    }
  }
  if (FindGgmlType(t.type) == nullptr) {
    return in.Fail(absl::StrCat("tensor \"", t.name, "\" has unknown ggml type id ", t.type));
  }
  absl::StatusOr<uint64_t> bytes = TensorBytes(t.type, t.dims);
  if (!bytes.ok()) {
    return in.Fail(absl::StrCat("tensor \"", t.name, "\": ", bytes.status().message()));
  }
  t.bytes = *bytes;
  t.elements = 1;
  for (uint64_t d : t.dims) t.elements *= d;  // no overflow: TensorBytes checked it
  if (t.elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return in.Fail(absl::StrCat("tensor \"", t.name, "\" has more than 2^63 elements"));
  }
  return absl::OkStatus();
}

absl::Status ReadTensorInfos(Cursor& in, uint64_t tensor_count, GgufHeader& out) {
  if (tensor_count > in.remaining() / kMinTensorInfoBytes) {
    return in.Fail(absl::StrCat("tensor count ", tensor_count, " cannot fit in the ",
                                in.remaining(), " bytes left in the file"));
  }
  out.tensors.resize(static_cast<size_t>(tensor_count));
  std::set<std::string, std::less<>> seen;
  for (uint64_t i = 0; i < tensor_count; ++i) {
    in.SetSection(absl::StrCat("tensor info #", i));
    GgufTensor& t = out.tensors[i];
    if (absl::Status st = ReadTensorInfo(in, t); !st.ok()) return st;
    if (!seen.insert(t.name).second)
      return in.Fail(absl::StrCat("duplicate tensor \"", t.name, "\""));
  }
  return absl::OkStatus();
}

// Data layout as gguf.cpp requires it: each tensor starts where the previous one, padded to
// the alignment, ended. That also rules out overlaps and gaps.
absl::Status CheckTensorOffsets(Cursor& in, GgufHeader& out) {
  in.SetSection("tensor data layout");
  uint64_t expected = 0;
  for (const GgufTensor& t : out.tensors) {
    if (t.offset % out.alignment != 0) {
      return in.Fail(absl::StrCat("tensor \"", t.name, "\" offset ", t.offset,
                                  " is not a multiple of the alignment ", out.alignment));
    }
    if (t.offset != expected) {
      return in.Fail(absl::StrCat("tensor \"", t.name, "\" has offset ", t.offset, ", expected ",
                                  expected, " (tensors must be packed in order)"));
    }
    const uint64_t padded = (t.bytes + out.alignment - 1) / out.alignment * out.alignment;
    if (padded < t.bytes || expected > std::numeric_limits<uint64_t>::max() - padded) {
      return in.Fail("tensor data size overflows 64 bits");
    }
    expected += padded;
  }
  out.data_bytes = expected;
  if (out.data_offset > std::numeric_limits<uint64_t>::max() - out.data_bytes) {
    return in.Fail("tensor data end overflows 64 bits");
  }
  return absl::OkStatus();
}

absl::StatusOr<GgufHeader> Parse(Cursor& in, uint64_t file_bytes, const GgufLimits& limits) {
  GgufHeader out;
  out.file_bytes = file_bytes;
  in.SetSection("header");
  const uint32_t magic = in.ReadLe<uint32_t>();
  if (!in.ok()) return in.status();
  if (magic != kMagic) {
    return in.FailAt(
        0, absl::StrCat("bad magic 0x", absl::Hex(magic, absl::kZeroPad8), ": not a GGUF file"));
  }
  out.version = in.ReadLe<uint32_t>();
  if (!in.ok()) return in.status();
  if (out.version == 1) return in.FailAt(4, "GGUF version 1 is obsolete and not supported");
  if ((out.version & 0xFFFFu) == 0 && out.version != 0) {
    return in.FailAt(4, absl::StrCat("GGUF version ", out.version,
                                     " looks byte-swapped: big-endian files are not supported"));
  }
  if (out.version != 2 && out.version != 3) {
    return in.FailAt(
        4, absl::StrCat("unsupported GGUF version ", out.version, " (2 and 3 are supported)"));
  }
  const uint64_t tensor_count = in.ReadLe<uint64_t>();
  const uint64_t kv_count = in.ReadLe<uint64_t>();
  if (!in.ok()) return in.status();
  if (absl::Status st = ReadMetadata(in, kv_count, limits, out); !st.ok()) return st;
  if (absl::Status st = ReadAlignment(in, out); !st.ok()) return st;
  if (absl::Status st = ReadTensorInfos(in, tensor_count, out); !st.ok()) return st;
  const uint64_t header_end = in.pos();
  out.data_offset = (header_end + out.alignment - 1) / out.alignment * out.alignment;
  if (absl::Status st = CheckTensorOffsets(in, out); !st.ok()) return st;
  return out;
}

}  // namespace

absl::StatusOr<GgufHeader> ParseGgufHeader(std::span<const uint8_t> bytes, uint64_t file_bytes,
                                           const GgufLimits& limits) {
  MemorySource source(bytes);
  Cursor in(source, bytes.size());
  return Parse(in, std::max<uint64_t>(file_bytes, bytes.size()), limits);
}

absl::StatusOr<GgufHeader> ReadGgufHeader(const std::string& path, const GgufLimits& limits) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string msg = absl::StrCat(path, ": ", std::strerror(err));
    // As hf_config's OpenError: only a refusal for who asks is PERMISSION_DENIED; a path the
    // kernel refuses for its form (ENAMETOOLONG, ELOOP, ...) is the caller's mistake.
    if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(msg);
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
    return absl::InvalidArgumentError(msg);
  }
  FileSource source(fd);  // closes fd
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  Cursor in(source, size);
  absl::StatusOr<GgufHeader> header = Parse(in, size, limits);
  if (!header.ok()) {
    return absl::Status(header.status().code(),
                        absl::StrCat(path, ": ", header.status().message()));
  }
  return header;
}

}  // namespace headroom::catalog
