// MeshProxyPatch's xDS plugin through the generator with the registered plugin table: every
// modification kind (cluster, listener, networkFilter, httpFilter, virtualHost; add, patch by
// merge and by JSON patch, remove) and its match criteria, on the proxy of
// tools/conformance/cases/meshproxypatch (golden files checked against Kuma 2.14.3's config dump
// of that case); a patch of a shared outbound cluster leaves another proxy's copy untouched; a
// patch that fails at generation time fails that proxy's generation with Kuma's message.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "gtest/gtest.h"
#include "source/plugins/policies/meshproxypatch/envoy_value.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

constexpr char kInbound[] = "inbound:127.0.0.1:8080";
constexpr char kOutbound[] = "outbound:127.0.0.1:10001";

std::string webDataplane(const std::string& name = "web", const std::string& ip = "127.0.0.1") {
  return testing::dataplaneYaml(name, ip, R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  outbound:
  - {port: 10001, tags: {kuma.io/service: backend}}
)");
}

std::vector<std::string> meshWith(const std::vector<std::string>& policies) {
  std::vector<std::string> yamls = {testing::meshYaml(), webDataplane(),
                                    testing::dataplaneYaml("backend-1", "127.0.0.2", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http}}
)")};
  yamls.insert(yamls.end(), policies.begin(), policies.end());
  return yamls;
}

GeneratedResources generateFor(const std::vector<std::string>& policies) {
  return testing::generateFromYamls(meshWith(policies), "web");
}

std::string policy(const std::string& name, const std::string& targetRef,
                   const std::string& modifications) {
  return "type: MeshProxyPatch\nmesh: default\nname: " + name +
         "\nspec:\n  targetRef: " + targetRef + "\n  default:\n    appendModifications:\n" +
         modifications;
}

HttpConnectionManager hcmOf(const Listener& listener) {
  HttpConnectionManager hcm;
  for (const auto& f : listener.filter_chains(0).filters()) {
    if (f.name() == "envoy.filters.network.http_connection_manager") {
      EXPECT_TRUE(f.typed_config().UnpackTo(&hcm));
    }
  }
  return hcm;
}

std::vector<std::string> httpFilterNames(const Listener& listener) {
  std::vector<std::string> out;
  const HttpConnectionManager hcm = hcmOf(listener);
  for (const auto& f : hcm.http_filters()) {
    out.push_back(f.name());
  }
  return out;
}

std::vector<std::string> filterNames(const Listener& listener) {
  std::vector<std::string> out;
  for (const auto& f : listener.filter_chains(0).filters()) {
    out.push_back(f.name());
  }
  return out;
}

// The policy of the conformance case meshproxypatch (the same file).
std::string casePolicy() {
  std::ifstream in(
      test::sourcePath("tools/conformance/cases/meshproxypatch/20-meshproxypatch.yaml"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty());
  return text.str();
}

TEST(MeshProxyPatchXds, EveryModificationKindAsKumaRendersIt) {
  const GeneratedResources out = generateFor({casePolicy()});
  const auto dir = test::sourcePath("source/plugins/policies/meshproxypatch/testdata");
  testing::expectResourceGolden(out, kListenerType, kInbound, dir / "xds-inbound.golden.json");
  testing::expectResourceGolden(out, kListenerType, kOutbound, dir / "xds-outbound.golden.json");
  testing::expectResourceGolden(out, kClusterType, "backend", dir / "xds-backend.golden.json");
  testing::expectResourceGolden(out, kClusterType, "localhost:18080",
                                dir / "xds-localhost.golden.json");
  testing::expectResourceGolden(out, kClusterType, "extra-cluster",
                                dir / "xds-extra-cluster.golden.json");

  const Cluster backend = testing::decode<Cluster>(out, kClusterType, "backend");
  EXPECT_EQ(backend.connect_timeout().seconds(), 7);
  EXPECT_EQ(backend.connect_timeout().nanos(), 0);
  EXPECT_EQ(backend.per_connection_buffer_limit_bytes().value(), 65536u);
  const Cluster local = testing::decode<Cluster>(out, kClusterType, "localhost:18080");
  EXPECT_EQ(local.common_lb_config().healthy_panic_threshold().value(), 12);

  const Listener inbound = testing::decode<Listener>(out, kListenerType, kInbound);
  EXPECT_EQ(inbound.per_connection_buffer_limit_bytes().value(), 32768u);
  EXPECT_EQ(filterNames(inbound),
            (std::vector<std::string>{"envoy.filters.network.local_ratelimit",
                                      "envoy.filters.network.http_connection_manager"}));
  EXPECT_EQ(httpFilterNames(inbound),
            (std::vector<std::string>{"envoy.filters.http.fault", "envoy.filters.http.router"}));
  const auto inboundRoutes = hcmOf(inbound).route_config();
  ASSERT_GE(inboundRoutes.virtual_hosts_size(), 1);
  ASSERT_EQ(inboundRoutes.virtual_hosts(0).response_headers_to_add_size(), 1);
  EXPECT_EQ(inboundRoutes.virtual_hosts(0).response_headers_to_add(0).header().key(),
            "x-patched-by");

  const Listener outbound = testing::decode<Listener>(out, kListenerType, kOutbound);
  EXPECT_EQ(outbound.per_connection_buffer_limit_bytes().value(), 0u);  // origin inbound only
  EXPECT_EQ(filterNames(outbound).size(), 1u);
  const auto outboundRoutes = hcmOf(outbound).route_config();
  ASSERT_EQ(outboundRoutes.virtual_hosts_size(), 2);
  EXPECT_EQ(outboundRoutes.virtual_hosts(1).name(), "extra-vhost");
  EXPECT_EQ(httpFilterNames(outbound), (std::vector<std::string>{"envoy.filters.http.router"}));
}

TEST(MeshProxyPatchXds, RemoveAndTheFilterPositions) {
  const GeneratedResources out = generateFor({policy("rm", "{kind: Mesh}", R"(
    - cluster: {operation: Remove, match: {name: backend}}
    - listener: {operation: Remove, match: {origin: outbound}}
    - httpFilter:
        operation: AddAfter
        match: {name: envoy.filters.http.router}
        value: "name: after-router"
    - httpFilter:
        operation: AddFirst
        value: "name: first"
    - httpFilter:
        operation: AddLast
        value: "name: last"
    - httpFilter:
        operation: AddBefore
        match: {name: no-such-filter}
        value: "name: never"
    - networkFilter:
        operation: AddLast
        match: {listenerTags: {kuma.io/service: web}}
        value: "name: net-last"
    - networkFilter:
        operation: AddAfter
        match: {name: envoy.filters.network.http_connection_manager}
        value: "name: net-after"
    - networkFilter:
        operation: Remove
        match: {name: net-last}
    - virtualHost:
        operation: Remove
        match: {name: web}
)")});
  EXPECT_EQ(out.find(kClusterType, "backend"), nullptr);
  EXPECT_EQ(out.find(kListenerType, kOutbound), nullptr);
  const Listener inbound = testing::decode<Listener>(out, kListenerType, kInbound);
  EXPECT_EQ(
      httpFilterNames(inbound),
      (std::vector<std::string>{"first", "envoy.filters.http.router", "after-router", "last"}));
  EXPECT_EQ(
      filterNames(inbound),
      (std::vector<std::string>{"envoy.filters.network.http_connection_manager", "net-after"}));
  EXPECT_EQ(hcmOf(inbound).route_config().virtual_hosts_size(), 0);
}

// Two proxies share the outbound cluster `backend` (same signature, serialized once) until one
// of them is patched: the patched proxy gets its own copy, the other keeps the shared bytes.
TEST(MeshProxyPatchXds, APatchOfASharedClusterLeavesTheOtherProxyUntouched) {
  std::vector<std::string> yamls = meshWith({policy("only-web", "{kind: Dataplane, name: web}", R"(
    - cluster:
        operation: Patch
        match: {name: backend}
        value: "connectTimeout: 9s"
)")});
  yamls.push_back(webDataplane("other", "127.0.0.3"));
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  const GeneratedResources plain = testing::generateProxy(**ctx, "other");
  const GeneratedResources patched = testing::generateProxy(**ctx, "web");
  const GeneratedResources plainAgain = testing::generateProxy(**ctx, "other");
  const Cluster web = testing::decode<Cluster>(patched, kClusterType, "backend");
  const Cluster other = testing::decode<Cluster>(plainAgain, kClusterType, "backend");
  EXPECT_EQ(web.connect_timeout().seconds(), 9);
  EXPECT_EQ(other.connect_timeout().seconds(), 5);
  EXPECT_EQ(plain.find(kClusterType, "backend")->serialized,
            plainAgain.find(kClusterType, "backend")->serialized);
  EXPECT_EQ(plain.find(kClusterType, "backend"), plainAgain.find(kClusterType, "backend"))
      << "the other proxy still gets the shared object";
}

// Kuma appends the `appendModifications` of every policy that selects the proxy, least
// specific first: both run, the more specific one last.
TEST(MeshProxyPatchXds, ModificationsOfEveryPolicyAppendInPrecedenceOrder) {
  const GeneratedResources out =
      generateFor({policy("mesh-wide", "{kind: Mesh}", R"(
    - cluster: {operation: Patch, match: {name: backend}, value: "connectTimeout: 1s"}
    - cluster: {operation: Patch, match: {name: backend}, value: "perConnectionBufferLimitBytes: 10"}
)"),
                   policy("for-web", "{kind: MeshService, name: web}", R"(
    - cluster: {operation: Patch, match: {name: backend}, value: "connectTimeout: 2s"}
)")});
  const Cluster backend = testing::decode<Cluster>(out, kClusterType, "backend");
  EXPECT_EQ(backend.connect_timeout().seconds(), 2);
  EXPECT_EQ(backend.per_connection_buffer_limit_bytes().value(), 10u);
}

// A patch that fails when it is applied (the path it replaces does not exist; a typed config of
// another type) fails the proxy's generation with Kuma's message instead of a crash.
TEST(MeshProxyPatchXds, APatchThatFailsAtGenerationFailsTheProxyCleanly) {
  for (const std::string& mods : {std::string(R"(
    - cluster:
        operation: Patch
        jsonPatches: [{op: replace, path: /no/such/field, value: 1}]
)"),
                                  std::string(R"(
    - httpFilter:
        operation: Patch
        match: {name: envoy.filters.http.router}
        value: |
          name: envoy.filters.http.router
          typedConfig:
            '@type': type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
)"),
                                  std::string(R"(
    - cluster:
        operation: Patch
        jsonPatches: [{op: add, path: /connectTimeout, value: not-a-duration}]
)")}) {
    SCOPED_TRACE(mods);
    auto ctx =
        MeshContext::build(testing::meshResources(meshWith({policy("bad", "{kind: Mesh}", mods)})));
    ASSERT_TRUE(ctx.ok());
    auto dp = testing::dataplaneOf(**ctx, "web");
    auto out = generate(**ctx, *dp, testing::withPlugins(ProxyOptions{}));
    ASSERT_FALSE(out.ok());
    EXPECT_TRUE(std::string(out.status().message()).starts_with("could not apply 0 modification: "))
        << out.status();
  }
}

TEST(MeshProxyPatchXds, NoPolicyChangesNothing) {
  const GeneratedResources a = generateFor({});
  const GeneratedResources b = generateFor({policy("noop", "{kind: Mesh}", R"(
    - cluster: {operation: Remove, match: {name: no-such-cluster}}
)")});
  EXPECT_EQ(testing::toJson(a), testing::toJson(b));
}

// JSON Patch with Kuma's options: missing parents made by `add`, a missing `remove` ignored,
// negative indices; `copy` bounded.
TEST(MeshProxyPatchValue, JsonPatchOptionsAndBounds) {
  using policies::meshproxypatch::applyJsonPatches;
  Cluster c;
  c.set_name("c");
  c.add_health_checks()->mutable_timeout()->set_seconds(1);
  c.add_health_checks()->mutable_timeout()->set_seconds(2);
  ASSERT_TRUE(applyJsonPatches(nlohmann::json::parse(R"([
    {"op": "add", "path": "/commonLbConfig/healthyPanicThreshold/value", "value": 5},
    {"op": "remove", "path": "/outlierDetection/consecutive5xx"},
    {"op": "replace", "path": "/healthChecks/-1/timeout", "value": "7s"},
    {"op": "copy", "from": "/name", "path": "/altStatName"}
  ])"),
                               c)
                  .ok());
  EXPECT_EQ(c.common_lb_config().healthy_panic_threshold().value(), 5);
  EXPECT_EQ(c.health_checks(1).timeout().seconds(), 7);
  EXPECT_EQ(c.alt_stat_name(), "c");

  nlohmann::json doubling = nlohmann::json::array();
  doubling.push_back({{"op", "add"},
                      {"path", "/metadata/filterMetadata/a"},
                      {"value", {{"x", std::string(1000, 'x')}}}});
  for (int i = 0; i < 40; ++i) {
    doubling.push_back({{"op", "copy"},
                        {"from", "/metadata/filterMetadata"},
                        {"path", "/metadata/filterMetadata/" + std::to_string(i)}});
  }
  absl::Status s = applyJsonPatches(doubling, c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("size limit"), std::string::npos) << s;
}

// Paths are split as evanphx's json-patch splits them: whatever precedes the first '/' is
// ignored, a path without '/' names nothing, and a split multi-byte character never throws
// (found by the proxy_patch fuzz target).
TEST(MeshProxyPatchValue, PathsSplitAsKumaSplitsThem) {
  using policies::meshproxypatch::applyJsonPatches;
  Cluster c;
  c.set_name("c");
  ASSERT_TRUE(applyJsonPatches(nlohmann::json::parse(R"([
    {"op": "add", "path": "ignored/altStatName", "value": "x"}
  ])"),
                               c)
                  .ok());
  EXPECT_EQ(c.alt_stat_name(), "x");
  EXPECT_FALSE(applyJsonPatches(nlohmann::json::parse(R"([
    {"op": "add", "path": "altStatName", "value": "y"}
  ])"),
                                c)
                   .ok());
  EXPECT_EQ(c.alt_stat_name(), "x");
  nlohmann::json split = nlohmann::json::array();
  split.push_back({{"op", "add"},
                   {"path", "\xd1/\xa2ommonLbConfig/healthyPanicThreshold/value"},
                   {"value", 5}});
  // The key becomes "\uFFFDommonLbConfig", an unknown field that Kuma's unmarshaler ignores.
  EXPECT_TRUE(applyJsonPatches(split, c).ok());
  EXPECT_FALSE(c.has_common_lb_config());
}

TEST(MeshProxyPatchValue, MergeReplacesDurationsAndKeepsTheRest) {
  using policies::meshproxypatch::mergeMessage;
  Cluster dst;
  dst.mutable_connect_timeout()->set_seconds(5);
  dst.mutable_connect_timeout()->set_nanos(500);
  dst.set_name("keep");
  Cluster src;
  src.mutable_connect_timeout()->set_seconds(1);
  mergeMessage(dst, src);
  EXPECT_EQ(dst.connect_timeout().seconds(), 1);
  EXPECT_EQ(dst.connect_timeout().nanos(), 0);
  EXPECT_EQ(dst.name(), "keep");
}

// Values Kuma rejects with Go's error text (recorded from Kuma 2.14.3: a bad Duration, text that
// is neither YAML nor JSON, a number for a list) are rejected here too, with protobuf's wording;
// unknown fields are ignored as in Kuma; a value larger than the bound is refused.
TEST(MeshProxyPatchValue, InvalidValuesAreRejected) {
  using policies::meshproxypatch::validateNativeValue;
  using policies::meshproxypatch::ValueKind;
  EXPECT_FALSE(validateNativeValue(ValueKind::Cluster, "name: x\nconnectTimeout: abc", false).ok());
  EXPECT_FALSE(validateNativeValue(ValueKind::Listener, "not: [valid", false).ok());
  EXPECT_FALSE(validateNativeValue(ValueKind::VirtualHost, "name: v\ndomains: 5", false).ok());
  EXPECT_FALSE(validateNativeValue(ValueKind::Cluster, "- a list", false).ok());
  EXPECT_TRUE(
      validateNativeValue(ValueKind::Cluster, "unknownField: 1\nconnectTimeout: 1s", true).ok());
  EXPECT_TRUE(
      validateNativeValue(ValueKind::Cluster, R"({"name": "json", "connectTimeout": "1s"})", false)
          .ok());
  EXPECT_FALSE(validateNativeValue(
                   ValueKind::Cluster,
                   "name: " + std::string(policies::meshproxypatch::kMaxValueBytes, 'x'), false)
                   .ok());
}

}  // namespace
}  // namespace kuma::xds
