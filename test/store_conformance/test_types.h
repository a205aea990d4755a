#pragma once

// File: test_types.h
// Test-only resource types for store tests, independent of the real Kuma types: a global
// "TestMesh" and a mesh-scoped "TestItem", both with a JsonSpec (an arbitrary JSON value).
// Stores key types by descriptor name, so these never collide with real types.

#include <map>
#include <memory>
#include <string>

#include "kuma/model/resource.h"
#include "kuma/store/resource_store.h"
#include "nlohmann/json.hpp"

namespace kuma::store::conformance {

/** A Spec holding one JSON value; equality is JSON equality. Immutable. */
class JsonSpec final : public model::Spec {
 public:
  explicit JsonSpec(nlohmann::json value) : value_(std::move(value)) {}

  const nlohmann::json& value() const { return value_; }

  // kuma::model::Spec
  nlohmann::ordered_json toJson() const override;
  bool equals(const model::Spec& other) const override;

 private:
  const nlohmann::json value_;
};

/** A shared JsonSpec. */
model::SpecConstSharedPtr jsonSpec(nlohmann::json value);

/** The JSON value of a resource whose spec is a JsonSpec; null JSON otherwise. */
nlohmann::json jsonOf(const model::Resource& resource);

/**
 * A descriptor with a JsonSpec parser, no validation and no defaults. The result has process
 * lifetime expectations: keep it alive as long as any store holds resources of that type.
 */
model::ResourceTypeDescriptor makeJsonDescriptor(std::string name, std::string wsPath,
                                                 model::Scope scope);

/** The global "TestMesh" type (process lifetime). */
const model::ResourceTypeDescriptor& testMeshType();
/** The mesh-scoped "TestItem" type (process lifetime). */
const model::ResourceTypeDescriptor& testItemType();

/** A resource of `type` ready to be created. */
model::Resource makeResource(const model::ResourceTypeDescriptor& type, std::string mesh,
                             std::string name, nlohmann::json spec = nlohmann::json::object(),
                             std::map<std::string, std::string> labels = {});

/** Option builders (designated initializers trip -Wmissing-field-initializers on g++ 12). */
ListOptions listOptions(std::string mesh = "", std::string nameContains = "",
                        std::map<std::string, std::string> labels = {}, size_t pageSize = 0,
                        size_t offset = 0);
CreateOptions ownedBy(const model::ResourceTypeDescriptor* type, ResourceKey key);

}  // namespace kuma::store::conformance
