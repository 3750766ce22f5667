#include <chrono>
#include <cstdlib>

#include "services.h"

namespace headroom::daemon {
namespace {

namespace v1 = headroom::v1;

constexpr uint64_t kDefaultMinChangeBytes = 64ull << 20;
// How often a blocked stream checks whether its client went away.
constexpr std::chrono::milliseconds kCancelPoll{500};

uint64_t Distance(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

// A device appeared or vanished, or free memory somewhere moved by at least `min_change`.
bool WorthSending(const v1::Hardware& sent, const v1::Hardware& now, uint64_t min_change) {
  if (sent.gpus_size() != now.gpus_size()) return true;
  for (int i = 0; i < now.gpus_size(); ++i) {
    if (sent.gpus(i).name() != now.gpus(i).name() ||
        sent.gpus(i).pci_address() != now.gpus(i).pci_address()) {
      return true;
    }
    if (Distance(sent.gpus(i).memory_free_bytes(), now.gpus(i).memory_free_bytes()) >= min_change) {
      return true;
    }
  }
  return Distance(sent.ram().available_bytes(), now.ram().available_bytes()) >= min_change;
}

}  // namespace

grpc::Status HardwareServiceImpl::Get(grpc::ServerContext* /*context*/,
                                      const v1::GetHardwareRequest* request,
                                      v1::Hardware* response) {
  if (request->remeasure_bandwidth()) {
    absl::StatusOr<std::shared_ptr<const v1::Hardware>> fresh = deps_.live->Resnapshot(true);
    if (!fresh.ok()) return ToGrpc(fresh.status());
    *response = **fresh;
    return grpc::Status::OK;
  }
  const Published now = deps_.live->Current();
  if (now.shutting_down) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "headroomd is shutting down");
  }
  *response = *now.hardware;
  return grpc::Status::OK;
}

grpc::Status HardwareServiceImpl::Watch(grpc::ServerContext* context,
                                        const v1::WatchHardwareRequest* request,
                                        grpc::ServerWriter<v1::Hardware>* writer) {
  const uint64_t min_change =
      request->min_change_bytes() == 0 ? kDefaultMinChangeBytes : request->min_change_bytes();
  Published now = deps_.live->Current();
  std::shared_ptr<const v1::Hardware> sent;
  while (!now.shutting_down && !context->IsCancelled()) {
    if (sent == nullptr || WorthSending(*sent, *now.hardware, min_change)) {
      if (!writer->Write(*now.hardware)) return grpc::Status::OK;  // the client left
      sent = now.hardware;
    }
    now = deps_.live->WaitNewer(now.version, kCancelPoll);
  }
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "headroomd is shutting down");
}

}  // namespace headroom::daemon
