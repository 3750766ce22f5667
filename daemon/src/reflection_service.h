// gRPC server reflection (grpc.reflection.v1alpha) served from descriptors that keep their
// source comments. libgrpc++_reflection serves the generated pool, whose descriptors have no
// SourceCodeInfo, so `grpcurl describe` would show no documentation; this service serves a
// FileDescriptorSet that protoc wrote with --include_source_info at build time and that is
// compiled into the binary. Thread-safe (immutable after construction).
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace headroom::daemon {

class ReflectionService final : public grpc::reflection::v1alpha::ServerReflection::Service {
 public:
  // `descriptor_set`: a serialized FileDescriptorSet holding every file the services use.
  // `services`: full names the daemon serves (ListServices answers them).
  static absl::StatusOr<std::unique_ptr<ReflectionService>> Create(
      const std::string& descriptor_set, std::vector<std::string> services);

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::reflection::v1alpha::ServerReflectionResponse,
                               grpc::reflection::v1alpha::ServerReflectionRequest>* stream)
      override;

 private:
  ReflectionService(std::vector<std::string> services);
  grpc::reflection::v1alpha::ServerReflectionResponse Answer(
      const grpc::reflection::v1alpha::ServerReflectionRequest& request) const;
  // The file and everything it imports, as serialized FileDescriptorProtos (source info kept).
  void AddFileWithImports(const std::string& name,
                          grpc::reflection::v1alpha::FileDescriptorResponse* out) const;

  std::vector<std::string> services_;
  google::protobuf::SimpleDescriptorDatabase database_;
  std::map<std::string, google::protobuf::FileDescriptorProto> files_;  // by file name
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;              // over database_
};

}  // namespace headroom::daemon
