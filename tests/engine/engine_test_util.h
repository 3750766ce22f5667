// Shared pieces of the engine tests: the built-in catalog, request builders, invariants.
#pragma once

#include <string>

#include "gtest/gtest.h"
#include "headroom/catalog/catalog.h"
#include "headroom/engine/engine.h"
#include "headroom/v1/fit.pb.h"
#include "test_util.h"

namespace headroom::engine::testing {

inline constexpr uint64_t kGiB = uint64_t{1} << 30;
inline constexpr uint64_t kMiB = uint64_t{1} << 20;

// Loaded once per test binary; immutable afterwards.
inline const catalog::Catalog& BuiltinCatalog() {
  static const catalog::Catalog* const kCatalog = [] {
    absl::StatusOr<catalog::Catalog> c = catalog::Catalog::LoadBuiltin();
    EXPECT_TRUE(c.ok()) << c.status();
    return new catalog::Catalog(c.ok() ? *std::move(c) : catalog::Catalog());
  }();
  return *kCatalog;
}

inline Context DefaultContext() {
  Context c;
  c.catalog = &BuiltinCatalog();
  return c;
}

inline std::string ModelFile(const std::string& name) {
  return headroom::testing::FixturePath("groundtruth/models/" + name);
}

// A hypothetical machine of `count` cards of `gpu` and `ram_gib` GiB of RAM.
inline headroom::v1::HardwareRef Hypothetical(const std::string& gpu, int count,
                                              uint64_t ram_gib = 64) {
  headroom::v1::HardwareRef ref;
  headroom::v1::HypotheticalMachine& m = *ref.mutable_hypothetical();
  for (int i = 0; i < count; ++i) m.add_gpu_ids(gpu);
  m.set_ram_bytes(ram_gib * kGiB);
  return ref;
}

inline uint64_t SumOfParts(const headroom::v1::DeviceUsage& d) {
  return d.weights_bytes() + d.kv_cache_bytes() + d.compute_bytes() + d.output_bytes() +
         d.overhead_bytes();
}

// Every total in the message is the sum of its printed parts.
inline void ExpectSumsOfParts(const headroom::v1::Estimate& e) {
  for (const headroom::v1::DeviceUsage& d : e.devices()) {
    EXPECT_EQ(d.total_bytes(), SumOfParts(d)) << d.name();
  }
  EXPECT_EQ(e.host().total_bytes(), SumOfParts(e.host()));
}

inline uint64_t TotalKv(const headroom::v1::Estimate& e) {
  uint64_t kv = e.host().kv_cache_bytes();
  for (const headroom::v1::DeviceUsage& d : e.devices()) kv += d.kv_cache_bytes();
  return kv;
}

inline uint32_t TotalLayers(const headroom::v1::Estimate& e) {
  uint32_t layers = e.host().layers();
  for (const headroom::v1::DeviceUsage& d : e.devices()) layers += d.layers();
  return layers;
}

}  // namespace headroom::engine::testing
