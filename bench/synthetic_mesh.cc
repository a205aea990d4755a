#include "bench/synthetic_mesh.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "source/common/status_macros.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/resources/memory/memory_store.h"

namespace kuma::bench {
namespace {

using nlohmann::json;

// The default policies of a new mesh (Kuma 2.14, spec §10): they select every sidecar, so every
// generation goes through policy matching and merging as it does in a real mesh.
std::vector<json> defaultPolicies() {
  const std::string mesh = kBenchMesh;
  return {
      {{"type", "MeshTimeout"},
       {"mesh", mesh},
       {"name", "mesh-timeout-all-" + mesh},
       {"spec",
        {{"targetRef", {{"kind", "Mesh"}, {"proxyTypes", {"Sidecar"}}}},
         {"from",
          {{{"targetRef", {{"kind", "Mesh"}}},
            {"default",
             {{"connectionTimeout", "10s"},
              {"idleTimeout", "2h0m0s"},
              {"http",
               {{"requestTimeout", "0s"},
                {"streamIdleTimeout", "1h0m0s"},
                {"maxStreamDuration", "0s"}}}}}}}},
         {"to",
          {{{"targetRef", {{"kind", "Mesh"}}},
            {"default",
             {{"connectionTimeout", "5s"},
              {"idleTimeout", "1h0m0s"},
              {"http", {{"requestTimeout", "15s"}, {"streamIdleTimeout", "30m0s"}}}}}}}}}}},
      {{"type", "MeshTimeout"},
       {"mesh", mesh},
       {"name", "mesh-gateways-timeout-all-" + mesh},
       {"spec",
        {{"targetRef", {{"kind", "Mesh"}, {"proxyTypes", {"Gateway"}}}},
         {"from",
          {{{"targetRef", {{"kind", "Mesh"}}},
            {"default",
             {{"idleTimeout", "5m0s"},
              {"http", {{"streamIdleTimeout", "5s"}, {"requestHeadersTimeout", "500ms"}}}}}}}},
         {"to",
          {{{"targetRef", {{"kind", "Mesh"}}},
            {"default", {{"idleTimeout", "1h0m0s"}, {"http", {{"streamIdleTimeout", "5s"}}}}}}}}}}},
      {{"type", "MeshCircuitBreaker"},
       {"mesh", mesh},
       {"name", "mesh-circuit-breaker-all-" + mesh},
       {"spec",
        {{"targetRef", {{"kind", "Mesh"}}},
         {"to",
          {{{"targetRef", {{"kind", "Mesh"}}},
            {"default",
             {{"connectionLimits",
               {{"maxConnections", 1024},
                {"maxPendingRequests", 1024},
                {"maxRequests", 1024},
                {"maxRetries", 3}}}}}}}}}}},
      {{"type", "MeshRetry"},
       {"mesh", mesh},
       {"name", "mesh-retry-all-" + mesh},
       {"spec",
        {{"targetRef", {{"kind", "Mesh"}}},
         {"to",
          {{{"targetRef", {{"kind", "Mesh"}}},
            {"default",
             {{"tcp", {{"maxConnectAttempt", 5}}},
              {"http",
               {{"numRetries", 5},
                {"perTryTimeout", "16s"},
                {"backOff", {{"baseInterval", "25ms"}, {"maxInterval", "250ms"}}}}},
              {"grpc",
               {{"numRetries", 5},
                {"perTryTimeout", "16s"},
                {"backOff", {{"baseInterval", "25ms"}, {"maxInterval", "250ms"}}}}}}}}}}}}},
  };
}

// 10.0.0.1, 10.0.0.2, ...: one distinct address per Dataplane.
std::string addressOf(size_t ordinal) {
  const size_t n = ordinal + 1;
  return absl::StrCat("10.", (n >> 16) & 0xff, ".", (n >> 8) & 0xff, ".", n & 0xff);
}

json dataplane(const SyntheticMeshOptions& options, size_t service, size_t replica) {
  const size_t destinations = std::min(options.outboundsPerProxy, options.services - 1);
  json networking = {
      {"address", addressOf(service * options.dataplanesPerService + replica)},
      {"inbound",
       {{{"port", 8080},
         {"tags", {{"kuma.io/service", serviceName(service)}, {"kuma.io/protocol", "http"}}}}}}};
  json outbound = json::array();
  json reachable = json::array();
  for (size_t k = 1; k <= destinations; ++k) {
    const std::string target = serviceName((service + k) % options.services);
    outbound.push_back({{"port", 10000 + k}, {"tags", {{"kuma.io/service", target}}}});
    reachable.push_back(target);
  }
  switch (options.mode) {
    case OutboundMode::Explicit:
      networking["outbound"] = std::move(outbound);
      break;
    case OutboundMode::TransparentReachable:
      networking["transparentProxying"] = {{"redirectPortInbound", 15006},
                                           {"redirectPortOutbound", 15001},
                                           {"reachableServices", std::move(reachable)}};
      break;
    case OutboundMode::TransparentAll:
      networking["transparentProxying"] = {{"redirectPortInbound", 15006},
                                           {"redirectPortOutbound", 15001}};
      break;
  }
  return {{"type", "Dataplane"},
          {"mesh", kBenchMesh},
          {"name", dataplaneName(service, replica)},
          {"networking", std::move(networking)}};
}

absl::Status put(store::ResourceStore& store, const model::TypeRegistry& registry,
                 const json& object) {
  const std::string typeName = object.at("type").get<std::string>();
  const model::ResourceTypeDescriptor* type = registry.byName(typeName);
  if (type == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("type not registered: ", typeName));
  }
  KUMA_ASSIGN_OR_RETURN(auto body, model::fromRestJson(*type, object));
  return store.create(std::move(body.resource), {}).status();
}

}  // namespace

const char* outboundModeName(OutboundMode mode) {
  switch (mode) {
    case OutboundMode::Explicit:
      return "outbounds";
    case OutboundMode::TransparentReachable:
      return "tp_reachable";
    case OutboundMode::TransparentAll:
      return "tp_all";
  }
  return "unknown";
}

std::string serviceName(size_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "svc-%04zu", index);
  return buf;
}

std::string dataplaneName(size_t index, size_t replica) {
  return absl::StrCat(serviceName(index), "-", replica);
}

absl::StatusOr<store::ResourceStorePtr> newSyntheticMeshStore(const model::TypeRegistry& registry,
                                                              const SyntheticMeshOptions& options) {
  if (options.services == 0 || options.dataplanesPerService == 0) {
    return absl::InvalidArgumentError("a synthetic mesh needs services and Dataplanes");
  }
  store::ResourceStorePtr store = memory::newMemoryStore();
  KUMA_RETURN_IF_ERROR(put(*store, registry, {{"type", "Mesh"}, {"name", kBenchMesh}}));
  if (options.defaultPolicies) {
    for (const json& policy : defaultPolicies()) {
      KUMA_RETURN_IF_ERROR(put(*store, registry, policy));
    }
  }
  for (size_t s = 0; s < options.services; ++s) {
    for (size_t r = 0; r < options.dataplanesPerService; ++r) {
      KUMA_RETURN_IF_ERROR(put(*store, registry, dataplane(options, s, r)));
    }
  }
  return store;
}

}  // namespace kuma::bench
