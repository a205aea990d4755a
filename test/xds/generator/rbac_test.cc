// Traffic permissions wired into generation (spec §8.4, §7.2, §10): the inbounds of an mTLS mesh
// get Envoy RBAC from the context's MeshTrafficPermissions / TrafficPermissions, on the mTLS
// filter chain only; without mTLS nothing; a permission change alters only the proxies it selects.

#include <string>
#include <vector>

#include "envoy/config/rbac/v3/rbac.pb.h"
#include "envoy/extensions/filters/http/rbac/v3/rbac.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/rbac/v3/rbac.pb.h"
#include "gtest/gtest.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::listener::v3::FilterChain;
using envoy::config::listener::v3::Listener;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace http_rbac_v3 = envoy::extensions::filters::http::rbac::v3;
namespace net_rbac_v3 = envoy::extensions::filters::network::rbac::v3;
namespace rbac_v3 = envoy::config::rbac::v3;

constexpr char kWebInbound[] = "inbound:10.0.0.1:8080";    // http
constexpr char kRedisInbound[] = "inbound:10.0.0.2:6379";  // tcp
constexpr char kApiInbound[] = "inbound:10.0.0.3:8080";    // http (api-1)

std::string mtp(const std::string& name, const std::string& target, const std::string& from,
                const std::string& action) {
  return "type: MeshTrafficPermission\nmesh: default\nname: " + name +
         "\nspec:\n  targetRef: " + target + "\n  from:\n  - targetRef: " + from +
         "\n    default: {action: " + action + "}\n";
}

std::string tp(const std::string& name, const std::string& source, const std::string& dest) {
  return "type: TrafficPermission\nmesh: default\nname: " + name +
         "\nsources:\n- match: {kuma.io/service: '" + source +
         "'}\ndestinations:\n- match: {kuma.io/service: '" + dest + "'}\n";
}

// Case (a)'s mesh in `mode` ("" = no mTLS) plus `extra` resources.
MeshContextConstSharedPtr context(const std::string& mode, const std::vector<std::string>& extra) {
  std::vector<std::string> yamls = testing::caseAOthers();
  yamls.push_back(testing::caseADataplane());
  for (const auto& p : testing::defaultPolicyYamls()) {
    yamls.push_back(p);
  }
  if (!mode.empty()) {
    yamls.push_back(testing::mtlsMeshYaml(mode));
  }
  yamls.insert(yamls.end(), extra.begin(), extra.end());
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return ctx.ok() ? *ctx : nullptr;
}

GeneratedResources generateFor(const MeshContext& ctx, const std::string& dataplane) {
  ProxyOptions options;
  options.tls = testing::fakeTlsSecrets();
  auto out = generate(ctx, *testing::dataplaneOf(ctx, dataplane), testing::withPlugins(options));
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *std::move(out) : GeneratedResources{};
}

Listener listenerOf(const MeshContext& ctx, const std::string& dataplane, const std::string& name) {
  return testing::decode<Listener>(generateFor(ctx, dataplane), kListenerType, name);
}

hcm_v3::HttpConnectionManager hcmOf(const FilterChain& chain) {
  hcm_v3::HttpConnectionManager hcm;
  for (const auto& f : chain.filters()) {
    if (f.name() == "envoy.filters.network.http_connection_manager") {
      EXPECT_TRUE(f.typed_config().UnpackTo(&hcm));
    }
  }
  return hcm;
}

// The HTTP RBAC filter of the chain's HCM, which must be its first HTTP filter.
std::optional<http_rbac_v3::RBAC> httpRbacOf(const FilterChain& chain) {
  const hcm_v3::HttpConnectionManager hcm = hcmOf(chain);
  for (int i = 0; i < hcm.http_filters_size(); ++i) {
    if (hcm.http_filters(i).name() == "envoy.filters.http.rbac") {
      EXPECT_EQ(i, 0) << "the RBAC filter must come first";
      http_rbac_v3::RBAC rbac;
      EXPECT_TRUE(hcm.http_filters(i).typed_config().UnpackTo(&rbac));
      return rbac;
    }
  }
  return std::nullopt;
}

// The network RBAC filter of the chain, which must be its first filter.
std::optional<net_rbac_v3::RBAC> networkRbacOf(const FilterChain& chain) {
  for (int i = 0; i < chain.filters_size(); ++i) {
    if (chain.filters(i).name() == "envoy.filters.network.rbac") {
      EXPECT_EQ(i, 0) << "the RBAC filter must come first";
      net_rbac_v3::RBAC rbac;
      EXPECT_TRUE(chain.filters(i).typed_config().UnpackTo(&rbac));
      return rbac;
    }
  }
  return std::nullopt;
}

std::vector<std::string> principalsOf(const rbac_v3::RBAC& rules, const std::string& policy) {
  std::vector<std::string> out;
  auto it = rules.policies().find(policy);
  if (it == rules.policies().end()) {
    return out;
  }
  for (const auto& p : it->second.principals()) {
    if (p.any()) {
      out.push_back("any");
    } else if (p.has_authenticated()) {
      out.push_back(p.authenticated().principal_name().exact());
    } else {
      out.push_back(p.ShortDebugString());
    }
  }
  return out;
}

TEST(XdsRbac, MtlsWithoutAnyPermissionDeniesEverything) {
  // §10: no default MeshTrafficPermission, so enabling mTLS denies all traffic.
  auto ctx = context("STRICT", {});
  Listener web = listenerOf(*ctx, "web-1", kWebInbound);
  ASSERT_EQ(web.filter_chains_size(), 1);
  auto rbac = httpRbacOf(web.filter_chains(0));
  ASSERT_TRUE(rbac.has_value());
  EXPECT_EQ(rbac->rules().action(), rbac_v3::RBAC::ALLOW);
  EXPECT_EQ(rbac->rules().policies_size(), 0);
  EXPECT_FALSE(rbac->has_shadow_rules());
  EXPECT_FALSE(networkRbacOf(web.filter_chains(0)).has_value());

  // A TCP inbound: network RBAC first, statPrefix = sanitized listener name plus a dot.
  Listener redis = listenerOf(*ctx, "redis-1", kRedisInbound);
  ASSERT_EQ(redis.filter_chains_size(), 1);
  auto net = networkRbacOf(redis.filter_chains(0));
  ASSERT_TRUE(net.has_value());
  EXPECT_EQ(net->stat_prefix(), "inbound_10_0_0_2_6379.");
  EXPECT_EQ(net->rules().policies_size(), 0);
  EXPECT_EQ(redis.filter_chains(0).filters(1).name(), "envoy.filters.network.tcp_proxy");
}

TEST(XdsRbac, AllowDenyAndShadowDenyFromMeshTrafficPermission) {
  const std::string mesh = "{kind: Mesh}";
  auto allow = context("STRICT", {mtp("allow-all", mesh, mesh, "Allow")});
  auto rbac = httpRbacOf(listenerOf(*allow, "web-1", kWebInbound).filter_chains(0));
  ASSERT_TRUE(rbac.has_value());
  EXPECT_EQ(principalsOf(rbac->rules(), "MeshTrafficPermission"), std::vector<std::string>{"any"});

  auto deny = context("STRICT", {mtp("deny-all", mesh, mesh, "Deny")});
  rbac = httpRbacOf(listenerOf(*deny, "web-1", kWebInbound).filter_chains(0));
  ASSERT_TRUE(rbac.has_value());
  EXPECT_EQ(rbac->rules().policies_size(), 0);

  // Only `web` may call api; `redis` only under shadow deny.
  auto shadow = context("STRICT", {mtp("api", "{kind: MeshService, name: api}",
                                       "{kind: MeshService, name: web}", "Allow"),
                                   mtp("api-shadow", "{kind: MeshService, name: api}",
                                       "{kind: MeshService, name: redis}", "AllowWithShadowDeny")});
  rbac = httpRbacOf(listenerOf(*shadow, "api-1", kApiInbound).filter_chains(0));
  ASSERT_TRUE(rbac.has_value());
  EXPECT_EQ(principalsOf(rbac->rules(), "MeshTrafficPermission"),
            (std::vector<std::string>{"spiffe://default/web", "spiffe://default/redis"}));
  ASSERT_TRUE(rbac->has_shadow_rules());
  EXPECT_EQ(rbac->shadow_rules().action(), rbac_v3::RBAC::DENY);
  EXPECT_EQ(principalsOf(rbac->shadow_rules(), "MeshTrafficPermission"),
            std::vector<std::string>{"spiffe://default/redis"});
  // web-1's inbound is not selected by either: deny all (no legacy TP in the mesh).
  rbac = httpRbacOf(listenerOf(*shadow, "web-1", kWebInbound).filter_chains(0));
  ASSERT_TRUE(rbac.has_value());
  EXPECT_EQ(rbac->rules().policies_size(), 0);
}

TEST(XdsRbac, PermissiveOnlyTheMtlsChainGetsRbac) {
  auto ctx = context("PERMISSIVE", {});
  Listener web = listenerOf(*ctx, "web-1", kWebInbound);
  ASSERT_EQ(web.filter_chains_size(), 3);
  EXPECT_FALSE(httpRbacOf(web.filter_chains(0)).has_value());  // raw_buffer
  EXPECT_FALSE(httpRbacOf(web.filter_chains(1)).has_value());  // application TLS
  EXPECT_TRUE(httpRbacOf(web.filter_chains(2)).has_value());   // mesh mTLS (ALPN kuma)
  Listener redis = listenerOf(*ctx, "redis-1", kRedisInbound);
  ASSERT_EQ(redis.filter_chains_size(), 3);
  EXPECT_FALSE(networkRbacOf(redis.filter_chains(0)).has_value());
  EXPECT_FALSE(networkRbacOf(redis.filter_chains(1)).has_value());
  EXPECT_TRUE(networkRbacOf(redis.filter_chains(2)).has_value());
}

TEST(XdsRbac, NoRbacWithoutMtlsWhateverThePermissions) {
  auto ctx = context(
      "", {mtp("deny-all", "{kind: Mesh}", "{kind: Mesh}", "Deny"), tp("tp-1", "web", "*")});
  Listener web = listenerOf(*ctx, "web-1", kWebInbound);
  ASSERT_EQ(web.filter_chains_size(), 1);
  EXPECT_FALSE(httpRbacOf(web.filter_chains(0)).has_value());
  EXPECT_FALSE(networkRbacOf(web.filter_chains(0)).has_value());
  EXPECT_FALSE(
      networkRbacOf(listenerOf(*ctx, "redis-1", kRedisInbound).filter_chains(0)).has_value());
}

TEST(XdsRbac, LegacyTrafficPermissionRendersTheNetworkFilterEvenOnHttp) {
  auto ctx = context("STRICT", {tp("web-to-api", "web", "api")});
  Listener api = listenerOf(*ctx, "api-1", kApiInbound);
  ASSERT_EQ(api.filter_chains_size(), 1);
  EXPECT_FALSE(httpRbacOf(api.filter_chains(0)).has_value());
  auto net = networkRbacOf(api.filter_chains(0));
  ASSERT_TRUE(net.has_value());
  EXPECT_EQ(net->stat_prefix(), "inbound_10_0_0_3_8080.");
  EXPECT_EQ(principalsOf(net->rules(), "web-to-api"),
            std::vector<std::string>{"spiffe://default/web"});
  // The HCM stays behind it, untouched.
  EXPECT_EQ(api.filter_chains(0).filters(1).name(),
            "envoy.filters.network.http_connection_manager");

  // web-1 matches no TrafficPermission (and no MTP exists): the MTP-shaped deny all.
  auto web = httpRbacOf(listenerOf(*ctx, "web-1", kWebInbound).filter_chains(0));
  ASSERT_TRUE(web.has_value());
  EXPECT_EQ(web->rules().policies_size(), 0);

  // Once some MeshTrafficPermission selects api's inbound, the legacy TP no longer applies.
  auto both = context("STRICT", {tp("web-to-api", "web", "api"),
                                 mtp("allow-all", "{kind: Mesh}", "{kind: Mesh}", "Allow")});
  Listener api2 = listenerOf(*both, "api-1", kApiInbound);
  EXPECT_FALSE(networkRbacOf(api2.filter_chains(0)).has_value());
  auto rbac = httpRbacOf(api2.filter_chains(0));
  ASSERT_TRUE(rbac.has_value());
  EXPECT_EQ(principalsOf(rbac->rules(), "MeshTrafficPermission"), std::vector<std::string>{"any"});
}

TEST(XdsRbac, RulesOnlyPermissionFailsClosedButStillGenerates) {
  const std::string rulesMtp = R"(type: MeshTrafficPermission
mesh: default
name: new-style
spec:
  targetRef: {kind: Mesh}
  rules:
  - default:
      allow:
      - spiffeID: {type: Exact, value: "spiffe://default/web"}
)";
  auto ctx = context("STRICT", {rulesMtp});
  auto rbac = httpRbacOf(listenerOf(*ctx, "api-1", kApiInbound).filter_chains(0));
  ASSERT_TRUE(rbac.has_value());
  EXPECT_EQ(rbac->rules().policies_size(), 0);
}

TEST(XdsRbac, APermissionChangeLeavesUnselectedProxiesByteIdentical) {
  const std::string api = "{kind: MeshService, name: api}";
  const std::string mesh = "{kind: Mesh}";
  // Both contexts also allow everything mesh-wide, so web's and redis' inbounds are selected by
  // the same (unchanged) policy; only api's policy changes from Allow to Deny.
  auto before =
      context("STRICT", {mtp("all", mesh, mesh, "Allow"), mtp("api", api, mesh, "Allow")});
  auto after = context("STRICT", {mtp("all", mesh, mesh, "Allow"), mtp("api", api, mesh, "Deny")});
  ASSERT_NE(before->hash(), after->hash());
  for (const std::string dp : {"web-1", "redis-1"}) {
    const GeneratedResources a = generateFor(*before, dp);
    const GeneratedResources b = generateFor(*after, dp);
    for (const auto& [type, resources] : a.types) {
      ASSERT_TRUE(b.types.contains(type)) << dp << " " << type;
      ASSERT_EQ(resources.size(), b.types.at(type).size()) << dp << " " << type;
      for (const auto& [name, r] : resources) {
        auto other = b.find(type, name);
        ASSERT_NE(other, nullptr) << dp << " " << name;
        EXPECT_EQ(r->serialized, other->serialized) << dp << " " << type << " " << name;
      }
    }
  }
  const std::string a = generateFor(*before, "api-1").find(kListenerType, kApiInbound)->serialized;
  const std::string b = generateFor(*after, "api-1").find(kListenerType, kApiInbound)->serialized;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace kuma::xds
