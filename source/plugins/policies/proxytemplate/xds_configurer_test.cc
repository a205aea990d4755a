// ProxyTemplate's xDS plugin through the generator with the registered plugin table: the best
// selecting template (Kuma's SelectDataplanePolicy) decides; `default-proxy` keeps the generated
// config, no profile keeps nothing; raw resources of any Envoy type join (replacing one of the
// same name); modifications run last with Kuma's lower-case operations; a raw resource or a
// modification that fails fails the proxy's generation with Kuma's message.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "gtest/gtest.h"
#include "source/xds/envoy/resource_set.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::Listener;

const std::string kClusterType = ResourceSet::typeUrlOf<Cluster>();
const std::string kListenerType = ResourceSet::typeUrlOf<Listener>();

std::vector<std::string> meshWith(const std::vector<std::string>& templates) {
  std::vector<std::string> yamls = {testing::meshYaml(),
                                    testing::dataplaneYaml("web", "127.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http, version: v1}}
  outbound:
  - {port: 10001, tags: {kuma.io/service: backend}}
)"),
                                    testing::dataplaneYaml("backend-1", "127.0.0.2", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http}}
)")};
  yamls.insert(yamls.end(), templates.begin(), templates.end());
  return yamls;
}

std::string proxyTemplate(const std::string& name, const std::string& selector,
                          const std::string& conf) {
  return "type: ProxyTemplate\nmesh: default\nname: " + name +
         "\nselectors:\n- match: " + selector + "\nconf:\n" + conf;
}

constexpr char kRawCluster[] = R"(  resources:
  - name: raw
    version: v1
    resource: |
      '@type': type.googleapis.com/envoy.config.cluster.v3.Cluster
      name: raw
      type: STATIC
      connectTimeout: 1m30s
)";

TEST(ProxyTemplateXds, DefaultProfileKeepsTheConfigAndAddsRawResources) {
  const GeneratedResources plain = testing::generateFromYamls(meshWith({}), "web");
  const GeneratedResources out = testing::generateFromYamls(
      meshWith({proxyTemplate("pt", "{kuma.io/service: web}",
                              std::string("  imports: [default-proxy]\n") + kRawCluster)}),
      "web");
  std::vector<std::string> expected = testing::namesOf(plain, kClusterType);
  expected.push_back("raw");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(testing::namesOf(out, kClusterType), expected);
  EXPECT_EQ(testing::namesOf(out, kListenerType), testing::namesOf(plain, kListenerType));
  // Go's duration form, as Kuma's jsonpb reads it.
  EXPECT_EQ(testing::decode<Cluster>(out, kClusterType, "raw").connect_timeout().seconds(), 90);
}

TEST(ProxyTemplateXds, NoProfileKeepsOnlyTheRawResources) {
  const GeneratedResources out = testing::generateFromYamls(
      meshWith({proxyTemplate("pt", "{kuma.io/service: web}",
                              std::string("  imports: []\n") + kRawCluster)}),
      "web");
  EXPECT_EQ(testing::namesOf(out, kClusterType), std::vector<std::string>{"raw"});
  EXPECT_TRUE(testing::namesOf(out, kListenerType).empty());
}

TEST(ProxyTemplateXds, TheBestSelectingTemplateWins) {
  // Two tags beat one; a template for another service does not apply.
  const GeneratedResources out = testing::generateFromYamls(
      meshWith({proxyTemplate("a-broad", "{kuma.io/service: web}", "  imports: []\n"),
                proxyTemplate("b-narrow", "{kuma.io/service: web, version: v1}",
                              std::string("  imports: [default-proxy]\n") + kRawCluster),
                proxyTemplate("c-other", "{kuma.io/service: backend}", "  imports: []\n")}),
      "web");
  EXPECT_FALSE(testing::namesOf(out, kListenerType).empty());
  EXPECT_NE(out.find(kClusterType, "raw"), nullptr);
}

TEST(ProxyTemplateXds, ModificationsRunLastWithKumasOperations) {
  const GeneratedResources out = testing::generateFromYamls(
      meshWith({proxyTemplate("pt", "{kuma.io/service: web}", R"(  imports: [default-proxy]
  modifications:
  - cluster:
      operation: patch
      match: {name: backend}
      value: 'connectTimeout: 250ms'
  - listener:
      operation: remove
      match: {origin: outbound}
  - cluster:
      operation: add
      value: |
        name: added
        type: STATIC
)")}),
      "web");
  const Cluster backend = testing::decode<Cluster>(out, kClusterType, "backend");
  EXPECT_EQ(backend.connect_timeout().nanos(), 250000000);
  EXPECT_EQ(backend.connect_timeout().seconds(), 0);
  EXPECT_NE(out.find(kClusterType, "added"), nullptr);
  for (const std::string& name : testing::namesOf(out, kListenerType)) {
    EXPECT_FALSE(name.starts_with("outbound:")) << name;
  }
}

TEST(ProxyTemplateXds, AFailingRawResourceOrModificationFailsTheProxy) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(  imports: [default-proxy]
  modifications:
  - httpFilter:
      operation: patch
      match: {name: envoy.filters.http.router}
      value: |
        name: envoy.filters.http.router
        typedConfig:
          '@type': type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
)",
       "could not apply modifications: could not apply 0 modification: "},
      {R"(  imports: [default-proxy]
  resources:
  - {name: bad, version: v1, resource: '{"@type": "type.googleapis.com/no.Such"}'}
)",
       "resources: raw.resources[0]{name=\"bad\"}.resource: could not resolve Any message "
       "type: type.googleapis.com/no.Such"}};
  for (const auto& [conf, prefix] : cases) {
    SCOPED_TRACE(conf);
    auto ctx = MeshContext::build(
        testing::meshResources(meshWith({proxyTemplate("pt", "{kuma.io/service: web}", conf)})));
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    auto dp = testing::dataplaneOf(**ctx, "web");
    auto out = generate(**ctx, *dp, testing::withPlugins(ProxyOptions{}));
    ASSERT_FALSE(out.ok());
    EXPECT_TRUE(std::string(out.status().message()).starts_with(prefix)) << out.status();
  }
}

}  // namespace
}  // namespace kuma::xds
