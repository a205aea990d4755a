#pragma once

// File: legacy_fixtures.h
// The mesh of the `legacy-resilience` conformance case (tools/conformance/cases/) for the unit
// tests of the legacy connection policies (healthcheck/, circuitbreaker/, retry/): web calls
// backend (http) and db (tcp) over Kuma's legacy outbound path (a route-all TrafficRoute).

#include <string>
#include <vector>

#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds::testing::legacy {

inline const char kRouteAll[] = R"(type: TrafficRoute
mesh: default
name: route-all-default
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: "*"}}]
conf:
  loadBalancer: {roundRobin: {}}
  destination: {kuma.io/service: "*"}
)";

/** backend (http), db (tcp) and the proxy web with an outbound to each. */
inline std::vector<std::string> peers() {
  return {
      dataplaneYaml("backend-v1", "127.0.0.2", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http, version: v1}}
)"),
      dataplaneYaml("db", "127.0.0.4", R"(  inbound:
  - {port: 5432, tags: {kuma.io/service: db, kuma.io/protocol: tcp}}
)"),
      dataplaneYaml("web", "127.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  outbound:
  - {port: 10001, tags: {kuma.io/service: backend}}
  - {port: 10002, tags: {kuma.io/service: db}}
)"),
  };
}

/** The resources of web for `policies` plus the peers (and the route-all when `routeAll`). */
inline GeneratedResources generateWeb(std::vector<std::string> policies, bool routeAll = true) {
  if (routeAll) {
    policies.push_back(kRouteAll);
  }
  for (auto& p : peers()) {
    policies.push_back(std::move(p));
  }
  return generateFromYamls(policies, "web");
}

}  // namespace kuma::xds::testing::legacy
