// Server reflection as grpcurl uses it, from a client that has no compiled headroom stubs:
// list the services, fetch the file descriptors for FitService and rebuild them into a
// descriptor pool, then check the methods and their documented request fields.
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include <set>

#include "daemon_harness.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace headroom::daemon_test {
namespace {

namespace refl = grpc::reflection::v1alpha;
using ::testing::IsSupersetOf;

class ReflectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(daemon_.ok()) << daemon_.process().Log();
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    stream_ = refl::ServerReflection::NewStub(daemon_.channel())->ServerReflectionInfo(&context_);
  }

  refl::ServerReflectionResponse Ask(const refl::ServerReflectionRequest& request) {
    refl::ServerReflectionResponse response;
    EXPECT_TRUE(stream_->Write(request));
    EXPECT_TRUE(stream_->Read(&response));
    return response;
  }

  // Adds the file holding `symbol` and (through its dependencies) everything it imports.
  void LoadSymbol(const std::string& symbol) {
    refl::ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    refl::ServerReflectionResponse response = Ask(request);
    ASSERT_TRUE(response.has_file_descriptor_response())
        << response.error_response().error_message();
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      ASSERT_TRUE(file.ParseFromString(bytes));
      files_[file.name()] = file;
    }
  }

  // Builds files in dependency order, fetching missing imports by name.
  const google::protobuf::FileDescriptor* Build(const std::string& name) {
    if (const auto* built = pool_.FindFileByName(name)) return built;
    if (files_.count(name) == 0) {
      refl::ServerReflectionRequest request;
      request.set_file_by_filename(name);
      refl::ServerReflectionResponse response = Ask(request);
      for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
        google::protobuf::FileDescriptorProto file;
        if (file.ParseFromString(bytes)) files_[file.name()] = file;
      }
    }
    if (files_.count(name) == 0) return nullptr;
    for (const std::string& dependency : files_[name].dependency()) {
      if (Build(dependency) == nullptr) return nullptr;
    }
    return pool_.BuildFile(files_[name]);
  }

  TestDaemon daemon_;
  grpc::ClientContext context_;
  std::unique_ptr<
      grpc::ClientReaderWriter<refl::ServerReflectionRequest, refl::ServerReflectionResponse>>
      stream_;
  std::map<std::string, google::protobuf::FileDescriptorProto> files_;
  google::protobuf::DescriptorPool pool_;
};

TEST_F(ReflectionTest, ListsEveryService) {
  refl::ServerReflectionRequest request;
  request.set_list_services("*");
  refl::ServerReflectionResponse response = Ask(request);
  std::set<std::string> names;
  for (const refl::ServiceResponse& s : response.list_services_response().service()) {
    names.insert(s.name());
  }
  EXPECT_THAT(names,
              IsSupersetOf({"headroom.v1.HardwareService", "headroom.v1.FitService",
                            "headroom.v1.CatalogService", "headroom.v1.RunReportService",
                            "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}));
  stream_->WritesDone();
  EXPECT_TRUE(stream_->Finish().ok());
}

TEST_F(ReflectionTest, DescribesFitServiceWithItsComments) {
  LoadSymbol("headroom.v1.FitService");
  ASSERT_NE(Build("headroom/v1/service.proto"), nullptr);
  const google::protobuf::ServiceDescriptor* fit =
      pool_.FindServiceByName("headroom.v1.FitService");
  ASSERT_NE(fit, nullptr);
  for (const char* method : {"Estimate", "Recommend", "WatchFit"}) {
    EXPECT_NE(fit->FindMethodByName(method), nullptr) << method;
  }
  const google::protobuf::MethodDescriptor* estimate = fit->FindMethodByName("Estimate");
  EXPECT_EQ(estimate->input_type()->full_name(), "headroom.v1.EstimateRequest");
  EXPECT_NE(estimate->input_type()->FindFieldByName("model"), nullptr);
  EXPECT_TRUE(fit->FindMethodByName("WatchFit")->server_streaming());
  // The proto comments travel with the descriptors (grpcurl describe shows them).
  google::protobuf::SourceLocation location;
  ASSERT_TRUE(estimate->GetSourceLocation(&location));
  EXPECT_THAT(location.leading_comments, ::testing::HasSubstr("verdict"));
  google::protobuf::SourceLocation field_location;
  ASSERT_TRUE(estimate->input_type()->FindFieldByName("model")->GetSourceLocation(&field_location));
  EXPECT_THAT(field_location.leading_comments, ::testing::HasSubstr("Required"));
  refl::ServerReflectionRequest unknown;
  unknown.set_file_containing_symbol("headroom.v1.NoSuchThing");
  EXPECT_EQ(Ask(unknown).error_response().error_code(),
            static_cast<int>(grpc::StatusCode::NOT_FOUND));
  stream_->WritesDone();
  EXPECT_TRUE(stream_->Finish().ok());
}

}  // namespace
}  // namespace headroom::daemon_test
