#include "live_state.h"

#include <google/protobuf/util/message_differencer.h>

#include <utility>

namespace headroom::daemon {

namespace v1 = headroom::v1;

LiveState::LiveState(std::unique_ptr<probe::HardwareSource> source, Logger* log)
    : log_(log), source_(std::move(source)) {}

LiveState::~LiveState() { Shutdown(); }

absl::Status LiveState::Start(std::chrono::milliseconds period) {
  absl::StatusOr<std::shared_ptr<const v1::Hardware>> first = Resnapshot(false);
  if (!first.ok()) return first.status();
  refresher_ = std::thread([this, period] { RefreshLoop(period); });
  return absl::OkStatus();
}

void LiveState::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  changed_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

Published LiveState::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {hardware_, version_, shutting_down_};
}

Published LiveState::WaitNewer(uint64_t seen_version, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, timeout, [&] { return shutting_down_ || version_ > seen_version; });
  return {hardware_, version_, shutting_down_};
}

absl::StatusOr<std::shared_ptr<const v1::Hardware>> LiveState::Resnapshot(bool remeasure) {
  absl::StatusOr<v1::Hardware> snapshot;
  {
    std::lock_guard<std::mutex> lock(source_mu_);
    snapshot = source_->Snapshot(remeasure);
  }
  if (!snapshot.ok()) return snapshot.status();
  auto shared = std::make_shared<const v1::Hardware>(*std::move(snapshot));
  Publish(shared);
  return shared;
}

void LiveState::Publish(std::shared_ptr<const v1::Hardware> hardware) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    hardware_ = std::move(hardware);
    ++version_;
  }
  changed_.notify_all();
}

void LiveState::RefreshOnce() {
  auto next = std::make_shared<v1::Hardware>(*Current().hardware);
  absl::Status status;
  {
    std::lock_guard<std::mutex> lock(source_mu_);
    status = source_->Refresh(*next);
  }
  if (!status.ok()) {
    log_->Warning("refresh from {} failed: {}", source_->Describe(), status.ToString());
    return;
  }
  // Readers wake only on a real change, so an idle machine costs one read per period.
  if (google::protobuf::util::MessageDifferencer::Equals(*next, *Current().hardware)) return;
  log_->Debug("hardware changed; publishing a new snapshot");
  Publish(std::move(next));
}

void LiveState::RefreshLoop(std::chrono::milliseconds period) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutting_down_) {
    if (changed_.wait_for(lock, period, [&] { return shutting_down_; })) break;
    lock.unlock();
    RefreshOnce();
    lock.lock();
  }
}

}  // namespace headroom::daemon
