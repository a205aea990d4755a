// End to end with real Envoys: MeshHTTPRoute and MeshTCPRoute (issue 13, section 3; one test
// for both route plugins, kept in this folder) on a builtin
// mTLS STRICT mesh. Two versions of an HTTP service and of a TCP service, each behind its own
// sidecar tagged `version: v1|v2`; a web sidecar with one outbound to each. A MeshHTTPRoute
// splits backend 80/20 by version and sends `x-version: v2` to v2 only; a MeshTCPRoute splits
// backend-tcp 80/20 over TCP connections. The measured shares over hundreds of requests (and
// connections) must be within ±8 % of the weights; the header rule must never miss; the split
// clusters (Kuma's `<service>-<hash>` names, with their own endpoints and mTLS SNI) must be the
// only clusters of the two destinations.

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;

constexpr int kHttpRequests = 400;
constexpr int kTcpConnections = 300;
constexpr double kTolerance = 0.08;

// Kuma's split cluster names (DestinationClusterName of {kuma.io/service, version}).
constexpr char kHttpV1[] = "backend-154693772bc47249";
constexpr char kHttpV2[] = "backend-5b73b3f4adf20020";

class XdsRouteTest : public XdsEnvoyTest {
 protected:
  static json backendDataplane(const std::string& name, const std::string& service,
                               const std::string& protocol, const std::string& version,
                               uint16_t inboundPort, uint16_t appPort) {
    return {{"type", "Dataplane"},
            {"mesh", "default"},
            {"name", name},
            {"networking",
             {{"address", "127.0.0.1"},
              {"admin", {{"port", freePort()}}},
              {"inbound",
               {{{"port", inboundPort},
                 {"servicePort", appPort},
                 {"serviceAddress", "127.0.0.1"},
                 {"tags",
                  {{"kuma.io/service", service},
                   {"kuma.io/protocol", protocol},
                   {"version", version}}}}}}}}};
  }

  // How many of `n` answers of `ask` came from "<service>-v1" (all must be 200 from v1 or v2).
  int countV1(int n, const std::string& service, const std::function<Answer()>& ask) {
    int v1 = 0;
    for (int i = 0; i < n; ++i) {
      const Answer a = ask();
      EXPECT_EQ(a.status, 200) << i;
      if (a.body == "hello from " + service + "-v1") {
        ++v1;
      } else {
        EXPECT_EQ(a.body, "hello from " + service + "-v2") << i;
      }
    }
    return v1;
  }

  std::vector<std::unique_ptr<App>> apps_;
  std::vector<Sidecar> backends_;
  Sidecar web_;
};

TEST_F(XdsRouteTest, HttpSplitHeaderMatchAndTcpSplitByVersionTag) {
  put("/meshes/default",
      {{"type", "Mesh"},
       {"name", "default"},
       {"mtls",
        {{"enabledBackend", "ca-1"},
         {"backends", {{{"name", "ca-1"}, {"type", "builtin"}, {"mode", "STRICT"}}}}}}});
  put("/meshes/default/meshtrafficpermissions/allow-all",
      {{"type", "MeshTrafficPermission"},
       {"mesh", "default"},
       {"name", "allow-all"},
       {"spec",
        {{"targetRef", {{"kind", "Mesh"}}},
         {"from", {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"action", "Allow"}}}}}}}}});
  // backend: `x-version: v2` → v2 only; everything else 80/20 by version. (The header rule needs
  // the path too: in Kuma's match order a rule without a path sorts after `PathPrefix /`, which
  // would then shadow it.)
  put("/meshes/default/meshhttproutes/backend-split", json::parse(R"({
    "type": "MeshHTTPRoute", "mesh": "default", "name": "backend-split",
    "spec": {"targetRef": {"kind": "Mesh"}, "to": [{
      "targetRef": {"kind": "MeshService", "name": "backend"},
      "rules": [
        {"matches": [{"path": {"type": "PathPrefix", "value": "/"},
                      "headers": [{"type": "Exact", "name": "x-version", "value": "v2"}]}],
         "default": {"backendRefs": [
           {"kind": "MeshServiceSubset", "name": "backend", "tags": {"version": "v2"}}]}},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
         "default": {"backendRefs": [
           {"kind": "MeshServiceSubset", "name": "backend", "tags": {"version": "v1"}, "weight": 80},
           {"kind": "MeshServiceSubset", "name": "backend", "tags": {"version": "v2"}, "weight": 20}]}}]}]}})"));
  // backend-tcp: 80/20 by version per connection.
  put("/meshes/default/meshtcproutes/backend-tcp-split", json::parse(R"({
    "type": "MeshTCPRoute", "mesh": "default", "name": "backend-tcp-split",
    "spec": {"targetRef": {"kind": "Mesh"}, "to": [{
      "targetRef": {"kind": "MeshService", "name": "backend-tcp"},
      "rules": [{"default": {"backendRefs": [
        {"kind": "MeshServiceSubset", "name": "backend-tcp", "tags": {"version": "v1"}, "weight": 80},
        {"kind": "MeshServiceSubset", "name": "backend-tcp", "tags": {"version": "v2"}, "weight": 20}]}}]}]}})"));

  int baseId = 191;
  for (const auto& [service, protocol] : std::vector<std::pair<std::string, std::string>>{
           {"backend", "http"}, {"backend-tcp", "tcp"}}) {
    for (const std::string version : {"v1", "v2"}) {
      auto& app = apps_.emplace_back(std::make_unique<App>(service + "-" + version));
      backends_.push_back(startSidecar(backendDataplane(service + "-" + version, service, protocol,
                                                        version, freePort(), app->port()),
                                       false, baseId++));
      ASSERT_TRUE(backends_.back().envoy);
    }
  }
  auto& webApp = apps_.emplace_back(std::make_unique<App>("web"));
  const uint16_t httpOutbound = freePort();
  const uint16_t tcpOutbound = freePort();
  json web = dataplane("web", freePort(), freePort(), webApp->port(), "web", httpOutbound);
  web["networking"]["outbound"].push_back(
      {{"port", tcpOutbound}, {"tags", {{"kuma.io/service", "backend-tcp"}}}});
  web_ = startSidecar(web, true, baseId++);
  ASSERT_TRUE(web_.envoy);

  // Ready: every split cluster of web has its one healthy endpoint, and both destinations answer.
  ASSERT_TRUE(eventually(
      [&] {
        const auto clusters = httpGet(web_.adminPort, "/clusters");
        if (!clusters) {
          return false;
        }
        int healthy = 0;
        for (const std::string& name : {std::string(kHttpV1), std::string(kHttpV2)}) {
          healthy += envoyStat(web_.adminPort, "cluster." + name + ".membership_healthy") == 1;
        }
        // backend-tcp-<hash>::<ip:port>::health_flags::healthy, one per TCP split cluster.
        std::set<std::string> tcpHealthy;
        for (const absl::string_view line : absl::StrSplit(*clusters, '\n')) {
          if (absl::StartsWith(line, "backend-tcp-") &&
              absl::EndsWith(line, "::health_flags::healthy")) {
            tcpHealthy.emplace(line.substr(0, line.find("::")));
          }
        }
        return healthy == 2 && tcpHealthy.size() == 2 && getFresh(httpOutbound).status == 200 &&
               getFresh(tcpOutbound).status == 200;
      },
      40s))
      << httpGet(web_.adminPort, "/clusters").value_or("") << diagnostics({&web_});

  // Only the split clusters: Kuma generates no plain `backend` / `backend-tcp` cluster here.
  const std::string clusters = httpGet(web_.adminPort, "/clusters").value_or("");
  EXPECT_THAT(clusters, HasSubstr(std::string(kHttpV1) + "::"));
  EXPECT_THAT(clusters, HasSubstr(std::string(kHttpV2) + "::"));
  EXPECT_EQ(clusters.find("\nbackend::"), std::string::npos) << clusters;
  EXPECT_EQ(clusters.find("\nbackend-tcp::"), std::string::npos) << clusters;

  // HTTP 80/20 by version.
  const int httpV1 = countV1(kHttpRequests, "backend", [&] { return getFresh(httpOutbound); });
  const double httpShare = static_cast<double>(httpV1) / kHttpRequests;
  RecordProperty("http_v1_share_permille", static_cast<int>(httpShare * 1000));
  EXPECT_NEAR(httpShare, 0.8, kTolerance) << httpV1 << " of " << kHttpRequests;

  // The header rule: x-version: v2 always reaches v2.
  for (int i = 0; i < 50; ++i) {
    const Answer a = getFresh(httpOutbound, {{"x-version", "v2"}});
    ASSERT_EQ(a.status, 200) << i;
    ASSERT_EQ(a.body, "hello from backend-v2") << i;
  }

  // TCP 80/20 by version, one connection per request.
  const int tcpV1 = countV1(kTcpConnections, "backend-tcp", [&] { return getFresh(tcpOutbound); });
  const double tcpShare = static_cast<double>(tcpV1) / kTcpConnections;
  RecordProperty("tcp_v1_share_permille", static_cast<int>(tcpShare * 1000));
  EXPECT_NEAR(tcpShare, 0.8, kTolerance) << tcpV1 << " of " << kTcpConnections;

  EXPECT_EQ(envoyStat(web_.adminPort, "listener_manager.lds.update_rejected"), 0);
  EXPECT_EQ(envoyStat(web_.adminPort, "cluster_manager.cds.update_rejected"), 0);
}

}  // namespace
}  // namespace kuma::test
