#include "model_cache.h"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace headroom::engine {

struct ModelCache::Impl {
  size_t capacity = 1;
  mutable absl::Mutex mu;
  std::map<std::string, std::shared_ptr<const internal::PreparedResolved>> models
      ABSL_GUARDED_BY(mu);
  std::deque<std::string> order ABSL_GUARDED_BY(mu);  // insertion order, for eviction
};

ModelCache::ModelCache(size_t capacity) : impl_(std::make_unique<Impl>()) {
  impl_->capacity = std::max<size_t>(capacity, 1);
}
ModelCache::~ModelCache() = default;
size_t ModelCache::size() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->models.size();
}

namespace internal {
namespace {

std::string Key(const std::string& catalog_id, const catalog::FileTypeTraits& file_type) {
  return absl::StrCat(absl::AsciiStrToLower(catalog_id), "\n", std::string(file_type.name));
}

}  // namespace

std::shared_ptr<const PreparedResolved> Prepare(ResolvedModel model,
                                                const fit::PreparedModel* same_architecture) {
  auto out = std::make_shared<PreparedResolved>();
  out->prepared = std::make_shared<const fit::PreparedModel>(
      std::make_shared<const fit::ModelTensors>(std::move(model.tensors)), same_architecture);
  out->summary = std::move(model.summary);
  out->gguf_path = std::move(model.gguf_path);
  return out;
}

absl::StatusOr<std::shared_ptr<const PreparedResolved>> PreparedAtFileType(
    const ArchitectureSource& source, const catalog::FileTypeTraits& file_type,
    const std::string& catalog_id, const Context& context) {
  ModelCache* cache = catalog_id.empty() ? nullptr : context.model_cache;
  const std::string key = Key(catalog_id, file_type);
  // Another quant of the same model already cached lends its compute buffers (same graph).
  std::shared_ptr<const PreparedResolved> sibling;
  if (cache != nullptr) {
    ModelCache::Impl& c = cache->impl();
    absl::MutexLock lock(&c.mu);
    if (auto it = c.models.find(key); it != c.models.end()) return it->second;
    const std::string prefix = absl::StrCat(absl::AsciiStrToLower(catalog_id), "\n");
    auto it = c.models.lower_bound(prefix);
    if (it != c.models.end() && absl::StartsWith(it->first, prefix)) sibling = it->second;
  }
  absl::StatusOr<ResolvedModel> model = ModelAtFileType(source, file_type);
  if (!model.ok()) return model.status();
  std::shared_ptr<const PreparedResolved> prepared =
      Prepare(*std::move(model), sibling != nullptr ? sibling->prepared.get() : nullptr);
  if (cache != nullptr) {
    ModelCache::Impl& c = cache->impl();
    absl::MutexLock lock(&c.mu);
    auto [it, inserted] = c.models.emplace(key, prepared);
    if (!inserted) return it->second;  // another call prepared it meanwhile
    c.order.push_back(key);
    if (c.order.size() > c.capacity) {
      c.models.erase(c.order.front());
      c.order.pop_front();
    }
  }
  return prepared;
}

absl::StatusOr<std::shared_ptr<const PreparedResolved>> ResolvePrepared(
    const headroom::v1::ModelRef& ref, const Context& context, const std::string& field) {
  if (!ref.has_catalog_id()) {
    absl::StatusOr<ResolvedModel> model = ResolveModel(ref, context, field);
    if (!model.ok()) return model.status();
    return Prepare(*std::move(model));
  }
  absl::StatusOr<const catalog::FileTypeTraits*> ft =
      ParseFileType(ref.file_type(), absl::StrCat(field, ".file_type"));
  if (!ft.ok()) return ft.status();
  if (context.model_cache != nullptr) {
    ModelCache::Impl& c = context.model_cache->impl();
    absl::MutexLock lock(&c.mu);
    if (auto it = c.models.find(Key(ref.catalog_id(), **ft)); it != c.models.end()) {
      return it->second;
    }
  }
  absl::StatusOr<ArchitectureSource> source = ResolveArchitecture(ref, context, field);
  if (!source.ok()) return source.status();
  return PreparedAtFileType(*source, **ft, ref.catalog_id(), context);
}

}  // namespace internal
}  // namespace headroom::engine
