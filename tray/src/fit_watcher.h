// Keeps a FitService.WatchFit stream open to the daemon on its own thread and reconnects
// (backing off up to 5 s) whenever the daemon goes away. Callbacks run on that thread; the
// tray hands them to its main loop. Start once, Stop from any thread (joins).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "headroom/v1/service.grpc.pb.h"

namespace headroom::tray {

class FitWatcher {
 public:
  struct Callbacks {
    std::function<void()> on_connected;
    std::function<void(const headroom::v1::FitEvent&)> on_event;
    std::function<void(const std::string& why)> on_disconnected;
  };

  FitWatcher(std::string endpoint, headroom::v1::WatchFitRequest request, Callbacks callbacks);
  ~FitWatcher();
  FitWatcher(const FitWatcher&) = delete;
  FitWatcher& operator=(const FitWatcher&) = delete;

  void Start();
  void Stop();

 private:
  void Run();

  const std::string endpoint_;
  const headroom::v1::WatchFitRequest request_;
  const Callbacks callbacks_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  grpc::ClientContext* active_ = nullptr;  // guarded by mu_: the stream to cancel on Stop
  std::thread thread_;
};

}  // namespace headroom::tray
