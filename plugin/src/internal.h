// The C++ behind the opaque handles of headroom.h, shared by the library's .cc files. Not
// installed.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "headroom/headroom.h"
#include "headroom/v1/fit.pb.h"
#include "headroom/v1/service.grpc.pb.h"

struct hr_client {
  // Immutable after hr_client_create.
  std::string endpoint;
  uint32_t timeout_ms = 0;
  bool autostart = true;
  uint32_t start_timeout_ms = 0;
  std::string daemon_path;  // empty = search at start time

  std::mutex mu;
  std::string last_error;                               // guarded by mu
  std::shared_ptr<grpc::Channel> channel;               // guarded by mu; null until connected
  std::unique_ptr<headroom::v1::FitService::Stub> fit;  // guarded by mu
  std::unique_ptr<headroom::v1::RunReportService::Stub> run_report;  // guarded by mu
  std::unique_ptr<headroom::v1::HardwareService::Stub> hardware;     // guarded by mu
};

struct hr_result {
  headroom::v1::Recommendation recommendation;
  // vLLM: gpu_memory_utilization per choice index (pick first); empty otherwise.
  std::vector<double> gpu_memory_utilization;
};

namespace headroom::plugin {

// snprintf-like copy: at most size - 1 bytes and a NUL; returns value.size().
inline size_t CopyOut(std::string_view value, char* buf, size_t size) {
  if (buf != nullptr && size > 0) {
    const size_t n = value.size() < size - 1 ? value.size() : size - 1;
    std::memcpy(buf, value.data(), n);
    buf[n] = '\0';
  }
  return value.size();
}

// Maps a gRPC status to ours.
hr_status FromGrpc(const grpc::Status& status);

}  // namespace headroom::plugin
