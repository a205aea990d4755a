// End to end with real Envoys: MeshTLS (issue 14). A builtin STRICT mTLS mesh with sidecars web →
// backend. Without MeshTLS a plaintext client gets nothing from backend's inbound and the mesh
// hop negotiates TLS 1.2 (Envoy's client default maximum). A mesh-wide MeshTLS with mode
// Permissive and TLS 1.3 as minimum and maximum then opens the inbound to plaintext clients, and
// the mesh hop (still mTLS) negotiates TLS 1.3 on both sides, as Envoy's per-version SSL stats
// show. (A minimum of 1.3 alone would leave the clusters at Envoy's client maximum of 1.2 and
// fail every handshake, in Kuma as here: Kuma sets only the bounds the policy gives.)

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

const std::string kPlainRequest = "GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n";

class MeshTlsE2e : public XdsEnvoyTest {
 protected:
  // Envoy's counter of TLS `version` ("TLSv1.2") handshakes on backend's inbound listener.
  long inboundHandshakes(const std::string& version) const {
    return envoyStat(backend_.adminPort, "listener.127.0.0.1_" + std::to_string(backendInbound_) +
                                             ".ssl.versions." + version);
  }

  // One request through web's outbound on a new connection: backend's answer?
  bool meshRequest() const {
    const Answer answer = getFresh(webOutbound_);
    return answer.status == 200 && answer.body == "hello from backend";
  }

  uint16_t backendInbound_ = 0;
  uint16_t webOutbound_ = 0;
  Sidecar backend_;
  Sidecar web_;
};

TEST_F(MeshTlsE2e, PermissiveModeAndMinimumVersionTakeEffect) {
  put("/meshes/default",
      {{"type", "Mesh"},
       {"name", "default"},
       {"mtls",
        {{"enabledBackend", "ca-1"}, {"backends", {{{"name", "ca-1"}, {"type", "builtin"}}}}}}});
  put("/meshes/default/meshtrafficpermissions/allow-all", json::parse(R"({
    "type": "MeshTrafficPermission", "mesh": "default", "name": "allow-all",
    "spec": {"targetRef": {"kind": "Mesh"},
             "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}]}})"));
  App backendApp("backend");
  App webApp("web");
  backendInbound_ = freePort();
  webOutbound_ = freePort();
  backend_ = startSidecar(
      dataplane("backend-1", freePort(), backendInbound_, backendApp.port(), "backend"), true, 561);
  web_ = startSidecar(
      dataplane("web-1", freePort(), freePort(), webApp.port(), "web", webOutbound_), true, 562);
  ASSERT_TRUE(backend_.envoy && web_.envoy);
  ASSERT_TRUE(eventually([&] { return meshRequest(); }, 40s)) << diagnostics({&web_, &backend_});

  // Before: STRICT, TLS 1.2.
  EXPECT_GE(inboundHandshakes("TLSv1.2"), 1) << diagnostics({&web_, &backend_});
  EXPECT_LE(inboundHandshakes("TLSv1.3"), 0);
  auto refused = plainTcpExchange(backendInbound_, kPlainRequest);
  EXPECT_TRUE(!refused.has_value() || refused->find("hello from backend") == std::string::npos)
      << *refused;

  put("/meshes/default/meshtlses/mesh-tls", json::parse(R"({
    "type": "MeshTLS", "mesh": "default", "name": "mesh-tls",
    "spec": {"targetRef": {"kind": "Mesh"},
             "rules": [{"default": {"mode": "Permissive",
                                    "tlsVersion": {"min": "TLS13", "max": "TLS13"}}}]}})"));

  // PERMISSIVE: a plaintext client outside the mesh is answered.
  EXPECT_TRUE(eventually(
      [&] {
        auto answer = plainTcpExchange(backendInbound_, kPlainRequest);
        return answer.has_value() && answer->find("hello from backend") != std::string::npos;
      },
      20s))
      << diagnostics({&web_, &backend_});
  // The mesh hop is still mTLS, now TLS 1.3 (both sides require at least 1.3).
  EXPECT_TRUE(eventually([&] { return meshRequest() && inboundHandshakes("TLSv1.3") >= 1; }, 20s))
      << httpGet(backend_.adminPort, "/stats?filter=ssl").value_or("")
      << diagnostics({&web_, &backend_});
  EXPECT_GE(envoyStat(web_.adminPort, "cluster.backend.ssl.versions.TLSv1.3"), 1);
}

}  // namespace
}  // namespace kuma::test
