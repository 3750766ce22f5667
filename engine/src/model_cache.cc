#include "model_cache.h"

#include <sys/stat.h>

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

// Looks up `key`; null when absent or there is no cache.
std::shared_ptr<const PreparedResolved> Find(ModelCache* cache, const std::string& key) {
  if (cache == nullptr) return nullptr;
  ModelCache::Impl& c = cache->impl();
  absl::MutexLock lock(&c.mu);
  auto it = c.models.find(key);
  return it == c.models.end() ? nullptr : it->second;
}

// Keeps `model` under `key` (the oldest entry goes past the capacity); returns what the cache
// holds under `key` (another call may have put it there first).
std::shared_ptr<const PreparedResolved> Keep(ModelCache* cache, const std::string& key,
                                             std::shared_ptr<const PreparedResolved> model) {
  if (cache == nullptr) return model;
  ModelCache::Impl& c = cache->impl();
  absl::MutexLock lock(&c.mu);
  auto [it, inserted] = c.models.emplace(key, model);
  if (!inserted) return it->second;
  c.order.push_back(key);
  if (c.order.size() > c.capacity) {
    c.models.erase(c.order.front());
    c.order.pop_front();
  }
  return model;
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
  return Keep(cache, key, std::move(prepared));
}

absl::StatusOr<std::shared_ptr<const PreparedResolved>> PreparedFromGgufFile(
    const std::string& path, const Context& context, const std::string& field) {
  if (absl::Status s = CheckPathsAllowed(context, field); !s.ok()) return s;
  // The file's identity and age before it is read: if it changes while being read, the next
  // request sees another identity and reads it again.
  std::string key;
  struct stat st {};
  if (context.model_cache != nullptr && !path.empty() && ::stat(path.c_str(), &st) == 0 &&
      S_ISREG(st.st_mode)) {
    key = absl::StrCat("file\n", path, "\n", st.st_dev, ":", st.st_ino, ":", st.st_size, ":",
                       st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec);
    if (std::shared_ptr<const PreparedResolved> hit = Find(context.model_cache, key)) return hit;
  }
  absl::StatusOr<ResolvedModel> model = ModelFromGgufFile(path, context, field);
  if (!model.ok()) return model.status();
  const bool split = std::any_of(model->tensors.tensors.begin(), model->tensors.tensors.end(),
                                 [](const fit::WeightTensor& t) { return t.shard != 0; });
  std::shared_ptr<const PreparedResolved> prepared = Prepare(*std::move(model));
  if (key.empty() || split) return prepared;
  return Keep(context.model_cache, key, std::move(prepared));
}

absl::StatusOr<std::shared_ptr<const PreparedResolved>> ResolvePrepared(
    const headroom::v1::ModelRef& ref, const Context& context, const std::string& field) {
  if (ref.source_case() == headroom::v1::ModelRef::kGgufPath) {
    return PreparedFromGgufFile(ref.gguf_path(), context, absl::StrCat(field, ".gguf_path"));
  }
  if (!ref.has_catalog_id()) {
    absl::StatusOr<ResolvedModel> model = ResolveModel(ref, context, field);
    if (!model.ok()) return model.status();
    return Prepare(*std::move(model));
  }
  absl::StatusOr<const catalog::FileTypeTraits*> ft =
      ParseFileType(ref.file_type(), absl::StrCat(field, ".file_type"));
  if (!ft.ok()) return ft.status();
  if (std::shared_ptr<const PreparedResolved> hit =
          Find(context.model_cache, Key(ref.catalog_id(), **ft))) {
    return hit;
  }
  absl::StatusOr<ArchitectureSource> source = ResolveArchitecture(ref, context, field);
  if (!source.ok()) return source.status();
  return PreparedAtFileType(*source, **ft, ref.catalog_id(), context);
}

}  // namespace internal
}  // namespace headroom::engine
