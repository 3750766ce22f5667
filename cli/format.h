// Output helpers shared by the CLI commands: byte sizes for people, aligned tables, and the
// proto JSON printer every `--json` uses (one schema for the wire and for scripts).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "google/protobuf/message.h"

namespace headroom::cli {

// "37.14 GiB", "512.0 MiB", "812 B": binary units, as the CLI states in its footers.
std::string HumanBytes(uint64_t bytes);
// "8.03 B", "671.03 B", "494.0 M": parameter counts.
std::string HumanCount(uint64_t count);
// 37135360 -> "37,135,360".
std::string Grouped(uint64_t value);

// llama.cpp's flag for the MoE experts kept in host RAM: "--n-cpu-moe N" for those of the
// first N layers, "--cpu-moe" for every layer's, "" for none. `n_layers` is on -ngl's scale
// (the blocks plus the output layer), as Estimate.n_layers.
std::string ExpertFlag(bool experts_on_cpu, uint32_t n_cpu_moe, uint32_t n_layers);

// Proto -> JSON with proto field names, every field printed, and a trailing newline.
std::string ToJson(const google::protobuf::Message& message);

// A left-aligned first column, the rest right-aligned, two spaces between columns.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace headroom::cli
