#include "test/store_conformance/test_types.h"

namespace kuma::store::conformance {

nlohmann::ordered_json JsonSpec::toJson() const {
  return nlohmann::ordered_json(value_);
}

bool JsonSpec::equals(const model::Spec& other) const {
  const auto* o = dynamic_cast<const JsonSpec*>(&other);
  return o != nullptr && o->value_ == value_;
}

model::SpecConstSharedPtr jsonSpec(nlohmann::json value) {
  return std::make_shared<const JsonSpec>(std::move(value));
}

nlohmann::json jsonOf(const model::Resource& resource) {
  const auto* spec = dynamic_cast<const JsonSpec*>(resource.spec.get());
  return spec == nullptr ? nlohmann::json() : spec->value();
}

model::ResourceTypeDescriptor makeJsonDescriptor(std::string name, std::string wsPath,
                                                 model::Scope scope) {
  model::ResourceTypeDescriptor d;
  d.name = std::move(name);
  d.wsPath = std::move(wsPath);
  d.singularDisplayName = d.name;
  d.pluralDisplayName = d.name + "s";
  d.scope = scope;
  d.parseSpec = [](const nlohmann::json& object) -> absl::StatusOr<model::SpecConstSharedPtr> {
    return jsonSpec(object);
  };
  d.emptySpec = [] { return jsonSpec(nlohmann::json::object()); };
  return d;
}

const model::ResourceTypeDescriptor& testMeshType() {
  static const auto* type = new model::ResourceTypeDescriptor(
      makeJsonDescriptor("TestMesh", "testmeshes", model::Scope::Global));
  return *type;
}

const model::ResourceTypeDescriptor& testItemType() {
  static const auto* type = new model::ResourceTypeDescriptor(
      makeJsonDescriptor("TestItem", "testitems", model::Scope::Mesh));
  return *type;
}

model::Resource makeResource(const model::ResourceTypeDescriptor& type, std::string mesh,
                             std::string name, nlohmann::json spec,
                             std::map<std::string, std::string> labels) {
  model::Resource r;
  r.descriptor = &type;
  r.meta.name = std::move(name);
  r.meta.mesh = std::move(mesh);
  r.meta.labels = std::move(labels);
  r.spec = jsonSpec(std::move(spec));
  return r;
}

ListOptions listOptions(std::string mesh, std::string nameContains,
                        std::map<std::string, std::string> labels, size_t pageSize, size_t offset) {
  ListOptions out;
  out.mesh = std::move(mesh);
  out.nameContains = std::move(nameContains);
  out.labels = std::move(labels);
  out.pageSize = pageSize;
  out.offset = offset;
  return out;
}

CreateOptions ownedBy(const model::ResourceTypeDescriptor* type, ResourceKey key) {
  CreateOptions out;
  out.owner = TypedResourceKey{type, std::move(key)};
  return out;
}

}  // namespace kuma::store::conformance
