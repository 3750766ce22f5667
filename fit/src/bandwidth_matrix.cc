#include "headroom/fit/bandwidth_matrix.h"

#include <array>

#include "speed.h"

namespace headroom::fit {
namespace {

// Rated peaks. A DRAM channel moves 8 bytes per transfer (one 64-bit DDR4 DIMM channel, or
// the two 32-bit subchannels of a DDR5 DIMM), so GB/s = JEDEC transfer rate (MT/s) x 8 bytes x
// channels / 1000 (JESD79-4 DDR4 and JESD79-5 DDR5 speed bins). Unified memory and GPUs: the
// vendor's spec sheet, the same figures as catalog/data/gpus.txtpb.
//
// The speed model's host efficiency was fitted against a measured STREAM-like read (see
// speed.cc), and a DDR system's STREAM read is below its rated peak, so the host DRAM rows
// are ceilings that a real machine approaches from below; `headroom hw` measures the real one.
constexpr std::array<MemorySystem, 8> kSystems = {{
    // 3200 MT/s x 8 B x 2 channels: a desktop with two DIMMs.
    {"DDR4-3200, 2 channels (desktop)", 51.2, MemoryKind::kHostDram},
    // 5600 MT/s x 8 B x 2 channels: a current desktop (AM5, LGA 1700/1851).
    {"DDR5-5600, 2 channels (desktop)", 89.6, MemoryKind::kHostDram},
    // Apple M4 Pro: 273 GB/s (apple.com/mac-mini/specs, LPDDR5X).
    {"Apple M4 Pro, unified", 273.0, MemoryKind::kUnified},
    // 4800 MT/s x 8 B x 8 channels: Xeon 4th/5th gen (Sapphire/Emerald Rapids), intel.com ARK.
    {"DDR5-4800, 8 channels (Xeon server)", 307.2, MemoryKind::kHostDram},
    // 4800 MT/s x 8 B x 12 channels: EPYC 9004 (Genoa), AMD's spec: 460.8 GB/s per socket.
    {"DDR5-4800, 12 channels (EPYC server)", 460.8, MemoryKind::kHostDram},
    // Apple M3 Ultra: 819 GB/s (apple.com/mac-studio/specs).
    {"Apple M3 Ultra, unified", 819.0, MemoryKind::kUnified},
    // GeForce RTX 4090: 384-bit GDDR6X at 21 Gbps = 1008 GB/s (nvidia.com RTX 4090 specs).
    {"RTX 4090, GDDR6X", 1008.0, MemoryKind::kGpu},
    // H100 SXM5 80 GB: 3.35 TB/s HBM3 (NVIDIA H100 Tensor Core GPU datasheet).
    {"H100 SXM, HBM3", 3350.0, MemoryKind::kGpu},
}};

}  // namespace

std::span<const MemorySystem> MemorySystems() { return kSystems; }

std::vector<BandwidthRow> BandwidthMatrix(uint64_t weights_read_per_token_bytes,
                                          uint64_t kv_read_per_token_bytes) {
  const double bytes = static_cast<double>(weights_read_per_token_bytes) +
                       static_cast<double>(kv_read_per_token_bytes);
  std::vector<BandwidthRow> rows;
  rows.reserve(kSystems.size());
  for (const MemorySystem& m : kSystems) {
    // Decode time per token is bytes / (bandwidth x efficiency), as EstimateSpeed charges a
    // device for its share; here one memory system holds all of it.
    const double efficiency = internal::DecodeBandwidthEfficiency(m.kind != MemoryKind::kHostDram);
    const double tok_s = bytes > 0 ? m.bandwidth_gbps * 1e9 * efficiency / bytes : 0.0;
    rows.push_back({.label = m.label,
                    .bandwidth_gbps = m.bandwidth_gbps,
                    .efficiency = efficiency,
                    .decode_tok_s = tok_s});
  }
  return rows;
}

}  // namespace headroom::fit
