// RBAC from MeshTrafficPermission / TrafficPermission (spec §8.4, §3.5, §3.7): hand assertions
// taken from the spec text, plus golden files of the configured HTTP and TCP filter chains
// (testdata/<case>.golden.json; regenerate with KUMA_UPDATE_GOLDEN=1).

#include "source/plugins/policies/meshtrafficpermission/xds/rbac.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "api/mesh/v1alpha1/traffic_permission.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gtest/gtest.h"
#include "test/test_common/golden.h"
#include "source/core/model/proto_spec.h"
#include "source/core/validators/validation_error.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/meshtrafficpermission/meshtrafficpermission.h"
#include "source/xds/envoy/envoy_util.h"

namespace kuma::policies::mtp {
namespace {

using nlohmann::json;
namespace rbac_v3 = envoy::config::rbac::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace listener_v3 = envoy::config::listener::v3;

constexpr char kListener[] = "inbound:10.0.0.1:8080";

const model::ResourceTypeDescriptor& mtpType() {
  static const model::ResourceTypeDescriptor d =
      makeDescriptor(meshtrafficpermission::definition());
  return d;
}

// A MeshTrafficPermission through the REST input pipeline (schema, then Kuma's validator): every
// fixture is a policy kumactl would accept.
model::ResourceConstSharedPtr mtp(const std::string& name, const json& spec) {
  auto parsed = mtpType().parseSpec(
      json{{"type", "MeshTrafficPermission"}, {"mesh", "default"}, {"name", name}, {"spec", spec}});
  EXPECT_TRUE(parsed.ok()) << name << ": " << parsed.status();
  auto r = std::make_shared<model::Resource>();
  r->descriptor = &mtpType();
  r->meta.name = name;
  r->meta.mesh = "default";
  r->spec = parsed.ok() ? *parsed : nullptr;
  validators::ValidationError errors;
  if (r->spec != nullptr) {
    mtpType().validate(*r, errors);
  }
  EXPECT_TRUE(errors.empty()) << name << " is not a valid MeshTrafficPermission";
  return r;
}

json fromItem(const json& targetRef, const std::string& action) {
  return json{{"targetRef", targetRef}, {"default", {{"action", action}}}};
}
json meshRef() {
  return json{{"kind", "Mesh"}};
}
json serviceRef(const std::string& name) {
  return json{{"kind", "MeshService"}, {"name", name}};
}

model::ResourceConstSharedPtr tp(const std::string& name, const std::vector<Tags>& sources,
                                 const std::vector<Tags>& destinations,
                                 absl::Time created = absl::UnixEpoch()) {
  mesh::v1alpha1::TrafficPermission spec;
  for (const auto& s : sources) {
    spec.add_sources()->mutable_match()->insert(s.begin(), s.end());
  }
  for (const auto& d : destinations) {
    spec.add_destinations()->mutable_match()->insert(d.begin(), d.end());
  }
  auto r = std::make_shared<model::Resource>();
  r->meta.name = name;
  r->meta.mesh = "default";
  r->meta.creationTime = created;
  r->spec = std::make_shared<const model::ProtoSpec<mesh::v1alpha1::TrafficPermission>>(spec);
  return r;
}

mesh::v1alpha1::Mesh mtlsMesh() {
  mesh::v1alpha1::Mesh m;
  m.mutable_mtls()->set_enabled_backend("ca-1");
  return m;
}

MeshPermissions perms(const std::vector<model::ResourceConstSharedPtr>& mtps,
                      const std::vector<model::ResourceConstSharedPtr>& tps = {}) {
  return MeshPermissions::build("default", mtlsMesh(), mtps, tps);
}

// web-1: the inbound under test (backend, http) plus a second inbound (metrics).
DataplaneView backendProxy() {
  DataplaneView dp;
  dp.name = "backend-1";
  dp.labels = {{"team", "core"}};
  dp.inbounds.push_back(
      {8080, "main", {{"kuma.io/service", "backend"}, {"kuma.io/protocol", "http"}}});
  dp.inbounds.push_back({9090, "", {{"kuma.io/service", "backend-metrics"}}});
  return dp;
}

InboundRbac compute(const MeshPermissions& p, const DataplaneView& dp, size_t inbound = 0) {
  auto out = computeInboundRbac(p, dp, dp.inbounds.at(inbound));
  EXPECT_TRUE(out.has_value());
  return out.value_or(InboundRbac{});
}

rbac_v3::Principal exact(const std::string& name) {
  rbac_v3::Principal p;
  p.mutable_authenticated()->mutable_principal_name()->set_exact(name);
  return p;
}

rbac_v3::Principal anyPrincipal() {
  rbac_v3::Principal p;
  p.set_any(true);
  return p;
}

std::string dump(const google::protobuf::Message& m) {
  return m.ShortDebugString();
}

// The principals of the single ALLOW policy `name` (fails when absent).
std::vector<std::string> principals(const rbac_v3::RBAC& rules,
                                    const std::string& name = kMtpPolicyName) {
  std::vector<std::string> out;
  auto it = rules.policies().find(name);
  EXPECT_NE(it, rules.policies().end()) << "no policy " << name << " in " << dump(rules);
  if (it == rules.policies().end()) {
    return out;
  }
  EXPECT_EQ(it->second.permissions_size(), 1);
  EXPECT_TRUE(it->second.permissions_size() == 1 && it->second.permissions(0).any());
  for (const auto& p : it->second.principals()) {
    out.push_back(dump(p));
  }
  return out;
}

// ---- hand assertions (spec §8.4) ----

TEST(MtpRbac, AllowSpecificService) {
  auto p = perms({mtp("allow-client", {{"targetRef", serviceRef("backend")},
                                       {"from", {fromItem(serviceRef("client"), "Allow")}}})});
  InboundRbac rbac = compute(p, backendProxy());
  EXPECT_EQ(rbac.source, RbacSource::MeshTrafficPermission);
  EXPECT_EQ(rbac.rules.action(), rbac_v3::RBAC::ALLOW);
  EXPECT_EQ(rbac.rules.policies_size(), 1);
  EXPECT_EQ(principals(rbac.rules),
            std::vector<std::string>{dump(exact("spiffe://default/client"))});
  EXPECT_FALSE(rbac.shadowRules.has_value());
  EXPECT_EQ(rbac.origins, std::vector<std::string>{"allow-client"});
}

TEST(MtpRbac, AllowAllRendersAnyPrincipal) {
  auto p = perms(
      {mtp("allow-all", {{"targetRef", meshRef()}, {"from", {fromItem(meshRef(), "Allow")}}})});
  InboundRbac rbac = compute(p, backendProxy());
  EXPECT_EQ(principals(rbac.rules), std::vector<std::string>{dump(anyPrincipal())});
}

TEST(MtpRbac, DenyLeavesNoPolicy) {
  auto p = perms({mtp("deny-all", {{"from", {fromItem(meshRef(), "Deny")}}})});
  InboundRbac rbac = compute(p, backendProxy());
  EXPECT_EQ(rbac.source, RbacSource::MeshTrafficPermission);
  EXPECT_EQ(rbac.rules.action(), rbac_v3::RBAC::ALLOW);
  EXPECT_EQ(rbac.rules.policies_size(), 0);
  EXPECT_FALSE(rbac.shadowRules.has_value());
}

TEST(MtpRbac, AllowWithShadowDenyAddsShadowRules) {
  auto p = perms({mtp("shadow", {{"from",
                                  {fromItem(serviceRef("client"), "AllowWithShadowDeny"),
                                   fromItem(serviceRef("admin"), "Allow")}}})});
  InboundRbac rbac = compute(p, backendProxy());
  // Allow principals first, then AllowWithShadowDeny ones.
  EXPECT_EQ(principals(rbac.rules),
            (std::vector<std::string>{dump(exact("spiffe://default/admin")),
                                      dump(exact("spiffe://default/client"))}));
  ASSERT_TRUE(rbac.shadowRules.has_value());
  EXPECT_EQ(rbac.shadowRules->action(), rbac_v3::RBAC::DENY);
  EXPECT_EQ(principals(*rbac.shadowRules),
            std::vector<std::string>{dump(exact("spiffe://default/client"))});
}

TEST(MtpRbac, MoreSpecificTopLevelTargetRefWins) {
  // Mesh-level allow-all, MeshService-level deny of client: client → Deny, others → Allow
  // (a negated identity), whatever the names.
  auto p = perms(
      {mtp("aaa-backend", {{"targetRef", serviceRef("backend")},
                           {"from", {fromItem(serviceRef("client"), "Deny")}}}),
       mtp("zzz-mesh", {{"targetRef", meshRef()}, {"from", {fromItem(meshRef(), "Allow")}}})});
  InboundRbac rbac = compute(p, backendProxy());
  rbac_v3::Principal notClient;
  *notClient.mutable_not_id() = exact("spiffe://default/client");
  EXPECT_EQ(principals(rbac.rules), std::vector<std::string>{dump(notClient)});
  EXPECT_EQ(rbac.origins, (std::vector<std::string>{"zzz-mesh", "aaa-backend"}));

  // The other inbound (backend-metrics) is selected by the Mesh policy only: allow all.
  InboundRbac metrics = compute(p, backendProxy(), 1);
  EXPECT_EQ(principals(metrics.rules), std::vector<std::string>{dump(anyPrincipal())});
}

TEST(MtpRbac, SameKindNameSortingFirstIsAppliedLast) {
  auto p = perms({mtp("a-allow", {{"from", {fromItem(meshRef(), "Allow")}}}),
                  mtp("b-deny", {{"from", {fromItem(meshRef(), "Deny")}}})});
  InboundRbac rbac = compute(p, backendProxy());
  EXPECT_EQ(principals(rbac.rules), std::vector<std::string>{dump(anyPrincipal())});
  EXPECT_EQ(rbac.origins, (std::vector<std::string>{"b-deny", "a-allow"}));
}

TEST(MtpRbac, MeshSubsetAndDataplaneSelectionOrder) {
  // MeshSubset (3) beats Mesh (1); Dataplane by name (2) is between them.
  auto p =
      perms({mtp("by-subset",
                 {{"targetRef", {{"kind", "MeshSubset"}, {"tags", {{"kuma.io/protocol", "http"}}}}},
                  {"from", {fromItem(meshRef(), "Allow")}}}),
             mtp("by-dp", {{"targetRef", {{"kind", "Dataplane"}, {"name", "backend-1"}}},
                           {"from", {fromItem(meshRef(), "Deny")}}}),
             mtp("by-mesh", {{"from", {fromItem(meshRef(), "Deny")}}})});
  InboundRbac rbac = compute(p, backendProxy());
  EXPECT_EQ(rbac.origins, (std::vector<std::string>{"by-mesh", "by-dp", "by-subset"}));
  EXPECT_EQ(principals(rbac.rules), std::vector<std::string>{dump(anyPrincipal())});
  // The metrics inbound has no protocol tag: by-subset does not select it → Dataplane's Deny.
  EXPECT_EQ(compute(p, backendProxy(), 1).rules.policies_size(), 0);
}

TEST(MtpRbac, MultiTagSubsetUsesAndIds) {
  auto p = perms({mtp(
      "team-a",
      {{"from",
        {fromItem(meshRef(), "Deny"),
         fromItem({{"kind", "MeshSubset"}, {"tags", {{"team", "a"}, {"kuma.io/zone", "east"}}}},
                  "Allow")}}})});
  InboundRbac rbac = compute(p, backendProxy());
  rbac_v3::Principal both;
  *both.mutable_and_ids()->add_ids() = exact("kuma://kuma.io/zone/east");
  *both.mutable_and_ids()->add_ids() = exact("kuma://team/a");
  EXPECT_EQ(principals(rbac.rules), std::vector<std::string>{dump(both)});
}

TEST(MtpRbac, ServiceSubsetMixesSpiffeAndKumaIds) {
  auto p = perms(
      {mtp("v1-only",
           {{"from",
             {fromItem(
                 {{"kind", "MeshServiceSubset"}, {"name", "client"}, {"tags", {{"version", "v1"}}}},
                 "Allow")}}})});
  InboundRbac rbac = compute(p, backendProxy());
  rbac_v3::Principal both;
  *both.mutable_and_ids()->add_ids() = exact("spiffe://default/client");
  *both.mutable_and_ids()->add_ids() = exact("kuma://version/v1");
  EXPECT_EQ(principals(rbac.rules), std::vector<std::string>{dump(both)});
}

TEST(MtpRbac, NoPolicyAtAllDeniesEverything) {
  InboundRbac rbac = compute(perms({}), backendProxy());
  EXPECT_EQ(rbac.source, RbacSource::MeshTrafficPermission);
  EXPECT_EQ(rbac.rules.policies_size(), 0);
  EXPECT_FALSE(rbac.shadowRules.has_value());
  EXPECT_TRUE(rbac.origins.empty());
}

TEST(MtpRbac, PolicyForAnotherServiceStillDeniesThisInbound) {
  auto p = perms({mtp(
      "other", {{"targetRef", serviceRef("payments")}, {"from", {fromItem(meshRef(), "Allow")}}})});
  InboundRbac rbac = compute(p, backendProxy());
  EXPECT_EQ(rbac.rules.policies_size(), 0);
  EXPECT_TRUE(rbac.origins.empty());
}

TEST(MtpRbac, MtlsOffHasNoEffect) {
  auto p = MeshPermissions::build(
      "default", mesh::v1alpha1::Mesh(),
      {mtp("allow-all", {{"from", {fromItem(meshRef(), "Allow")}}})},
      {tp("tp-1", {{{"kuma.io/service", "*"}}}, {{{"kuma.io/service", "*"}}})});
  EXPECT_FALSE(p.mtlsEnabled());
  DataplaneView dp = backendProxy();
  EXPECT_FALSE(computeInboundRbac(p, dp, dp.inbounds[0]).has_value());
  // A mesh with mtls settings but no enabled backend is not mTLS either.
  mesh::v1alpha1::Mesh m;
  m.mutable_mtls()->add_backends()->set_name("ca-1");
  auto p2 = MeshPermissions::build("default", m, {}, {});
  EXPECT_FALSE(computeInboundRbac(p2, dp, dp.inbounds[0]).has_value());
}

TEST(MtpRbac, DataplaneSectionNameSelectsOneInbound) {
  auto p = perms(
      {mtp("main-only",
           {{"targetRef",
             {{"kind", "Dataplane"}, {"labels", {{"team", "core"}}}, {"sectionName", "main"}}},
            {"from", {fromItem(meshRef(), "Allow")}}}),
       mtp("port-9090",
           {{"targetRef", {{"kind", "Dataplane"}, {"name", "backend-1"}, {"sectionName", "9090"}}},
            {"from", {fromItem(serviceRef("prom"), "Allow")}}})});
  EXPECT_EQ(principals(compute(p, backendProxy(), 0).rules),
            std::vector<std::string>{dump(anyPrincipal())});
  EXPECT_EQ(principals(compute(p, backendProxy(), 1).rules),
            std::vector<std::string>{dump(exact("spiffe://default/prom"))});
}

TEST(MtpRbac, RulesOnlyPolicyIsFlaggedAndFailsClosed) {
  auto p = perms({mtp("new-style", json::parse(R"({"rules": [{"default": {"allow": [
                       {"spiffeID": {"type": "Exact", "value": "spiffe://default/client"}}]}}]})"))});
  InboundRbac rbac = compute(p, backendProxy());
  EXPECT_TRUE(rbac.ignoredRules);
  EXPECT_EQ(rbac.rules.policies_size(), 0);
}

// ---- legacy TrafficPermission (§3.5, §8.4) ----

TEST(LegacyTpRbac, PolicyNamedAfterTheTrafficPermission) {
  auto p = perms({}, {tp("tp-1", {{{"kuma.io/service", "client"}, {"version", "v1"}}},
                         {{{"kuma.io/service", "backend"}}})});
  InboundRbac rbac = compute(p, backendProxy());
  EXPECT_EQ(rbac.source, RbacSource::TrafficPermission);
  EXPECT_EQ(rbac.rules.policies_size(), 1);
  rbac_v3::Principal both;
  *both.mutable_and_ids()->add_ids() = exact("kuma://version/v1");
  *both.mutable_and_ids()->add_ids() = exact("spiffe://default/client");
  EXPECT_EQ(principals(rbac.rules, "tp-1"), std::vector<std::string>{dump(both)});
  EXPECT_FALSE(rbac.shadowRules.has_value());
}

TEST(LegacyTpRbac, WildcardSourceAllowsAnyAndEachSourceIsOneId) {
  auto p = perms({}, {tp("allow-all-default", {{{"kuma.io/service", "*"}}, {{"team", "a"}}},
                         {{{"kuma.io/service", "*"}}})});
  InboundRbac rbac = compute(p, backendProxy());
  EXPECT_EQ(principals(rbac.rules, "allow-all-default"),
            (std::vector<std::string>{dump(anyPrincipal()), dump(exact("kuma://team/a"))}));
}

TEST(LegacyTpRbac, MostSpecificDestinationWins) {
  auto p = perms(
      {}, {tp("aaa-wildcard", {{{"kuma.io/service", "*"}}}, {{{"kuma.io/service", "*"}}}),
           tp("zzz-exact", {{{"kuma.io/service", "client"}}}, {{{"kuma.io/service", "backend"}}}),
           tp("mmm-two-tags", {{{"kuma.io/service", "ops"}}},
              {{{"kuma.io/service", "*"}, {"kuma.io/protocol", "*"}}})});
  // Two wildcard tags beat one exact tag (more tags first); metrics has no protocol tag.
  EXPECT_EQ(compute(p, backendProxy(), 0).rules.policies().begin()->first, "mmm-two-tags");
  EXPECT_EQ(compute(p, backendProxy(), 1).rules.policies().begin()->first, "aaa-wildcard");
}

TEST(LegacyTpRbac, EqualRankLaterCreatedWins) {
  auto p = perms({}, {tp("a-old", {{{"kuma.io/service", "x"}}}, {{{"kuma.io/service", "backend"}}},
                         absl::FromUnixSeconds(100)),
                      tp("b-new", {{{"kuma.io/service", "y"}}}, {{{"kuma.io/service", "backend"}}},
                         absl::FromUnixSeconds(200)),
                      tp("c-same", {{{"kuma.io/service", "z"}}}, {{{"kuma.io/service", "backend"}}},
                         absl::FromUnixSeconds(200))});
  auto rbac = compute(p, backendProxy());
  ASSERT_EQ(rbac.rules.policies_size(), 1);
  EXPECT_EQ(rbac.rules.policies().begin()->first, "b-new");
}

TEST(LegacyTpRbac, UnmatchedInboundOfALegacyProxyDeniesWithNetworkFilter) {
  auto p = perms({}, {tp("metrics-only", {{{"kuma.io/service", "prom"}}},
                         {{{"kuma.io/service", "backend-metrics"}}})});
  InboundRbac rbac = compute(p, backendProxy(), 0);
  EXPECT_EQ(rbac.source, RbacSource::TrafficPermission);
  EXPECT_EQ(rbac.rules.policies_size(), 0);
}

TEST(LegacyTpRbac, TrafficPermissionMatchingNoInboundGivesMtpDenyAll) {
  auto p = perms(
      {}, {tp("elsewhere", {{{"kuma.io/service", "*"}}}, {{{"kuma.io/service", "payments"}}})});
  InboundRbac rbac = compute(p, backendProxy(), 0);
  EXPECT_EQ(rbac.source, RbacSource::MeshTrafficPermission);
  EXPECT_EQ(rbac.rules.policies_size(), 0);
}

TEST(LegacyTpRbac, MeshTrafficPermissionTakesPrecedence) {
  auto p = perms({mtp("allow-client", {{"targetRef", serviceRef("backend")},
                                       {"from", {fromItem(serviceRef("client"), "Allow")}}})},
                 {tp("tp-1", {{{"kuma.io/service", "*"}}}, {{{"kuma.io/service", "*"}}})});
  InboundRbac main = compute(p, backendProxy(), 0);
  EXPECT_EQ(main.source, RbacSource::MeshTrafficPermission);
  EXPECT_EQ(principals(main.rules),
            std::vector<std::string>{dump(exact("spiffe://default/client"))});
  // Not selected by the MTP: the legacy TP keeps it.
  InboundRbac metrics = compute(p, backendProxy(), 1);
  EXPECT_EQ(metrics.source, RbacSource::TrafficPermission);
  EXPECT_EQ(metrics.rules.policies().count("tp-1"), 1u);
}

// ---- inputs ----

TEST(MtpRbacInputs, DataplaneViewReadsTheResource) {
  mesh::v1alpha1::Dataplane spec;
  auto* in = spec.mutable_networking()->add_inbound();
  in->set_port(8080);
  in->set_name("main");
  (*in->mutable_tags())["kuma.io/service"] = "backend";
  model::Resource r;
  r.meta.name = "backend-1";
  r.meta.labels = {{"team", "core"}};
  r.spec = std::make_shared<const model::ProtoSpec<mesh::v1alpha1::Dataplane>>(spec);
  auto view = dataplaneView(r);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->name, "backend-1");
  EXPECT_EQ(view->labels, (Tags{{"team", "core"}}));
  ASSERT_EQ(view->inbounds.size(), 1u);
  EXPECT_EQ(view->inbounds[0].port, 8080u);
  EXPECT_EQ(view->inbounds[0].name, "main");
  EXPECT_EQ(view->inbounds[0].tags, (Tags{{"kuma.io/service", "backend"}}));
  EXPECT_EQ(inboundView(*in).tags, view->inbounds[0].tags);
  EXPECT_EQ(inboundView(*in).name, "main");

  model::Resource notDp = r;
  notDp.spec = std::make_shared<const model::ProtoSpec<mesh::v1alpha1::Mesh>>(mtlsMesh());
  EXPECT_EQ(dataplaneView(notDp).status().code(), absl::StatusCode::kInvalidArgument);
  model::Resource empty;
  EXPECT_EQ(dataplaneView(empty).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MtpRbacInputs, ForeignSpecsAreSkipped) {
  auto mtpAsTp = tp("not-an-mtp", {{{"kuma.io/service", "*"}}}, {{{"kuma.io/service", "*"}}});
  auto p = perms({mtpAsTp, nullptr},
                 {mtp("not-a-tp", {{"from", {fromItem(meshRef(), "Allow")}}}), nullptr});
  EXPECT_TRUE(p.meshTrafficPermissions().empty());
  EXPECT_TRUE(p.trafficPermissions().empty());
}

// ---- filter placement and goldens ----

listener_v3::FilterChain tcpChain() {
  envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy proxy;
  proxy.set_stat_prefix("localhost_18080");
  proxy.set_cluster("localhost:18080");
  listener_v3::FilterChain chain;
  auto* f = chain.add_filters();
  f->set_name("envoy.filters.network.tcp_proxy");
  *f->mutable_typed_config() = xds::packAny(proxy);
  return chain;
}

listener_v3::FilterChain httpChain() {
  hcm_v3::HttpConnectionManager hcm;
  hcm.set_stat_prefix("localhost_18080");
  auto* router = hcm.add_http_filters();
  router->set_name("envoy.filters.http.router");
  *router->mutable_typed_config() =
      xds::packAny(envoy::extensions::filters::http::router::v3::Router());
  listener_v3::FilterChain chain;
  auto* f = chain.add_filters();
  f->set_name(kHcmFilter);
  *f->mutable_typed_config() = xds::packAny(hcm);
  return chain;
}

hcm_v3::HttpConnectionManager hcmOf(const listener_v3::FilterChain& chain) {
  hcm_v3::HttpConnectionManager hcm;
  for (const auto& f : chain.filters()) {
    if (f.name() == kHcmFilter) {
      EXPECT_TRUE(f.typed_config().UnpackTo(&hcm));
    }
  }
  return hcm;
}

TEST(MtpRbacFilters, MtpGoesIntoTheHcmOrFirstInTcpChains) {
  auto p = perms({mtp("shadow", {{"from", {fromItem(meshRef(), "AllowWithShadowDeny")}}})});
  InboundRbac rbac = compute(p, backendProxy());

  auto http = httpChain();
  ASSERT_TRUE(configureFilterChain(rbac, kListener, http).ok());
  ASSERT_EQ(http.filters_size(), 1);  // no network RBAC next to the HCM
  auto hcm = hcmOf(http);
  ASSERT_EQ(hcm.http_filters_size(), 2);
  EXPECT_EQ(hcm.http_filters(0).name(), "envoy.filters.http.rbac");
  EXPECT_EQ(hcm.http_filters(1).name(), "envoy.filters.http.router");
  envoy::extensions::filters::http::rbac::v3::RBAC httpConf;
  ASSERT_TRUE(hcm.http_filters(0).typed_config().UnpackTo(&httpConf));
  EXPECT_EQ(dump(httpConf.rules()), dump(rbac.rules));
  EXPECT_TRUE(httpConf.has_shadow_rules());

  auto tcp = tcpChain();
  ASSERT_TRUE(configureFilterChain(rbac, kListener, tcp).ok());
  ASSERT_EQ(tcp.filters_size(), 2);
  EXPECT_EQ(tcp.filters(0).name(), "envoy.filters.network.rbac");
  EXPECT_EQ(tcp.filters(1).name(), "envoy.filters.network.tcp_proxy");
  envoy::extensions::filters::network::rbac::v3::RBAC netConf;
  ASSERT_TRUE(tcp.filters(0).typed_config().UnpackTo(&netConf));
  EXPECT_EQ(netConf.stat_prefix(), "inbound_10.0.0.1_8080.");
  EXPECT_EQ(dump(netConf.rules()), dump(rbac.rules));
  EXPECT_EQ(dump(netConf.shadow_rules()), dump(*rbac.shadowRules));
}

TEST(MtpRbacFilters, LegacyIsAlwaysANetworkFilter) {
  auto p = perms(
      {}, {tp("tp-1", {{{"kuma.io/service", "client"}}}, {{{"kuma.io/service", "backend"}}})});
  InboundRbac rbac = compute(p, backendProxy());
  auto http = httpChain();
  ASSERT_TRUE(configureFilterChain(rbac, kListener, http).ok());
  ASSERT_EQ(http.filters_size(), 2);
  EXPECT_EQ(http.filters(0).name(), "envoy.filters.network.rbac");
  EXPECT_EQ(hcmOf(http).http_filters_size(), 1);  // HCM untouched
}

TEST(MtpRbacFilters, ExistingNetworkRbacIsReplaced) {
  auto denyAll = compute(perms({}), backendProxy());
  auto legacy = compute(perms({}, {tp("tp-1", {{{"kuma.io/service", "client"}}},
                                      {{{"kuma.io/service", "backend"}}})}),
                        backendProxy());
  auto tcp = tcpChain();
  ASSERT_TRUE(configureFilterChain(legacy, kListener, tcp).ok());
  ASSERT_TRUE(configureFilterChain(denyAll, kListener, tcp).ok());
  ASSERT_EQ(tcp.filters_size(), 2);
  envoy::extensions::filters::network::rbac::v3::RBAC netConf;
  ASSERT_TRUE(tcp.filters(0).typed_config().UnpackTo(&netConf));
  EXPECT_EQ(netConf.rules().policies_size(), 0);  // the legacy tp-1 policy is gone

  // On an HTTP chain the network RBAC is removed and the HTTP one added.
  auto http = httpChain();
  ASSERT_TRUE(configureFilterChain(legacy, kListener, http).ok());
  ASSERT_TRUE(configureFilterChain(denyAll, kListener, http).ok());
  ASSERT_EQ(http.filters_size(), 1);
  EXPECT_EQ(hcmOf(http).http_filters(0).name(), "envoy.filters.http.rbac");
}

TEST(MtpRbacFilters, BadHcmIsRejected) {
  listener_v3::FilterChain chain;
  auto* f = chain.add_filters();
  f->set_name(kHcmFilter);
  f->mutable_typed_config()->set_type_url(
      "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy");
  f->mutable_typed_config()->set_value("\xff\xff garbage");
  auto status = configureFilterChain(compute(perms({}), backendProxy()), kListener, chain);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(MtpRbacFilters, UnaffectedProxiesRenderIdenticalBytes) {
  // Adding a permission for `payments` must not change backend's listener bytes.
  auto before = perms({mtp("allow-all", {{"from", {fromItem(meshRef(), "Allow")}}})});
  auto after = perms({mtp("allow-all", {{"from", {fromItem(meshRef(), "Allow")}}}),
                      mtp("payments-deny", {{"targetRef", serviceRef("payments")},
                                            {"from", {fromItem(meshRef(), "Deny")}}})});
  auto render = [](const MeshPermissions& p) {
    auto chain = httpChain();
    EXPECT_TRUE(configureFilterChain(compute(p, backendProxy()), kListener, chain).ok());
    return xds::makeResource("chain", chain)->serialized;
  };
  EXPECT_EQ(render(before), render(after));
  // ... while the payments proxy does change.
  DataplaneView payments;
  payments.name = "payments-1";
  payments.inbounds.push_back({8080, "", {{"kuma.io/service", "payments"}}});
  EXPECT_NE(dump(compute(before, payments).rules), dump(compute(after, payments).rules));
}

json chainJson(const listener_v3::FilterChain& chain) {
  std::string bytes;
  EXPECT_TRUE(chain.SerializeToString(&bytes));
  auto text =
      xds::resourceToJson("type.googleapis.com/envoy.config.listener.v3.FilterChain", bytes);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? json::parse(*text) : json();
}

void expectGolden(const std::string& name, const MeshPermissions& p) {
  envoy::extensions::filters::http::rbac::v3::RBAC::descriptor();  // load for JSON rendering
  InboundRbac rbac = compute(p, backendProxy());
  auto http = httpChain();
  auto tcp = tcpChain();
  ASSERT_TRUE(configureFilterChain(rbac, kListener, http).ok());
  ASSERT_TRUE(configureFilterChain(rbac, kListener, tcp).ok());
  const std::string actual =
      json{{"httpFilterChain", chainJson(http)}, {"tcpFilterChain", chainJson(tcp)}}.dump(2) + "\n";
  const auto path = test::sourcePath("source/plugins/policies/meshtrafficpermission/xds/testdata") /
                    (name + ".golden.json");
  test::expectGoldenText(path, actual);
}

TEST(MtpRbacGolden, AllowService) {
  expectGolden("allow-service",
               perms({mtp("allow-client", {{"targetRef", serviceRef("backend")},
                                           {"from", {fromItem(serviceRef("client"), "Allow")}}})}));
}

TEST(MtpRbacGolden, AllowAll) {
  expectGolden("allow-all", perms({mtp("allow-all", {{"from", {fromItem(meshRef(), "Allow")}}})}));
}

TEST(MtpRbacGolden, Deny) {
  expectGolden("deny", perms({mtp("deny-all", {{"from", {fromItem(meshRef(), "Deny")}}})}));
}

TEST(MtpRbacGolden, ShadowDeny) {
  expectGolden("shadow-deny",
               perms({mtp("shadow", {{"from",
                                      {fromItem(serviceRef("client"), "AllowWithShadowDeny"),
                                       fromItem(serviceRef("admin"), "Allow")}}})}));
}

TEST(MtpRbacGolden, Precedence) {
  expectGolden(
      "precedence",
      perms({mtp("mesh-allow", {{"from", {fromItem(meshRef(), "Allow")}}}),
             mtp("backend-deny-client", {{"targetRef", serviceRef("backend")},
                                         {"from", {fromItem(serviceRef("client"), "Deny")}}}),
             mtp("team-a",
                 {{"targetRef", {{"kind", "MeshSubset"}, {"tags", {{"kuma.io/protocol", "http"}}}}},
                  {"from",
                   {fromItem({{"kind", "MeshSubset"},
                              {"tags", {{"team", "a"}, {"kuma.io/zone", "east"}}}},
                             "AllowWithShadowDeny")}}})}));
}

TEST(MtpRbacGolden, LegacyTrafficPermission) {
  expectGolden("legacy-traffic-permission",
               perms({}, {tp("tp-1", {{{"kuma.io/service", "client"}, {"version", "v1"}}},
                             {{{"kuma.io/service", "backend"}}})}));
}

TEST(MtpRbacGolden, NoPolicy) {
  expectGolden("no-policy", perms({}));
}

}  // namespace
}  // namespace kuma::policies::mtp
