#include "source/plugins/identity/meshtrust/meshtrust.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

namespace kuma::identity::meshtrust {
namespace {

using namespace policies;  // NOLINT: the schema builders
using validators::PathBuilder;
using validators::ValidationError;

constexpr size_t kMaxTrustDomain = 253;

SchemaPtr originSchema() {
  return object({field("kri", string())});
}

// Field order is Kuma's Go struct order.
SchemaPtr specSchema() {
  return object({
      field("origin", originSchema()),
      required("trustDomain", withLength(string(), std::nullopt, kMaxTrustDomain)),
      required("caBundles", arrayOf(object({
                                        required("type", enumOf({"Pem"})),
                                        field("pem", object({required("value", string())})),
                                    }),
                                    1)),
  });
}

SchemaPtr statusSchema() {
  return object({field("origin", originSchema())});
}

// Kuma's isPEMCertificate: the first PEM block decodes and is not a private key.
bool isPemCertificate(const std::string& text) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  if (bio == nullptr) {
    return false;
  }
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long length = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &data, &length) != 1) {
    return false;
  }
  const std::string type = name == nullptr ? "" : name;
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  for (const char* key : {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY",
                          "ENCRYPTED PRIVATE KEY"}) {
    if (type == key) {
      return false;
    }
  }
  return true;
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  const PathBuilder path("spec");
  const PathBuilder bundlesPath = path.field("caBundles");
  const nlohmann::json* bundles = member(spec, "caBundles");
  if (bundles == nullptr || !bundles->is_array() || bundles->empty()) {
    errors.addViolationAt(bundlesPath, "must not be empty");
  } else {
    for (size_t i = 0; i < bundles->size(); ++i) {
      const nlohmann::json& bundle = (*bundles)[i];
      const nlohmann::json* type = member(bundle, "type");
      const std::string typeName =
          type != nullptr && type->is_string() ? type->get<std::string>() : std::string();
      if (typeName != "Pem") {
        errors.addViolationAt(bundlesPath.field("type"),
                              absl::StrCat(typeName, " must be one of: Pem"));
        continue;
      }
      const PathBuilder pemPath = bundlesPath.index(i).field("pem");
      const nlohmann::json* pem = member(bundle, "pem");
      if (pem == nullptr) {
        errors.addViolationAt(pemPath, "must be defined");
        continue;
      }
      const nlohmann::json* value = member(*pem, "value");
      if (value == nullptr || !value->is_string() || !isPemCertificate(value->get<std::string>())) {
        errors.addViolationAt(pemPath.field("value"), "provided certificate has incorrect format");
      }
    }
  }
  const nlohmann::json* domain = member(spec, "trustDomain");
  const std::string trustDomain =
      domain != nullptr && domain->is_string() ? domain->get<std::string>() : std::string();
  if (trustDomain.empty()) {
    errors.addViolationAt(path.field("trustDomain"), "trustDomain needs to be defined");
  }
  if (trustDomain.size() > kMaxTrustDomain) {
    errors.addViolationAt(path.field("trustDomain"),
                          absl::StrCat("must not be longer than ", kMaxTrustDomain, " characters"));
  }
}

std::vector<std::string> deprecations(const nlohmann::json& spec) {
  if (member(spec, "origin") != nullptr) {
    return {"setting spec.origin field is deprecated"};
  }
  return {};
}

}  // namespace

PolicyDefinition definition() {
  PolicyDefinition d;
  d.name = "MeshTrust";
  d.wsPath = "meshtrusts";
  d.shortName = "mtrust";
  d.singularDisplayName = "Mesh Trust";
  d.pluralDisplayName = "Mesh Trusts";
  d.isPolicy = false;
  d.schema = specSchema();
  d.statusSchema = statusSchema();
  d.validate = validate;
  d.deprecations = deprecations;
  return d;
}

}  // namespace kuma::identity::meshtrust
