#include "source/xds/context/vip_persistence.h"

#include "gtest/gtest.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/core/resources/system_types.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "test/xds/context/xds_fixtures.h"

namespace kuma::xds {
namespace {

using testing::dataplaneYaml;
using testing::meshResources;
using testing::parse;

constexpr char kExternalService[] = R"(type: ExternalService
mesh: default
name: httpbin
tags: {kuma.io/service: httpbin, kuma.io/protocol: http}
networking:
  address: httpbin.org:443
)";

std::vector<std::string> webAndApi() {
  return {dataplaneYaml("web-1", "10.0.0.1", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: web}}
)"),
          dataplaneYaml("api-1", "10.0.0.2", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: api}}
  - {port: 8081, tags: {kuma.io/service: ignored}, state: Ignored}
)")};
}

std::shared_ptr<const MeshContext> build(MeshResources resources) {
  auto ctx = MeshContext::build(std::move(resources));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return ctx.ok() ? *ctx : nullptr;
}

std::string storedText(store::ResourceStore& store, const std::string& mesh) {
  auto r =
      store.get(*testing::registry().byName(resources::kConfigType), {vipConfigName(mesh), ""});
  if (!r.ok()) {
    return r.status().ToString();
  }
  return model::protoSpecOf<system::v1alpha1::Config>(**r)->config();
}

TEST(VipPersistence, NamesAreKumas) {
  EXPECT_EQ(vipConfigName("default"), "kuma-default-dns-vips");
  EXPECT_EQ(meshOfVipConfig("kuma-my-mesh-dns-vips"), "my-mesh");
  EXPECT_EQ(meshOfVipConfig("kuma-cluster-id"), "");
  EXPECT_EQ(meshOfVipConfig("kuma--dns-vips"), "");
}

// Kuma's default layout (spec §7.3.1): keys "<kind>:<name>" sorted, address, then the outbounds
// with Go's field names sorted by port; Dataplane inbounds give port 0, an ExternalService its
// port on the service entry and on its host entry (origin external-service:<name>).
TEST(VipPersistence, WritesKumasDefaultLayout) {
  auto yamls = webAndApi();
  yamls.push_back(kExternalService);
  MeshResources inputs = meshResources(yamls);
  const auto externalServices = inputs.externalServices;
  ASSERT_EQ(externalServices.size(), 1u);
  auto ctx = build(std::move(inputs));
  ASSERT_NE(ctx, nullptr);
  const std::string text = vipConfigText(*ctx);
  EXPECT_EQ(
      text,
      R"({"0:api":{"address":"240.0.0.0","outbounds":[{"Port":0,"TagSet":{"kuma.io/service":"api"},"Origin":"service"}]},)"
      R"("0:httpbin":{"address":"240.0.0.1","outbounds":[{"Port":443,"TagSet":{"kuma.io/service":"httpbin"},"Origin":"service"}]},)"
      R"("0:web":{"address":"240.0.0.2","outbounds":[{"Port":0,"TagSet":{"kuma.io/service":"web"},"Origin":"service"}]},)"
      R"("1:httpbin.org":{"address":"240.0.0.3","outbounds":[{"Port":443,"TagSet":{"kuma.io/service":"httpbin"},"Origin":"external-service:httpbin"}]}})");
  auto parsed = parseVipConfig(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, ctx->vipAllocation());
}

TEST(VipPersistence, ParsesKumasTextAndRefusesOtherShapes) {
  auto view = parseVipConfig(
      R"({"0:redis":{"address":"240.0.0.1","outbounds":[{"Port":0,"TagSet":{"kuma.io/service":"redis"},"Origin":"service"}]},)"
      R"("2:x.example":{"outbounds":[{"Port":80,"TagSet":{},"Origin":"virtual-outbound:vo"}]}})");
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(*view, (std::map<std::string, std::string>{{"0:redis", "240.0.0.1"}}));
  EXPECT_TRUE(parseVipConfig("")->empty());
  for (const char* bad :
       {"[]", "{", R"({"redis":{"address":"240.0.0.1"}})", R"({"7:redis":{"address":"240.0.0.1"}})",
        R"({"0:redis":"240.0.0.1"})", R"({"0:":{}})", R"({"perService":{}})"}) {
    EXPECT_EQ(parseVipConfig(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(parseVipConfig(std::string(100000, '[') + std::string(100000, ']')).ok());
}

// A restarted control plane (a new VipPersistence over the same store) gets the VIPs back, even
// where a fresh allocation would hand them out differently; only the leader writes.
TEST(VipPersistence, ViewSurvivesARestartAndOnlyTheLeaderWrites) {
  auto store = memory::newMemoryStore();
  ASSERT_TRUE(store->create(*parse(testing::meshYaml("default")), {}).ok());
  bool leader = false;
  VipPersistence first(*store, testing::registry(), [&] { return leader; });
  EXPECT_TRUE(first.load("default").empty());

  auto webOnly = build(meshResources({webAndApi()[0]}));  // web: 240.0.0.0
  first.save(webOnly);
  first.flush();
  EXPECT_EQ(storedText(*store, "default").find("240.0.0.0"), std::string::npos)
      << "a follower wrote";
  leader = true;
  first.save(webOnly);
  MeshResources next = meshResources(webAndApi());
  next.vipView = webOnly->vipAllocation();
  auto both = build(std::move(next));  // api joins later: 240.0.0.1
  ASSERT_EQ(both->vips().at("api"), "240.0.0.1");
  first.save(both);
  first.flush();
  EXPECT_NE(storedText(*store, "default").find(R"("0:api":{"address":"240.0.0.1")"),
            std::string::npos)
      << storedText(*store, "default");

  VipPersistence restarted(*store, testing::registry(), [] { return true; });
  MeshResources again = meshResources(webAndApi());
  again.vipView = restarted.load("default");
  auto afterRestart = build(std::move(again));
  EXPECT_EQ(afterRestart->vips(), both->vips());
  EXPECT_EQ(build(meshResources(webAndApi()))->vips().at("api"), "240.0.0.0")
      << "without the stored view api would move";

  // Deleted with its Mesh (owner); forget() makes the next save write it again.
  ASSERT_TRUE(
      store->remove(*testing::registry().byName(resources::kMeshType), {"default", ""}).ok());
  EXPECT_NE(storedText(*store, "default").find("NOT_FOUND"), std::string::npos);
  ASSERT_TRUE(store->create(*parse(testing::meshYaml("default")), {}).ok());
  restarted.forget("default");
  restarted.save(afterRestart);
  restarted.flush();
  EXPECT_NE(storedText(*store, "default").find("240.0.0.1"), std::string::npos);
}

}  // namespace
}  // namespace kuma::xds
