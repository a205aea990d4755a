// Tests of the MeshTCPRoute xDS plugin (order 200) through the real generator and plugin table:
// tcp_proxy splits, split clusters and their ClusterLoadAssignments must be what Kuma 2.14.3
// generates (expected values from Kuma's dumps of the conformance cases meshtcproute-split and
// meshtcproute-on-http), also on HTTP destinations with and without a MeshHTTPRoute.

#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "source/plugins/policies/meshhttproute/xds_configurer.h"
#include "source/plugins/policies/meshtcproute/xds_configurer.h"
#include "test/xds/generator/backend_versions_case.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::policies {
namespace {

using namespace xds::testing::versions;  // NOLINT: the shared case of the routing tests

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using xds::kClusterType;
using xds::kEndpointType;
using xds::kListenerType;
namespace cluster_v3 = envoy::config::cluster::v3;
namespace endpoint_v3 = envoy::config::endpoint::v3;
namespace listener_v3 = envoy::config::listener::v3;
namespace route_v3 = envoy::config::route::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;
namespace tls_v3 = envoy::extensions::transport_sockets::tls::v3;

// ---- MeshTCPRoute ----

const std::string kTcpSplitRoute = R"(type: MeshTCPRoute
mesh: default
name: backend-tcp-split
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: MeshService, name: backend}
    rules:
    - default:
        backendRefs:
        - {kind: MeshServiceSubset, name: backend, tags: {version: v1}, weight: 80}
        - {kind: MeshServiceSubset, name: backend, tags: {version: v2}, weight: 20}
)";

TEST(MeshTcpRouteXds, WeightedClustersOnTheTcpProxyAsKuma) {
  Generated g = generateWeb(caseResources("tcp", {kTcpSplitRoute}));
  EXPECT_THAT(outboundClusters(g.out, kClusterType), UnorderedElementsAre(kV1, kV2));
  EXPECT_THAT(outboundClusters(g.out, kEndpointType), UnorderedElementsAre(kV1, kV2));
  EXPECT_THAT(endpointsOf(g.out, kV2), ElementsAre("10.0.0.2:7000"));
  expectProtoEq(outboundTcpProxy(g.out), text<tcp_v3::TcpProxy>(R"(
    stat_prefix: "backend"
    weighted_clusters {
      clusters { name: "backend-154693772bc47249" weight: 80 }
      clusters { name: "backend-5b73b3f4adf20020" weight: 20 }
    }
    idle_timeout { seconds: 3600 }
    max_connect_attempts { value: 5 })"));
}

TEST(MeshTcpRouteXds, AnHttpDestinationBecomesTcpOnlyWithoutAMeshHttpRoute) {
  // Only a MeshTCPRoute: Kuma's outbound listener is a tcp_proxy with the split, and neither
  // MeshTimeout nor MeshRetry configure it (for them it is still an HTTP destination); the plain
  // cluster MeshHTTPRoute's default made stays.
  Generated tcpOnly = generateWeb(caseResources("http", {kTcpSplitRoute}));
  EXPECT_THAT(outboundClusters(tcpOnly.out, kClusterType),
              UnorderedElementsAre("backend", kV1, kV2));
  EXPECT_THAT(outboundClusters(tcpOnly.out, kEndpointType),
              UnorderedElementsAre("backend", kV1, kV2));
  EXPECT_THAT(endpointsOf(tcpOnly.out, kV1), ElementsAre("10.0.0.1:7000"));
  expectProtoEq(outboundTcpProxy(tcpOnly.out), text<tcp_v3::TcpProxy>(R"(
    stat_prefix: "backend"
    weighted_clusters {
      clusters { name: "backend-154693772bc47249" weight: 80 }
      clusters { name: "backend-5b73b3f4adf20020" weight: 20 }
    })"));

  // With a MeshHTTPRoute too, the MeshHTTPRoute decides (here: only v2 on /v2, else backend).
  const std::string http = R"(type: MeshHTTPRoute
mesh: default
name: backend-v2-path
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: MeshService, name: backend}
    rules:
    - matches: [{path: {type: Exact, value: /v2}}]
      default:
        backendRefs: [{kind: MeshServiceSubset, name: backend, tags: {version: v2}}]
)";
  Generated both = generateWeb(caseResources("http", {kTcpSplitRoute, http}));
  EXPECT_THAT(outboundClusters(both.out, kClusterType), UnorderedElementsAre("backend", kV2));
  const auto routes = outboundRoutes(both.out);
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].route().cluster(), kV2);
  EXPECT_EQ(routes[1].route().cluster(), "backend");
}

TEST(MeshTcpRouteXds, ARuleLessItemRoutesToItsOwnTarget) {
  const std::string route = R"(type: MeshTCPRoute
mesh: default
name: backend-self
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: MeshService, name: backend}
    rules: []
)";
  Generated g = generateWeb(caseResources("tcp", {route}));
  EXPECT_THAT(outboundClusters(g.out, kClusterType), ElementsAre("backend"));
  EXPECT_EQ(outboundTcpProxy(g.out).cluster(), "backend");
}

}  // namespace
}  // namespace kuma::policies
