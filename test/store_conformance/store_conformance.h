#pragma once

// File: store_conformance.h
// The conformance suite every ResourceStore backend must pass. A backend plugs in with one line
// in its own test binary (linking kuma::store_conformance):
//
//   INSTANTIATE_STORE_CONFORMANCE(Memory, [] { return kuma::memory::newMemoryStore(); });
//
// The factory is called once per test and must return an *empty* store (a database-backed
// factory wipes its tables first). The suite only uses its own test types (test_types.h), and
// never assumes a version format: versions are opaque strings that change on every update.
// Change events may arrive asynchronously; the suite waits for them with a bounded timeout.

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "gtest/gtest.h"
#include "kuma/store/resource_store.h"
#include "test/store_conformance/test_types.h"

namespace kuma::store::conformance {

/** Makes a fresh, empty store for one test. */
using StoreFactory = std::function<ResourceStorePtr()>;

/** The suite's parameter: a backend name (for test output) and its factory. */
struct StoreBackend {
  std::string name;
  StoreFactory factory;
  /**
   * Names are unique per type across meshes (Kuma's Kubernetes store: the mesh is an attribute
   * of the object, not part of its name), so creating a taken name in another mesh is
   * AlreadyExists and getting it through the other mesh NotFound.
   */
  bool namesUniquePerType = false;
  /**
   * Reads back the label `kuma.io/display-name` (the object's name) on resources written without
   * it, as Kuma's Kubernetes store does for custom resources.
   */
  bool displayNameLabel = false;
  friend void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }
};

/** The parameterized fixture; the parameter is the backend. */
class StoreConformanceTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  ResourceStore& store() { return *store_; }

  /** Creates a TestMesh named `name`; fails the test on error. */
  model::ResourceConstSharedPtr mustCreateMesh(const std::string& name);
  /** Creates a TestItem; fails the test on error. */
  model::ResourceConstSharedPtr mustCreateItem(const std::string& mesh, const std::string& name,
                                               nlohmann::json spec = nlohmann::json::object(),
                                               std::map<std::string, std::string> labels = {},
                                               std::optional<TypedResourceKey> owner = {});

 private:
  ResourceStorePtr store_;
};

/**
 * Forces the linker to keep the suite's test definitions (they live in a static library and
 * nothing else references them). Called by INSTANTIATE_STORE_CONFORMANCE.
 */
int linkStoreConformanceSuite();

}  // namespace kuma::store::conformance

/**
 * Runs the whole conformance suite against a backend.
 * @param Name a CamelCase prefix for the test names (e.g. Memory, Postgres).
 * @param ... a callable returning kuma::store::ResourceStorePtr (a fresh empty store).
 * Use at global namespace scope.
 */
#define INSTANTIATE_STORE_CONFORMANCE(Name, ...) \
  INSTANTIATE_STORE_CONFORMANCE_BACKEND(Name, StoreBackend{#Name, StoreFactory(__VA_ARGS__)})

/** The same with a whole StoreBackend expression (to set its flags). */
#define INSTANTIATE_STORE_CONFORMANCE_BACKEND(Name, ...)                               \
  namespace kuma::store::conformance {                                                 \
  [[maybe_unused]] static const int kuma_store_conformance_link_##Name =               \
      linkStoreConformanceSuite();                                                     \
  INSTANTIATE_TEST_SUITE_P(Name, StoreConformanceTest, ::testing::Values(__VA_ARGS__), \
                           [](const ::testing::TestParamInfo<StoreBackend>& info) {    \
                             return info.param.name;                                   \
                           });                                                         \
  }
