#include "source/plugins/identity/meshidentity/meshidentity.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "source/plugins/services/common.h"
#include "source/plugins/services/hostnamegenerator/hostname_template.h"

namespace kuma::identity::meshidentity {
namespace {

using namespace policies;  // NOLINT: the schema builders
using validators::PathBuilder;
using validators::ValidationError;

// datasource.SecureDataSource, in Kuma's field order.
SchemaPtr secureDataSourceSchema() {
  return object({
      required("type", enumOf({"File", "Secret", "EnvVar", "InsecureInline"})),
      field("file", object({required("path", string())})),
      field("envVar", object({required("name", string())})),
      field("insecureInline", object({required("value", string())})),
      field("secretRef",
            object({required("kind", enumOf({"Secret"})), required("name", string())})),
  });
}

SchemaPtr specSchema() {
  return object({
      field("selector", object({field("dataplane", services::labelSelectorSchema())})),
      field("spiffeID", object({field("trustDomain", string()), field("path", string())})),
      field("provider",
            object({
                required("type", enumOf({"Bundled", "Spire", "Extension"})),
                field("bundled",
                      object({
                          field("meshTrustCreation", enumOf({"Enabled", "Disabled"})),
                          field("insecureAllowSelfSigned", boolean()),
                          field("autogenerate", object({field("enabled", boolean())})),
                          field("ca", object({field("certificate", secureDataSourceSchema()),
                                              field("privateKey", secureDataSourceSchema())})),
                          field("certificateParameters", object({field("expiry", duration())})),
                      })),
                field("spire", object({field("agent", object({field("timeout", duration())}))})),
                field("extension", object({required("name", string()), field("config", any())})),
            })),
  });
}

SchemaPtr statusSchema() {
  return object({field("conditions", arrayOf(services::conditionSchema()))});
}

std::string stringAt(const nlohmann::json* obj, std::string_view key) {
  const nlohmann::json* v = obj == nullptr ? nullptr : member(*obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// Kuma parses the templates (any field, `label`) without running them.
void validateTemplate(const PathBuilder& path, const std::string& text, ValidationError& errors) {
  if (text.empty()) {
    return;
  }
  services::hostnamegenerator::TemplateValues values;
  values.anyField = true;
  values.label = [](std::string_view) -> absl::StatusOr<std::string> { return std::string(); };
  auto parsed = services::hostnamegenerator::renderHostnameTemplate(text, values);
  if (!parsed.ok()) {
    errors.addViolationAt(path, std::string(parsed.status().message()));
  }
}

// datasource.validateFilePath.
std::string filePathError(const std::string& path) {
  if (path.find("..") != std::string::npos) {
    return absl::StrCat("file path contains directory traversal sequence: ", path);
  }
  if (path.empty() || path.front() != '/') {
    return absl::StrCat("file path must be absolute: ", path);
  }
  return "";
}

// SecureDataSource.ValidateSecureDataSource.
void validateSecureDataSource(const PathBuilder& path, const nlohmann::json& source,
                              ValidationError& errors) {
  const std::string type = stringAt(&source, "type");
  auto require = [&](const char* block, const char* key) {
    const nlohmann::json* b = member(source, block);
    if (b == nullptr) {
      errors.addViolationAt(path.field(block), "must be defined");
    } else if (stringAt(b, key).empty()) {
      errors.addViolationAt(path.field(block).field(key), "must be defined");
    }
  };
  if (type == "EnvVar") {
    require("envVar", "name");
  } else if (type == "InsecureInline") {
    require("insecureInline", "value");
  } else if (type == "File") {
    const nlohmann::json* file = member(source, "file");
    const std::string filePath = stringAt(file, "path");
    if (file == nullptr) {
      errors.addViolationAt(path.field("file"), "must be defined");
    } else if (filePath.empty()) {
      errors.addViolationAt(path.field("file").field("path"), "must be defined");
    } else if (std::string e = filePathError(filePath); !e.empty()) {
      errors.addViolationAt(path.field("file").field("path"), e);
    }
  } else if (type == "Secret") {
    const nlohmann::json* ref = member(source, "secretRef");
    if (ref == nullptr) {
      errors.addViolationAt(path.field("secretRef"), "must be defined");
    } else {
      if (const std::string kind = stringAt(ref, "kind"); kind != "Secret") {
        errors.addViolationAt(path.field("secretRef").field("kind"),
                              absl::StrCat(kind, " must be one of: Secret"));
      }
      if (stringAt(ref, "name").empty()) {
        errors.addViolationAt(path.field("secretRef").field("name"), "must be defined");
      }
    }
  } else {
    errors.addViolationAt(
        path.field("type"),
        absl::StrCat(type, " must be one of: EnvVar, InsecureInline, File, Secret"));
  }
}

void validateBundled(const PathBuilder& path, const nlohmann::json* bundled,
                     ValidationError& errors) {
  if (bundled == nullptr) {
    errors.addViolationAt(path, "configuration needs to be defined");
    return;
  }
  const nlohmann::json* autogenerate = member(*bundled, "autogenerate");
  const nlohmann::json* enabled =
      autogenerate == nullptr ? nullptr : member(*autogenerate, "enabled");
  const nlohmann::json* ca = member(*bundled, "ca");
  if (enabled != nullptr && enabled->is_boolean() && enabled->get<bool>()) {
    if (ca != nullptr) {
      errors.addViolationAt(path.field("ca"), "shouldn't be defined once using autogenerated");
    }
  } else if (ca == nullptr) {
    errors.addViolationAt(path.field("ca"), "must be defined");
  } else {
    for (const char* key : {"certificate", "privateKey"}) {
      if (const nlohmann::json* source = member(*ca, key); source == nullptr) {
        errors.addViolationAt(path.field("ca").field(key), "must be defined");
      } else {
        validateSecureDataSource(path.field("ca").field(key), *source, errors);
      }
    }
  }
  if (const nlohmann::json* params = member(*bundled, "certificateParameters")) {
    validateDurationNotNegativeOrNil(path.field("certificateParameters"), *params, "expiry",
                                     errors);
  }
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  const PathBuilder path("spec");
  const nlohmann::json* spiffeId = member(spec, "spiffeID");
  for (const char* key : {"trustDomain", "path"}) {
    validateTemplate(path.field("spiffeID").field(key), stringAt(spiffeId, key), errors);
  }
  const nlohmann::json* provider = member(spec, "provider");
  if (provider == nullptr) {
    return;
  }
  const PathBuilder p = path.field("provider");
  const std::string type = stringAt(provider, "type");
  if (type == "Bundled") {
    validateBundled(p.field("bundled"), member(*provider, "bundled"), errors);
  } else if (type == "Spire") {
    const nlohmann::json* spire = member(*provider, "spire");
    if (spire == nullptr) {
      errors.addViolationAt(p.field("spire"), "configuration needs to be defined");
    } else if (const nlohmann::json* agent = member(*spire, "agent")) {
      // Kuma roots the agent's errors at the agent path twice (AddErrorAt over a path that
      // already starts there): spec.provider.spire.agent.spire.agent.timeout.
      validateDurationNotNegativeOrNil(
          p.field("spire").field("agent").field("spire").field("agent"), *agent, "timeout", errors);
    }
  } else if (type == "Extension") {
    const nlohmann::json* extension = member(*provider, "extension");
    if (extension == nullptr) {
      errors.addViolationAt(p.field("extension"), "configuration needs to be defined");
    } else if (stringAt(extension, "name").empty()) {
      errors.addViolationAt(p.field("extension").field("name"),
                            "extension name needs to be defined");
    }
  } else {
    errors.addViolationAt(p, absl::StrCat("\"", type,
                                          "\" must be one of [\"Bundled\", \"Spire\", "
                                          "\"Extension\"]"));
  }
}

}  // namespace

PolicyDefinition definition() {
  PolicyDefinition d;
  d.name = "MeshIdentity";
  d.wsPath = "meshidentities";
  d.shortName = "mid";
  d.singularDisplayName = "Mesh Identity";
  d.pluralDisplayName = "Mesh Identities";
  d.isPolicy = false;
  d.schema = specSchema();
  d.statusSchema = statusSchema();
  d.validate = validate;
  return d;
}

}  // namespace kuma::identity::meshidentity
