// End to end with real Envoys: traffic permissions on an mTLS mesh (issue 8, spec §8.4, §10).
// Two sidecars (web → backend) in a builtin-mTLS STRICT mesh; the backend's MeshTrafficPermission
// is switched between Allow, Deny and AllowWithShadowDeny, then replaced by a legacy
// TrafficPermission, then removed. Every switch must reach backend's Envoy within twice the
// default 1 s refresh interval; Envoy must accept every update.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;

constexpr auto kPropagation = 2s;  // 2 × the default refresh interval (1 s)

struct Answer {
  int status = 0;  // 0: no HTTP answer (connection refused or reset)
  std::string body;
};

Answer get(uint16_t port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1s);
  client.set_read_timeout(2s);
  client.set_keep_alive(false);
  auto res = client.Get("/");
  if (!res) {
    return {};
  }
  return {res->status, res->body};
}

// A client outside the mesh: plain TCP, one HTTP request (nullopt: could not connect).
std::optional<std::string> plainTcp(uint16_t port) {
  return plainTcpExchange(port, "GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n");
}

class TrafficPermissionTest : public XdsEnvoyTest {
 protected:
  int put(const std::string& path, const json& body) {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res = api.Put(path, body.dump(), "application/json");
    EXPECT_TRUE(res) << path;
    if (res && res->status >= 300) {
      ADD_FAILURE() << path << ": " << res->status << " " << res->body;
    }
    return res ? res->status : 0;
  }
  int del(const std::string& path) {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res = api.Delete(path);
    EXPECT_TRUE(res && res->status == 200) << path << ": " << (res ? res->body : "no answer");
    return res ? res->status : 0;
  }

  // backend's MeshTrafficPermission: callers of service web get `action`.
  void backendPermission(const std::string& action) {
    put("/meshes/default/meshtrafficpermissions/backend-perm",
        {{"type", "MeshTrafficPermission"},
         {"mesh", "default"},
         {"name", "backend-perm"},
         {"spec",
          {{"targetRef", {{"kind", "MeshService"}, {"name", "backend"}}},
           {"from",
            {{{"targetRef", {{"kind", "MeshService"}, {"name", "web"}}},
              {"default", {{"action", action}}}}}}}}});
  }

  // How long until web → backend answers as `accept` says (polling every 20 ms, for up to
  // `limit`); nullopt when it never did.
  std::optional<std::chrono::milliseconds> timeUntil(
      const std::function<bool(const Answer&)>& accept, std::chrono::milliseconds limit) {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < limit) {
      if (accept(get(webOutbound_))) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
      }
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

  static bool allowed(const Answer& a) { return a.status == 200 && a.body == "hello from backend"; }
  // The HTTP RBAC filter of backend's inbound (MeshTrafficPermission shape) answers 403.
  static bool deniedByHttpRbac(const Answer& a) {
    return a.status == 403 && a.body == "RBAC: access denied";
  }

  // Stats of the HTTP RBAC filter in backend's inbound HCM (statPrefix localhost_<app port>).
  long httpRbacStat(const std::string& name) {
    return envoyStat(backend_.adminPort,
                     "http.localhost_" + std::to_string(backendApp_->port()) + ".rbac." + name);
  }
  // Stats of the network RBAC filter (statPrefix "<sanitized listener name>.").
  long networkRbacStat(const std::string& name) {
    return envoyStat(backend_.adminPort,
                     "inbound_127.0.0.1_" + std::to_string(backendInbound_) + ".rbac." + name);
  }

  std::unique_ptr<App> backendApp_;
  std::unique_ptr<App> webApp_;
  uint16_t backendInbound_ = 0;
  uint16_t webOutbound_ = 0;
  Sidecar backend_;
  Sidecar web_;
};

TEST_F(TrafficPermissionTest, AllowDenyShadowLegacyAndNothing) {
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(put("/meshes/default",
                {{"type", "Mesh"},
                 {"name", "default"},
                 {"mtls",
                  {{"enabledBackend", "ca-1"},
                   {"backends", {{{"name", "ca-1"}, {"type", "builtin"}, {"mode", "STRICT"}}}}}}}),
            200);
  backendPermission("Allow");

  backendApp_ = std::make_unique<App>("backend");
  webApp_ = std::make_unique<App>("web");
  backendInbound_ = freePort();
  webOutbound_ = freePort();
  backend_ = startSidecar(
      dataplane("backend-1", freePort(), backendInbound_, backendApp_->port(), "backend"), false,
      181);
  web_ = startSidecar(
      dataplane("web-1", freePort(), freePort(), webApp_->port(), "web", webOutbound_), true, 182);
  ASSERT_TRUE(backend_.envoy && web_.envoy);

  // Allow: web reaches backend (over mTLS, with backend's SPIFFE identity).
  ASSERT_TRUE(timeUntil(allowed, 40s).has_value()) << diagnostics({&web_, &backend_});
  const auto certs = httpGet(backend_.adminPort, "/certs");
  ASSERT_TRUE(certs.has_value());
  EXPECT_THAT(*certs, HasSubstr("spiffe://default/backend"));

  // STRICT: a client outside the mesh gets nothing from backend's inbound.
  auto plain = plainTcp(backendInbound_);
  EXPECT_TRUE(!plain.has_value() || plain->find("hello from backend") == std::string::npos)
      << *plain;

  // Deny: refused by backend's HTTP RBAC within 2 × refresh interval.
  backendPermission("Deny");
  auto took = timeUntil(deniedByHttpRbac, 5s);
  ASSERT_TRUE(took.has_value()) << "never denied: " << get(webOutbound_).status << "\n"
                                << diagnostics({&web_, &backend_});
  EXPECT_LE(*took, kPropagation);
  RecordProperty("deny_ms", static_cast<int>(took->count()));
  EXPECT_GE(httpRbacStat("denied"), 1)
      << httpGet(backend_.adminPort, "/stats?filter=rbac").value_or("");

  // Allow again: succeeds within 2 × refresh interval.
  backendPermission("Allow");
  took = timeUntil(allowed, 5s);
  ASSERT_TRUE(took.has_value()) << diagnostics({&web_, &backend_});
  EXPECT_LE(*took, kPropagation);
  RecordProperty("allow_again_ms", static_cast<int>(took->count()));

  // AllowWithShadowDeny: still allowed, and the shadow rules count the would-be denials.
  const long shadowBefore = std::max(httpRbacStat("shadow_denied"), 0L);
  backendPermission("AllowWithShadowDeny");
  ASSERT_TRUE(eventually(
      [&] { return allowed(get(webOutbound_)) && httpRbacStat("shadow_denied") > shadowBefore; },
      5s))
      << "shadow_denied stayed at " << httpRbacStat("shadow_denied") << "\n"
      << httpGet(backend_.adminPort, "/stats?filter=rbac").value_or("");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(allowed(get(webOutbound_)));
  }

  // No permission at all (no MeshTrafficPermission, no TrafficPermission): denied.
  del("/meshes/default/meshtrafficpermissions/backend-perm");
  took = timeUntil(deniedByHttpRbac, 5s);
  ASSERT_TRUE(took.has_value()) << diagnostics({&web_, &backend_});
  EXPECT_LE(*took, kPropagation);
  RecordProperty("no_permission_ms", static_cast<int>(took->count()));

  // A legacy TrafficPermission (no MTP in the mesh) allows web → backend.
  put("/meshes/default/traffic-permissions/web-to-backend",
      {{"type", "TrafficPermission"},
       {"mesh", "default"},
       {"name", "web-to-backend"},
       {"sources", {{{"match", {{"kuma.io/service", "web"}}}}}},
       {"destinations", {{{"match", {{"kuma.io/service", "backend"}}}}}}});
  took = timeUntil(allowed, 5s);
  ASSERT_TRUE(took.has_value()) << diagnostics({&web_, &backend_});
  EXPECT_LE(*took, kPropagation);
  RecordProperty("legacy_allow_ms", static_cast<int>(took->count()));
  // It is the legacy network RBAC filter, named by backend's listener.
  EXPECT_GE(networkRbacStat("allowed"), 1)
      << httpGet(backend_.adminPort, "/stats?filter=rbac").value_or("");

  // A legacy TrafficPermission for someone else: web is refused again (network RBAC closes
  // the connection, so web's Envoy answers with an upstream error instead of a 403).
  put("/meshes/default/traffic-permissions/web-to-backend",
      {{"type", "TrafficPermission"},
       {"mesh", "default"},
       {"name", "web-to-backend"},
       {"sources", {{{"match", {{"kuma.io/service", "nobody"}}}}}},
       {"destinations", {{{"match", {{"kuma.io/service", "backend"}}}}}}});
  took = timeUntil([](const Answer& a) { return a.status != 200; }, 5s);
  ASSERT_TRUE(took.has_value()) << diagnostics({&web_, &backend_});
  EXPECT_LE(*took, kPropagation);
  RecordProperty("legacy_deny_ms", static_cast<int>(took->count()));
  EXPECT_FALSE(allowed(get(webOutbound_)));
  EXPECT_GE(networkRbacStat("denied"), 1);

  for (const Sidecar* s : {&backend_, &web_}) {
    EXPECT_EQ(envoyStat(s->adminPort, "listener_manager.lds.update_rejected"), 0) << s->name;
    EXPECT_EQ(envoyStat(s->adminPort, "cluster_manager.cds.update_rejected"), 0) << s->name;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 60s);
}

}  // namespace
}  // namespace kuma::test
