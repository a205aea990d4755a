#include "source/plugins/k8s/crds.h"

#include <algorithm>
#include <initializer_list>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "source/common/json_yaml.h"
#include "source/plugins/policies/core/schema_openapi.h"
#include "source/plugins/identity/register.h"
#include "source/plugins/policies/register.h"
#include "source/plugins/services/register.h"

namespace kuma::k8s {
namespace {

using Json = nlohmann::ordered_json;

using Names = std::initializer_list<std::string_view>;

bool oneOf(Names names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Types kept as native Kubernetes objects in Kuma (Secrets, a ConfigMap): no CRD.
const Names kTypesWithoutCrd = {"Secret", "GlobalSecret", "Config"};

// Kuma's protobuf-based types whose custom resources live in a namespace (the system namespace
// or the workload's); every other protobuf-based type is cluster-scoped, mesh-scoped legacy
// policies included (their mesh is the resource's `mesh` field).
const Names kNamespacedProtoTypes = {"Dataplane",  "DataplaneInsight",   "ZoneIngress",
                                     "ZoneEgress", "ZoneIngressInsight", "ZoneEgressInsight"};

// Protobuf-based types whose CRD carries the message as `status` instead of `spec`.
const Names kStatusOnlyTypes = {"DataplaneInsight"};

// Kuma's CRDs with an empty `subresources: {}`: the protobuf-based types below and every Mesh*
// type except those listed after them.
const Names kProtoTypesWithSubresources = {"Dataplane", "ZoneIngress", "ZoneEgress"};
const Names kMeshTypesWithoutSubresources = {
    "MeshOpenTelemetryBackend", "MeshIdentity", "MeshTrust",     "MeshZoneAddress",
    "HostnameGenerator",        "Workload",     "ContainerPatch"};

// Types whose `status.conditions` Kuma's CRD marks as a list map keyed by `type`.
const Names kTypesWithConditionListMap = {"MeshIdentity"};

// Mesh* types whose CRD has Kuma's `status: {conditions: [...]}`.
const Names kTypesWithConditions = {"MeshAccessLog", "MeshTrace", "MeshOpenTelemetryBackend",
                                    "MeshMetric"};

// Kuma's condition list (a subset of metav1.Condition), built with the policy schema builders.
Json conditionsStatusSchema() {
  namespace p = kuma::policies;
  p::SchemaPtr reason = p::withPattern(p::withLength(p::string(), 1, 1024),
                                       {"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", nullptr});
  p::SchemaPtr type =
      p::withPattern(p::withLength(p::string(), std::nullopt, 316),
                     {"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                      "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
                      nullptr});
  p::SchemaPtr condition = p::object({
      p::required("message", p::withLength(p::string(), std::nullopt, 32768)),
      p::required("reason", reason),
      p::required("status", p::enumOf({"True", "False", "Unknown"})),
      p::required("type", type),
  });
  return p::toOpenApi(*p::object({p::field("conditions", p::arrayOf(condition))}));
}

Json stringProperty(std::optional<std::string> description = std::nullopt) {
  Json p = Json::object();
  if (description) {
    p["description"] = *description;
  }
  p["type"] = "string";
  return p;
}

Json printerColumn(std::string name, std::string jsonPath, std::optional<std::string> description,
                   std::optional<int> priority = std::nullopt) {
  Json c = Json::object();
  if (description) {
    c["description"] = *description;
  }
  c["jsonPath"] = std::move(jsonPath);
  c["name"] = std::move(name);
  if (priority) {
    c["priority"] = *priority;
  }
  c["type"] = "string";
  return c;
}

Json printerColumns(const model::ResourceTypeDescriptor& type, const policies::Schema* spec) {
  Json columns = Json::array();
  if (type.name == "Dataplane") {
    const char* ordinals[] = {"first", "second", "third", "fourth"};
    for (int i = 0; i < 4; ++i) {
      columns.push_back(
          printerColumn("kuma.io/service",
                        absl::StrCat(".spec.networking.inbound[", i, "].tags['kuma\\.io/service']"),
                        absl::StrCat("Service tag of the ", ordinals[i], " inbound"),
                        i >= 2 ? std::optional<int>(1) : std::nullopt));
    }
  } else if (type.name == "MeshService" || type.name == "MeshExternalService" ||
             type.name == "MeshMultiZoneService") {
    columns.push_back(printerColumn("Hostname", ".status.addresses[0].hostname", std::nullopt));
  } else if (type.name == "ZoneIngress" || type.name == "ZoneEgress") {
    columns.push_back(printerColumn("zone", ".spec.zone", "Zone name"));
  } else if (spec != nullptr && type.isPolicy &&
             std::any_of(spec->fields.begin(), spec->fields.end(),
                         [](const policies::SchemaField& f) { return f.name == "targetRef"; })) {
    columns.push_back(printerColumn("TargetRef Kind", ".spec.targetRef.kind", std::nullopt));
    columns.push_back(printerColumn("TargetRef Name", ".spec.targetRef.name", std::nullopt));
  }
  return columns;
}

}  // namespace

bool hasCrd(const model::ResourceTypeDescriptor& type) {
  return !type.wsPath.empty() && !oneOf(kTypesWithoutCrd, type.name);
}

bool crdMessageInStatus(const model::ResourceTypeDescriptor& type) {
  return type.format != model::SpecFormat::SpecStatus && oneOf(kStatusOnlyTypes, type.name);
}

std::string_view crdScope(const model::ResourceTypeDescriptor& type) {
  if (type.format == model::SpecFormat::SpecStatus) {
    return "Namespaced";
  }
  return oneOf(kNamespacedProtoTypes, type.name) ? "Namespaced" : "Cluster";
}

std::string crdPlural(const model::ResourceTypeDescriptor& type) {
  return absl::StrReplaceAll(type.wsPath, {{"-", ""}});
}

Json crdFor(const model::ResourceTypeDescriptor& type) {
  const std::string plural = crdPlural(type);
  const std::string singular = absl::AsciiStrToLower(type.name);
  const bool protoBased = type.format == model::SpecFormat::Flat;
  // Service and identity types (MeshService, Workload, ...) carry their own spec and status
  // schemas.
  const policies::PolicyDefinition* service = services::serviceDefinition(type.name);
  if (service == nullptr) {
    service = identity::identityDefinition(type.name);
  }
  const policies::Schema* spec = policies::policySpecSchema(type.name);
  if (spec == nullptr && service != nullptr) {
    spec = service->schema.get();
  }

  Json names = Json::object();
  names["categories"] = Json::array({"kuma"});
  names["kind"] = type.name;
  names["listKind"] = type.name + "List";
  names["plural"] = plural;
  if (!type.shortName.empty()) {
    names["shortNames"] = Json::array({type.shortName});
  }
  names["singular"] = singular;

  Json properties = Json::object();
  properties["apiVersion"] = stringProperty(
      "APIVersion defines the versioned schema of this representation of an object.");
  properties["kind"] = stringProperty(
      "Kind is a string value representing the REST resource this object represents.");
  if (protoBased) {
    properties["mesh"] = stringProperty(
        "Mesh is the name of the Kuma mesh this resource belongs to (empty for types outside "
        "meshes, such as Mesh itself).");
  }
  properties["metadata"] = Json{{"type", "object"}};
  if (protoBased && oneOf(kStatusOnlyTypes, type.name)) {
    properties["status"] = Json{{"description", "Status is the status the Kuma resource."},
                                {"x-kubernetes-preserve-unknown-fields", true}};
  } else {
    Json specSchema = Json::object();
    specSchema["description"] =
        absl::StrCat("Spec is the specification of the Kuma ", type.name, " resource.");
    if (spec != nullptr) {
      const Json generated = policies::toOpenApi(*spec);
      for (const auto& [key, value] : generated.items()) {
        specSchema[key] = value;
      }
    } else {
      specSchema["x-kubernetes-preserve-unknown-fields"] = true;
    }
    properties["spec"] = std::move(specSchema);
  }
  if (service != nullptr && service->statusSchema != nullptr) {
    Json status = Json::object();
    status["description"] =
        absl::StrCat("Status is the current status of the Kuma ", type.name, " resource.");
    Json generated = policies::toOpenApi(*service->statusSchema);
    // The status schema's `default`s only give Go's zero-value marshalling in REST answers
    // (e.g. `tls: {}`); Kuma's CRDs have none.
    for (auto& [key, value] : generated["properties"].items()) {
      value.erase("default");
    }
    // Some of Kuma's condition lists are list maps keyed by `type` (a MeshIdentity's, a
    // HostnameGeneratorStatus's; not a MeshMultiZoneService's).
    if (auto c = generated["properties"].find("conditions");
        c != generated["properties"].end() && oneOf(kTypesWithConditionListMap, type.name)) {
      (*c)["x-kubernetes-list-map-keys"] = Json::array({"type"});
      (*c)["x-kubernetes-list-type"] = "map";
    }
    if (auto hg = generated["properties"].find("hostnameGenerators");
        hg != generated["properties"].end()) {
      Json& conditions = (*hg)["items"]["properties"]["conditions"];
      conditions["x-kubernetes-list-map-keys"] = Json::array({"type"});
      conditions["x-kubernetes-list-type"] = "map";
    }
    for (const auto& [key, value] : generated.items()) {
      status[key] = value;
    }
    properties["status"] = std::move(status);
  } else if (!protoBased && oneOf(kTypesWithConditions, type.name)) {
    Json status = Json::object();
    status["description"] =
        absl::StrCat("Status is the current status of the Kuma ", type.name, " resource.");
    const Json conditions = conditionsStatusSchema();
    for (const auto& [key, value] : conditions.items()) {
      status[key] = value;
    }
    properties["status"] = std::move(status);
  }

  Json version = Json::object();
  if (Json columns = printerColumns(type, spec); !columns.empty()) {
    version["additionalPrinterColumns"] = std::move(columns);
  }
  version["name"] = std::string(kCrdVersion);
  version["schema"] =
      Json{{"openAPIV3Schema", Json{{"properties", std::move(properties)}, {"type", "object"}}}};
  version["served"] = true;
  version["storage"] = true;
  if (protoBased ? oneOf(kProtoTypesWithSubresources, type.name)
                 : !oneOf(kMeshTypesWithoutSubresources, type.name)) {
    version["subresources"] = Json::object();
  }

  Json crdSpec = Json::object();
  crdSpec["group"] = std::string(kCrdGroup);
  crdSpec["names"] = std::move(names);
  crdSpec["scope"] = std::string(crdScope(type));
  crdSpec["versions"] = Json::array({std::move(version)});

  Json crd = Json::object();
  crd["apiVersion"] = "apiextensions.k8s.io/v1";
  crd["kind"] = "CustomResourceDefinition";
  crd["metadata"] = Json{{"name", plural + "." + std::string(kCrdGroup)}};
  crd["spec"] = std::move(crdSpec);
  return crd;
}

std::vector<Json> generateCrds(const model::TypeRegistry& registry) {
  std::vector<const model::ResourceTypeDescriptor*> types;
  for (const model::ResourceTypeDescriptor* type : registry.all()) {
    if (hasCrd(*type)) {
      types.push_back(type);
    }
  }
  std::sort(types.begin(), types.end(),
            [](const auto* a, const auto* b) { return crdPlural(*a) < crdPlural(*b); });
  std::vector<Json> crds;
  crds.reserve(types.size());
  for (const model::ResourceTypeDescriptor* type : types) {
    crds.push_back(crdFor(*type));
  }
  return crds;
}

std::string crdsYaml(const std::vector<Json>& crds) {
  std::string out;
  for (const Json& crd : crds) {
    absl::StrAppend(&out, "---\n", common::toYaml(crd));
    if (!out.empty() && out.back() != '\n') {
      out += '\n';
    }
  }
  return out;
}

}  // namespace kuma::k8s
