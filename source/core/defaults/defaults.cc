#include "source/core/defaults/defaults.h"

#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "source/common/crypto/pki.h"
#include "source/common/logging.h"
#include "source/common/status_macros.h"
#include "source/core/model/rest_codec.h"

namespace kuma::defaults {
namespace {

using nlohmann::json;

json meshRef() {
  return {{"kind", "Mesh"}};
}

}  // namespace

std::vector<json> defaultPolicies(const std::string& mesh) {
  std::vector<json> out;
  out.push_back(
      {{"type", "MeshTimeout"},
       {"mesh", mesh},
       {"name", "mesh-timeout-all-" + mesh},
       {"spec",
        {{"targetRef", {{"kind", "Mesh"}, {"proxyTypes", {"Sidecar"}}}},
         {"from",
          {{{"targetRef", meshRef()},
            {"default",
             {{"connectionTimeout", "10s"},
              {"idleTimeout", "2h0m0s"},
              {"http",
               {{"requestTimeout", "0s"},
                {"streamIdleTimeout", "1h0m0s"},
                {"maxStreamDuration", "0s"}}}}}}}},
         {"to",
          {{{"targetRef", meshRef()},
            {"default",
             {{"connectionTimeout", "5s"},
              {"idleTimeout", "1h0m0s"},
              {"http", {{"requestTimeout", "15s"}, {"streamIdleTimeout", "30m0s"}}}}}}}}}}});
  out.push_back(
      {{"type", "MeshTimeout"},
       {"mesh", mesh},
       {"name", "mesh-gateways-timeout-all-" + mesh},
       {"spec",
        {{"targetRef", {{"kind", "Mesh"}, {"proxyTypes", {"Gateway"}}}},
         {"from",
          {{{"targetRef", meshRef()},
            {"default",
             {{"idleTimeout", "5m0s"},
              {"http", {{"streamIdleTimeout", "5s"}, {"requestHeadersTimeout", "500ms"}}}}}}}},
         {"to",
          {{{"targetRef", meshRef()},
            {"default",
             {{"idleTimeout", "1h0m0s"}, {"http", {{"streamIdleTimeout", "5s"}}}}}}}}}}});
  out.push_back({{"type", "MeshCircuitBreaker"},
                 {"mesh", mesh},
                 {"name", "mesh-circuit-breaker-all-" + mesh},
                 {"spec",
                  {{"targetRef", meshRef()},
                   {"to",
                    {{{"targetRef", meshRef()},
                      {"default",
                       {{"connectionLimits",
                         {{"maxConnections", 1024},
                          {"maxPendingRequests", 1024},
                          {"maxRequests", 1024},
                          {"maxRetries", 3}}}}}}}}}}});
  const json backOff = {{"baseInterval", "25ms"}, {"maxInterval", "250ms"}};
  const json retry = {{"numRetries", 5}, {"perTryTimeout", "16s"}, {"backOff", backOff}};
  out.push_back(
      {{"type", "MeshRetry"},
       {"mesh", mesh},
       {"name", "mesh-retry-all-" + mesh},
       {"spec",
        {{"targetRef", meshRef()},
         {"to",
          {{{"targetRef", meshRef()},
            {"default",
             {{"tcp", {{"maxConnectAttempt", 5}}}, {"http", retry}, {"grpc", retry}}}}}}}}});
  return out;
}

namespace {

std::vector<json> routingResources(const std::string& mesh) {
  const json any = {{"match", {{"kuma.io/service", "*"}}}};
  return {
      {{"type", "TrafficPermission"},
       {"mesh", mesh},
       {"name", "allow-all-" + mesh},
       {"sources", {any}},
       {"destinations", {any}}},
      {{"type", "TrafficRoute"},
       {"mesh", mesh},
       {"name", "route-all-" + mesh},
       {"sources", {any}},
       {"destinations", {any}},
       {"conf",
        {{"destination", {{"kuma.io/service", "*"}}},
         {"loadBalancer", {{"roundRobin", json::object()}}}}}},
  };
}

bool skipped(const json& skipList, const std::string& type) {
  if (!skipList.is_array()) {
    return false;
  }
  for (const auto& s : skipList) {
    if (s == "*" || s == type) {
      return true;
    }
  }
  return false;
}

// Creates `resource` unless it exists (defaults are never recreated over user changes).
// `generated`: without computed labels (the signing keys and CAs Kuma stores unlabelled).
absl::Status ensure(manager::ResourceManager& manager, model::Resource resource,
                    bool generated = false) {
  const model::ResourceTypeDescriptor& d = *resource.descriptor;
  auto existing = manager.get(d, {resource.meta.name, resource.meta.mesh});
  if (existing.ok()) {
    return absl::OkStatus();
  }
  if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  auto created = generated ? manager.createGenerated(std::move(resource))
                           : manager.create(std::move(resource));
  if (!created.ok() && !absl::IsAlreadyExists(created.status())) {
    return created.status();
  }
  return absl::OkStatus();
}

absl::Status ensureJson(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                        const json& object, bool generated = false) {
  KUMA_ASSIGN_OR_RETURN(model::Resource resource,
                        resourceFromJson(registry, object.at("type").get<std::string>(), object));
  return ensure(manager, std::move(resource), generated);
}

absl::Status secretJson(const model::TypeRegistry& registry, manager::ResourceManager& manager,
                        const std::string& type, const std::string& mesh, const std::string& name,
                        const std::function<absl::StatusOr<std::string>()>& data) {
  const model::ResourceTypeDescriptor* d = registry.byName(type);
  if (d == nullptr) {
    return absl::InternalError(type + " type is not registered");
  }
  if (manager.get(*d, {name, mesh}).ok()) {
    return absl::OkStatus();
  }
  KUMA_ASSIGN_OR_RETURN(std::string bytes, data());
  json object = {{"type", type}, {"name", name}, {"data", absl::Base64Escape(bytes)}};
  if (!mesh.empty()) {
    object["mesh"] = mesh;
  }
  KUMA_ASSIGN_OR_RETURN(model::Resource resource, resourceFromJson(registry, type, object));
  return ensure(manager, std::move(resource), /*generated=*/true);
}

absl::Status createMeshDefaults(manager::ResourceManager& manager,
                                const model::TypeRegistry& registry, const DefaultsOptions& options,
                                const model::Resource& mesh) {
  const std::string& name = mesh.meta.name;
  KUMA_RETURN_IF_ERROR(secretJson(registry, manager, "Secret", name,
                                  absl::StrCat("dataplane-token-signing-key-", name, "-1"),
                                  [] { return crypto::generateRsaKeyPem(2048); }));
  const json spec = mesh.spec ? json(mesh.spec->toJson()) : json::object();
  const json skip = spec.value("skipCreatingInitialPolicies", json::array());
  for (const json& policy : defaultPolicies(name)) {
    if (!skipped(skip, policy["type"].get<std::string>())) {
      KUMA_RETURN_IF_ERROR(ensureJson(manager, registry, policy));
    }
  }
  if (options.createMeshRoutingResources) {
    for (const json& r : routingResources(name)) {
      KUMA_RETURN_IF_ERROR(ensureJson(manager, registry, r));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<model::Resource> resourceFromJson(const model::TypeRegistry& registry,
                                                 const std::string& typeName, const json& object) {
  const model::ResourceTypeDescriptor* d = registry.byName(typeName);
  if (d == nullptr) {
    return absl::InternalError(typeName + " type is not registered");
  }
  KUMA_ASSIGN_OR_RETURN(model::RestBody body, model::fromRestJson(*d, object));
  return std::move(body.resource);
}

void installMeshDefaults(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                         const DefaultsOptions& options) {
  if (options.skipTenantResources) {
    return;
  }
  manager.onMeshCreated([&manager, &registry, options](const model::Resource& mesh) {
    absl::Status s = createMeshDefaults(manager, registry, options, mesh);
    if (!s.ok()) {
      logging::logger("defaults")
          ->error("could not create the default resources of mesh {}: {}", mesh.meta.name,
                  std::string(s.message()));
    }
    return s;
  });
}

// Kuma's EnsureOnlyOneZoneExists on a zone control plane: the Zone named after this zone, created
// without labels, and no other (left over from an earlier zone name).
absl::Status DefaultsComponent::ensureOnlyOneZone() {
  const model::ResourceTypeDescriptor* zoneType = registry_.byName("Zone");
  if (zoneType == nullptr) {
    return absl::OkStatus();
  }
  KUMA_ASSIGN_OR_RETURN(auto zones, manager_.list(*zoneType, {}));
  for (const auto& zone : zones.items) {
    if (zone->meta.name != options_.zone) {
      logging::logger("defaults")
          ->info("detected Zone resource with different name than Zone CP name. Deleting. name={}",
                 zone->meta.name);
      absl::Status deleted = manager_.remove(*zoneType, {zone->meta.name, ""});
      if (!deleted.ok() && !absl::IsNotFound(deleted)) {
        return deleted;
      }
    }
  }
  return ensureJson(manager_, registry_, {{"type", "Zone"}, {"name", options_.zone}},
                    /*generated=*/true);
}

DefaultsComponent::DefaultsComponent(manager::ResourceManager& manager,
                                     const model::TypeRegistry& registry, DefaultsOptions options)
    : manager_(manager), registry_(registry), options_(options) {}

absl::Status DefaultsComponent::start() {
  if (options_.skipTenantResources) {
    return absl::OkStatus();
  }
  auto log = logging::logger("defaults");
  KUMA_RETURN_IF_ERROR(secretJson(registry_, manager_, "GlobalSecret", "", "envoy-admin-ca",
                                  []() -> absl::StatusOr<std::string> {
                                    auto ca = crypto::generateSelfSignedCa(
                                        "Kuma", "Mesh", "Envoy Admin CA",
                                        absl::Hours(24 * 365 * 10));
                                    if (!ca.ok()) {
                                      return ca.status();
                                    }
                                    return ca->certPem + ca->keyPem;
                                  }));
  KUMA_RETURN_IF_ERROR(secretJson(registry_, manager_, "GlobalSecret", "",
                                  "zone-token-signing-key-1",
                                  [] { return crypto::generateRsaKeyPem(2048); }));
  KUMA_RETURN_IF_ERROR(ensureOnlyOneZone());
  // (A registry without the type, as in tests of other parts, has nothing to default.)
  if (!options_.skipHostnameGenerators && registry_.byName("HostnameGenerator") != nullptr) {
    // Kuma's zone defaults: hostnames for the zone's own MeshExternalServices and, on Universal
    // only, MeshServices.
    for (const auto& [name, selector, suffix] :
         {std::tuple{"local-mesh-external-service", "meshExternalService", "extsvc"},
          std::tuple{"local-universal-mesh-service", "meshService", "svc"}}) {
      if (options_.kubernetes && std::string_view(selector) == "meshService") {
        continue;
      }
      KUMA_RETURN_IF_ERROR(
          ensureJson(manager_, registry_,
                     {{"type", "HostnameGenerator"},
                      {"name", name},
                      {"labels", {{"kuma.io/origin", "zone"}}},
                      {"spec",
                       {{"selector", {{selector, {{"matchLabels", {{"kuma.io/origin", "zone"}}}}}}},
                        {"template", absl::StrCat("{{ .DisplayName }}.", suffix, ".mesh.local")}}}},
                     /*generated=*/true));  // Kuma's manager call: only the origin label it gives
    }
  }
  if (!options_.skipMeshCreation) {
    KUMA_RETURN_IF_ERROR(ensureJson(manager_, registry_, {{"type", "Mesh"}, {"name", "default"}}));
    log->info("default mesh is present");
  }
  return absl::OkStatus();
}

}  // namespace kuma::defaults
