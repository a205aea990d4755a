// Kuma's VIP view of a mesh (virtual_outbound_view.h) and what the mesh context derives from it:
// the entries of Dataplanes, ExternalServices and VirtualOutbounds, Kuma's conflict rules, the
// allocation order (service, host, fqdn entries; each by name), the VIP outbounds with their
// ports and the names of each VIP. Expected values are those Kuma 2.14.3 produced for the same
// resources (conformance cases virtualoutbound and externalservice-transparent).
#include "source/xds/context/virtual_outbound_view.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/context/vip_persistence.h"
#include "test/xds/context/xds_fixtures.h"

namespace kuma::xds {
namespace {

using testing::dataplaneYaml;
using testing::meshResources;

constexpr char kInstances[] = R"(type: VirtualOutbound
mesh: default
name: vo-instances
selectors:
  - match: {kuma.io/service: backend}
conf:
  host: "{{.svc}}.{{.inst}}.vo"
  port: "8080"
  parameters:
    - {name: svc, tagKey: kuma.io/service}
    - {name: inst, tagKey: kuma.io/instance}
)";

std::vector<std::string> backends() {
  return {dataplaneYaml("backend-1", "10.0.0.1", R"(  inbound:
  - {port: 80, tags: {kuma.io/service: backend, kuma.io/instance: i-1}}
)"),
          dataplaneYaml("backend-2", "10.0.0.2", R"(  inbound:
  - {port: 80, tags: {kuma.io/service: backend, kuma.io/instance: i-2}}
)"),
          dataplaneYaml("db-1", "10.0.0.3", R"(  inbound:
  - {port: 5432, tags: {kuma.io/service: db}}
)")};
}

std::shared_ptr<const MeshContext> build(const std::vector<std::string>& yamls) {
  auto ctx = MeshContext::build(meshResources(yamls));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return ctx.ok() ? *ctx : nullptr;
}

std::vector<std::string> outboundsText(const MeshContext& ctx) {
  std::vector<std::string> out;
  for (const VipOutbound& o : ctx.vipOutbounds()) {
    std::string tags;
    for (const auto& [k, v] : o.tags) {
      tags += k + "=" + v + ";";
    }
    out.push_back(o.address + ":" + std::to_string(o.port) + " " + tags);
  }
  return out;
}

TEST(VirtualOutboundView, AddKeepsTheFirstOfConflictingOutboundsAndSortsByPort) {
  VirtualOutboundView view;
  const HostnameEntry host{HostnameKind::kFqdn, "backend.vo"};
  view.add(host, {8080, {{"kuma.io/service", "backend"}, {"v", "1"}}, "virtual-outbound:a"});
  view.add(host, {8080, {{"kuma.io/service", "backend"}, {"v", "2"}}, "virtual-outbound:a"});
  view.add(host, {8080, {{"kuma.io/service", "backend"}, {"v", "1"}}, "virtual-outbound:a"});
  view.add(host, {80, {{"kuma.io/service", "backend"}}, "virtual-outbound:b"});
  const auto& outbounds = view.entries().at(host).outbounds;
  ASSERT_EQ(outbounds.size(), 2u);
  EXPECT_EQ(outbounds[0].str(), "virtual-outbound:b=80{kuma.io/service=backend}");
  EXPECT_EQ(outbounds[1].str(), "virtual-outbound:a=8080{kuma.io/service=backend,v=1}");
  // An IP host keeps its own address; it is never allocated.
  view.add({HostnameKind::kHost, "10.1.2.3"},
           {443, {{"kuma.io/service", "ip"}}, "external-service:ip"});
  EXPECT_EQ(view.entries().at({HostnameKind::kHost, "10.1.2.3"}).address, "10.1.2.3");
  EXPECT_EQ(HostnameEntry({HostnameKind::kFqdn, "a.vo"}).key(), "2:a.vo");
}

// Kuma's allocation order: services (backend .0, db .1), then the VirtualOutbound names; each
// name's outbound on its port with the parameters' tags; the service VIPs on :80.
TEST(VirtualOutboundView, VirtualOutboundNamesGetTheirOwnVipsAfterTheServices) {
  auto yamls = backends();
  yamls.push_back(kInstances);
  auto ctx = build(yamls);
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(ctx->vipAllocation(),
            (std::map<std::string, std::string>{{"0:backend", "240.0.0.0"},
                                                {"0:db", "240.0.0.1"},
                                                {"2:backend.i-1.vo", "240.0.0.2"},
                                                {"2:backend.i-2.vo", "240.0.0.3"}}));
  EXPECT_THAT(outboundsText(*ctx),
              ::testing::ElementsAre(
                  "240.0.0.0:80 kuma.io/service=backend;", "240.0.0.1:80 kuma.io/service=db;",
                  "240.0.0.2:8080 kuma.io/instance=i-1;kuma.io/service=backend;",
                  "240.0.0.3:8080 kuma.io/instance=i-2;kuma.io/service=backend;"));
  ASSERT_NE(ctx->vipOutboundsOf("backend"), nullptr);
  EXPECT_THAT(*ctx->vipOutboundsOf("backend"), ::testing::ElementsAre(0u, 2u, 3u));
  EXPECT_EQ(ctx->vipDomains().back().name, "backend.i-2.vo");
  // Kuma's persisted layout carries the VirtualOutbound entries with their tag sets.
  EXPECT_THAT(
      vipConfigText(*ctx),
      ::testing::HasSubstr(R"("2:backend.i-1.vo":{"address":"240.0.0.2","outbounds":[{"Port":8080,)"
                           R"("TagSet":{"kuma.io/instance":"i-1","kuma.io/service":"backend"},)"
                           R"("Origin":"virtual-outbound:vo-instances"}]})"));
}

// A VirtualOutbound change reaches the proxies of its service only: backend's hash moves, db's
// does not.
TEST(VirtualOutboundView, AVirtualOutboundChangesOnlyItsServicesHash) {
  auto without = build(backends());
  auto yamls = backends();
  yamls.push_back(kInstances);
  auto with = build(yamls);
  ASSERT_NE(without, nullptr);
  ASSERT_NE(with, nullptr);
  EXPECT_NE(without->serviceHash("backend"), with->serviceHash("backend"));
  EXPECT_EQ(without->serviceHash("db"), with->serviceHash("db"));
  EXPECT_NE(without->vipsHash(), with->vipsHash());
}

// An incremental build (the previous context given, as the reconciler does) shares the previous
// VIP state when its inputs are the same, and derives a new one when a VirtualOutbound changed.
TEST(VirtualOutboundView, IncrementalBuildsFollowVirtualOutboundChanges) {
  auto yamls = backends();
  yamls.push_back(kInstances);
  auto first = build(yamls);
  ASSERT_NE(first, nullptr);
  MeshResources same = meshResources(yamls);
  same.vipView = first->vipAllocation();
  auto second = MeshContext::build(std::move(same), first.get());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(&(*second)->virtualOutboundView(), &first->virtualOutboundView()) << "shared";
  EXPECT_EQ((*second)->vipsHash(), first->vipsHash());

  std::string changed = kInstances;
  changed.replace(changed.find("\"8080\""), 6, "\"9090\"");
  yamls.back() = changed;
  MeshResources next = meshResources(yamls);
  next.vipView = first->vipAllocation();
  auto third = MeshContext::build(std::move(next), first.get());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_THAT(outboundsText(**third),
              ::testing::Contains("240.0.0.2:9090 kuma.io/instance=i-1;kuma.io/service=backend;"));
  EXPECT_NE((*third)->serviceHash("backend"), first->serviceHash("backend"));
  EXPECT_EQ((*third)->serviceHash("db"), first->serviceHash("db"));
}

// Templates that fail for an instance (a missing tag renders "<no value>", not a DNS name) and
// two instances producing one name with different tags (the first one stays) add nothing more.
TEST(VirtualOutboundView, FailingTemplatesAndConflictsAreSkipped) {
  auto yamls = backends();
  yamls.push_back(R"(type: VirtualOutbound
mesh: default
name: by-version
selectors:
  - match: {kuma.io/service: "*"}
conf:
  host: "{{.svc}}.{{.version}}.vo"
  port: "{{.port}}"
  parameters:
    - {name: svc, tagKey: kuma.io/service}
    - {name: version}
    - {name: port}
)");
  yamls.push_back(R"(type: VirtualOutbound
mesh: default
name: one-name
selectors:
  - match: {kuma.io/service: backend}
conf:
  host: "{{.svc}}.all.vo"
  port: "9090"
  parameters:
    - {name: svc, tagKey: kuma.io/service}
    - {name: inst, tagKey: kuma.io/instance}
)");
  auto ctx = build(yamls);
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(
      ctx->vipAllocation(),
      (std::map<std::string, std::string>{
          {"0:backend", "240.0.0.0"}, {"0:db", "240.0.0.1"}, {"2:backend.all.vo", "240.0.0.2"}}));
  EXPECT_THAT(outboundsText(*ctx),
              ::testing::Contains("240.0.0.2:9090 kuma.io/instance=i-1;kuma.io/service=backend;"));
}

// ExternalServices: the service entry on the service's port and on :80; a host name its own VIP
// with the same two outbounds (only one when the port is 80); an IP its own address, no name, no
// :80; disableHostDNSEntry no host entry.
TEST(VirtualOutboundView, ExternalServicesAsKumaSeesThem) {
  auto ctx = build({R"(type: ExternalService
mesh: default
name: database
tags: {kuma.io/service: database, kuma.io/protocol: tcp}
networking: {address: "db.example.local:5432"}
)",
                    R"(type: ExternalService
mesh: default
name: api
tags: {kuma.io/service: api, kuma.io/protocol: http}
networking: {address: "api.example.local:80"}
)",
                    R"(type: ExternalService
mesh: default
name: httpbin
tags: {kuma.io/service: httpbin, kuma.io/protocol: http}
networking: {address: "127.0.0.1:8000"}
)",
                    R"(type: ExternalService
mesh: default
name: hidden
tags: {kuma.io/service: hidden, kuma.io/protocol: http}
networking: {address: "hidden.example.local:8443", disableHostDNSEntry: true}
)"});
  ASSERT_NE(ctx, nullptr);
  EXPECT_THAT(
      outboundsText(*ctx),
      ::testing::ElementsAre(
          "240.0.0.0:80 kuma.io/service=api;", "240.0.0.1:5432 kuma.io/service=database;",
          "240.0.0.1:80 kuma.io/service=database;", "240.0.0.2:8443 kuma.io/service=hidden;",
          "240.0.0.2:80 kuma.io/service=hidden;", "240.0.0.3:8000 kuma.io/service=httpbin;",
          "240.0.0.3:80 kuma.io/service=httpbin;", "127.0.0.1:8000 kuma.io/service=httpbin;",
          "240.0.0.4:80 kuma.io/service=api;", "240.0.0.5:5432 kuma.io/service=database;",
          "240.0.0.5:80 kuma.io/service=database;"));
  std::vector<std::string> names;
  for (const VipDomain& d : ctx->vipDomains()) {
    names.push_back(d.name + "=" + d.address);
  }
  EXPECT_THAT(names,
              ::testing::ElementsAre("api=240.0.0.0", "database=240.0.0.1", "hidden=240.0.0.2",
                                     "httpbin=240.0.0.3", "api.example.local=240.0.0.4",
                                     "db.example.local=240.0.0.5"));
}

}  // namespace
}  // namespace kuma::xds
