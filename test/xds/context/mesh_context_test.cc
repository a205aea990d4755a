#include "source/xds/context/mesh_context.h"

#include <atomic>

#include "gtest/gtest.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/plugins/policies/meshtrafficpermission/xds_configurer.h"
#include "test/xds/context/xds_fixtures.h"

namespace kuma::xds {
namespace {

using testing::dataplaneYaml;
using testing::meshResources;
using testing::parse;

std::shared_ptr<const MeshContext> mustBuild(MeshResources resources) {
  auto ctx = MeshContext::build(std::move(resources));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return ctx.ok() ? *ctx : nullptr;
}

std::vector<std::string> threeServices() {
  return {
      dataplaneYaml("web-1", "10.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
)"),
      dataplaneYaml("redis-1", "10.0.0.2", R"(  inbound:
  - {port: 6379, tags: {kuma.io/service: redis}}
)"),
      dataplaneYaml("api-1", "10.0.0.4", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: api, kuma.io/protocol: http}}
)"),
      dataplaneYaml("api-2", "10.0.0.3", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: api, kuma.io/protocol: http, version: v2}}
)"),
  };
}

TEST(XdsMeshContext, IndexesHealthyReadyEndpointsSorted) {
  auto ctx = mustBuild(meshResources({
      dataplaneYaml("a", "10.0.0.9", R"(  advertisedAddress: 1.2.3.4
  inbound:
  - {port: 80, tags: {kuma.io/service: svc}}
)"),
      dataplaneYaml("b", "10.0.0.2", R"(  inbound:
  - {port: 81, address: 10.0.1.2, tags: {kuma.io/service: svc, version: v1}}
  - {port: 82, tags: {kuma.io/service: svc}, state: NotReady}
  - {port: 83, tags: {kuma.io/service: svc}, state: Ignored}
  - {port: 84, tags: {kuma.io/service: svc}, health: {ready: false}}
  - {port: 85, tags: {kuma.io/service: svc}, health: {ready: true}}
)"),
  }));
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(ctx->meshName(), "default");
  const auto& eps = ctx->endpoints("svc");
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_EQ(eps[0].address, "1.2.3.4");  // advertisedAddress wins
  EXPECT_EQ(eps[0].port, 80u);
  EXPECT_EQ(eps[0].dataplane, "a");
  EXPECT_EQ(eps[1].address, "10.0.0.2");  // networking.address
  EXPECT_EQ(eps[1].port, 85u);
  EXPECT_EQ(eps[2].address, "10.0.1.2");  // inbound address
  EXPECT_EQ(eps[2].tags.at("version"), "v1");
  EXPECT_TRUE(ctx->endpoints("unknown").empty());
  EXPECT_EQ(ctx->services(), std::vector<std::string>{"svc"});
}

TEST(XdsMeshContext, InfersServiceProtocolFromEndpointTags) {
  auto dp = [](const std::string& name, const std::string& service, const std::string& proto) {
    std::string tags = "{kuma.io/service: " + service;
    if (!proto.empty()) {
      tags += ", kuma.io/protocol: " + proto;
    }
    tags += "}";
    return dataplaneYaml(name, "10.0.0.1", "  inbound:\n  - {port: 80, tags: " + tags + "}\n");
  };
  auto ctx = mustBuild(meshResources({
      dp("h1", "http-only", "http"),
      dp("h2", "http-only", "http"),
      dp("g1", "grpc-http2", "grpc"),
      dp("g2", "grpc-http2", "http2"),
      dp("m1", "http-http2", "http"),
      dp("m2", "http-http2", "http2"),
      dp("t1", "http-tcp", "http"),
      dp("t2", "http-tcp", "tcp"),
      dp("u1", "untagged", ""),
      dp("u2", "http-untagged", "http"),
      dp("u3", "http-untagged", ""),
      dp("k1", "grpc", "GRPC"),
  }));
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(ctx->protocol("http-only"), Protocol::Http);
  EXPECT_EQ(ctx->protocol("grpc-http2"), Protocol::Http2);
  EXPECT_EQ(ctx->protocol("http-http2"), Protocol::Tcp);
  EXPECT_EQ(ctx->protocol("http-tcp"), Protocol::Tcp);
  EXPECT_EQ(ctx->protocol("untagged"), Protocol::Unknown);
  EXPECT_EQ(ctx->protocol("http-untagged"), Protocol::Unknown);
  EXPECT_EQ(ctx->protocol("grpc"), Protocol::Grpc);
  EXPECT_EQ(ctx->protocol("missing"), Protocol::Unknown);
}

TEST(XdsMeshContext, AllocatesVipsLikeKumaFromAnEmptyView) {
  std::vector<std::string> yamls = threeServices();
  yamls.push_back(dataplaneYaml("ignored", "10.0.0.7", R"(  inbound:
  - {port: 80, tags: {kuma.io/service: aaa-ignored}, state: Ignored}
  - {port: 81, tags: {kuma.io/service: zzz-unhealthy}, state: NotReady}
)"));
  auto ctx = mustBuild(meshResources(yamls));
  ASSERT_NE(ctx, nullptr);
  const std::map<std::string, std::string> want = {{"api", "240.0.0.0"},
                                                   {"redis", "240.0.0.1"},
                                                   {"web", "240.0.0.2"},
                                                   {"zzz-unhealthy", "240.0.0.3"}};
  EXPECT_EQ(ctx->vips(), want);

  auto given = meshResources(threeServices());
  given.vipView = {{"0:api", "240.0.0.9"}};  // a persisted allocation is kept
  auto ctx2 = mustBuild(std::move(given));
  EXPECT_EQ(ctx2->vips(), (std::map<std::string, std::string>{
                              {"api", "240.0.0.9"}, {"redis", "240.0.0.0"}, {"web", "240.0.0.1"}}));
}

// Kuma's allocator keeps the addresses of known entries (§7.3.1): a service that sorts first
// must not move every other service's VIP (and with it the outbound listeners of every proxy).
TEST(XdsMeshContext, VipsOfKnownServicesStayWhenServicesComeAndGo) {
  auto first = mustBuild(meshResources(threeServices()));  // api .0, redis .1, web .2
  ASSERT_NE(first, nullptr);
  std::vector<std::string> yamls = threeServices();
  yamls.erase(yamls.begin() + 1);  // redis-1 gone
  yamls.push_back(dataplaneYaml("aaa-1", "10.0.0.8", R"(  inbound:
  - {port: 80, tags: {kuma.io/service: aaa}}
)"));
  MeshResources next = meshResources(yamls);
  next.vipView = first->vipAllocation();
  auto second = mustBuild(std::move(next));
  ASSERT_NE(second, nullptr);
  // aaa sorts first but takes the lowest free address; redis' address is not reused at once.
  EXPECT_EQ(second->vips(), (std::map<std::string, std::string>{
                                {"aaa", "240.0.0.3"}, {"api", "240.0.0.0"}, {"web", "240.0.0.2"}}));
  EXPECT_EQ(second->serviceHash("api"), first->serviceHash("api"));
  EXPECT_EQ(second->serviceHash("web"), first->serviceHash("web"));
  // A later build frees it: the next new service gets 240.0.0.1.
  yamls.push_back(dataplaneYaml("zzz-1", "10.0.0.9", R"(  inbound:
  - {port: 80, tags: {kuma.io/service: zzz}}
)"));
  MeshResources third = meshResources(yamls);
  third.vipView = second->vipAllocation();
  EXPECT_EQ(mustBuild(std::move(third))->vips().at("zzz"), "240.0.0.1");

  // The view's addresses outside the CIDR are re-allocated; kept ones survive exhaustion.
  auto small = allocateVips({"0:a", "0:b", "0:c"}, "10.1.2.2/31",
                            {{"0:c", "10.1.2.2"}, {"0:x", "192.168.0.1"}});
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(*small, (std::map<std::string, std::string>{{"0:a", "10.1.2.3"}, {"0:c", "10.1.2.2"}}));
}

TEST(XdsMeshContext, AllocateVipsRejectsBadCidrAndStopsWhenExhausted) {
  EXPECT_FALSE(allocateVips({"a"}, "240.0.0.0").ok());
  EXPECT_FALSE(allocateVips({"a"}, "240.0.0/4").ok());
  EXPECT_FALSE(allocateVips({"a"}, "240.0.0.0/33").ok());
  auto small = allocateVips({"a", "b", "c"}, "10.1.2.3/31");
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(*small, (std::map<std::string, std::string>{{"a", "10.1.2.2"}, {"b", "10.1.2.3"}}));
}

TEST(XdsMeshContext, HashIsStableForEqualInputsAndChangesWithADataplane) {
  auto a = mustBuild(meshResources(threeServices()));
  auto b = mustBuild(meshResources(threeServices()));
  std::vector<std::string> reversed = threeServices();
  std::reverse(reversed.begin(), reversed.end());
  auto c = mustBuild(meshResources(reversed));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->hash(), b->hash());
  EXPECT_EQ(a->hash(), c->hash());

  std::vector<std::string> changed = threeServices();
  changed[1] = dataplaneYaml("redis-1", "10.0.0.2", R"(  inbound:
  - {port: 6380, tags: {kuma.io/service: redis}}
)");
  auto d = mustBuild(meshResources(changed));
  EXPECT_NE(a->hash(), d->hash());

  std::vector<std::string> withPolicy = threeServices();
  withPolicy.push_back(testing::defaultPolicyYamls()[2]);
  auto e = mustBuild(meshResources(withPolicy));
  EXPECT_NE(a->hash(), e->hash());
}

TEST(XdsMeshContext, SortsPoliciesByKindThenReverseName) {
  auto policy = [](const std::string& name, const std::string& targetRef) {
    return "type: MeshRetry\nmesh: default\nname: " + name + "\nspec:\n  targetRef: " + targetRef +
           "\n  to:\n  - targetRef: {kind: Mesh}\n    default: {tcp: {maxConnectAttempt: 1}}\n";
  };
  auto ctx = mustBuild(meshResources({
      policy("svc-a", "{kind: MeshService, name: web}"),
      policy("mesh-a", "{kind: Mesh}"),
      policy("mesh-b", "{kind: Mesh}"),
  }));
  ASSERT_NE(ctx, nullptr);
  const auto& list = ctx->policies(kMeshRetry);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].resource->meta.name, "mesh-b");
  EXPECT_EQ(list[1].resource->meta.name, "mesh-a");
  EXPECT_EQ(list[2].resource->meta.name, "svc-a");
  EXPECT_EQ(list[2].targetRef.kind, "MeshService");
  EXPECT_TRUE(ctx->policies(kMeshTimeout).empty());
}

TEST(XdsMeshContext, SharedResourceIsBuiltOnceAndReturnedAsTheSameObject) {
  auto ctx = mustBuild(meshResources({}));
  ASSERT_NE(ctx, nullptr);
  int calls = 0;
  auto make = [&] {
    ++calls;
    auto r = std::make_shared<Resource>();
    r->name = "x";
    return ResourceConstSharedPtr(r);
  };
  auto first = ctx->sharedResource("k", make);
  auto second = ctx->sharedResource("k", make);
  auto other = ctx->sharedResource("k2", make);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_NE(first.get(), other.get());
  EXPECT_EQ(calls, 2);
}

TEST(XdsMeshContext, RejectsMissingMeshAndForeignSpecs) {
  MeshResources none;
  EXPECT_EQ(MeshContext::build(none).status().code(), absl::StatusCode::kInvalidArgument);

  MeshResources wrong = meshResources({});
  wrong.dataplanes.push_back(parse(testing::meshYaml("not-a-dataplane")));
  EXPECT_EQ(MeshContext::build(wrong).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(XdsMeshContext, LoadsMeshResourcesFromTheStore) {
  auto store = memory::newMemoryStore();
  ASSERT_TRUE(store->create(*parse(testing::meshYaml("default")), {}).ok());
  ASSERT_TRUE(store->create(*parse(testing::meshYaml("other")), {}).ok());
  for (const auto& yaml : threeServices()) {
    ASSERT_TRUE(store->create(*parse(yaml), {}).ok());
  }
  ASSERT_TRUE(store
                  ->create(*parse(dataplaneYaml("elsewhere", "10.9.9.9", R"(  inbound:
  - {port: 80, tags: {kuma.io/service: elsewhere}}
)",
                                                "other")),
                           {})
                  .ok());
  ASSERT_TRUE(store->create(*parse(testing::defaultPolicyYamls()[3]), {}).ok());

  auto loaded = loadMeshResources(*store, testing::registry(), "default");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->dataplanes.size(), 4u);
  EXPECT_EQ(loaded->policies["MeshRetry"].size(), 1u);
  auto ctx = mustBuild(*loaded);
  EXPECT_EQ(ctx->hash(), mustBuild(meshResources([] {
                           auto y = threeServices();
                           y.push_back(testing::defaultPolicyYamls()[3]);
                           return y;
                         }()))
                             ->hash());
  EXPECT_TRUE(ctx->endpoints("elsewhere").empty());

  EXPECT_EQ(loadMeshResources(*store, testing::registry(), "missing").status().code(),
            absl::StatusCode::kNotFound);
}

std::string trafficPermissionYaml(const std::string& name, const std::string& source,
                                  const std::string& mesh = "default") {
  return "type: TrafficPermission\nmesh: " + mesh + "\nname: " + name +
         "\nsources:\n- match: {kuma.io/service: " + source +
         "}\ndestinations:\n- match: {kuma.io/service: api}\n";
}

std::string allowMtpYaml(const std::string& name, const std::string& targetKind) {
  return "type: MeshTrafficPermission\nmesh: default\nname: " + name +
         "\nspec:\n  targetRef: {kind: " + targetKind +
         "}\n  from:\n  - targetRef: {kind: Mesh}\n    default: {action: Allow}\n";
}

TEST(XdsMeshContext, LoadsTrafficPermissionsOfTheMeshOnly) {
  auto store = memory::newMemoryStore();
  ASSERT_TRUE(store->create(*parse(testing::meshYaml("default")), {}).ok());
  ASSERT_TRUE(store->create(*parse(testing::meshYaml("other")), {}).ok());
  ASSERT_TRUE(store->create(*parse(trafficPermissionYaml("tp-1", "web")), {}).ok());
  ASSERT_TRUE(store->create(*parse(trafficPermissionYaml("tp-2", "web", "other")), {}).ok());
  ASSERT_TRUE(store->create(*parse(allowMtpYaml("mtp-1", "Mesh")), {}).ok());

  auto loaded = loadMeshResources(*store, testing::registry(), "default");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->trafficPermissions.size(), 1u);
  EXPECT_EQ(loaded->trafficPermissions[0]->meta.name, "tp-1");
  // TrafficPermission is a legacy policy: it is not one of the Mesh* policies.
  EXPECT_FALSE(loaded->policies.contains("TrafficPermission"));
  ASSERT_EQ(loaded->policies["MeshTrafficPermission"].size(), 1u);

  auto ctx = mustBuild(*loaded);
  const auto perms = *policies::meshtrafficpermission::permissionsOf(*ctx);
  EXPECT_EQ(perms.meshName(), "default");
  EXPECT_FALSE(perms.mtlsEnabled());
  ASSERT_EQ(perms.trafficPermissions().size(), 1u);
  EXPECT_EQ(perms.trafficPermissions()[0].name, "tp-1");
  ASSERT_EQ(perms.meshTrafficPermissions().size(), 1u);
  EXPECT_EQ(perms.meshTrafficPermissions()[0].name, "mtp-1");
}

TEST(XdsMeshContext, PermissionsAreOrderedByPrecedenceAndFollowTheMeshMtls) {
  const std::string mtlsMesh =
      "type: Mesh\nname: default\nmtls:\n  enabledBackend: ca-1\n  backends:\n"
      "  - {name: ca-1, type: builtin}\n";
  auto ctx = mustBuild(
      meshResources({mtlsMesh, allowMtpYaml("z-service", "MeshService"),
                     allowMtpYaml("b-mesh", "Mesh"), allowMtpYaml("a-mesh", "Mesh"),
                     trafficPermissionYaml("tp-b", "web"), trafficPermissionYaml("tp-a", "web")}));
  const auto perms = *policies::meshtrafficpermission::permissionsOf(*ctx);
  EXPECT_TRUE(perms.mtlsEnabled());
  std::vector<std::string> mtps;
  for (const auto& m : perms.meshTrafficPermissions()) {
    mtps.push_back(m.name);
  }
  // Ascending precedence: Mesh before MeshService; reverse name among equals.
  EXPECT_EQ(mtps, (std::vector<std::string>{"b-mesh", "a-mesh", "z-service"}));
  ASSERT_EQ(perms.trafficPermissions().size(), 2u);
  EXPECT_EQ(perms.trafficPermissions()[0].name, "tp-a");
}

TEST(XdsMeshContext, TrafficPermissionsEnterTheHash) {
  const auto base = threeServices();
  auto with = [&](std::vector<std::string> extra) {
    auto yamls = base;
    yamls.insert(yamls.end(), extra.begin(), extra.end());
    return mustBuild(meshResources(yamls))->hash();
  };
  const uint64_t none = with({});
  const uint64_t tpWeb = with({trafficPermissionYaml("tp-1", "web")});
  EXPECT_NE(none, tpWeb);
  EXPECT_EQ(tpWeb, with({trafficPermissionYaml("tp-1", "web")}));
  EXPECT_NE(tpWeb, with({trafficPermissionYaml("tp-1", "redis")}));
  EXPECT_NE(tpWeb, with({trafficPermissionYaml("tp-2", "web")}));
  EXPECT_NE(none, with({allowMtpYaml("mtp-1", "Mesh")}));

  // The creation time decides between equally specific TrafficPermissions: it is an input.
  MeshResources early = meshResources(base);
  MeshResources late = meshResources(base);
  for (auto* r : {&early, &late}) {
    auto tp = std::make_shared<model::Resource>(*parse(trafficPermissionYaml("tp-1", "web")));
    tp->meta.creationTime = absl::FromUnixSeconds(r == &early ? 100 : 200);
    r->trafficPermissions.push_back(tp);
  }
  EXPECT_NE(mustBuild(early)->hash(), mustBuild(late)->hash());
}

TEST(XdsMeshContext, SkipsTrafficPermissionsWithoutATrafficPermissionSpec) {
  MeshResources resources = meshResources({trafficPermissionYaml("tp-1", "web")});
  resources.trafficPermissions.push_back(parse(testing::meshYaml("not-a-permission")));
  resources.trafficPermissions.push_back(parse(allowMtpYaml("m", "Mesh")));
  resources.trafficPermissions.push_back(nullptr);
  auto ctx = MeshContext::build(std::move(resources));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  const auto perms = policies::meshtrafficpermission::permissionsOf(**ctx);
  ASSERT_EQ(perms->trafficPermissions().size(), 1u);
  EXPECT_EQ(perms->trafficPermissions()[0].name, "tp-1");
}

// An incremental build (reusing the previous context's per-Dataplane work) must give exactly what
// a build from scratch gives, whatever changed in between.
TEST(XdsMeshContext, IncrementalBuildEqualsABuildFromScratch) {
  MeshResources first = meshResources(threeServices());
  auto before = mustBuild(first);
  ASSERT_NE(before, nullptr);

  // Next state: the same stored objects for web-1 and api-2, redis-1 gone, api-1 replaced by a
  // new object (new address and a zone label), a new service, and a new instance of web.
  MeshResources next = first;
  std::vector<model::ResourceConstSharedPtr> dataplanes;
  for (const auto& dp : first.dataplanes) {
    if (dp->meta.name == "web-1" || dp->meta.name == "api-2") {
      dataplanes.push_back(dp);
    }
  }
  auto api1 =
      std::make_shared<model::Resource>(*parse(dataplaneYaml("api-1", "10.0.0.14", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: api, kuma.io/protocol: http}}
)")));
  api1->meta.labels["kuma.io/zone"] = "east";
  dataplanes.push_back(api1);
  dataplanes.push_back(parse(dataplaneYaml("db-1", "10.0.0.20", R"(  inbound:
  - {port: 5432, tags: {kuma.io/service: db, kuma.io/protocol: tcp}}
)")));
  dataplanes.push_back(parse(dataplaneYaml("web-2", "10.0.0.5", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: web, kuma.io/protocol: http2}}
)")));
  next.dataplanes = dataplanes;
  next.vipView = before->vipAllocation();  // as the reconciler does; the same for both builds

  auto incremental = MeshContext::build(next, before.get());
  ASSERT_TRUE(incremental.ok()) << incremental.status();
  auto scratch = mustBuild(next);
  ASSERT_NE(scratch, nullptr);
  const MeshContext& a = **incremental;
  const MeshContext& b = *scratch;
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(a.baseHash(), b.baseHash());
  EXPECT_EQ(a.vipsHash(), b.vipsHash());
  EXPECT_EQ(a.serviceHashes(), b.serviceHashes());
  EXPECT_EQ(a.vips(), b.vips());
  ASSERT_EQ(a.services(), b.services());
  EXPECT_EQ(a.services(), (std::vector<std::string>{"api", "db", "web"}));
  for (const std::string& service : b.services()) {
    EXPECT_EQ(a.protocol(service), b.protocol(service)) << service;
    const auto& ea = a.endpoints(service);
    const auto& eb = b.endpoints(service);
    ASSERT_EQ(ea.size(), eb.size()) << service;
    for (size_t i = 0; i < ea.size(); ++i) {
      EXPECT_EQ(ea[i].address, eb[i].address);
      EXPECT_EQ(ea[i].port, eb[i].port);
      EXPECT_EQ(ea[i].tags, eb[i].tags);
      EXPECT_EQ(ea[i].labels, eb[i].labels);
      EXPECT_EQ(ea[i].zone, eb[i].zone);
      EXPECT_EQ(ea[i].dataplane, eb[i].dataplane);
    }
  }
  EXPECT_EQ(a.protocol("web"), Protocol::Tcp);  // http + http2 → tcp: web was re-indexed
  ASSERT_EQ(a.endpoints("api").size(), 2u);
  EXPECT_EQ(a.endpoints("api")[0].zone, "east");  // "10.0.0.14" sorts before "10.0.0.3"
  EXPECT_TRUE(a.endpoints("redis").empty());
  // What changed shows in the per-service hashes; what did not keeps its hash.
  EXPECT_NE(a.serviceHash("api"), before->serviceHash("api"));
  EXPECT_NE(a.serviceHash("web"), before->serviceHash("web"));
  EXPECT_EQ(a.baseHash(), before->baseHash());
  EXPECT_NE(a.hash(), before->hash());

  // Nothing changed at all: the same hashes as the previous context.
  first.vipView = before->vipAllocation();
  auto same = MeshContext::build(first, before.get());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ((*same)->hash(), before->hash());
  EXPECT_EQ((*same)->serviceHashes(), before->serviceHashes());
}

}  // namespace
}  // namespace kuma::xds
