#pragma once

// File: generator_test_util.h
// Inputs of spec §7.2 case (a) and §7.3 case (b), and decoding helpers for generated resources.

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/generator/generator.h"
#include "test/test_common/golden.h"
#include "test/xds/context/xds_fixtures.h"

namespace kuma::xds::testing {

/** The other Dataplanes of case (a): redis (tcp) and two api (http) endpoints. */
inline std::vector<std::string> caseAOthers() {
  return {
      dataplaneYaml("redis-1", "10.0.0.2", R"(  inbound:
  - {port: 6379, tags: {kuma.io/service: redis, kuma.io/zone: default}}
)"),
      dataplaneYaml("api-2", "10.0.0.4", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: api, kuma.io/protocol: http, kuma.io/zone: default}}
)"),
      dataplaneYaml("api-1", "10.0.0.3", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: api, kuma.io/protocol: http, kuma.io/zone: default}}
)"),
      dataplaneYaml("api-3", "10.0.0.5", R"(  inbound:
  - {port: 8080, state: NotReady, tags: {kuma.io/service: api, kuma.io/protocol: http, kuma.io/zone: default}}
)"),
  };
}

inline std::string caseADataplane() {
  return dataplaneYaml("web-1", "10.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http, kuma.io/zone: default}}
  outbound:
  - {port: 10001, tags: {kuma.io/service: redis}}
  - {port: 10002, tags: {kuma.io/service: api}}
)");
}

inline std::string caseBDataplane() {
  return dataplaneYaml("web-1", "10.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http, kuma.io/zone: default}}
  transparentProxying:
    redirectPortInbound: 15006
    redirectPortOutbound: 15001
    ipFamilyMode: DualStack
    reachableServices: [api]
)");
}

/** Every input of a case: the proxy's Dataplane, the others and the default policies. */
inline MeshResources caseResources(const std::string& proxyYaml) {
  std::vector<std::string> yamls = caseAOthers();
  yamls.push_back(proxyYaml);
  for (const auto& p : defaultPolicyYamls()) {
    yamls.push_back(p);
  }
  return meshResources(yamls);
}

/** The `default` Mesh with builtin mTLS enabled in `mode` (STRICT or PERMISSIVE). */
inline std::string mtlsMeshYaml(const std::string& mode) {
  return "type: Mesh\nname: default\nmtls:\n  enabledBackend: ca-1\n  backends:\n"
         "  - {name: ca-1, type: builtin, mode: " +
         mode + "}\n";
}

/** caseResources() in a mesh with builtin mTLS in `mode`. */
inline MeshResources caseMtlsResources(const std::string& proxyYaml, const std::string& mode) {
  std::vector<std::string> yamls = caseAOthers();
  yamls.push_back(proxyYaml);
  for (const auto& p : defaultPolicyYamls()) {
    yamls.push_back(p);
  }
  yamls.push_back(mtlsMeshYaml(mode));
  return meshResources(yamls);
}

/** Fixed stand-ins for the proxy's SDS material, so that goldens are stable. */
inline ProxyTlsSecretsConstSharedPtr fakeTlsSecrets() {
  auto tls = std::make_shared<ProxyTlsSecrets>();
  tls->certChainPem = "<identity certificate PEM>";
  tls->keyPem = "<identity key PEM>";
  tls->caPem = "<mesh CA PEM>";
  return tls;
}

/** The Dataplane named `name` of `context`. */
inline model::ResourceConstSharedPtr dataplaneOf(const MeshContext& context,
                                                 const std::string& name) {
  for (const auto& dp : context.dataplanes()) {
    if (dp->meta.name == name) {
      return dp;
    }
  }
  ADD_FAILURE() << "no dataplane " << name;
  return nullptr;
}

/**
 * What the generator with the registered policy plugins makes for the dataplane `proxy` of
 * `context` (empty, and a failure, on error).
 */
inline GeneratedResources generateProxy(const MeshContext& context, const std::string& proxy,
                                        ProxyOptions options = {}) {
  auto dataplane = dataplaneOf(context, proxy);
  if (dataplane == nullptr) {
    return {};
  }
  auto out = generate(context, *dataplane, withPlugins(std::move(options)));
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *std::move(out) : GeneratedResources{};
}

/** generateProxy() for `proxy` in the mesh context built from `yamls` (empty on error). */
inline GeneratedResources generateFromYamls(const std::vector<std::string>& yamls,
                                            const std::string& proxy, ProxyOptions options = {}) {
  auto ctx = MeshContext::build(meshResources(yamls));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  if (!ctx.ok()) {
    return {};
  }
  return generateProxy(**ctx, proxy, std::move(options));
}

template <typename T>
T decode(const GeneratedResources& out, const std::string& typeUrl, const std::string& name) {
  T message;
  auto r = out.find(typeUrl, name);
  EXPECT_NE(r, nullptr) << typeUrl << " " << name;
  if (r != nullptr) {
    EXPECT_TRUE(message.ParseFromString(r->serialized)) << name;
  }
  return message;
}

inline std::vector<std::string> namesOf(const GeneratedResources& out, const std::string& typeUrl) {
  std::vector<std::string> names;
  auto it = out.types.find(typeUrl);
  if (it != out.types.end()) {
    for (const auto& [name, r] : it->second) {
      names.push_back(name);
    }
  }
  return names;
}

/** `{typeUrl: {name: <resource JSON>}}` of every generated resource. */
inline nlohmann::ordered_json toJson(const GeneratedResources& out) {
  nlohmann::ordered_json all = nlohmann::ordered_json::object();
  for (const auto& [type, resources] : out.types) {
    auto& bucket = all[type];
    bucket = nlohmann::ordered_json::object();
    for (const auto& [name, r] : resources) {
      auto json = resourceToJson(type, r->serialized);
      EXPECT_TRUE(json.ok()) << json.status();
      bucket[name] = json.ok() ? nlohmann::ordered_json::parse(*json) : nlohmann::ordered_json();
    }
  }
  return all;
}

/** The generated resource `name` of `typeUrl` as JSON (null, and a failure, when missing). */
inline nlohmann::json resourceJson(const GeneratedResources& out, const std::string& typeUrl,
                                   const std::string& name) {
  auto r = out.find(typeUrl, name);
  EXPECT_NE(r, nullptr) << typeUrl << " " << name;
  if (r == nullptr) {
    return nullptr;
  }
  absl::StatusOr<std::string> text = resourceToJson(typeUrl, r->serialized);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? nlohmann::json::parse(*text) : nlohmann::json();
}

/** The generated resource `name` as indented JSON equals the golden file `path`. */
inline void expectResourceGolden(const GeneratedResources& out, const std::string& typeUrl,
                                 const std::string& name, const std::filesystem::path& path) {
  ASSERT_NE(out.find(typeUrl, name), nullptr) << typeUrl << " " << name;
  test::expectGoldenText(path, resourceJson(out, typeUrl, name).dump(2) + "\n");
}

}  // namespace kuma::xds::testing
