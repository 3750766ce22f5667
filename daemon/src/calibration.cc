#include "calibration.h"

#include <fcntl.h>
#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace headroom::daemon {
namespace {

namespace v1 = headroom::v1;

// Running geometric mean: exp of the running mean of logs.
double FoldGeometric(double mean, uint32_t samples, double ratio) {
  const double sum_logs = samples == 0 ? 0.0 : std::log(mean) * samples;
  return std::exp((sum_logs + std::log(ratio)) / (samples + 1));
}

int64_t FoldMean(int64_t mean, uint32_t samples, double value) {
  const double folded = (static_cast<double>(mean) * samples + value) / (samples + 1);
  return static_cast<int64_t>(std::llround(folded));
}

absl::Status FoldSpeed(double measured, double predicted, const char* field, double* scale,
                       uint32_t* samples) {
  if (measured <= 0) return absl::OkStatus();  // not measured
  if (!(predicted > 0)) {
    return absl::FailedPreconditionError(absl::StrCat(
        field, ": the estimate predicts no speed for this configuration, nothing to compare"));
  }
  *scale = FoldGeometric(*scale, *samples, measured / predicted);
  ++*samples;
  return absl::OkStatus();
}

std::string SafeName(const std::string& fingerprint) {
  std::string name = fingerprint.empty() ? "unknown" : fingerprint;
  for (char& c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) c = '_';
  }
  if (name[0] == '.') name[0] = '_';
  return name;
}

absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  if (error) return absl::InternalError(absl::StrCat("mkdir for ", path, ": ", error.message()));
  const std::string temp = absl::StrCat(path, ".tmp.", getpid());
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", temp, ": ", std::strerror(errno)));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      close(fd);
      unlink(temp.c_str());
      return absl::InternalError(absl::StrCat("write ", temp, ": ", std::strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(temp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    unlink(temp.c_str());
    return absl::InternalError(absl::StrCat("saving ", path, ": ", std::strerror(e)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::CalibrationState> FoldReport(const v1::CalibrationState& state,
                                                const v1::RunReportRequest& report,
                                                const v1::Estimate& predicted) {
  v1::CalibrationState next = state;
  v1::Calibration& cal = *next.mutable_calibration();
  if (cal.decode_scale() <= 0) cal.set_decode_scale(1.0);
  if (cal.prefill_scale() <= 0) cal.set_prefill_scale(1.0);

  double gpu_delta_sum = 0;
  int gpu_count = 0;
  bool host_measured = false;
  double host_delta = 0;
  for (int i = 0; i < report.devices_size(); ++i) {
    const v1::MeasuredDevice& device = report.devices(i);
    const double used = static_cast<double>(device.used_bytes());
    if (device.name() == "host") {
      host_measured = true;
      host_delta = used - static_cast<double>(predicted.host().total_bytes());
      continue;
    }
    const v1::DeviceUsage* match = nullptr;
    std::vector<std::string> names = {"host"};
    for (const v1::DeviceUsage& usage : predicted.devices()) {
      names.push_back(usage.name());
      if (usage.name() == device.name()) match = &usage;
    }
    if (match == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("devices[", i, "].name: \"", device.name(),
                                                     "\" is not a device of the estimate (",
                                                     absl::StrJoin(names, ", "), ")"));
    }
    gpu_delta_sum += used - static_cast<double>(match->total_bytes());
    ++gpu_count;
  }
  uint32_t decode_samples = next.decode_samples();
  uint32_t prefill_samples = next.prefill_samples();
  double decode_scale = cal.decode_scale();
  double prefill_scale = cal.prefill_scale();
  if (absl::Status s = FoldSpeed(report.decode_tok_s(), predicted.decode_tok_s(), "decode_tok_s",
                                 &decode_scale, &decode_samples);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = FoldSpeed(report.prefill_tok_s(), predicted.prefill_tok_s(), "prefill_tok_s",
                                 &prefill_scale, &prefill_samples);
      !s.ok()) {
    return s;
  }
  cal.set_decode_scale(decode_scale);
  cal.set_prefill_scale(prefill_scale);
  next.set_decode_samples(decode_samples);
  next.set_prefill_samples(prefill_samples);
  if (gpu_count > 0) {
    cal.set_gpu_overhead_delta_bytes(
        FoldMean(cal.gpu_overhead_delta_bytes(), next.gpu_samples(), gpu_delta_sum / gpu_count));
    next.set_gpu_samples(next.gpu_samples() + 1);
  }
  if (host_measured) {
    cal.set_host_overhead_delta_bytes(
        FoldMean(cal.host_overhead_delta_bytes(), next.host_samples(), host_delta));
    next.set_host_samples(next.host_samples() + 1);
  }
  cal.set_samples(cal.samples() + 1);
  return next;
}

CalibrationStore::CalibrationStore(std::string state_dir) : dir_(std::move(state_dir)) {}

std::string CalibrationStore::PathFor(const std::string& fingerprint) const {
  return absl::StrCat(dir_, "/calibration/", SafeName(fingerprint), ".txtpb");
}

absl::StatusOr<CalibrationStore::Entry*> CalibrationStore::Load(const std::string& fingerprint) {
  auto it = entries_.find(fingerprint);
  if (it != entries_.end()) return &it->second;
  Entry entry;
  const std::string path = PathFor(fingerprint);
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    if (!google::protobuf::TextFormat::ParseFromString(text.str(), &entry.state)) {
      return absl::DataLossError(absl::StrCat(path,
                                              ": not a text-format CalibrationState; move "
                                              "it away to start the calibration afresh"));
    }
  }
  entry.state.mutable_calibration()->set_fingerprint(fingerprint);
  entry.published = std::make_shared<const v1::Calibration>(entry.state.calibration());
  return &entries_.emplace(fingerprint, std::move(entry)).first->second;
}

absl::StatusOr<std::shared_ptr<const v1::Calibration>> CalibrationStore::Get(
    const std::string& fingerprint) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<Entry*> entry = Load(fingerprint);
  if (!entry.ok()) return entry.status();
  return (*entry)->published;
}

absl::StatusOr<v1::Calibration> CalibrationStore::Add(const std::string& fingerprint,
                                                      const v1::RunReportRequest& report,
                                                      const v1::Estimate& predicted) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<Entry*> entry = Load(fingerprint);
  if (!entry.ok()) return entry.status();
  absl::StatusOr<v1::CalibrationState> next = FoldReport((*entry)->state, report, predicted);
  if (!next.ok()) return next.status();
  std::string text;
  google::protobuf::TextFormat::PrintToString(*next, &text);
  if (absl::Status s = WriteAtomically(PathFor(fingerprint), text); !s.ok()) return s;
  (*entry)->state = *std::move(next);
  (*entry)->published = std::make_shared<const v1::Calibration>((*entry)->state.calibration());
  return *(*entry)->published;
}

}  // namespace headroom::daemon
