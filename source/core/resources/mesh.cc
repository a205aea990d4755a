#include "source/core/resources/mesh.h"

#include <regex>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/validation_helpers.h"

namespace kuma::resources {
namespace {

// Every backend list of a Mesh (mTLS, logging, tracing, metrics) names its entries uniquely.
void validateBackendName(const std::string& name, const PathBuilder& at,
                         std::set<std::string>& seen, ValidationError& errors) {
  if (name.empty()) {
    errors.addViolationAt(at.field("name"), "cannot be empty");
  } else if (!seen.insert(name).second) {
    errors.addViolationAt(at.field("name"),
                          absl::StrCat("\"", name, "\" name is already used for another backend"));
  }
}

using google::protobuf::Struct;
using google::protobuf::Value;
using mesh::v1alpha1::Mesh;

const Value* structField(const Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

std::string structString(const Struct& s, const std::string& name) {
  const Value* v = structField(s, name);
  return v != nullptr && v->kind_case() == Value::kStringValue ? v->string_value() : "";
}

bool isValidRotationExpiration(const std::string& text) {
  static const std::regex re("^(\\d+)(y|w|d|h|m|s|ms)$");
  return text == "0" || std::regex_match(text, re);
}

// Lowercase RFC 1123 subdomain of at most 255 characters.
bool isLowercaseDnsName(const std::string& text) {
  static const std::regex re("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");
  return !text.empty() && text.size() <= 255 && std::regex_match(text, re);
}

// "url must name a port": scheme://host:port[/...]
bool zipkinUrl(const std::string& url, bool& hasPort) {
  static const std::regex re("^[a-zA-Z][a-zA-Z0-9+.\\-]*://([^/?#]*)(.*)$");
  std::smatch m;
  if (!std::regex_match(url, m, re) || m[1].str().empty()) {
    return false;
  }
  const std::string authority = m[1].str();
  const auto colon = authority.rfind(':');
  const auto bracket = authority.rfind(']');
  hasPort = colon != std::string::npos && (bracket == std::string::npos || colon > bracket) &&
            colon + 1 < authority.size();
  return true;
}

// `backendErrors` gets what Kuma's mesh manager checks after the spec validation (the CA plugin
// of each backend, ValidateMTLSBackends): Kuma reports them only for an otherwise valid spec, and
// stops at the first backend whose type has no plugin.
void validateMtls(const Mesh::Mtls& mtls, std::string_view meshName, ValidationError& errors,
                  ValidationError& backendErrors) {
  const PathBuilder path("mtls");
  if (mtls.backends_size() > 1) {
    errors.addViolationAt(path.field("backends"), "cannot have more than 1 backends");
  }
  std::set<std::string> names;
  bool unknownTypeSeen = false;
  for (int i = 0; i < mtls.backends_size(); ++i) {
    const auto& backend = mtls.backends(i);
    const PathBuilder at = path.field("backends").index(i);
    validateBackendName(backend.name(), at, names, errors);
    const bool knownType = backend.type() == "builtin" || backend.type() == "provided";
    if (!knownType && !unknownTypeSeen) {
      backendErrors.addViolationAt(at.field("type"),
                                   "could not find installed plugin for this type");
    }
    unknownTypeSeen = unknownTypeSeen || !knownType;
    if (backend.has_dp_cert() && backend.dp_cert().has_rotation() &&
        !backend.dp_cert().rotation().expiration().empty() &&
        !isValidRotationExpiration(backend.dp_cert().rotation().expiration())) {
      errors.addViolationAt(at.field("dpCert").field("rotation").field("expiration"),
                            "has to be a valid format");
    }
    if (backend.type() == "builtin" && !backend.name().empty()) {
      const std::string secretName =
          absl::StrCat(std::string(meshName), ".ca-builtin-cert-", backend.name());
      if (!isLowercaseDnsName(secretName)) {
        errors.addViolationAt(
            at.field("name"),
            absl::StrCat("\"", secretName,
                         "\" (the name of the CA secret) has to be a valid lowercase DNS name of "
                         "at most 255 characters"));
      }
    }
    // Kuma checks a provided CA's conf in its CA plugin, which skipValidation skips.
    if (backend.type() == "provided" && !mtls.skip_validation() && !unknownTypeSeen) {
      for (const char* key : {"cert", "key"}) {
        const Value* v = structField(backend.conf(), key);
        if (v == nullptr || v->kind_case() != Value::kStructValue) {
          backendErrors.addViolationAt(at.field("conf").field(key), "has to be defined");
        }
      }
    }
  }
  if (!mtls.enabled_backend().empty() && names.count(mtls.enabled_backend()) == 0) {
    errors.addViolationAt(path.field("enabledBackend"),
                          "has to be set to one of the backends in the mesh");
  }
}

void validateLogging(const mesh::v1alpha1::Logging& logging, ValidationError& errors) {
  const PathBuilder path("logging");
  std::set<std::string> names;
  for (int i = 0; i < logging.backends_size(); ++i) {
    const auto& backend = logging.backends(i);
    const PathBuilder at = path.field("backends").index(i);
    validateBackendName(backend.name(), at, names, errors);
    if (backend.type() == "file") {
      if (structString(backend.conf(), "path").empty()) {
        errors.addViolationAt(at.field("conf").field("path"), "cannot be empty");
      }
    } else if (backend.type() == "tcp") {
      const std::string address = structString(backend.conf(), "address");
      std::string host;
      std::string port;
      if (address.empty()) {
        errors.addViolationAt(at.field("conf").field("address"), "cannot be empty");
      } else if (!splitHostPort(address, host, port) || host.empty() || port.empty()) {
        errors.addViolationAt(at.field("conf").field("address"),
                              "has to be in format of HOST:PORT");
      }
    } else {
      errors.addViolationAt(at.field("type"),
                            "unknown backend type. Available backends: \"tcp\", \"file\"");
    }
  }
  if (!logging.default_backend().empty() && names.count(logging.default_backend()) == 0) {
    errors.addViolationAt(path.field("defaultBackend"),
                          "has to be set to one of the logging backend in mesh");
  }
}

void validateTracing(const mesh::v1alpha1::Tracing& tracing, ValidationError& errors) {
  const PathBuilder path("tracing");
  std::set<std::string> names;
  for (int i = 0; i < tracing.backends_size(); ++i) {
    const auto& backend = tracing.backends(i);
    const PathBuilder at = path.field("backends").index(i);
    validateBackendName(backend.name(), at, names, errors);
    if (backend.has_sampling() &&
        (backend.sampling().value() < 0.0 || backend.sampling().value() > 100.0)) {
      errors.addViolationAt(at.field("sampling"), "has to be in [0.0 - 100.0] range");
    }
    if (backend.type() == "zipkin") {
      const std::string url = structString(backend.conf(), "url");
      bool hasPort = false;
      if (url.empty()) {
        errors.addViolationAt(at.field("conf").field("url"), "cannot be empty");
      } else if (!zipkinUrl(url, hasPort)) {
        errors.addViolationAt(at.field("conf").field("url"), "invalid URL");
      } else if (!hasPort) {
        errors.addViolationAt(at.field("conf").field("url"), "port has to be explicitly specified");
      }
    } else if (backend.type() == "datadog") {
      if (structString(backend.conf(), "address").empty()) {
        errors.addViolationAt(at.field("conf").field("address"), "cannot be empty");
      }
      const Value* port = structField(backend.conf(), "port");
      const double p =
          port != nullptr && port->kind_case() == Value::kNumberValue ? port->number_value() : 0;
      if (p < 1 || p > 65535) {
        errors.addViolationAt(at.field("conf").field("port"), "invalid port number");
      }
    } else {
      errors.addViolationAt(at.field("type"),
                            "unknown backend type. Available backends: \"zipkin\", \"datadog\"");
    }
  }
  if (!tracing.default_backend().empty() && names.count(tracing.default_backend()) == 0) {
    errors.addViolationAt(path.field("defaultBackend"),
                          "has to be set to one of the tracing backend in mesh");
  }
}

void validateMetrics(const mesh::v1alpha1::Metrics& metrics, ValidationError& errors) {
  const PathBuilder path("metrics");
  std::set<std::string> names;
  for (int i = 0; i < metrics.backends_size(); ++i) {
    const auto& backend = metrics.backends(i);
    const PathBuilder at = path.field("backends").index(i);
    validateBackendName(backend.name(), at, names, errors);
    if (backend.type() != "prometheus") {
      errors.addViolationAt(at.field("type"),
                            "unknown backend type. Available backends: \"prometheus\"");
    }
  }
  if (!metrics.enabled_backend().empty() && names.count(metrics.enabled_backend()) == 0) {
    errors.addViolationAt(path.field("enabledBackend"),
                          "has to be set to one of the backends in the mesh");
  }
}

void validateConstraints(const Mesh::Constraints& constraints, ValidationError& errors) {
  const PathBuilder path = PathBuilder("constraints").field("dataplaneProxy");
  TagsOptions options;
  options.selector = true;
  const auto& proxy = constraints.dataplane_proxy();
  for (int i = 0; i < proxy.requirements_size(); ++i) {
    validateTags(path.field("requirements").index(i).field("tags"), proxy.requirements(i).tags(),
                 options, errors);
  }
  for (int i = 0; i < proxy.restrictions_size(); ++i) {
    validateTags(path.field("restrictions").index(i).field("tags"), proxy.restrictions(i).tags(),
                 options, errors);
  }
}

}  // namespace

bool meshMtlsEnabled(const Mesh& mesh) {
  return mesh.has_mtls() && !mesh.mtls().enabled_backend().empty();
}

const mesh::v1alpha1::CertificateAuthorityBackend* enabledCaBackend(const Mesh& mesh) {
  if (!meshMtlsEnabled(mesh)) {
    return nullptr;
  }
  for (const auto& backend : mesh.mtls().backends()) {
    if (backend.name() == mesh.mtls().enabled_backend()) {
      return &backend;
    }
  }
  return nullptr;
}

void validateMesh(const Mesh& mesh, std::string_view meshName, ValidationError& errors) {
  ValidationError backendErrors;
  if (mesh.has_mtls()) {
    validateMtls(mesh.mtls(), meshName, errors, backendErrors);
  }
  if (mesh.has_logging()) {
    validateLogging(mesh.logging(), errors);
  }
  if (mesh.has_tracing()) {
    validateTracing(mesh.tracing(), errors);
  }
  if (mesh.has_metrics()) {
    validateMetrics(mesh.metrics(), errors);
  }
  if (mesh.has_constraints()) {
    validateConstraints(mesh.constraints(), errors);
  }
  if (errors.empty()) {
    errors.add(backendErrors);
  }
}

void validateMeshUpdate(const Mesh& oldMesh, const Mesh& newMesh, ValidationError& errors) {
  if (meshMtlsEnabled(oldMesh) && meshMtlsEnabled(newMesh) &&
      oldMesh.mtls().enabled_backend() != newMesh.mtls().enabled_backend()) {
    errors.addViolation("mtls.enabledBackend",
                        "Changing CA when mTLS is enabled is forbidden. Disable mTLS first and "
                        "then change the CA");
  }
}

absl::Status validateMeshUpdate(const model::Resource& oldMesh, const model::Resource& newMesh) {
  const Mesh* o = model::protoSpecOf<Mesh>(oldMesh);
  const Mesh* n = model::protoSpecOf<Mesh>(newMesh);
  if (o == nullptr || n == nullptr) {
    return absl::OkStatus();
  }
  ValidationError errors;
  validateMeshUpdate(*o, *n, errors);
  return errors.toStatus();
}

std::optional<Mesh> meshWithDefaults(const Mesh& mesh) {
  if (!mesh.has_metrics()) {
    return std::nullopt;
  }
  Mesh out = mesh;
  bool changed = false;
  for (auto& backend : *out.mutable_metrics()->mutable_backends()) {
    if (backend.type() != "prometheus") {
      continue;
    }
    auto& fields = *backend.mutable_conf()->mutable_fields();
    auto missing = [&](const std::string& name, Value::KindCase kind) {
      auto it = fields.find(name);
      if (it == fields.end() || it->second.kind_case() != kind) {
        return true;
      }
      const Value& v = it->second;
      switch (kind) {
        case Value::kNumberValue:
          return v.number_value() == 0;
        case Value::kStringValue:
          return v.string_value().empty();
        case Value::kStructValue:
          return v.struct_value().fields().empty();
        default:
          return false;
      }
    };
    if (missing("port", Value::kNumberValue)) {
      fields["port"].set_number_value(5670);
      changed = true;
    }
    if (missing("path", Value::kStringValue)) {
      fields["path"].set_string_value("/metrics");
      changed = true;
    }
    if (missing("tags", Value::kStructValue)) {
      (*fields["tags"].mutable_struct_value()->mutable_fields())[std::string(kServiceTag)]
          .set_string_value("dataplane-metrics");
      changed = true;
    }
    auto tls = fields.find("tls");
    const bool hasMode = tls != fields.end() && tls->second.kind_case() == Value::kStructValue &&
                         tls->second.struct_value().fields().count("mode") > 0;
    if (!hasMode) {
      auto skip = fields.find("skipMTLS");
      const bool skipMtls = skip != fields.end() && skip->second.kind_case() == Value::kBoolValue &&
                            skip->second.bool_value();
      (*fields["tls"].mutable_struct_value()->mutable_fields())["mode"].set_string_value(
          skipMtls ? "disabled" : "activeMTLSBackend");
      changed = true;
    }
  }
  if (!changed) {
    return std::nullopt;
  }
  return out;
}

std::vector<std::string> meshDeprecations(std::string_view meshName) {
  // k8s.io/apimachinery IsDNS1035Label: at most 63, [a-z]([-a-z0-9]*[a-z0-9])?
  std::vector<std::string> errors;
  if (meshName.size() > 63) {
    errors.emplace_back("must be no more than 63 characters");
  }
  auto lowerAlnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool matches = !meshName.empty() && meshName.front() >= 'a' && meshName.front() <= 'z' &&
                 lowerAlnum(meshName.back());
  for (char c : meshName) {
    matches = matches && (lowerAlnum(c) || c == '-');
  }
  if (!matches) {
    errors.emplace_back(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
        "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
        "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
  }
  if (errors.empty()) {
    return {};
  }
  return {absl::StrCat("Invalid Mesh resource name: '", std::string(meshName),
                       "'. It does not conform to the DNS format (RFC 1035). This is deprecated. "
                       "Errors: ",
                       absl::StrJoin(errors, "; "))};
}

}  // namespace kuma::resources
