#include "fit_watcher.h"

#include <chrono>
#include <utility>

#include "grpcpp/grpcpp.h"

namespace headroom::tray {

FitWatcher::FitWatcher(std::string endpoint, headroom::v1::WatchFitRequest request,
                       Callbacks callbacks)
    : endpoint_(std::move(endpoint)), request_(std::move(request)),
      callbacks_(std::move(callbacks)) {}

FitWatcher::~FitWatcher() { Stop(); }

void FitWatcher::Start() { thread_ = std::thread([this] { Run(); }); }

void FitWatcher::Stop() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (active_ != nullptr) active_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void FitWatcher::Run() {
  int backoff_ms = 250;
  bool was_connected = true;  // report the first failure too
  while (!stopping_) {
    auto channel = grpc::CreateChannel(endpoint_, grpc::InsecureChannelCredentials());
    auto stub = headroom::v1::FitService::NewStub(channel);
    grpc::ClientContext context;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
      active_ = &context;
    }
    std::string why;
    if (channel->WaitForConnected(std::chrono::system_clock::now() +
                                  std::chrono::milliseconds(1000))) {
      auto reader = stub->WatchFit(&context, request_);
      headroom::v1::FitEvent event;
      bool first = true;
      while (reader->Read(&event)) {
        if (first) {
          callbacks_.on_connected();
          first = false;
          was_connected = true;
          backoff_ms = 250;
        }
        callbacks_.on_event(event);
      }
      const grpc::Status status = reader->Finish();
      why = status.ok() ? "the daemon ended the stream" : status.error_message();
    } else {
      why = "no daemon answers at " + endpoint_;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      active_ = nullptr;
    }
    if (stopping_) break;
    if (was_connected) callbacks_.on_disconnected(why);
    was_connected = false;
    for (int waited = 0; waited < backoff_ms && !stopping_; waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    backoff_ms = std::min(backoff_ms * 2, 5000);
  }
}

}  // namespace headroom::tray
