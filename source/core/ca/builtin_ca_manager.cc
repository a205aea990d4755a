#include "source/core/ca/builtin_ca_manager.h"

#include "absl/strings/str_cat.h"
#include "source/core/ca/secret_util.h"
#include "source/core/store/errors.h"

namespace kuma::ca {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr int kDefaultRsaBits = 2048;

const Value* field(const Struct& s, const char* name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

// conf.caCert, or nullptr.
const Struct* caCertConf(const Backend& backend) {
  const Value* caCert = field(backend.conf(), "caCert");
  return caCert != nullptr && caCert->kind_case() == Value::kStructValue ? &caCert->struct_value()
                                                                         : nullptr;
}

int rsaBits(const Backend& backend) {
  const Struct* caCert = caCertConf(backend);
  const Value* bits = caCert == nullptr ? nullptr : field(*caCert, "RSAbits");
  if (bits == nullptr || bits->kind_case() != Value::kNumberValue || bits->number_value() <= 0) {
    return kDefaultRsaBits;
  }
  return static_cast<int>(bits->number_value());
}

absl::Duration caLifetime(const Backend& backend) {
  const Struct* caCert = caCertConf(backend);
  const Value* text = caCert == nullptr ? nullptr : field(*caCert, "expiration");
  if (text == nullptr || text->kind_case() != Value::kStringValue) {
    return kDefaultCaLifetime;
  }
  auto parsed = parseMeshDuration(text->string_value());
  return parsed.ok() && *parsed > absl::ZeroDuration() ? *parsed : kDefaultCaLifetime;
}

}  // namespace

std::string builtinCertSecretName(const std::string& mesh, const std::string& backend) {
  return absl::StrCat(mesh, ".ca-builtin-cert-", backend);
}

std::string builtinKeySecretName(const std::string& mesh, const std::string& backend) {
  return absl::StrCat(mesh, ".ca-builtin-key-", backend);
}

BuiltinCaManager::BuiltinCaManager(manager::ResourceManager& manager,
                                   const model::TypeRegistry& registry, Clock clock)
    : manager_(manager), registry_(registry), clock_(std::move(clock)) {}

absl::Status BuiltinCaManager::validateBackend(const std::string&, const Backend& backend,
                                               validators::ValidationError& errors) const {
  const Value* caCert = field(backend.conf(), "caCert");
  if (caCert == nullptr) {
    return absl::OkStatus();
  }
  const validators::PathBuilder path("caCert");
  if (caCert->kind_case() != Value::kStructValue) {
    errors.addViolationAt(path, "has to be an object");
    return absl::OkStatus();
  }
  if (const Value* bits = field(caCert->struct_value(), "RSAbits"); bits != nullptr) {
    if (bits->kind_case() != Value::kNumberValue || bits->number_value() < 1024 ||
        bits->number_value() > 16384 ||
        bits->number_value() != static_cast<double>(static_cast<int>(bits->number_value()))) {
      errors.addViolationAt(path.field("RSAbits"), "has to be an integer between 1024 and 16384");
    }
  }
  if (const Value* exp = field(caCert->struct_value(), "expiration"); exp != nullptr) {
    if (exp->kind_case() != Value::kStringValue || !parseMeshDuration(exp->string_value()).ok()) {
      errors.addViolationAt(path.field("expiration"), "has to be a valid format");
    }
  }
  return absl::OkStatus();
}

absl::Status BuiltinCaManager::ensure(const std::string& mesh, const Backend& backend) {
  const std::string certName = builtinCertSecretName(mesh, backend.name());
  const std::string keyName = builtinKeySecretName(mesh, backend.name());
  auto cert = readSecret(manager_, registry_, mesh, certName);
  auto key = readSecret(manager_, registry_, mesh, keyName);
  if (cert.ok() && key.ok()) {
    return absl::OkStatus();
  }
  for (const auto* s : {&cert, &key}) {
    if (!s->ok() && !store::isNotFound(s->status())) {
      return s->status();
    }
  }
  if (cert.ok() != key.ok()) {
    // Half a CA (one Secret deleted by hand): unusable, Kuma neither repairs it.
    return absl::FailedPreconditionError(
        absl::StrCat("the builtin CA of mesh \"", mesh, "\" and backend \"", backend.name(),
                     "\" is incomplete: delete ", certName, " and ", keyName, " to regenerate it"));
  }
  auto pair = generateRootCa(mesh, rsaBits(backend), caLifetime(backend), clock_());
  if (!pair.ok()) {
    return absl::InternalError(absl::StrCat("failed to create CA for mesh \"", mesh,
                                            "\" and backend \"", backend.name(),
                                            "\": ", pair.status().message()));
  }
  // Key first: a reader that finds the certificate always finds its key. Losing the race for
  // the key means another writer is creating this very CA: leave the certificate to it.
  absl::Status s = createSecret(manager_, registry_, mesh, keyName, pair->keyPem);
  if (store::isAlreadyExists(s)) {
    return absl::OkStatus();
  }
  if (!s.ok()) {
    return s;
  }
  s = createSecret(manager_, registry_, mesh, certName, pair->certPem);
  if (!s.ok() && !store::isAlreadyExists(s)) {
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<KeyPair> BuiltinCaManager::signingPair(const std::string& mesh,
                                                      const Backend& backend) const {
  auto cert = readSecret(manager_, registry_, mesh, builtinCertSecretName(mesh, backend.name()));
  if (!cert.ok()) {
    return cert.status();
  }
  auto key = readSecret(manager_, registry_, mesh, builtinKeySecretName(mesh, backend.name()));
  if (!key.ok()) {
    return key.status();
  }
  return KeyPair{std::move(*cert), std::move(*key)};
}

}  // namespace kuma::ca
