#include "fit_args.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "format.h"
#include "headroom/catalog/catalog.h"

namespace headroom::cli {
namespace {

namespace v1 = headroom::v1;

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr int kMaxCardsPerFlag = 64;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Splits "32.5GiB" into 32.5 and "gib"; false when no number leads.
bool SplitNumber(const std::string& text, double& value, std::string& unit) {
  size_t end = 0;
  while (end < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[end])) != 0 || text[end] == '.')) {
    ++end;
  }
  if (end == 0) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, value);
  if (ec != std::errc() || ptr != text.data() + end) return false;
  unit = Lower(text.substr(end));
  unit.erase(std::remove(unit.begin(), unit.end(), ' '), unit.end());
  return true;
}

absl::Status Usage(const std::string& flag, const std::string& text, const std::string& what) {
  return absl::InvalidArgumentError(fmt::format("{}: \"{}\" {}", flag, text, what));
}

// One printed row: hundredths of a GiB per part, rounded so the parts sum to the total.
std::vector<uint64_t> CentiGibParts(const std::vector<uint64_t>& parts_bytes) {
  const double unit = static_cast<double>(kGiB) / 100.0;
  uint64_t total_bytes = 0;
  for (uint64_t b : parts_bytes) total_bytes += b;
  const auto total = static_cast<uint64_t>(std::llround(static_cast<double>(total_bytes) / unit));
  std::vector<uint64_t> out;
  std::vector<std::pair<double, size_t>> remainders;
  uint64_t floor_sum = 0;
  for (size_t i = 0; i < parts_bytes.size(); ++i) {
    const double exact = static_cast<double>(parts_bytes[i]) / unit;
    const auto floor = static_cast<uint64_t>(std::floor(exact));
    out.push_back(floor);
    floor_sum += floor;
    remainders.emplace_back(exact - static_cast<double>(floor), i);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; floor_sum < total && k < remainders.size(); ++k, ++floor_sum) {
    ++out[remainders[k].second];
  }
  out.push_back(total);
  return out;
}

std::string CentiGib(uint64_t centi) { return fmt::format("{}.{:02}", centi / 100, centi % 100); }

}  // namespace

absl::StatusOr<uint32_t> ParseTokens(const std::string& text, const std::string& flag) {
  double value = 0;
  std::string unit;
  if (!SplitNumber(text, value, unit)) {
    return Usage(flag, text, "is not a token count (e.g. 8192, 32k)");
  }
  double scale = 1;
  if (unit == "k") {
    scale = 1024;
  } else if (unit == "m") {
    scale = 1024.0 * 1024.0;
  } else if (!unit.empty()) {
    return Usage(flag, text, "has an unknown suffix (k = 1024 tokens, m = 1024k)");
  }
  const double tokens = value * scale;
  if (tokens != std::floor(tokens)) return Usage(flag, text, "is not a whole number of tokens");
  if (tokens > static_cast<double>(std::numeric_limits<uint32_t>::max())) {
    return Usage(flag, text, "is beyond 4294967295 tokens");
  }
  return static_cast<uint32_t>(tokens);
}

absl::StatusOr<uint64_t> ParseBytes(const std::string& text, const std::string& flag) {
  double value = 0;
  std::string unit;
  if (!SplitNumber(text, value, unit)) {
    return Usage(flag, text, "is not a size (e.g. 64GiB, 512MiB, 64GB = 64e9 bytes)");
  }
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1},         {"b", 1},      {"k", 0x1p10},   {"kib", 0x1p10}, {"m", 0x1p20},
      {"mib", 0x1p20}, {"g", 0x1p30}, {"gib", 0x1p30}, {"t", 0x1p40},   {"tib", 0x1p40},
      {"kb", 1e3},     {"mb", 1e6},   {"gb", 1e9},     {"tb", 1e12}};
  for (const auto& [name, scale] : kUnits) {
    if (unit != name) continue;
    const double bytes = value * scale;
    if (bytes >= 0x1p63) return Usage(flag, text, "is too large");
    return static_cast<uint64_t>(std::llround(bytes));
  }
  return Usage(flag, text, "has an unknown unit (B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB)");
}

v1::ModelRef ModelRefFromArg(const std::string& model) {
  v1::ModelRef ref;
  const std::string lower = Lower(model);
  if (EndsWith(lower, ".gguf")) {
    ref.set_gguf_path(std::filesystem::absolute(model).lexically_normal().string());
  } else if (EndsWith(lower, ".json")) {
    ref.set_config_json_path(std::filesystem::absolute(model).lexically_normal().string());
  } else {
    ref.set_catalog_id(model);
  }
  return ref;
}

absl::StatusOr<v1::HardwareRef> HardwareRefFromFlags(const MachineFlags& flags) {
  v1::HardwareRef ref;
  if (!flags.hw_file.empty()) {
    if (!flags.gpus.empty() || !flags.ram.empty() || !flags.host_bandwidth.empty()) {
      return absl::InvalidArgumentError("--hw: give either --hw or --gpu/--ram/--host-bw");
    }
    std::ifstream in(flags.hw_file, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(fmt::format("--hw: cannot read \"{}\"", flags.hw_file));
    }
    std::ostringstream text;
    text << in.rdbuf();
    absl::Status s = catalog::ParseTextProto(flags.hw_file, text.str(), ref.mutable_snapshot());
    if (!s.ok())
      return absl::InvalidArgumentError(fmt::format("--hw: {}", std::string(s.message())));
    return ref;
  }
  if (flags.gpus.empty() && flags.ram.empty() && flags.host_bandwidth.empty()) {
    ref.set_live(true);
    return ref;
  }
  v1::HypotheticalMachine& m = *ref.mutable_hypothetical();
  for (const std::string& gpu : flags.gpus) {
    // "2x rtx-3090", "2xrtx-3090", "2 x RTX 3090" or just "rtx-3090".
    int count = 1;
    std::string name = gpu;
    size_t digits = 0;
    while (digits < gpu.size() && std::isdigit(static_cast<unsigned char>(gpu[digits])) != 0) {
      ++digits;
    }
    size_t x = gpu.find_first_not_of(' ', digits);
    if (digits > 0 && digits <= 3 && x != std::string::npos && (gpu[x] == 'x' || gpu[x] == 'X') &&
        x + 1 < gpu.size()) {
      count = std::stoi(gpu.substr(0, digits));
      name = gpu.substr(gpu.find_first_not_of(' ', x + 1));
    }
    if (count < 1 || count > kMaxCardsPerFlag) {
      return Usage("--gpu", gpu, fmt::format("needs 1 to {} cards", kMaxCardsPerFlag));
    }
    for (int i = 0; i < count; ++i) m.add_gpu_ids(name);
  }
  if (!flags.ram.empty()) {
    absl::StatusOr<uint64_t> ram = ParseBytes(flags.ram, "--ram");
    if (!ram.ok()) return ram.status();
    if (*ram == 0) return Usage("--ram", flags.ram, "must be more than 0");
    m.set_ram_bytes(*ram);
  }
  if (!flags.host_bandwidth.empty()) {
    double gbps = 0;
    std::string unit;
    if (!SplitNumber(flags.host_bandwidth, gbps, unit) || !(unit.empty() || unit == "gb/s") ||
        gbps <= 0) {
      return Usage("--host-bw", flags.host_bandwidth, "is not a bandwidth in GB/s (e.g. 80)");
    }
    m.set_host_bandwidth_gbps(gbps);
  }
  return ref;
}

absl::StatusOr<std::unique_ptr<FitClient>> OpenClient(const BackendFlags& flags) {
  if (flags.no_daemon) return MakeInProcessClient();
  if (!flags.endpoint.empty()) {
    // A daemon asked for by name must answer.
    return MakeDaemonClient(flags.endpoint);
  }
  const std::string endpoint = EndpointFromEnvironment();
  if (!SocketFileAbsent(endpoint)) {
    absl::StatusOr<std::unique_ptr<FitClient>> daemon = MakeDaemonClient(endpoint);
    if (daemon.ok()) return daemon;
  }
  return MakeInProcessClient();
}

std::string VerdictName(v1::Verdict verdict) {
  switch (verdict) {
    case v1::VERDICT_FITS:
      return "FITS";
    case v1::VERDICT_PARTIAL:
      return "PARTIAL";
    case v1::VERDICT_CPU_ONLY:
      return "CPU_ONLY";
    case v1::VERDICT_DOES_NOT_FIT:
      return "DOES_NOT_FIT";
    default:
      return "UNSPECIFIED";
  }
}

std::string DeviceTable(const v1::Estimate& e) {
  Table t({"device", "layers", "weights", "KV cache", "compute", "output", "overhead", "total",
           "free"});
  const auto row = [&t](const std::string& label, const v1::DeviceUsage& d) {
    const std::vector<uint64_t> c =
        CentiGibParts({d.weights_bytes(), d.kv_cache_bytes(), d.compute_bytes(), d.output_bytes(),
                       d.overhead_bytes()});
    t.AddRow({label, std::to_string(d.layers()), CentiGib(c[0]), CentiGib(c[1]), CentiGib(c[2]),
              CentiGib(c[3]), CentiGib(c[4]), CentiGib(c[5]),
              CentiGib(static_cast<uint64_t>(
                  std::llround(static_cast<double>(d.free_bytes()) / (kGiB / 100.0))))});
  };
  for (int i = 0; i < e.devices_size(); ++i) {
    row(fmt::format("GPU{} {} ({})", i, e.devices(i).name(), e.devices(i).kind()), e.devices(i));
  }
  row("host RAM", e.host());
  return t.Render() +
         "(GiB = 2^30 bytes; total = weights + KV cache + compute + output + overhead, rounded "
         "so the printed parts add up)\n";
}

std::string Gib(uint64_t bytes) {
  return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / static_cast<double>(kGiB));
}

std::string SignedGib(int64_t bytes) {
  return fmt::format("{:+.2f} GiB", static_cast<double>(bytes) / static_cast<double>(kGiB));
}

std::string Tokens(uint32_t tokens) {
  if (tokens != 0 && tokens % 1024 == 0) return fmt::format("{}k", tokens / 1024);
  return Grouped(tokens);
}

}  // namespace headroom::cli
