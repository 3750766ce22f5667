// What `headroom fit`, `pick` and `gpus` share: parsing people's numbers ("32k", "64GiB",
// "2x rtx-3090") into request fields with errors that name the flag, choosing the backend, and
// printing byte tables in GiB whose rows add up as printed. Used from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fit_client.h"
#include "headroom/v1/fit.pb.h"

namespace headroom::cli {

// "8192", "32k" / "32K" (x1024), "1m" (x1024^2); "0" = the model's trained context.
absl::StatusOr<uint32_t> ParseTokens(const std::string& text, const std::string& flag);

// "64GiB", "64G" (binary), "64GB" (1e9), "512MiB", "1.5TiB", "1073741824".
absl::StatusOr<uint64_t> ParseBytes(const std::string& text, const std::string& flag);

// The model argument: a path ending in .gguf or .json (made absolute, since a daemon opens it
// from its own directory), else a catalog id.
headroom::v1::ModelRef ModelRefFromArg(const std::string& model);

struct MachineFlags {
  std::vector<std::string> gpus;  // --gpu, repeatable; "2x rtx-3090" counts twice
  std::string ram;                // --ram
  std::string host_bandwidth;     // --host-bw, GB/s
  std::string hw_file;            // --hw: text-format headroom.v1.Hardware
};

// Live unless a flag describes another machine.
absl::StatusOr<headroom::v1::HardwareRef> HardwareRefFromFlags(const MachineFlags& flags);

struct BackendFlags {
  bool no_daemon = false;
  std::string endpoint;
};

// The backend the flags ask for.
absl::StatusOr<std::unique_ptr<FitClient>> OpenClient(const BackendFlags& flags);

// "FITS", "PARTIAL", ...
std::string VerdictName(headroom::v1::Verdict verdict);

// Per-device table in GiB: each row's parts are rounded so that, as printed, they add up to
// the printed total (largest remainder), and a footer says so.
std::string DeviceTable(const headroom::v1::Estimate& estimate);

// "1.25 GiB" with two decimals.
std::string Gib(uint64_t bytes);
std::string SignedGib(int64_t bytes);

// 32768 -> "32k" when an exact multiple of 1024, else grouped digits.
std::string Tokens(uint32_t tokens);

}  // namespace headroom::cli
