#include "format.h"

#include <algorithm>

#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"

namespace headroom::cli {

std::string HumanBytes(uint64_t bytes) {
  constexpr double kKiB = 1024.0;
  const auto b = static_cast<double>(bytes);
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (b < kKiB * kKiB) return fmt::format("{:.1f} KiB", b / kKiB);
  if (b < kKiB * kKiB * kKiB) return fmt::format("{:.1f} MiB", b / (kKiB * kKiB));
  return fmt::format("{:.2f} GiB", b / (kKiB * kKiB * kKiB));
}

std::string HumanCount(uint64_t count) {
  const auto c = static_cast<double>(count);
  if (count >= 1'000'000'000) return fmt::format("{:.2f} B", c / 1e9);
  if (count >= 1'000'000) return fmt::format("{:.1f} M", c / 1e6);
  if (count >= 1'000) return fmt::format("{:.1f} K", c / 1e3);
  return fmt::format("{}", count);
}

std::string Grouped(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    out += digits[i];
    if (i + 1 < n && (n - i - 1) % 3 == 0) out += ',';
  }
  return out;
}

std::string ExpertFlag(bool experts_on_cpu, uint32_t n_cpu_moe, uint32_t n_layers) {
  const uint32_t blocks = n_layers > 0 ? n_layers - 1 : 0;
  if (n_cpu_moe > 0 && n_cpu_moe < blocks) return fmt::format("--n-cpu-moe {}", n_cpu_moe);
  return experts_on_cpu || n_cpu_moe > 0 ? "--cpu-moe" : "";
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  // Printing a valid in-memory message cannot fail; an empty object is the fallback.
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) out = "{}\n";
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

std::string Table::Render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      line += i == 0 ? fmt::format("{:<{}}", row[i], widths[i])
                     : fmt::format("{:>{}}", row[i], widths[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace headroom::cli
