// daemon_peer_client: one Estimate call to headroomd, for tests that need a caller with other
// credentials than the test's own (peer_uid_test.cc runs it as another uid after fork). A
// separate program because a forked child of a process that already runs gRPC cannot use
// gRPC itself; this one creates its channel only after the test has dropped privileges.
//
//   daemon_peer_client ENDPOINT gguf_path|config_json_path|catalog_id VALUE
//
// Prints "<numeric status code> <message>" on one line; exit 0 when the call was made.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "headroom/v1/service.grpc.pb.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(
        stderr, "usage: daemon_peer_client ENDPOINT gguf_path|config_json_path|catalog_id VALUE\n");
    return 2;
  }
  const std::string field = argv[2];
  headroom::v1::EstimateRequest request;
  if (field == "gguf_path") {
    request.mutable_model()->set_gguf_path(argv[3]);
  } else if (field == "config_json_path") {
    request.mutable_model()->set_config_json_path(argv[3]);
  } else if (field == "catalog_id") {
    request.mutable_model()->set_catalog_id(argv[3]);
  } else {
    std::fprintf(stderr, "daemon_peer_client: unknown field %s\n", field.c_str());
    return 2;
  }
  auto stub = headroom::v1::FitService::NewStub(
      grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  headroom::v1::Estimate estimate;
  const grpc::Status status = stub->Estimate(&context, request, &estimate);
  std::printf("%d %s\n", static_cast<int>(status.error_code()), status.error_message().c_str());
  return 0;
}
