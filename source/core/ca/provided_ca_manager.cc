#include "source/core/ca/provided_ca_manager.h"

#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "source/core/ca/secret_util.h"

namespace kuma::ca {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr const char* kSourceKinds[] = {"secret", "file", "inline", "inlineString"};

const Value* field(const Struct& s, const char* name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

absl::StatusOr<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("could not read file ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

void validateDataSource(const Value* source, const validators::PathBuilder& path,
                        validators::ValidationError& errors) {
  if (source == nullptr || source->kind_case() != Value::kStructValue) {
    errors.addViolationAt(path, "has to be defined");
    return;
  }
  const Struct& s = source->struct_value();
  int chosen = 0;
  for (const char* kind : kSourceKinds) {
    const Value* v = field(s, kind);
    if (v == nullptr) {
      continue;
    }
    ++chosen;
    if (v->kind_case() != Value::kStringValue || v->string_value().empty()) {
      errors.addViolationAt(path.field(kind), "cannot be empty");
    } else if (std::string(kind) == "inline") {
      std::string decoded;
      if (!absl::Base64Unescape(v->string_value(), &decoded)) {
        errors.addViolationAt(path.field(kind), "has to be valid base64");
      }
    }
  }
  if (chosen == 0) {
    errors.addViolationAt(path,
                          "data source has to be chosen. Available sources: secret, file, inline, "
                          "inlineString");
  } else if (chosen > 1) {
    errors.addViolationAt(path, "only one data source can be chosen");
  }
}

absl::StatusOr<std::string> loadDataSource(const manager::ResourceManager& manager,
                                           const model::TypeRegistry& registry,
                                           const std::string& mesh, const Value& source) {
  if (source.kind_case() != Value::kStructValue) {
    return absl::InvalidArgumentError("data source has to be an object");
  }
  const Struct& s = source.struct_value();
  if (const Value* v = field(s, "secret"); v != nullptr) {
    auto bytes = readSecret(manager, registry, mesh, v->string_value());
    if (!bytes.ok()) {
      return absl::Status(bytes.status().code(),
                          absl::StrCat("could not load secret \"", v->string_value(),
                                       "\" of mesh \"", mesh, "\": ", bytes.status().message()));
    }
    return bytes;
  }
  if (const Value* v = field(s, "file"); v != nullptr) {
    return readFile(v->string_value());
  }
  if (const Value* v = field(s, "inline"); v != nullptr) {
    std::string decoded;
    if (!absl::Base64Unescape(v->string_value(), &decoded)) {
      return absl::InvalidArgumentError("inline data source is not valid base64");
    }
    return decoded;
  }
  if (const Value* v = field(s, "inlineString"); v != nullptr) {
    return v->string_value();
  }
  return absl::InvalidArgumentError(
      "data source has to be chosen. Available sources: secret, file, inline, inlineString");
}

ProvidedCaManager::ProvidedCaManager(const manager::ResourceManager& manager,
                                     const model::TypeRegistry& registry)
    : manager_(manager), registry_(registry) {}

absl::Status ProvidedCaManager::validateBackend(const std::string& mesh, const Backend& backend,
                                                validators::ValidationError& errors) const {
  validators::ValidationError local;
  validateDataSource(field(backend.conf(), "cert"), validators::PathBuilder("cert"), local);
  validateDataSource(field(backend.conf(), "key"), validators::PathBuilder("key"), local);
  if (!local.empty()) {
    errors.add(local);
    return absl::OkStatus();
  }
  // Kuma's ValidateBackend loads the pair as its getCa does, the key first, and reports a
  // failure on both `cert` and `key` in its data source loader's words.
  for (const char* part : {"key", "cert"}) {
    const Value& source = *field(backend.conf(), part);
    const Value* secret = source.kind_case() == Value::kStructValue
                              ? field(source.struct_value(), "secret")
                              : nullptr;
    absl::Status loaded =
        secret != nullptr ? readSecret(manager_, registry_, mesh, secret->string_value()).status()
                          : loadDataSource(manager_, registry_, mesh, source).status();
    if (loaded.ok()) {
      continue;
    }
    if (absl::IsUnavailable(loaded)) {
      return loaded;
    }
    const std::string cause = secret != nullptr && absl::IsNotFound(loaded)
                                  ? absl::StrCat("resource not found: type=\"Secret\" name=\"",
                                                 secret->string_value(), "\" mesh=\"", mesh, "\"")
                                  : std::string(loaded.message());
    errors.addViolation("cert", absl::StrCat("could not load data: ", cause));
    errors.addViolation("key", absl::StrCat("could not load data: ", cause));
    return absl::OkStatus();
  }
  auto pair = signingPair(mesh, backend);
  if (!pair.ok()) {
    if (absl::IsUnavailable(pair.status())) {
      return pair.status();
    }
    errors.addViolation("cert", std::string(pair.status().message()));
    return absl::OkStatus();
  }
  validateSigningPair(*pair, errors);
  return absl::OkStatus();
}

absl::StatusOr<KeyPair> ProvidedCaManager::signingPair(const std::string& mesh,
                                                       const Backend& backend) const {
  const Value* cert = field(backend.conf(), "cert");
  const Value* key = field(backend.conf(), "key");
  if (cert == nullptr || key == nullptr) {
    return absl::InvalidArgumentError("conf.cert and conf.key have to be defined");
  }
  auto certBytes = loadDataSource(manager_, registry_, mesh, *cert);
  if (!certBytes.ok()) {
    return absl::Status(certBytes.status().code(),
                        absl::StrCat("could not load cert: ", certBytes.status().message()));
  }
  auto keyBytes = loadDataSource(manager_, registry_, mesh, *key);
  if (!keyBytes.ok()) {
    return absl::Status(keyBytes.status().code(),
                        absl::StrCat("could not load key: ", keyBytes.status().message()));
  }
  return KeyPair{std::move(*certBytes), std::move(*keyBytes)};
}

}  // namespace kuma::ca
