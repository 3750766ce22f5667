// /proc/cpuinfo: the CPU model and the instruction-set features llama.cpp's CPU kernels use.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "headroom/probe/topology.h"

namespace headroom::probe {
namespace {

// Kernel flag -> reported name. x86 flags keep their kernel names; Arm's "asimd" family is
// renamed to what llama.cpp's build options call it.
constexpr std::pair<absl::string_view, absl::string_view> kFeatures[] = {
    // x86
    {"avx", "avx"},
    {"avx2", "avx2"},
    {"fma", "fma"},
    {"f16c", "f16c"},
    {"avx_vnni", "avx_vnni"},
    {"avx512f", "avx512f"},
    {"avx512cd", "avx512cd"},
    {"avx512bw", "avx512bw"},
    {"avx512dq", "avx512dq"},
    {"avx512vl", "avx512vl"},
    {"avx512ifma", "avx512ifma"},
    {"avx512vbmi", "avx512vbmi"},
    {"avx512_vbmi2", "avx512_vbmi2"},
    {"avx512_vnni", "avx512_vnni"},
    {"avx512_bf16", "avx512_bf16"},
    {"avx512_fp16", "avx512_fp16"},
    {"amx_tile", "amx_tile"},
    {"amx_int8", "amx_int8"},
    {"amx_bf16", "amx_bf16"},
    {"amx_fp16", "amx_fp16"},
    // Arm (Linux "Features" line)
    {"asimd", "neon"},
    {"asimdhp", "neon_fp16"},
    {"asimddp", "dotprod"},
    {"i8mm", "i8mm"},
    {"bf16", "bf16"},
    {"sve", "sve"},
    {"sve2", "sve2"},
    {"sme", "sme"},
};

absl::string_view Lookup(absl::string_view flag) {
  for (const auto& [kernel, name] : kFeatures) {
    if (kernel == flag) return name;
  }
  return {};
}

}  // namespace

CpuInfoText ParseCpuInfo(std::string_view cpuinfo_text) {
  const absl::string_view cpuinfo(cpuinfo_text.data(), cpuinfo_text.size());
  CpuInfoText result;
  bool have_flags = false;
  for (absl::string_view line : absl::StrSplit(cpuinfo, '\n')) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, colon));
    const absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (result.model.empty() && (key == "model name" || key == "Model Name")) {
      result.model = std::string(value);
    }
    // Every logical CPU repeats its flags; the first block is enough (heterogeneous flag sets
    // are not something Linux exposes per core).
    if (!have_flags && (key == "flags" || key == "Features")) {
      have_flags = true;
      for (absl::string_view flag : absl::StrSplit(value, ' ', absl::SkipEmpty())) {
        const absl::string_view name = Lookup(flag);
        if (!name.empty()) result.features.emplace_back(name);
      }
    }
  }
  std::sort(result.features.begin(), result.features.end());
  result.features.erase(std::unique(result.features.begin(), result.features.end()),
                        result.features.end());
  return result;
}

}  // namespace headroom::probe
