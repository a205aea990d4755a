// End to end, a legacy ExternalService (Kuma 2.14 without a ZoneEgress): kuma-cp, a real Envoy
// for `web-1`, and an application outside the mesh. web's outbound to `httpbin` goes to the
// ExternalService's own address (`localhost:<port>`: a STRICT_DNS cluster, no EDS), with the Host
// header rewritten to that name.

#include <fstream>
#include <iterator>

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

TEST_F(XdsEnvoyTest, LegacyExternalServiceIsReachedThroughTheSidecar) {
  // Outside the mesh: answers with the Host header it got.
  httplib::Server external;
  external.Get(".*", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("external saw host " + req.get_header_value("Host"), "text/plain");
  });
  const int externalPort = external.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { external.listen_after_bind(); });
  put("/meshes/default/external-services/httpbin",
      {{"type", "ExternalService"},
       {"mesh", "default"},
       {"name", "httpbin"},
       {"tags", {{"kuma.io/service", "httpbin"}, {"kuma.io/protocol", "http"}}},
       {"networking", {{"address", "localhost:" + std::to_string(externalPort)}}}});
  App webApp("web");
  const uint16_t outbound = freePort();
  json dp = dataplane("web-1", freePort(), freePort(), webApp.port(), "web");
  dp["networking"]["outbound"] = {{{"port", outbound}, {"tags", {{"kuma.io/service", "httpbin"}}}}};
  Sidecar web = startSidecar(dp, false, 95);
  ASSERT_TRUE(web.envoy);
  Answer answer;
  const bool reached = eventually(
      [&] {
        answer = getFresh(outbound);
        return answer.status == 200;
      },
      30s);
  external.stop();
  serving.join();
  ASSERT_TRUE(reached) << diagnostics({&web});
  // auto_host_rewrite: the upstream sees its own name, not the listener's address.
  EXPECT_EQ(answer.body, "external saw host localhost");
}

// Standard base64 with padding (what a Secret's `data` holds).
std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    const size_t n = std::min<size_t>(3, in.size() - i);
    uint32_t v = 0;
    for (size_t j = 0; j < 3; ++j) {
      v = (v << 8) | (j < n ? static_cast<unsigned char>(in[i + j]) : 0);
    }
    for (size_t j = 0; j < 4; ++j) {
      out += j <= n ? kAlphabet[(v >> (18 - 6 * j)) & 63] : '=';
    }
  }
  return out;
}

// TLS data sources from the mesh's Secret: Envoy gets the Secret's CA as the cluster's trusted CA
// and accepts it; an ExternalService whose Secret is missing keeps its cluster without an
// endpoint, and the proxy's other outbounds are unaffected.
TEST_F(XdsEnvoyTest, ExternalServiceCaFromAMeshSecret) {
  std::ifstream pemFile(cp_->workDir() + "/kuma-cp.crt");
  const std::string pem((std::istreambuf_iterator<char>(pemFile)),
                        std::istreambuf_iterator<char>());
  ASSERT_FALSE(pem.empty());
  const std::string pemBase64 = base64(pem);
  put("/meshes/default/secrets/es-ca",
      {{"type", "Secret"}, {"mesh", "default"}, {"name", "es-ca"}, {"data", pemBase64}});
  const auto externalService = [&](const std::string& name, const std::string& secret) {
    put("/meshes/default/external-services/" + name,
        {{"type", "ExternalService"},
         {"mesh", "default"},
         {"name", name},
         {"tags", {{"kuma.io/service", name}, {"kuma.io/protocol", "http"}}},
         {"networking",
          {{"address", "localhost:8443"},
           {"tls", {{"enabled", true}, {"caCert", {{"secret", secret}}}}}}}});
  };
  externalService("secure", "es-ca");
  externalService("broken", "missing");
  App webApp("web");
  json dp = dataplane("web-1", freePort(), freePort(), webApp.port(), "web");
  dp["networking"]["outbound"] = {
      {{"port", freePort()}, {"tags", {{"kuma.io/service", "secure"}}}},
      {{"port", freePort()}, {"tags", {{"kuma.io/service", "broken"}}}}};
  Sidecar web = startSidecar(dp, false, 98);
  ASSERT_TRUE(web.envoy);
  json dump;
  const bool configured = eventually(
      [&] {
        auto body = httpGet(web.adminPort, "/config_dump?resource=dynamic_active_clusters");
        if (!body.has_value()) {
          return false;
        }
        dump = json::parse(*body, nullptr, false);
        return !dump.is_discarded() && body->find("\"broken\"") != std::string::npos &&
               body->find("\"secure\"") != std::string::npos;
      },
      30s);
  ASSERT_TRUE(configured) << diagnostics({&web});
  json secure, broken;
  for (const auto& c : dump["configs"]) {
    if (c["cluster"]["name"] == "secure") {
      secure = c["cluster"];
    } else if (c["cluster"]["name"] == "broken") {
      broken = c["cluster"];
    }
  }
  ASSERT_TRUE(secure.is_object()) << dump;
  EXPECT_EQ(secure["transport_socket_matches"][0]["transport_socket"]["typed_config"]
                  ["common_tls_context"]["validation_context"]["trusted_ca"]["inline_bytes"],
            pemBase64);
  ASSERT_TRUE(broken.is_object()) << dump;
  EXPECT_FALSE(broken.contains("transport_socket_matches")) << broken;
  EXPECT_FALSE(broken["load_assignment"].contains("endpoints")) << broken;
}

}  // namespace
}  // namespace kuma::test
