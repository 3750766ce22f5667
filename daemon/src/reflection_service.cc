#include "reflection_service.h"

#include <google/protobuf/descriptor.pb.h>

#include <set>

#include "absl/strings/str_cat.h"

namespace headroom::daemon {

namespace refl = grpc::reflection::v1alpha;
namespace pb = google::protobuf;

ReflectionService::ReflectionService(std::vector<std::string> services)
    : services_(std::move(services)) {}

absl::StatusOr<std::unique_ptr<ReflectionService>> ReflectionService::Create(
    const std::string& descriptor_set, std::vector<std::string> services) {
  pb::FileDescriptorSet set;
  if (!set.ParseFromString(descriptor_set)) {
    return absl::InternalError("reflection: the embedded descriptor set does not parse");
  }
  std::unique_ptr<ReflectionService> service(new ReflectionService(std::move(services)));
  for (const pb::FileDescriptorProto& file : set.file()) {
    if (!service->database_.Add(file)) {
      return absl::InternalError(absl::StrCat("reflection: cannot add ", file.name()));
    }
    service->files_[file.name()] = file;
  }
  service->pool_ = std::make_unique<pb::DescriptorPool>(&service->database_);
  for (const std::string& name : service->services_) {
    if (service->pool_->FindServiceByName(name) == nullptr) {
      return absl::InternalError(absl::StrCat("reflection: no descriptor for service ", name));
    }
  }
  return service;
}

void ReflectionService::AddFileWithImports(const std::string& name,
                                           refl::FileDescriptorResponse* out) const {
  std::set<std::string> seen;
  std::vector<std::string> pending = {name};
  while (!pending.empty()) {
    const std::string next = pending.back();
    pending.pop_back();
    if (!seen.insert(next).second) continue;
    auto it = files_.find(next);
    if (it == files_.end()) continue;
    const pb::FileDescriptorProto& file = it->second;
    out->add_file_descriptor_proto(file.SerializeAsString());
    for (const std::string& import : file.dependency()) pending.push_back(import);
  }
}

refl::ServerReflectionResponse ReflectionService::Answer(
    const refl::ServerReflectionRequest& request) const {
  refl::ServerReflectionResponse response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  auto not_found = [&](const std::string& what) {
    response.mutable_error_response()->set_error_code(
        static_cast<int>(grpc::StatusCode::NOT_FOUND));
    response.mutable_error_response()->set_error_message(what);
  };
  switch (request.message_request_case()) {
    case refl::ServerReflectionRequest::kListServices:
      for (const std::string& name : services_) {
        response.mutable_list_services_response()->add_service()->set_name(name);
      }
      break;
    case refl::ServerReflectionRequest::kFileByFilename:
      if (pool_->FindFileByName(request.file_by_filename()) == nullptr) {
        not_found(absl::StrCat("file_by_filename: no file \"", request.file_by_filename(), "\""));
      } else {
        AddFileWithImports(request.file_by_filename(), response.mutable_file_descriptor_response());
      }
      break;
    case refl::ServerReflectionRequest::kFileContainingSymbol: {
      const pb::FileDescriptor* file =
          pool_->FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) {
        not_found(absl::StrCat("file_containing_symbol: no symbol \"",
                               request.file_containing_symbol(), "\""));
      } else {
        AddFileWithImports(file->name(), response.mutable_file_descriptor_response());
      }
      break;
    }
    case refl::ServerReflectionRequest::kFileContainingExtension: {
      const refl::ExtensionRequest& ext = request.file_containing_extension();
      const pb::Descriptor* type = pool_->FindMessageTypeByName(ext.containing_type());
      const pb::FieldDescriptor* field =
          type == nullptr ? nullptr : pool_->FindExtensionByNumber(type, ext.extension_number());
      if (field == nullptr) {
        not_found(absl::StrCat("file_containing_extension: no extension ", ext.extension_number(),
                               " of \"", ext.containing_type(), "\""));
      } else {
        AddFileWithImports(field->file()->name(), response.mutable_file_descriptor_response());
      }
      break;
    }
    case refl::ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const pb::Descriptor* type =
          pool_->FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr) {
        not_found(absl::StrCat("all_extension_numbers_of_type: no message \"",
                               request.all_extension_numbers_of_type(), "\""));
        break;
      }
      std::vector<const pb::FieldDescriptor*> extensions;
      pool_->FindAllExtensions(type, &extensions);
      auto* numbers = response.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->full_name());
      for (const pb::FieldDescriptor* e : extensions) numbers->add_extension_number(e->number());
      break;
    }
    case refl::ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      response.mutable_error_response()->set_error_code(
          static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
      response.mutable_error_response()->set_error_message("message_request: required");
      break;
  }
  return response;
}

grpc::Status ReflectionService::ServerReflectionInfo(
    grpc::ServerContext* /*context*/,
    grpc::ServerReaderWriter<refl::ServerReflectionResponse, refl::ServerReflectionRequest>*
        stream) {
  refl::ServerReflectionRequest request;
  while (stream->Read(&request)) {
    if (!stream->Write(Answer(request))) break;
  }
  return grpc::Status::OK;
}

}  // namespace headroom::daemon
