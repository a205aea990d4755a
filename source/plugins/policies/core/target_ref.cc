#include "source/plugins/policies/core/target_ref.h"

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"

namespace kuma::policies {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

constexpr std::array<std::string_view, 9> kKindOrder = {
    kMesh,         kDataplane,           kMeshSubset,           kMeshGateway,
    kMeshService,  kMeshExternalService, kMeshMultiZoneService, kMeshServiceSubset,
    kMeshHTTPRoute};

std::string str(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::map<std::string, std::string> strMap(const nlohmann::json& obj, const char* key) {
  std::map<std::string, std::string> out;
  auto it = obj.find(key);
  if (it != obj.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) {
        out[k] = v.get<std::string>();
      }
    }
  }
  return out;
}

bool isSet(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return false;
  }
  if (it->is_string()) {
    return !it->get_ref<const std::string&>().empty();
  }
  if (it->is_object() || it->is_array()) {
    return !it->empty();
  }
  return true;
}

void disallowed(const nlohmann::json& ref, const char* name, std::string_view kind,
                ValidationError& err) {
  if (isSet(ref, name)) {
    err.addViolation(name, absl::StrCat("must not be set with kind ", std::string(kind)));
  }
}

void requiredField(const nlohmann::json& ref, const char* name, std::string_view kind,
                   ValidationError& err) {
  if (!isSet(ref, name)) {
    err.addViolation(name, absl::StrCat("must be set with kind ", std::string(kind)));
  }
}

// ^[0-9a-z.\-_]*$
bool validNameChars(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '-' || c == '_';
  });
}

bool tagKeyChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
         c == '-' || c == '_' || c == ':' || c == '/';
}

void validateName(const nlohmann::json& ref, const TargetRefOpts& opts, ValidationError& err) {
  std::string name = str(ref, "name");
  if (std::find(opts.allowedInvalidNames.begin(), opts.allowedInvalidNames.end(), name) !=
      opts.allowedInvalidNames.end()) {
    return;
  }
  if (!validNameChars(name)) {
    err.addViolation("name",
                     "invalid characters: must consist of lower case alphanumeric characters, "
                     "'-', '.' and '_'.");
  }
}

// Kuma's ValidateTags (selector == false) / ValidateSelector (selector == true: "*" allowed).
void validateTags(const nlohmann::json& ref, bool selector, ValidationError& err) {
  PathBuilder path("tags");
  for (const auto& [key, value] : strMap(ref, "tags")) {
    if (key.empty()) {
      err.addViolationAt(path, "tag name must be non-empty");
    }
    if (!std::all_of(key.begin(), key.end(), tagKeyChar)) {
      err.addViolationAt(path.key(key),
                         "tag name must consist of alphanumeric characters, dots, dashes, slashes "
                         "and underscores");
    }
    if (value.empty()) {
      err.addViolationAt(path.key(key), "tag value must be non-empty");
    }
    if (selector) {
      if (value != "*" && !std::all_of(value.begin(), value.end(), tagKeyChar)) {
        err.addViolationAt(path.key(key),
                           "tag value must consist of alphanumeric characters, dots, dashes, "
                           "slashes and underscores or be \"*\"");
      }
    } else if (!std::all_of(value.begin(), value.end(),
                            [](char c) { return c != '/' && tagKeyChar(c); })) {
      err.addViolationAt(path.key(key),
                         "tag value must consist of alphanumeric characters, dots, dashes and "
                         "underscores");
    }
  }
}

}  // namespace

int targetRefKindOrder(std::string_view kind) {
  for (size_t i = 0; i < kKindOrder.size(); ++i) {
    if (kKindOrder[i] == kind) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

TargetRef parseTargetRef(const nlohmann::json& json) {
  TargetRef ref;
  if (!json.is_object()) {
    ref.kind = std::string(kMesh);
    return ref;
  }
  ref.kind = str(json, "kind");
  if (ref.kind.empty()) {
    ref.kind = std::string(kMesh);
  }
  ref.name = str(json, "name");
  ref.tags = strMap(json, "tags");
  ref.labels = strMap(json, "labels");
  ref.sectionName = str(json, "sectionName");
  ref.mesh = str(json, "mesh");
  ref.ns = str(json, "namespace");
  if (auto it = json.find("proxyTypes"); it != json.end() && it->is_array()) {
    for (const auto& p : *it) {
      if (p.is_string()) {
        ref.proxyTypes.push_back(p.get<std::string>());
      }
    }
  }
  return ref;
}

BackendRef parseBackendRef(const nlohmann::json& json) {
  BackendRef ref;
  ref.targetRef = parseTargetRef(json);
  if (!json.is_object()) {
    return ref;
  }
  if (auto it = json.find("weight"); it != json.end() && it->is_number_integer()) {
    ref.weight = it->get<uint32_t>();
  }
  if (auto it = json.find("port"); it != json.end() && it->is_number_integer()) {
    ref.port = it->get<uint32_t>();
  }
  return ref;
}

namespace {
std::vector<SchemaField> targetRefFields() {
  return {
      required("kind",
               enumOf({"Mesh", "MeshSubset", "MeshGateway", "MeshService", "MeshExternalService",
                       "MeshMultiZoneService", "MeshServiceSubset", "MeshHTTPRoute", "Dataplane"})),
      field("name", string()),
      field("tags", mapOf(string())),
      field("mesh", string()),
      field("proxyTypes", arrayOf(enumOf({"Sidecar", "Gateway"}))),
      field("namespace", string()),
      field("labels", mapOf(string())),
      field("sectionName", string()),
  };
}
}  // namespace

SchemaPtr targetRefSchema() {
  static const SchemaPtr schema = object(targetRefFields());
  return schema;
}

SchemaPtr backendRefSchema() {
  static const SchemaPtr schema = [] {
    auto fields = targetRefFields();
    fields.push_back(field("weight", withDefault(int32(0, std::nullopt), 1)));
    fields.push_back(field("port", int32(1, 65535)));
    return object(std::move(fields));
  }();
  return schema;
}

bool includesGateways(const TargetRef& ref) {
  if (ref.kind == kMeshGateway || ref.kind == kMeshHTTPRoute) {
    return true;
  }
  return (ref.kind == kMesh || ref.kind == kMeshSubset) &&
         (ref.proxyTypes.empty() || std::find(ref.proxyTypes.begin(), ref.proxyTypes.end(),
                                              "Gateway") != ref.proxyTypes.end());
}

ValidationError validateTargetRef(const nlohmann::json& ref, const TargetRefOpts& opts) {
  ValidationError err;
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& r = ref.is_object() ? ref : empty;
  std::string kind = str(r, "kind");
  if (kind.empty()) {
    err.addViolation("kind", "must be defined");
    return err;
  }
  if (std::find(opts.supportedKinds.begin(), opts.supportedKinds.end(), kind) ==
      opts.supportedKinds.end()) {
    // Kuma: fmt.Sprintf("value '%s' is not supported", ref.Kind).
    err.addViolation("kind", opts.supportedKindsError.empty()
                                 ? "value '" + kind + "' is not supported"
                                 : opts.supportedKindsError);
    return err;
  }
  bool hasLabels = isSet(r, "labels");
  if (kind == kMesh) {
    if (isSet(r, "name")) {
      err.addViolation("name", "using name with kind Mesh is not yet supported");
    }
    for (const char* f : {"mesh", "tags", "labels", "namespace", "sectionName"}) {
      disallowed(r, f, kind, err);
    }
  } else if (kind == kDataplane) {
    for (const char* f : {"tags", "mesh", "proxyTypes"}) {
      disallowed(r, f, kind, err);
    }
    if (hasLabels && (isSet(r, "name") || isSet(r, "namespace"))) {
      err.addViolation("labels", "either labels or name and namespace must be specified");
    }
    if (!opts.isInboundPolicy && isSet(r, "sectionName")) {
      err.addViolation("sectionName", "can only be used with inbound policies");
    }
  } else if (kind == kMeshSubset) {
    disallowed(r, "name", kind, err);
    disallowed(r, "mesh", kind, err);
    validateTags(r, false, err);
    for (const char* f : {"labels", "namespace", "sectionName"}) {
      disallowed(r, f, kind, err);
    }
  } else if (kind == kMeshService || kind == kMeshHTTPRoute || kind == kMeshExternalService ||
             kind == kMeshMultiZoneService) {
    validateName(r, opts, err);
    for (const char* f : {"mesh", "tags", "proxyTypes"}) {
      disallowed(r, f, kind, err);
    }
    if (!hasLabels) {
      requiredField(r, "name", kind, err);
    }
    if (kind == kMeshExternalService) {
      if (hasLabels && isSet(r, "name")) {
        err.addViolation("labels", "either labels or name must be specified");
      }
      disallowed(r, "sectionName", kind, err);
    } else {
      if (hasLabels && (isSet(r, "name") || isSet(r, "namespace"))) {
        err.addViolation("labels", "either labels or name and namespace must be specified");
      }
      if (hasLabels && isSet(r, "sectionName")) {
        err.addViolation("sectionName", "sectionName should not be combined with labels");
      }
    }
  } else if (kind == kMeshServiceSubset || kind == kMeshGateway) {
    requiredField(r, "name", kind, err);
    validateName(r, opts, err);
    disallowed(r, "mesh", kind, err);
    disallowed(r, "proxyTypes", kind, err);
    validateTags(r, true, err);
    if (kind == kMeshGateway && !opts.gatewayListenerTagsAllowed) {
      disallowed(r, "tags", kind, err);
    }
    for (const char* f : {"labels", "namespace", "sectionName"}) {
      disallowed(r, f, kind, err);
    }
  }
  return err;
}

}  // namespace kuma::policies
