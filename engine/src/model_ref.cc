#include "model_ref.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "headroom/catalog/gguf.h"
#include "headroom/catalog/gguf_inspect.h"
#include "headroom/catalog/hf_config.h"
#include "headroom/catalog/quant_plan.h"
#include "headroom/catalog/tensor_layout.h"

namespace headroom::engine::internal {
namespace {

namespace v1 = headroom::v1;

constexpr std::string_view kDefaultFileType = "Q4_K_M";

uint64_t SumTensorBytes(const fit::ModelTensors& model) {
  uint64_t sum = 0;
  for (const fit::WeightTensor& t : model.tensors) sum += t.bytes;
  return sum;
}

uint32_t ContextLength(const v1::Architecture& arch) {
  return arch.context_length() > UINT32_MAX ? UINT32_MAX
                                            : static_cast<uint32_t>(arch.context_length());
}

// config.json files are usually named config.json inside the model's directory, so the
// directory names the model; a renamed file names it by its stem.
std::string IdFromConfigPath(const std::string& path) {
  const std::filesystem::path p(path);
  if (p.filename() == "config.json" && p.has_parent_path() && !p.parent_path().filename().empty()) {
    return p.parent_path().filename().string();
  }
  return p.stem().string();
}

absl::StatusOr<ArchitectureSource> FromCatalog(const std::string& id, const Context& context,
                                               const std::string& field) {
  if (context.catalog == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(field, ": no model catalog loaded"));
  }
  const v1::ModelSpec* spec = context.catalog->FindModel(id);
  if (spec == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(field, ": no catalog model \"", id, "\" (see `headroom models`)"));
  }
  ArchitectureSource source{.arch = spec->architecture(),
                            .id = spec->id(),
                            .name = spec->name(),
                            .file_types = {spec->file_types().begin(), spec->file_types().end()}};
  return source;
}

absl::StatusOr<ArchitectureSource> FromInline(const v1::Architecture& arch,
                                              const std::string& field) {
  // The catalog's validator checks what the tensor layout needs (heads divide, MoE and MLA
  // blocks complete); it wants a whole entry, so the architecture is wrapped in one.
  v1::ModelSpec spec;
  spec.set_id("inline");
  spec.set_name("inline");
  spec.mutable_published()->set_total(1);
  *spec.mutable_architecture() = arch;
  if (absl::Status s = catalog::ValidateModel(spec); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", s.message()));
  }
  return ArchitectureSource{.arch = arch,
                            .id = arch.family().empty() ? "inline" : "inline-" + arch.family(),
                            .name = "inline architecture",
                            .file_types = {}};
}

}  // namespace

absl::Status CheckPathsAllowed(const Context& context, const std::string& field) {
  if (context.allow_paths) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(field, ": files are opened only for a local peer with the daemon's uid"));
}

absl::Status Annotate(const absl::Status& status, const std::string& field) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(field, ": ", status.message()));
}

absl::StatusOr<const catalog::FileTypeTraits*> ParseFileType(const std::string& name,
                                                             const std::string& field) {
  const std::string_view wanted = name.empty() ? kDefaultFileType : std::string_view(name);
  const catalog::FileTypeTraits* ft = catalog::FindFileTypeByName(wanted);
  if (ft == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": unknown file type \"", name, "\" (e.g. Q4_K_M, Q8_0, F16)"));
  }
  return ft;
}

absl::StatusOr<ArchitectureSource> ResolveArchitecture(const v1::ModelRef& ref,
                                                       const Context& context,
                                                       const std::string& field) {
  switch (ref.source_case()) {
    case v1::ModelRef::kCatalogId:
      return FromCatalog(ref.catalog_id(), context, absl::StrCat(field, ".catalog_id"));
    case v1::ModelRef::kConfigJsonPath: {
      const std::string f = absl::StrCat(field, ".config_json_path");
      if (absl::Status s = CheckPathsAllowed(context, f); !s.ok()) return s;
      absl::StatusOr<v1::Architecture> arch = catalog::ReadHfConfigFile(ref.config_json_path());
      if (!arch.ok()) return Annotate(arch.status(), f);
      absl::StatusOr<ArchitectureSource> source = FromInline(*arch, f);
      if (!source.ok()) return source.status();
      source->id = IdFromConfigPath(ref.config_json_path());
      source->name = absl::StrCat(arch->family(), " (", ref.config_json_path(), ")");
      return source;
    }
    case v1::ModelRef::kArchitecture:
      return FromInline(ref.architecture(), absl::StrCat(field, ".architecture"));
    case v1::ModelRef::kGgufPath:
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".gguf_path: a file has its own tensors, not an architecture"));
    case v1::ModelRef::SOURCE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": required (catalog_id, gguf_path, config_json_path or architecture)"));
}

absl::StatusOr<ResolvedModel> ModelAtFileType(const ArchitectureSource& source,
                                              const catalog::FileTypeTraits& file_type) {
  absl::StatusOr<std::vector<catalog::PlannedTensor>> plan =
      catalog::PlanQuantization(source.arch, file_type.id);
  if (!plan.ok())
    return Annotate(plan.status(), absl::StrCat(source.id, " at ", std::string(file_type.name)));
  absl::StatusOr<fit::ModelTensors> tensors = fit::ModelFromPlan(source.arch, *plan);
  if (!tensors.ok()) return tensors.status();
  absl::StatusOr<v1::ParameterCount> params = catalog::CountParameters(source.arch);
  if (!params.ok()) return Annotate(params.status(), source.id);

  ResolvedModel model;
  model.tensors = *std::move(tensors);
  v1::ModelSummary& s = model.summary;
  s.set_id(source.id);
  s.set_name(source.name);
  s.set_file_type(std::string(file_type.name));
  s.set_parameters(params->total());
  s.set_active_parameters(params->active());
  s.set_weights_bytes(SumTensorBytes(model.tensors));
  s.set_context_length(ContextLength(source.arch));
  return model;
}

absl::StatusOr<ResolvedModel> ModelFromGgufFile(const std::string& path, const Context& context,
                                                const std::string& field) {
  if (absl::Status s = CheckPathsAllowed(context, field); !s.ok()) return s;
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": empty path"));
  absl::StatusOr<catalog::GgufModel> file = catalog::ReadGgufModel(path);
  if (!file.ok()) return Annotate(file.status(), field);
  absl::StatusOr<v1::GgufInspection> inspection =
      catalog::InspectGguf(*file, {.include_tensors = true});
  if (!inspection.ok()) return Annotate(inspection.status(), field);
  absl::StatusOr<fit::ModelTensors> tensors = fit::ModelFromInspection(*inspection);
  if (!tensors.ok()) return Annotate(tensors.status(), field);

  ResolvedModel model;
  model.tensors = *std::move(tensors);
  model.gguf_path = path;
  v1::ModelSummary& s = model.summary;
  s.set_id(std::filesystem::path(path).filename().string());
  s.set_name(inspection->name().empty() ? inspection->architecture() : inspection->name());
  s.set_file_type(inspection->file_type());
  s.set_parameters(inspection->parameters());
  s.set_active_parameters(inspection->active_parameters() > 0 ? inspection->active_parameters()
                                                              : inspection->parameters());
  s.set_weights_bytes(inspection->tensor_bytes());
  s.set_context_length(ContextLength(inspection->hparams()));
  return model;
}

absl::StatusOr<ResolvedModel> ResolveModel(const v1::ModelRef& ref, const Context& context,
                                           const std::string& field) {
  if (ref.source_case() == v1::ModelRef::kGgufPath) {
    return ModelFromGgufFile(ref.gguf_path(), context, absl::StrCat(field, ".gguf_path"));
  }
  absl::StatusOr<const catalog::FileTypeTraits*> ft =
      ParseFileType(ref.file_type(), absl::StrCat(field, ".file_type"));
  if (!ft.ok()) return ft.status();
  absl::StatusOr<ArchitectureSource> source = ResolveArchitecture(ref, context, field);
  if (!source.ok()) return source.status();
  return ModelAtFileType(*source, **ft);
}

}  // namespace headroom::engine::internal
