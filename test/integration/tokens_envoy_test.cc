// End to end with real Envoys under `dpServer.authn.dpProxy.type: dpToken` (spec §6.2): tokens
// issued over REST, carried by the bootstrap as the ADS `authorization` metadata, checked by
// kuma-cp when the stream opens.
#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

class TokensEnvoyTest : public XdsEnvoyTest {
 protected:
  TokensEnvoyTest() { extraEnv_ = {{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "dpToken"}}; }

  // POST /tokens/dataplane as the admin (loopback).
  std::string issueToken(const json& request) {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res = api.Post("/tokens/dataplane", request.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : httplib::to_string(res.error()));
    return res && res->status == 200 ? res->body : "";
  }

  static std::string jtiOf(const std::string& token) {
    std::vector<std::string> parts = absl::StrSplit(token, '.');
    std::string claims;
    if (parts.size() != 3 || !absl::WebSafeBase64Unescape(parts[1], &claims)) {
      ADD_FAILURE() << "not a JWT: " << token;
      return "";
    }
    return json::parse(claims, nullptr, false).value("jti", "");
  }

  static size_t occurrences(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }

  // The Envoy keeps being refused (at least two attempts) and never receives a listener.
  void expectRefused(Sidecar& sidecar, const std::string& reason) {
    ASSERT_TRUE(sidecar.envoy);
    const bool refused = eventually(
        [&] {
          const std::string log = sidecar.envoy->output();
          return occurrences(log, "authentication failed") >= 2 &&
                 log.find(reason) != std::string::npos;
        },
        30s);
    ASSERT_TRUE(refused) << "envoy:\n"
                         << sidecar.envoy->output() << "\nkuma-cp:\n"
                         << cp_->output();
    EXPECT_EQ(envoyStat(sidecar.adminPort, "listener_manager.lds.update_success"), 0);
    EXPECT_EQ(envoyStat(sidecar.adminPort, "listener_manager.total_listeners_active"), 0);
    httplib::Client api("127.0.0.1", cp_->apiPort());
    EXPECT_EQ(api.Get("/meshes/default/dataplanes/" + sidecar.name)->status, 404)
        << "a refused proxy must not register itself";
  }
};

TEST_F(TokensEnvoyTest, OnlyTheRightTokenGetsConfig) {
  App app("web");
  const uint16_t inbound = freePort();
  const std::string token = issueToken({{"name", "web-1"},
                                        {"mesh", "default"},
                                        {"tags", {{"kuma.io/service", {"web"}}}},
                                        {"type", "dataplane"},
                                        {"validFor", "1h0m0s"}});
  ASSERT_FALSE(token.empty());

  // The right token: the proxy registers and serves its inbound listener.
  {
    Sidecar web =
        startSidecar(dataplane("web-1", freePort(), inbound, app.port(), "web"), false, 95, token);
    ASSERT_TRUE(web.envoy);
    std::optional<std::string> body;
    const bool served = eventually(
        [&] {
          body = httpGet(inbound, "/");
          return body == "hello from web";
        },
        30s);
    ASSERT_TRUE(served) << "envoy:\n" << web.envoy->output() << "\nkuma-cp:\n" << cp_->output();
    EXPECT_GT(envoyStat(web.adminPort, "listener_manager.lds.update_success"), 0);
    EXPECT_EQ(web.envoy->output().find("authentication failed"), std::string::npos);

    // web-1's token presented by web-2: refused, web-2 never gets listeners.
    Sidecar impostor = startSidecar(dataplane("web-2", freePort(), freePort(), app.port(), "web"),
                                    true, 96, token);
    expectRefused(impostor, "proxy name from requestor: web-2 is different than in token: web-1");

    web.envoy->stop(SIGTERM, 10s);
  }

  // Revoke the token: a new Envoy presenting it is refused.
  httplib::Client api("127.0.0.1", cp_->apiPort());
  const json revocations = {{"type", "Secret"},
                            {"mesh", "default"},
                            {"name", "dataplane-token-revocations-default"},
                            {"data", absl::Base64Escape(jtiOf(token))}};
  auto put = api.Put("/meshes/default/secrets/dataplane-token-revocations-default",
                     revocations.dump(), "application/json");
  ASSERT_TRUE(put && put->status == 201) << (put ? put->body : "no answer");
  // Wait until the first web-1 is deregistered so that its leftovers cannot be mistaken.
  ASSERT_TRUE(
      eventually([&] { return api.Get("/meshes/default/dataplanes/web-1")->status == 404; }, 15s));
  Sidecar revoked =
      startSidecar(dataplane("web-1", freePort(), freePort(), app.port(), "web"), false, 98, token);
  expectRefused(revoked, "token is revoked");
}

}  // namespace
}  // namespace kuma::test
