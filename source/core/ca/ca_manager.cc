#include "source/core/ca/ca_manager.h"

namespace kuma::ca {

const Backend* enabledBackend(const mesh::v1alpha1::Mesh& mesh) {
  if (!mesh.has_mtls() || mesh.mtls().enabled_backend().empty()) {
    return nullptr;
  }
  for (const Backend& backend : mesh.mtls().backends()) {
    if (backend.name() == mesh.mtls().enabled_backend()) {
      return &backend;
    }
  }
  return nullptr;
}

absl::Duration identityLifetime(const Backend& backend) {
  const std::string& text = backend.dp_cert().rotation().expiration();
  if (text.empty()) {
    return kDefaultIdentityLifetime;
  }
  auto parsed = parseMeshDuration(text);
  if (!parsed.ok() || *parsed <= absl::ZeroDuration()) {
    return kDefaultIdentityLifetime;
  }
  return *parsed;
}

}  // namespace kuma::ca
