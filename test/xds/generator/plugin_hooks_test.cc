// The generator's side of the policy-plugin contract (docs/adr/0008-policy-seam.md): every
// plugin's hooks run on the resources they cover, in plugin order, with the plugin's merged conf
// (null when no policy of its type applies); a hook's error fails the generation; plugins add,
// remove and edit any resource of the proxy's resource set; shared resources never cross a
// policy boundary.

#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gtest/gtest.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "source/xds/envoy/resource_set.h"
#include "source/xds/generator/generator.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using nlohmann::json;

// Records "<type>:<hook>:<what>=<conf>" for every call; optionally fails one hook.
// ProxyOptions running `plugins` (moved into the shared table the options hold).
ProxyOptions withTable(PolicyPluginList& plugins) {
  auto table = std::make_shared<PolicyPluginList>();
  for (auto& p : plugins) {
    table->push_back(std::move(p));
  }
  plugins.clear();
  std::stable_sort(table->begin(), table->end(),
                   [](const auto& a, const auto& b) { return a->order() < b->order(); });
  ProxyOptions options;
  options.plugins = std::move(table);
  return options;
}

class RecordingPlugin : public PolicyPlugin {
 public:
  RecordingPlugin(std::string type, int order, std::vector<std::string>& log, absl::Mutex& mu,
                  std::string failOn = "")
      : type_(std::move(type)), order_(order), log_(log), mu_(mu), failOn_(std::move(failOn)) {}

  std::string_view policyType() const override { return type_; }
  int order() const override { return order_; }

  absl::Status configureInboundCluster(const json& conf, const InboundTarget& t,
                                       Cluster&) const override {
    return record("inboundCluster", std::to_string(t.port), conf);
  }
  absl::Status configureInboundHcm(
      const json& conf, const InboundTarget& t,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager&)
      const override {
    return record("inboundHcm", std::to_string(t.port), conf);
  }
  absl::Status configureInboundRoute(const json& conf, const InboundTarget& t,
                                     envoy::config::route::v3::Route&) const override {
    return record("inboundRoute", std::to_string(t.port), conf);
  }
  absl::Status configureInboundTcpProxy(
      const json& conf, const InboundTarget& t,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy&) const override {
    return record("inboundTcp", std::to_string(t.port), conf);
  }
  absl::Status configureOutboundCluster(const json& conf, const OutboundTarget& t,
                                        Cluster& c) const override {
    // Visible in the serialized cluster: proves the hook runs before serialization.
    c.set_alt_stat_name(c.alt_stat_name() + type_ + ";");
    return record("outboundCluster", t.service, conf);
  }
  absl::Status configureOutboundHcm(
      const json& conf, const OutboundTarget& t,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager&)
      const override {
    return record("outboundHcm", t.service, conf);
  }
  absl::Status configureOutboundRoute(const json& conf, const OutboundTarget& t,
                                      envoy::config::route::v3::Route&) const override {
    return record("outboundRoute", t.service, conf);
  }
  absl::Status configureOutboundTcpProxy(
      const json& conf, const OutboundTarget& t,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy&) const override {
    return record("outboundTcp", t.service, conf);
  }

 private:
  absl::Status record(const std::string& hook, const std::string& what, const json& conf) const {
    {
      absl::MutexLock lock(&mu_);
      log_.push_back(type_ + ":" + hook + ":" + what + "=" + conf.dump());
    }
    if (hook == failOn_) {
      return absl::FailedPreconditionError("hook " + hook + " failed");
    }
    return absl::OkStatus();
  }

  std::string type_;
  int order_;
  std::vector<std::string>& log_;
  absl::Mutex& mu_;
  std::string failOn_;
};

// web-1 (http inbound 8080) with outbounds redis (tcp) and api (http); one MeshRetry for api.
std::shared_ptr<const MeshContext> caseAContext() {
  std::vector<std::string> yamls = testing::caseAOthers();
  yamls.push_back(testing::caseADataplane());
  yamls.push_back(R"(type: MeshRetry
mesh: default
name: api-retry
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: MeshService, name: api}
    default: {http: {numRetries: 1}}
)");
  yamls.push_back(R"(type: MeshRetry
mesh: default
name: other-proxy
spec:
  targetRef: {kind: Dataplane, name: somebody-else}
  to:
  - targetRef: {kind: Mesh}
    default: {tcp: {maxConnectAttempt: 9}}
)");
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return ctx.ok() ? *ctx : nullptr;
}

size_t indexOf(const std::vector<std::string>& log, const std::string& entry) {
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i] == entry) {
      return i;
    }
  }
  ADD_FAILURE() << "no call " << entry;
  return log.size();
}

TEST(XdsPluginHooks, EveryHookRunsInPluginOrderWithTheMergedConf) {
  auto ctx = caseAContext();
  ASSERT_NE(ctx, nullptr);
  std::vector<std::string> log;
  absl::Mutex mu;
  PolicyPluginList plugins;
  // Table order is not run order: order() is.
  plugins.push_back(std::make_unique<RecordingPlugin>("MeshRetry", 20, log, mu));
  plugins.push_back(std::make_unique<RecordingPlugin>("MeshCircuitBreaker", 10, log, mu));
  auto out = generate(*ctx, *testing::dataplaneOf(*ctx, "web-1"), withTable(plugins));
  ASSERT_TRUE(out.ok()) << out.status();

  // Inbound 8080 is http: cluster, route and HCM hooks; inbound confs are objects.
  const size_t cbInCluster = indexOf(log, "MeshCircuitBreaker:inboundCluster:8080={}");
  const size_t retryInCluster = indexOf(log, "MeshRetry:inboundCluster:8080={}");
  EXPECT_LT(cbInCluster, retryInCluster);
  indexOf(log, "MeshRetry:inboundRoute:8080={}");
  EXPECT_LT(indexOf(log, "MeshRetry:inboundRoute:8080={}"),
            indexOf(log, "MeshCircuitBreaker:inboundHcm:8080={}"));
  // Outbounds: api has a MeshRetry conf, redis none (null); no policy of the other type at all.
  indexOf(log, "MeshRetry:outboundRoute:api={\"http\":{\"numRetries\":1}}");
  indexOf(log, "MeshRetry:outboundHcm:api={\"http\":{\"numRetries\":1}}");
  indexOf(log, "MeshRetry:outboundCluster:api={\"http\":{\"numRetries\":1}}");
  indexOf(log, "MeshRetry:outboundTcp:redis=null");
  indexOf(log, "MeshCircuitBreaker:outboundCluster:redis=null");
  for (const std::string& entry : log) {
    EXPECT_EQ(entry.find("inboundTcp"), std::string::npos) << entry;
    EXPECT_EQ(entry.find("outboundTcp:api"), std::string::npos) << entry;
    EXPECT_EQ(entry.find("maxConnectAttempt"), std::string::npos) << entry;  // not selected
  }
  const Cluster api = testing::decode<Cluster>(*out, kClusterType, "api");
  EXPECT_EQ(api.alt_stat_name(), "MeshCircuitBreaker;MeshRetry;");
  // No MeshTimeout plugin in this table: its built-in defaults are not applied.
  EXPECT_FALSE(api.has_connect_timeout());
}

TEST(XdsPluginHooks, SharedClusterHooksRunOncePerSignature) {
  auto ctx = caseAContext();
  ASSERT_NE(ctx, nullptr);
  std::vector<std::string> log;
  absl::Mutex mu;
  PolicyPluginList plugins;
  plugins.push_back(std::make_unique<RecordingPlugin>("MeshRetry", 1, log, mu));
  const ProxyOptions options = withTable(plugins);
  auto first = generate(*ctx, *testing::dataplaneOf(*ctx, "web-1"), options);
  auto second = generate(*ctx, *testing::dataplaneOf(*ctx, "web-1"), options);
  ASSERT_TRUE(first.ok() && second.ok());
  size_t clusterHooks = 0;
  for (const std::string& entry : log) {
    clusterHooks += entry.rfind("MeshRetry:outboundCluster:api=", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(clusterHooks, 1u);
  EXPECT_EQ(first->find(kClusterType, "api").get(), second->find(kClusterType, "api").get());
}

TEST(XdsPluginHooks, HookErrorsFailTheGeneration) {
  for (const std::string hook : {"inboundCluster", "inboundRoute", "inboundHcm", "outboundCluster",
                                 "outboundRoute", "outboundHcm", "outboundTcp"}) {
    auto ctx = caseAContext();
    ASSERT_NE(ctx, nullptr);
    std::vector<std::string> log;
    absl::Mutex mu;
    PolicyPluginList plugins;
    plugins.push_back(std::make_unique<RecordingPlugin>("MeshRetry", 1, log, mu, hook));
    auto out = generate(*ctx, *testing::dataplaneOf(*ctx, "web-1"), withTable(plugins));
    ASSERT_FALSE(out.ok()) << hook;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << hook;
    EXPECT_NE(std::string(out.status().message()).find(hook), std::string::npos);
  }
}

TEST(XdsPluginHooks, InboundTcpProxyHookForNonHttpInbounds) {
  std::vector<std::string> yamls = testing::caseAOthers();
  yamls.push_back(testing::caseADataplane());
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  ASSERT_TRUE(ctx.ok());
  std::vector<std::string> log;
  absl::Mutex mu;
  PolicyPluginList plugins;
  plugins.push_back(std::make_unique<RecordingPlugin>("MeshTimeout", 1, log, mu, "inboundTcp"));
  auto out = generate(**ctx, *testing::dataplaneOf(**ctx, "redis-1"), withTable(plugins));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  indexOf(log, "MeshTimeout:inboundCluster:6379={}");
}

// A plugin that uses the resource-set part of the seam: adds a subset cluster to a destination's
// shared group, then, per proxy, edits a shared cluster, removes a listener and adds a cluster.
class ResourceSetPlugin : public PolicyPlugin {
 public:
  std::string_view policyType() const override { return "MeshLoadBalancingStrategy"; }
  int order() const override { return 400; }
  absl::Status configureOutboundResources(const json&, const OutboundTarget& t,
                                          OutboundResources& res) const override {
    if (t.proxy != nullptr) {
      return absl::InternalError("shared hook got a proxy");
    }
    if (t.service != "api") {
      return absl::OkStatus();
    }
    auto subset = std::make_unique<Cluster>(*res.clusters.front());
    subset->set_name("api-v2");
    res.clusters.push_back(std::move(subset));
    auto cla = std::make_unique<envoy::config::endpoint::v3::ClusterLoadAssignment>(
        *res.endpoints.front());
    cla->set_cluster_name("api-v2");
    cla->mutable_endpoints(0)->mutable_lb_endpoints()->DeleteSubrange(1, 1);
    res.endpoints.push_back(std::move(cla));
    return absl::OkStatus();
  }
  absl::Status apply(const ProxyContext& proxy, const std::vector<const json*>&,
                     ResourceSet& resources) const override {
    if (proxy.dataplane->meta.name != "web-1" || proxy.inbounds->size() != 1) {
      return absl::OkStatus();
    }
    Cluster* api = resources.find<Cluster>("api");
    if (api == nullptr) {
      return absl::NotFoundError("no api cluster");
    }
    api->set_lb_policy(Cluster::LEAST_REQUEST);
    if (!resources.remove(kListenerType, "outbound:127.0.0.1:10001")) {
      return absl::NotFoundError("no redis listener");
    }
    Cluster extra;
    extra.set_name("extra");
    resources.add(std::move(extra));
    return absl::OkStatus();
  }
};

TEST(XdsPluginHooks, PluginsAddRemoveAndEditResourcesOfTheProxy) {
  std::vector<std::string> yamls = testing::caseAOthers();
  yamls.push_back(testing::caseADataplane());
  std::string web2 = testing::caseADataplane();
  web2.replace(web2.find("web-1"), 5, "web-2");
  yamls.push_back(web2);
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  PolicyPluginList plugins;
  plugins.push_back(std::make_unique<ResourceSetPlugin>());
  const ProxyOptions options = withTable(plugins);
  auto one = generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), options);
  auto two = generate(**ctx, *testing::dataplaneOf(**ctx, "web-2"), options);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(two.ok()) << two.status();

  // The subset cluster and its endpoints, shared by both proxies (one build).
  ASSERT_NE(one->find(kClusterType, "api-v2"), nullptr);
  EXPECT_EQ(one->find(kClusterType, "api-v2").get(), two->find(kClusterType, "api-v2").get());
  const auto subset = testing::decode<envoy::config::endpoint::v3::ClusterLoadAssignment>(
      *one, kEndpointType, "api-v2");
  EXPECT_EQ(subset.endpoints(0).lb_endpoints_size(), 1);
  const auto all = testing::decode<envoy::config::endpoint::v3::ClusterLoadAssignment>(
      *one, kEndpointType, "api");
  EXPECT_EQ(all.endpoints(0).lb_endpoints_size(), 2);

  // web-1's own edits: a private copy of the api cluster, the redis listener gone, one cluster
  // more. web-2 keeps the shared cluster and its listener.
  EXPECT_EQ(testing::decode<Cluster>(*one, kClusterType, "api").lb_policy(),
            Cluster::LEAST_REQUEST);
  EXPECT_EQ(testing::decode<Cluster>(*two, kClusterType, "api").lb_policy(), Cluster::ROUND_ROBIN);
  EXPECT_NE(one->find(kClusterType, "api").get(), two->find(kClusterType, "api").get());
  EXPECT_EQ(one->find(kListenerType, "outbound:127.0.0.1:10001"), nullptr);
  EXPECT_NE(two->find(kListenerType, "outbound:127.0.0.1:10001"), nullptr);
  EXPECT_NE(one->find(kClusterType, "extra"), nullptr);
  EXPECT_EQ(two->find(kClusterType, "extra"), nullptr);
}

// Two proxies with different matched policies never share a resource; two with the same do.
TEST(XdsPluginHooks, SharedResourcesNeverCrossAPolicyBoundary) {
  std::vector<std::string> yamls = testing::caseAOthers();
  for (const char* name : {"web-1", "web-2", "web-3"}) {
    std::string dp = testing::caseADataplane();
    dp.replace(dp.find("web-1"), 5, name);
    yamls.push_back(dp);
  }
  // Selects web-1 only; its conf for api equals the built-in default, so only the policy
  // signature (not the bytes) tells the proxies apart.
  yamls.push_back(R"(type: MeshTimeout
mesh: default
name: web-1-only
spec:
  targetRef: {kind: Dataplane, name: web-1}
  to:
  - targetRef: {kind: Mesh}
    default: {connectionTimeout: 5s}
)");
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  const ProxyOptions options = testing::withPlugins(ProxyOptions{});
  auto one = generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), options);
  auto two = generate(**ctx, *testing::dataplaneOf(**ctx, "web-2"), options);
  auto three = generate(**ctx, *testing::dataplaneOf(**ctx, "web-3"), options);
  ASSERT_TRUE(one.ok() && two.ok() && three.ok());
  for (const char* type : {kClusterType, kEndpointType}) {
    for (const char* name : {"api", "redis"}) {
      ASSERT_NE(one->find(type, name), nullptr) << type << " " << name;
      EXPECT_NE(one->find(type, name).get(), two->find(type, name).get()) << type << " " << name;
      EXPECT_EQ(two->find(type, name).get(), three->find(type, name).get()) << type << " " << name;
    }
  }
}

}  // namespace
}  // namespace kuma::xds
