#include "source/core/ca/ca_manager.h"

namespace kuma::ca {

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
