#include "source/core/ca/secret_util.h"

#include "absl/strings/str_cat.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"

namespace kuma::ca {
namespace {

absl::StatusOr<const model::ResourceTypeDescriptor*> secretType(
    const model::TypeRegistry& registry) {
  const model::ResourceTypeDescriptor* type = registry.byName(std::string(resources::kSecretType));
  if (type == nullptr) {
    return absl::FailedPreconditionError("type Secret is not registered");
  }
  return type;
}

}  // namespace

absl::StatusOr<std::string> readSecret(const manager::ResourceManager& manager,
                                       const model::TypeRegistry& registry, const std::string& mesh,
                                       const std::string& name) {
  auto type = secretType(registry);
  if (!type.ok()) {
    return type.status();
  }
  auto secret = manager.get(**type, {name, mesh});
  if (!secret.ok()) {
    return secret.status();
  }
  const auto* spec = model::protoSpecOf<mesh::v1alpha1::Secret>(**secret);
  if (spec == nullptr) {
    return absl::InternalError(absl::StrCat("Secret ", name, " has no Secret spec"));
  }
  return spec->data().value();
}

absl::Status createSecret(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                          const std::string& mesh, const std::string& name,
                          const std::string& bytes) {
  auto type = secretType(registry);
  if (!type.ok()) {
    return type.status();
  }
  mesh::v1alpha1::Secret spec;
  spec.mutable_data()->set_value(bytes);
  model::Resource secret;
  secret.descriptor = *type;
  secret.meta.name = name;
  secret.meta.mesh = mesh;
  secret.spec = resources::makeSecretSpec(std::move(spec));
  // Kuma's builtin CA manager stores its Secrets without labels.
  return manager.createGenerated(std::move(secret)).status();
}

}  // namespace kuma::ca
