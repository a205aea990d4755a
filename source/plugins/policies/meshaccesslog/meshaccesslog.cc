#include "source/plugins/policies/meshaccesslog/meshaccesslog.h"

#include "absl/strings/str_cat.h"

namespace kuma::policies::meshaccesslog {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

// ^[a-z]([a-z0-9]|[._][a-z0-9])*$
bool isOtelAttributeKey(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) {
    return false;
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (size_t i = 1; i < s.size(); ++i) {
    if (alnum(s[i])) {
      continue;
    }
    if ((s[i] == '.' || s[i] == '_') && i + 1 < s.size() && alnum(s[i + 1])) {
      ++i;
      continue;
    }
    return false;
  }
  return true;
}

SchemaPtr formatSchema() {
  return object({
      required("type", enumOf({"Plain", "Json"})),
      field("plain", string()),
      field("json", arrayOf(object({required("key", string()), required("value", string())}))),
      field("omitEmptyValues", boolean()),
  });
}

SchemaPtr confSchema() {
  return object({field(
      "backends",
      arrayOf(object({
          required("type", enumOf({"Tcp", "File", "OpenTelemetry"})),
          field("tcp", object({field("format", formatSchema()),
                               required("address", withLength(string(), 1, std::nullopt))})),
          field("file", object({field("format", formatSchema()),
                                required("path", withLength(string(), 1, std::nullopt))})),
          field("openTelemetry",
                object({
                    field("attributes",
                          arrayOf(object(
                              {required("key",
                                        withPattern(string(), StringPattern{"^[a-z]([a-z0-9]|[._]["
                                                                            "a-z0-9])*$",
                                                                            isOtelAttributeKey})),
                               required("value", string())}))),
                    field("body", any()),
                    field("endpoint", string()),
                    field("backendRef",
                          object({required("kind", enumOf({"MeshOpenTelemetryBackend"})),
                                  field("name", string()), field("labels", mapOf(string()))})),
                })),
      })))});
}

void validateFormat(const PathBuilder& path, const nlohmann::json* format,
                    ValidationError& errors) {
  if (format == nullptr) {
    return;
  }
  std::string type = format->value("type", "");
  if (type == "Plain" && member(*format, "plain") == nullptr) {
    errors.addViolationAt(path.field("plain"), "must be defined");
  }
  if (type == "Plain" && member(*format, "json") != nullptr) {
    errors.addViolationAt(path.field("json"), "must not be defined");
  }
  if (type == "Json" && member(*format, "json") == nullptr) {
    errors.addViolationAt(path.field("json"), "must be defined");
  }
  if (type == "Json" && member(*format, "plain") != nullptr) {
    errors.addViolationAt(path.field("plain"), "must not be defined");
  }
}

void validateConf(const PathBuilder& path, const nlohmann::json* conf, std::string_view /*top*/,
                  ValidationError& errors) {
  const nlohmann::json* backends = conf != nullptr ? member(*conf, "backends") : nullptr;
  if (backends == nullptr) {
    errors.addViolationAt(path.field("backends"), "must be defined");
    return;
  }
  for (size_t i = 0; i < backends->size(); ++i) {
    const nlohmann::json& b = (*backends)[i];
    PathBuilder bp = path.field("backends").index(i);
    std::string type = b.value("type", "");
    struct Kind {
      const char* type;
      const char* field;
    };
    for (Kind k :
         {Kind{"Tcp", "tcp"}, Kind{"File", "file"}, Kind{"OpenTelemetry", "openTelemetry"}}) {
      bool present = member(b, k.field) != nullptr;
      if (type == k.type && !present) {
        errors.addViolationAt(bp.field(k.field), "must be defined");
      } else if (type != k.type && present) {
        errors.addViolationAt(bp.field(k.field),
                              absl::StrCat("must not be defined when type is ", type));
      }
    }
    if (const nlohmann::json* tcp = member(b, "tcp")) {
      validateFormat(bp.field("tcp").field("format"), member(*tcp, "format"), errors);
    }
    if (const nlohmann::json* file = member(b, "file")) {
      validateFormat(bp.field("file").field("format"), member(*file, "format"), errors);
    }
    if (const nlohmann::json* otel = member(b, "openTelemetry")) {
      PathBuilder op = bp.field("openTelemetry");
      bool hasEndpoint = !otel->value("endpoint", "").empty();
      const nlohmann::json* ref = member(*otel, "backendRef");
      if (hasEndpoint && ref != nullptr) {
        errors.addViolationAt(op,
                              "openTelemetry must have only one type defined: endpoint, "
                              "backendRef");
      } else if (!hasEndpoint && ref == nullptr) {
        errors.addViolationAt(op,
                              "openTelemetry must have exactly one defined: endpoint, backendRef");
      } else if (ref != nullptr) {
        bool hasName = !ref->value("name", "").empty();
        bool hasLabels = arraySize(*ref, "labels") > 0 ||
                         (member(*ref, "labels") != nullptr && !(*ref)["labels"].empty());
        if (hasName == hasLabels) {
          errors.addViolationAt(op.field("backendRef"),
                                hasName ? "backendRef must have only one type defined: name, labels"
                                        : "backendRef must have exactly one defined: name, labels");
        }
      } else if (otel->value("endpoint", "").find_first_of("/?#") != std::string::npos) {
        errors.addViolationAt(op.field("endpoint"), "must be in host:port format, not a URL");
      }
    }
  }
}

}  // namespace

namespace {
// Kuma's MeshAccessLogResource.Deprecations (api/v1alpha1/deprecated.go): `from`, and an
// inline OpenTelemetry endpoint (without backendRef) in any backend.
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  std::vector<std::string> out;
  bool inlineEndpoint = false;
  for (const char* section : {"to", "from", "rules"}) {
    for (size_t i = 0; i < arraySize(spec, section); ++i) {
      const nlohmann::json* conf = member(spec[section][i], "default");
      const nlohmann::json* backends = conf == nullptr ? nullptr : member(*conf, "backends");
      if (backends == nullptr || !backends->is_array()) {
        continue;
      }
      for (const auto& backend : *backends) {
        const nlohmann::json* otel = member(backend, "openTelemetry");
        const nlohmann::json* endpoint = otel == nullptr ? nullptr : member(*otel, "endpoint");
        if (endpoint != nullptr && endpoint->is_string() && !endpoint->get<std::string>().empty() &&
            member(*otel, "backendRef") == nullptr) {
          inlineEndpoint = true;
        }
      }
    }
  }
  if (inlineEndpoint) {
    out.emplace_back(
        "openTelemetry.endpoint is deprecated, use openTelemetry.backendRef with a "
        "MeshOpenTelemetryBackend resource instead");
  }
  return fromAndTargetRefDeprecations(spec, kFromDeprecatedUseRules, std::move(out));
}
}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshAccessLog", "meshaccesslogs", "mal", "Mesh Access Log", "Mesh Access Logs"},
      .topKinds = {kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset,
                   kMeshHTTPRoute, kDataplane},
      .to = true,
      .from = true,
      .rules = true,
      .fromAsRules = true,
      .defaultRequired = true,
      .ruleDefaultRequired = true,
      .conf = confSchema(),
      .validateConf = validateConf,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshaccesslog
