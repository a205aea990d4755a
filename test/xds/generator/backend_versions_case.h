#pragma once

// File: backend_versions_case.h
// The case the routing plugins' tests share (MeshHTTPRoute, MeshTCPRoute): a `web` proxy with
// one outbound to `backend`, two backend versions (v1 at 10.0.0.1, v2 at 10.0.0.2) of a given
// protocol, the mesh's default policies; plus readers of the generated outbound listener,
// routes, clusters and endpoints. Kuma's names and values are from its dumps of the conformance
// cases.
//
//   using namespace kuma::xds::testing::versions;
//   auto g = generateWeb(caseResources("http", {splitRouteYaml}));
//   EXPECT_THAT(outboundClusters(g.out, kClusterType), ElementsAre(kV1, kV2));

#include <memory>
#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds::testing::versions {

namespace endpoint_v3 = envoy::config::endpoint::v3;
namespace listener_v3 = envoy::config::listener::v3;
namespace route_v3 = envoy::config::route::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;

inline constexpr char kV1[] = "backend-154693772bc47249";  // Kuma's name of backend{version=v1}
inline constexpr char kV2[] = "backend-5b73b3f4adf20020";  // Kuma's name of backend{version=v2}
inline constexpr char kOutbound[] = "outbound:127.0.0.1:10001";

inline std::string backendYaml(const std::string& name, const std::string& ip,
                               const std::string& version, const std::string& protocol) {
  return xds::testing::dataplaneYaml(name, ip,
                                     "  inbound:\n  - {port: 7000, tags: {kuma.io/service: "
                                     "backend, kuma.io/protocol: " +
                                         protocol + ", version: " + version + "}}\n");
}

inline std::string webYaml(const std::string& protocol) {
  return xds::testing::dataplaneYaml("web", "127.0.0.1",
                                     "  inbound:\n  - {port: 7100, servicePort: 7101, tags: "
                                     "{kuma.io/service: web, kuma.io/protocol: " +
                                         protocol +
                                         "}}\n  outbound:\n  - {port: 10001, tags: "
                                         "{kuma.io/service: backend}}\n");
}

// The case's resources: two backend versions of `protocol`, the web proxy, the mesh's default
// policies and `policies`.
inline xds::MeshResources caseResources(const std::string& protocol,
                                        const std::vector<std::string>& policies,
                                        const std::string& meshYaml = "") {
  std::vector<std::string> yamls = {backendYaml("backend-v1", "10.0.0.1", "v1", protocol),
                                    backendYaml("backend-v2", "10.0.0.2", "v2", protocol),
                                    webYaml(protocol)};
  for (const auto& p : xds::testing::defaultPolicyYamls()) {
    yamls.push_back(p);
  }
  yamls.insert(yamls.end(), policies.begin(), policies.end());
  if (!meshYaml.empty()) {
    yamls.push_back(meshYaml);
  }
  return xds::testing::meshResources(yamls);
}

struct Generated {
  std::shared_ptr<const xds::MeshContext> context;
  xds::GeneratedResources out;
};

inline Generated generateWeb(xds::MeshResources resources) {
  auto ctx = xds::MeshContext::build(std::move(resources));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  Generated g;
  if (!ctx.ok()) {
    return g;
  }
  g.context = *ctx;
  auto out = xds::generate(**ctx, *xds::testing::dataplaneOf(**ctx, "web"),
                           xds::testing::withPlugins(xds::ProxyOptions{}));
  EXPECT_TRUE(out.ok()) << out.status();
  if (out.ok()) {
    g.out = std::move(*out);
  }
  return g;
}

template <class T>
T text(const std::string& s) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(s, &message)) << s;
  return message;
}

template <class T>
void expectProtoEq(const T& actual, const T& expected) {
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(actual, expected))
      << "actual:\n"
      << actual.DebugString() << "\nexpected:\n"
      << expected.DebugString();
}

inline hcm_v3::HttpConnectionManager outboundHcm(const xds::GeneratedResources& out) {
  const auto l = xds::testing::decode<listener_v3::Listener>(out, kListenerType, kOutbound);
  hcm_v3::HttpConnectionManager hcm;
  EXPECT_EQ(l.filter_chains_size(), 1);
  if (l.filter_chains_size() == 1 && l.filter_chains(0).filters_size() == 1) {
    EXPECT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&hcm));
  } else {
    ADD_FAILURE() << l.DebugString();
  }
  return hcm;
}

inline std::vector<route_v3::Route> outboundRoutes(const xds::GeneratedResources& out) {
  const hcm_v3::HttpConnectionManager hcm = outboundHcm(out);
  EXPECT_EQ(hcm.route_config().virtual_hosts_size(), 1);
  if (hcm.route_config().virtual_hosts_size() != 1) {
    return {};
  }
  const auto& routes = hcm.route_config().virtual_hosts(0).routes();
  return {routes.begin(), routes.end()};
}

inline tcp_v3::TcpProxy outboundTcpProxy(const xds::GeneratedResources& out) {
  const auto l = xds::testing::decode<listener_v3::Listener>(out, kListenerType, kOutbound);
  tcp_v3::TcpProxy proxy;
  if (l.filter_chains_size() == 1 && l.filter_chains(0).filters_size() == 1 &&
      l.filter_chains(0).filters(0).name() == "envoy.filters.network.tcp_proxy") {
    EXPECT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&proxy));
  } else {
    ADD_FAILURE() << "no tcp_proxy: " << l.DebugString();
  }
  return proxy;
}

inline std::vector<std::string> outboundClusters(const xds::GeneratedResources& out,
                                                 const std::string& type) {
  std::vector<std::string> names;
  for (const auto& n : xds::testing::namesOf(out, type)) {
    if (n.rfind("backend", 0) == 0) {
      names.push_back(n);
    }
  }
  return names;
}

// The endpoints (ip:port) of a ClusterLoadAssignment.
inline std::vector<std::string> endpointsOf(const xds::GeneratedResources& out,
                                            const std::string& name) {
  const auto cla =
      xds::testing::decode<endpoint_v3::ClusterLoadAssignment>(out, kEndpointType, name);
  std::vector<std::string> eps;
  for (const auto& locality : cla.endpoints()) {
    for (const auto& lb : locality.lb_endpoints()) {
      const auto& sa = lb.endpoint().address().socket_address();
      eps.push_back(sa.address() + ":" + std::to_string(sa.port_value()));
    }
  }
  return eps;
}

// The route action's policy part every route gets from the mesh's default MeshTimeout/MeshRetry.
inline constexpr char kDefaultActionPolicies[] = R"(
  timeout { seconds: 15 } idle_timeout { seconds: 1800 }
  retry_policy {
    retry_on: "gateway-error,connect-failure,refused-stream" num_retries { value: 5 }
    per_try_timeout { seconds: 16 }
    retry_back_off { base_interval { nanos: 25000000 } max_interval { nanos: 250000000 } }
  })";

}  // namespace kuma::xds::testing::versions
