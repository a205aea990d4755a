#include "source/xds/secrets/envoy_admin_tls.h"

#include "absl/strings/str_cat.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"

namespace kuma::xds {
namespace {

constexpr char kEndCertificate[] = "-----END CERTIFICATE-----";

// The first PEM certificate of `pem`, or "".
std::string firstCertificate(const std::string& pem) {
  const size_t end = pem.find(kEndCertificate);
  if (end == std::string::npos) {
    return "";
  }
  return absl::StrCat(pem.substr(0, end + sizeof(kEndCertificate) - 1), "\n");
}

std::string entryKey(const std::string& mesh, const std::string& name) {
  return absl::StrCat(mesh, "/", name);
}

}  // namespace

absl::StatusOr<std::string> loadEnvoyAdminCa(const manager::ResourceManager& manager,
                                             const model::TypeRegistry& registry) {
  const model::ResourceTypeDescriptor* type =
      registry.byName(std::string(resources::kGlobalSecretType));
  if (type == nullptr) {
    return absl::FailedPreconditionError("type GlobalSecret is not registered");
  }
  auto secret = manager.get(*type, {kEnvoyAdminCaSecret, ""});
  if (!secret.ok()) {
    return secret.status();
  }
  const auto* spec = model::protoSpecOf<mesh::v1alpha1::Secret>(**secret);
  if (spec == nullptr) {
    return absl::InternalError("GlobalSecret envoy-admin-ca has no Secret spec");
  }
  return spec->data().value();
}

EnvoyAdminTls::EnvoyAdminTls(CaLoader loadCa) : loadCa_(std::move(loadCa)) {}

absl::StatusOr<EnvoyAdminTls::Ca> EnvoyAdminTls::ca() {
  absl::MutexLock lock(&mu_);
  if (ca_.has_value()) {
    return *ca_;
  }
  absl::StatusOr<std::string> data = loadCa_();
  if (!data.ok()) {
    return absl::Status(data.status().code(), absl::StrCat("could not load the Envoy Admin CA: ",
                                                           data.status().message()));
  }
  Ca ca;
  ca.certPem = firstCertificate(*data);
  if (ca.certPem.empty()) {
    return absl::InvalidArgumentError(
        "the Envoy Admin CA secret is not a PEM certificate followed by its key");
  }
  // The secret holds the certificate then the key; PEM readers pick the block they look for.
  absl::StatusOr<std::shared_ptr<const crypto::LeafCertIssuer>> issuer =
      crypto::LeafCertIssuer::create(crypto::CertAndKey{*data, *data});
  if (!issuer.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the Envoy Admin CA secret is not usable: ", issuer.status().message()));
  }
  ca.issuer = *std::move(issuer);
  ca_ = ca;
  return ca;
}

absl::StatusOr<EnvoyAdminTlsCertsConstSharedPtr> EnvoyAdminTls::serverCerts(
    const std::string& mesh, const std::string& name, const std::string& address,
    const std::string& advertisedAddress) {
  if (address.empty()) {
    return absl::InvalidArgumentError("a Dataplane without address has no admin listener");
  }
  const std::string key = entryKey(mesh, name);
  {
    absl::MutexLock lock(&mu_);
    auto it = servers_.find(key);
    if (it != servers_.end() && it->second.address == address &&
        it->second.advertisedAddress == advertisedAddress) {
      return it->second.certs;
    }
  }
  absl::StatusOr<Ca> authority = ca();
  if (!authority.ok()) {
    return authority.status();
  }
  crypto::LeafCertSpec spec;
  spec.hosts = {address};
  if (!advertisedAddress.empty() && advertisedAddress != address) {
    spec.hosts.push_back(advertisedAddress);
  }
  spec.server = true;
  // Kuma uses RSA-2048 here; one RSA key generation per proxy costs ~0.1 s of CPU, which at
  // thousands of proxies would dominate the control plane's start. P-256 is as strong and cheap.
  spec.key = crypto::LeafKey::EcdsaP256;
  absl::StatusOr<crypto::CertAndKey> issued = authority->issuer->issue(spec);
  if (!issued.ok()) {
    return issued.status();
  }
  auto certs = std::make_shared<EnvoyAdminTlsCerts>();
  certs->certPem = std::move(issued->certPem);
  certs->keyPem = std::move(issued->keyPem);
  certs->caPem = authority->certPem;
  absl::MutexLock lock(&mu_);
  servers_[key] = Entry{address, advertisedAddress, certs};
  ++serverCertsIssued_;
  return certs;
}

void EnvoyAdminTls::forget(const std::string& mesh, const std::string& name) {
  absl::MutexLock lock(&mu_);
  servers_.erase(entryKey(mesh, name));
}

absl::StatusOr<EnvoyAdminClientCerts> EnvoyAdminTls::clientCerts() {
  absl::StatusOr<Ca> authority = ca();
  if (!authority.ok()) {
    return authority.status();
  }
  {
    absl::MutexLock lock(&mu_);
    if (client_.has_value()) {
      return *client_;
    }
  }
  crypto::LeafCertSpec spec;
  spec.hosts = {kEnvoyAdminClientSan};
  spec.server = false;
  spec.key = crypto::LeafKey::Rsa2048;
  absl::StatusOr<crypto::CertAndKey> issued = authority->issuer->issue(spec);
  if (!issued.ok()) {
    return issued.status();
  }
  absl::MutexLock lock(&mu_);
  if (!client_.has_value()) {  // another caller may have issued one meanwhile: keep the first
    client_ = EnvoyAdminClientCerts{std::move(issued->certPem), std::move(issued->keyPem),
                                    authority->certPem};
  }
  return *client_;
}

uint64_t EnvoyAdminTls::serverCertsIssued() const {
  absl::MutexLock lock(&mu_);
  return serverCertsIssued_;
}

}  // namespace kuma::xds
