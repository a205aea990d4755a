// Tests of the policy-independent core (source/plugins/policies/core/rules.h): top-level
// targetRef matching, to[] destination coverage, precedence order and RFC 7396 merging.

#include "source/plugins/policies/core/rules.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kuma::policies {
namespace {

using nlohmann::json;

TargetRef ref(const char* text) {
  return parseTargetRef(json::parse(text));
}

ProxyView webProxy() {
  ProxyView proxy;
  proxy.name = "web-1";
  proxy.labels = {{"team", "a"}, {"env", "prod"}};
  proxy.inboundTags = {
      {{"kuma.io/service", "web"}, {"version", "v1"}},
      {{"kuma.io/service", "web-admin"}, {"kuma.io/protocol", "http"}},
  };
  return proxy;
}

TEST(PolicyRules, MeshSelectsSidecarsUnlessProxyTypesExcludeThem) {
  const ProxyView proxy = webProxy();
  EXPECT_TRUE(selectsProxy(ref(R"({"kind": "Mesh"})"), proxy));
  EXPECT_TRUE(selectsProxy(parseTargetRef(json()), proxy));  // absent targetRef: Mesh
  EXPECT_TRUE(selectsProxy(ref(R"({"kind": "Mesh", "proxyTypes": ["Sidecar"]})"), proxy));
  EXPECT_TRUE(
      selectsProxy(ref(R"({"kind": "Mesh", "proxyTypes": ["Gateway", "Sidecar"]})"), proxy));
  EXPECT_FALSE(selectsProxy(ref(R"({"kind": "Mesh", "proxyTypes": ["Gateway"]})"), proxy));
  ProxyView gateway = proxy;
  gateway.proxyType = "Gateway";
  EXPECT_TRUE(selectsProxy(ref(R"({"kind": "Mesh", "proxyTypes": ["Gateway"]})"), gateway));
}

TEST(PolicyRules, MeshSubsetNeedsOneInboundWithAllTags) {
  const ProxyView proxy = webProxy();
  EXPECT_TRUE(selectsProxy(ref(R"({"kind": "MeshSubset", "tags": {"version": "v1"}})"), proxy));
  EXPECT_TRUE(selectsProxy(ref(R"({"kind": "MeshSubset", "tags": {}})"), proxy));
  // Tags spread over two inbounds do not match.
  EXPECT_FALSE(selectsProxy(
      ref(R"({"kind": "MeshSubset", "tags": {"version": "v1", "kuma.io/protocol": "http"}})"),
      proxy));
  EXPECT_FALSE(selectsProxy(ref(R"({"kind": "MeshSubset", "tags": {"version": "v2"}})"), proxy));
  ProxyView noInbounds = proxy;
  noInbounds.inboundTags.clear();
  EXPECT_FALSE(selectsProxy(ref(R"({"kind": "MeshSubset", "tags": {}})"), noInbounds));
}

TEST(PolicyRules, MeshServiceAndSubsetMatchAnInboundService) {
  const ProxyView proxy = webProxy();
  EXPECT_TRUE(selectsProxy(ref(R"({"kind": "MeshService", "name": "web"})"), proxy));
  EXPECT_TRUE(selectsProxy(ref(R"({"kind": "MeshService", "name": "web-admin"})"), proxy));
  EXPECT_FALSE(selectsProxy(ref(R"({"kind": "MeshService", "name": "we"})"), proxy));
  EXPECT_FALSE(selectsProxy(ref(R"({"kind": "MeshService", "name": "api"})"), proxy));
  EXPECT_TRUE(selectsProxy(
      ref(R"({"kind": "MeshServiceSubset", "name": "web", "tags": {"version": "v1"}})"), proxy));
  EXPECT_FALSE(selectsProxy(
      ref(R"({"kind": "MeshServiceSubset", "name": "web", "tags": {"version": "v2"}})"), proxy));
  // The subset's tags must be on the inbound of that service.
  EXPECT_FALSE(selectsProxy(
      ref(R"({"kind": "MeshServiceSubset", "name": "web-admin", "tags": {"version": "v1"}})"),
      proxy));
}

TEST(PolicyRules, DataplaneMatchesByNameElseLabels) {
  const ProxyView proxy = webProxy();
  EXPECT_TRUE(selectsProxy(ref(R"({"kind": "Dataplane", "name": "web-1"})"), proxy));
  EXPECT_FALSE(selectsProxy(ref(R"({"kind": "Dataplane", "name": "web-2"})"), proxy));
  // A name wins over labels.
  EXPECT_FALSE(selectsProxy(
      ref(R"({"kind": "Dataplane", "name": "web-2", "labels": {"team": "a"}})"), proxy));
  EXPECT_TRUE(selectsProxy(ref(R"({"kind": "Dataplane", "labels": {"team": "a"}})"), proxy));
  EXPECT_TRUE(
      selectsProxy(ref(R"({"kind": "Dataplane", "labels": {"team": "a", "env": "prod"}})"), proxy));
  EXPECT_FALSE(
      selectsProxy(ref(R"({"kind": "Dataplane", "labels": {"team": "a", "env": "dev"}})"), proxy));
  EXPECT_FALSE(selectsProxy(ref(R"({"kind": "Dataplane", "labels": {"zone": "x"}})"), proxy));
}

TEST(PolicyRules, OtherKindsSelectNothing) {
  const ProxyView proxy = webProxy();
  EXPECT_FALSE(selectsProxy(ref(R"({"kind": "MeshGateway", "name": "web"})"), proxy));
  EXPECT_FALSE(selectsProxy(ref(R"({"kind": "MeshHTTPRoute", "name": "web"})"), proxy));
  EXPECT_FALSE(selectsProxy(ref(R"({"kind": "Bogus"})"), proxy));
}

TEST(PolicyRules, DestinationCoverage) {
  EXPECT_TRUE(coversDestination(ref(R"({"kind": "Mesh"})"), "api"));
  EXPECT_TRUE(coversDestination(ref(R"({"kind": "MeshService", "name": "api"})"), "api"));
  EXPECT_FALSE(coversDestination(ref(R"({"kind": "MeshService", "name": "api"})"), "web"));
  EXPECT_FALSE(coversDestination(
      ref(R"({"kind": "MeshService", "name": "api", "sectionName": "http"})"), "api"));
  EXPECT_TRUE(coversDestination(
      ref(R"({"kind": "MeshServiceSubset", "name": "api", "tags": {"kuma.io/service": "api"}})"),
      "api"));
  EXPECT_FALSE(coversDestination(
      ref(R"({"kind": "MeshServiceSubset", "name": "api", "tags": {"version": "v1"}})"), "api"));
  EXPECT_TRUE(coversDestination(ref(R"({"kind": "MeshSubset", "tags": {}})"), "api"));
  EXPECT_FALSE(
      coversDestination(ref(R"({"kind": "MeshSubset", "tags": {"kuma.io/zone": "z"}})"), "api"));
  EXPECT_FALSE(coversDestination(ref(R"({"kind": "MeshHTTPRoute", "name": "api"})"), "api"));
  // MeshExternalService and MeshMultiZoneService outbounds are known by their port's KRI.
  const std::string mes = "kri_extsvc_default_zone-1__httpbin_443";
  EXPECT_TRUE(coversDestination(ref(R"({"kind": "MeshExternalService", "name": "httpbin"})"), mes));
  EXPECT_TRUE(coversDestination(
      ref(R"({"kind": "MeshExternalService", "name": "httpbin", "sectionName": "443"})"), mes));
  EXPECT_FALSE(coversDestination(
      ref(R"({"kind": "MeshExternalService", "name": "httpbin", "sectionName": "80"})"), mes));
  EXPECT_FALSE(coversDestination(ref(R"({"kind": "MeshExternalService", "name": "other"})"), mes));
  EXPECT_FALSE(
      coversDestination(ref(R"({"kind": "MeshMultiZoneService", "name": "httpbin"})"), mes));
  EXPECT_FALSE(coversDestination(ref(R"({"kind": "MeshService", "name": "httpbin"})"), mes));
  EXPECT_TRUE(coversDestination(ref(R"({"kind": "MeshMultiZoneService", "name": "api"})"),
                                "kri_mzsvc_default___api_http"));
  EXPECT_FALSE(coversDestination(ref(R"({"kind": "MeshExternalService", "name": "api"})"), "api"));
}

TEST(PolicyRules, PrecedenceOrdersByKindThenReverseName) {
  struct P {
    std::string name;
    TargetRef ref;
  };
  std::vector<P> ps = {
      {"svc", ref(R"({"kind": "MeshService", "name": "web"})")},
      {"dp", ref(R"({"kind": "Dataplane", "name": "web-1"})")},
      {"b-mesh", ref(R"({"kind": "Mesh"})")},
      {"subset", ref(R"({"kind": "MeshSubset", "tags": {}})")},
      {"a-mesh", ref(R"({"kind": "Mesh"})")},
      {"svc-subset", ref(R"({"kind": "MeshServiceSubset", "name": "web", "tags": {}})")},
  };
  std::stable_sort(ps.begin(), ps.end(), [](const P& a, const P& b) {
    return appliesBefore(a.ref, a.name, b.ref, b.name);
  });
  std::vector<std::string> names;
  for (const P& p : ps) {
    names.push_back(p.name);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"b-mesh", "a-mesh", "dp", "subset", "svc", "svc-subset"}));
  // Irreflexive: a strict weak ordering.
  EXPECT_FALSE(appliesBefore(ps[0].ref, "x", ps[0].ref, "x"));
}

TEST(PolicyRules, DestinationConfsMergeInPrecedenceOrder) {
  const json mesh = json::parse(R"({"to": [
      {"targetRef": {"kind": "Mesh"},
       "default": {"idleTimeout": "1s", "http": {"requestTimeout": "2s", "streamIdleTimeout": "3s"}}},
      {"targetRef": {"kind": "MeshService", "name": "api"},
       "default": {"connectionTimeout": "4s"}}]})");
  const json specific = json::parse(R"({"to": [
      {"targetRef": {"kind": "MeshService", "name": "api"},
       "default": {"http": {"requestTimeout": "5s", "streamIdleTimeout": null}}},
      {"targetRef": {"kind": "MeshService", "name": "web"}, "default": {"idleTimeout": "9s"}}]})");
  const std::vector<const json*> specs = {&mesh, &specific};

  EXPECT_EQ(mergeDestinationConf(specs, "api"), json::parse(R"({"idleTimeout": "1s",
      "connectionTimeout": "4s", "http": {"requestTimeout": "5s"}})"));
  EXPECT_EQ(mergeDestinationConf(specs, "web"), json::parse(R"({"idleTimeout": "9s",
      "http": {"requestTimeout": "2s", "streamIdleTimeout": "3s"}})"));
  // Only the Mesh item covers "redis".
  EXPECT_EQ(mergeDestinationConf(specs, "redis"), json::parse(R"({"idleTimeout": "1s",
      "http": {"requestTimeout": "2s", "streamIdleTimeout": "3s"}})"));
  // Policies in the other order: Kuma sorts the `to[]` items by their kind before the policies'
  // order, so the MeshService item still wins over the Mesh-wide one.
  EXPECT_EQ(mergeDestinationConf({&specific, &mesh}, "api")["http"]["requestTimeout"], "5s");
  // Same kind: the policies' order decides (the later one wins).
  const json otherMesh =
      json::parse(R"({"to": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "7s"}}]})");
  EXPECT_EQ(mergeDestinationConf({&mesh, &otherMesh}, "redis")["idleTimeout"], "7s");
  EXPECT_EQ(mergeDestinationConf({&otherMesh, &mesh}, "redis")["idleTimeout"], "1s");
  // A top-level targetRef more specific than Mesh comes after, whatever its `to[]` kind.
  const json forWeb = json::parse(R"({"targetRef": {"kind": "MeshService", "name": "web"},
      "to": [{"targetRef": {"kind": "Mesh"}, "default": {"connectionTimeout": "8s"}}]})");
  EXPECT_EQ(mergeDestinationConf({&forWeb, &mesh}, "api")["connectionTimeout"], "8s");
}

TEST(PolicyRules, DestinationConfIsNullWhenNothingCovers) {
  const json onlyWeb = json::parse(
      R"({"to": [{"targetRef": {"kind": "MeshService", "name": "web"}, "default": {"a": 1}}]})");
  const json noDefault =
      json::parse(R"({"to": [{"targetRef": {"kind": "Mesh"}}], "from": [{"default": {"a": 1}}]})");
  const json notAnArray = json::parse(R"({"to": {"targetRef": {"kind": "Mesh"}}})");
  EXPECT_TRUE(mergeDestinationConf({}, "api").is_null());
  EXPECT_TRUE(mergeDestinationConf({&onlyWeb, &noDefault, &notAnArray, nullptr}, "api").is_null());
  // An empty default still applies (an object, not null).
  const json empty = json::parse(R"({"to": [{"targetRef": {"kind": "Mesh"}, "default": {}}]})");
  EXPECT_EQ(mergeDestinationConf({&empty}, "api"), json::object());
}

TEST(PolicyRules, InboundConfMergesFromAndMatchLessRules) {
  const json first = json::parse(R"({
      "from": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "1s", "a": 1}}],
      "rules": [{"default": {"idleTimeout": "2s"}},
                {"matches": [{"spiffeID": {"type": "Exact", "value": "x"}}],
                 "default": {"idleTimeout": "99s"}}]})");
  const json second = json::parse(R"({
      "from": [{"targetRef": {"kind": "MeshService", "name": "other"}, "default": {"a": null,
                "b": 2}}]})");
  EXPECT_EQ(mergeInboundConf({&first, &second}), json::parse(R"({"idleTimeout": "2s", "b": 2})"));
  EXPECT_EQ(mergeInboundConf({}), json::object());
  const json onlyTo = json::parse(R"({"to": [{"targetRef": {"kind": "Mesh"}, "default": {}}]})");
  EXPECT_EQ(mergeInboundConf({&onlyTo, nullptr}), json::object());
}

}  // namespace
}  // namespace kuma::policies
