// The daemon's live hardware snapshot: one HardwareSource, refreshed every few seconds on its
// own thread; readers take an immutable shared snapshot with a version number and may block
// until a newer one is published (streams) or the daemon shuts down. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headroom/probe/source.h"
#include "headroom/v1/hardware.pb.h"
#include "log.h"

namespace headroom::daemon {

struct Published {
  std::shared_ptr<const headroom::v1::Hardware> hardware;
  uint64_t version = 0;
  bool shutting_down = false;
};

class LiveState {
 public:
  LiveState(std::unique_ptr<probe::HardwareSource> source, Logger* log);
  LiveState(const LiveState&) = delete;
  LiveState& operator=(const LiveState&) = delete;
  ~LiveState();

  // Takes the first full snapshot and starts refreshing every `period`.
  absl::Status Start(std::chrono::milliseconds period);
  // Wakes every waiter (they see shutting_down) and stops the refresh thread. Idempotent.
  void Shutdown();

  Published Current() const;
  // Blocks until a version newer than `seen_version` exists, shutdown starts, or `timeout`
  // passes; returns what is current then.
  Published WaitNewer(uint64_t seen_version, std::chrono::milliseconds timeout) const;

  // A full new snapshot (bandwidth re-measured when asked), published as the current one.
  absl::StatusOr<std::shared_ptr<const headroom::v1::Hardware>> Resnapshot(bool remeasure);

  std::string Describe() const { return source_->Describe(); }

 private:
  void RefreshLoop(std::chrono::milliseconds period);
  void RefreshOnce();
  void Publish(std::shared_ptr<const headroom::v1::Hardware> hardware);

  Logger* const log_;
  std::mutex source_mu_;  // a source is used from one thread at a time
  std::unique_ptr<probe::HardwareSource> source_;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::shared_ptr<const headroom::v1::Hardware> hardware_;  // guarded by mu_
  uint64_t version_ = 0;                                    // guarded by mu_
  bool shutting_down_ = false;                              // guarded by mu_
  std::thread refresher_;
};

}  // namespace headroom::daemon
