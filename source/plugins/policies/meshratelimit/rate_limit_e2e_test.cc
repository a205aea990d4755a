// End to end with a real Envoy: MeshRateLimit (issue 14, section 3). A sidecar `web` with an HTTP
// inbound (service web) and a TCP inbound (service web-db) in front of small apps; one policy per
// service: web 5 requests per minute answering 429 with a header, web-db 2 connections per
// minute. Requests beyond the bucket get Kuma's 429 with the configured header, connections
// beyond the connection bucket are closed without reaching the app, and Envoy's local rate limit
// stats count exactly the refused ones.

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

constexpr int kRequests = 12;
constexpr int kRequestBucket = 5;
constexpr int kConnections = 5;
constexpr int kConnectionBucket = 2;

class XdsRateLimitTest : public XdsEnvoyTest {
 protected:
  // The `rate_limited` counter of Envoy whose name contains `prefix` (the filter's stat prefix),
  // or -1.
  long rateLimited(const std::string& prefix) const {
    const auto body = httpGet(web_.adminPort, "/stats?filter=rate_limited$");
    if (!body) {
      return -1;
    }
    for (const absl::string_view line : absl::StrSplit(*body, '\n')) {
      const size_t colon = line.find(": ");
      if (colon != absl::string_view::npos && absl::StrContains(line.substr(0, colon), prefix)) {
        long value = -1;
        return absl::SimpleAtoi(line.substr(colon + 2), &value) ? value : -1;
      }
    }
    return -1;
  }

  Sidecar web_;
};

TEST_F(XdsRateLimitTest, RequestsAndConnectionsBeyondTheRateAreRefused) {
  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  put("/meshes/default/meshratelimits/web", json::parse(R"({
    "type": "MeshRateLimit", "mesh": "default", "name": "web",
    "spec": {"targetRef": {"kind": "MeshService", "name": "web"}, "from": [{
      "targetRef": {"kind": "Mesh"},
      "default": {"local": {"http": {
        "requestRate": {"num": 5, "interval": "1m"},
        "onRateLimit": {"status": 429, "headers": {"add": [{"name": "x-kuma-rate-limited", "value": "true"}]}}}}}}]}})"));
  put("/meshes/default/meshratelimits/web-db", json::parse(R"({
    "type": "MeshRateLimit", "mesh": "default", "name": "web-db",
    "spec": {"targetRef": {"kind": "MeshService", "name": "web-db"}, "rules": [{
      "default": {"local": {"tcp": {"connectionRate": {"num": 2, "interval": "1m"}}}}}]}})"));

  App httpApp("web");
  App tcpApp("web-db");
  const uint16_t httpInbound = freePort();
  const uint16_t tcpInbound = freePort();
  json web = dataplane("web", freePort(), httpInbound, httpApp.port(), "web");
  web["networking"]["inbound"].push_back(
      {{"port", tcpInbound},
       {"servicePort", tcpApp.port()},
       {"serviceAddress", "127.0.0.1"},
       {"tags", {{"kuma.io/service", "web-db"}, {"kuma.io/protocol", "tcp"}}}});
  web_ = startSidecar(web, true, 521);
  ASSERT_TRUE(web_.envoy);

  // Ready once both inbound listeners with their rate limits are active (no request is spent:
  // every one would take a token).
  ASSERT_TRUE(eventually(
      [&] {
        // (Only the listeners: the bootstrap's node lists every extension Envoy has.)
        const auto dump = httpGet(web_.adminPort, "/config_dump?resource=dynamic_listeners");
        return dump && dump->find("\"tcp_rate_limit\"") != std::string::npos &&
               dump->find("envoy.filters.http.local_ratelimit") != std::string::npos &&
               envoyStat(web_.adminPort, "listener_manager.total_listeners_active") >= 2 &&
               envoyStat(web_.adminPort, "listener_manager.total_listeners_warming") == 0;
      },
      40s))
      << diagnostics({&web_});

  // HTTP: the first 5 requests pass, every later one gets the 429 with the header.
  int passed = 0;
  int limited = 0;
  for (int i = 0; i < kRequests; ++i) {
    httplib::Client client("127.0.0.1", httpInbound);
    client.set_connection_timeout(1s);
    client.set_read_timeout(2s);
    auto res = client.Get("/");
    ASSERT_TRUE(res) << i << diagnostics({&web_});
    if (i < kRequestBucket) {
      EXPECT_EQ(res->status, 200) << i;
      EXPECT_EQ(res->body, "hello from web") << i;
      EXPECT_FALSE(res->has_header("x-kuma-rate-limited")) << i;
      passed += res->status == 200;
    } else {
      EXPECT_EQ(res->status, 429) << i;
      EXPECT_EQ(res->get_header_value("x-kuma-rate-limited"), "true") << i;
      limited += res->status == 429;
    }
  }
  EXPECT_EQ(passed, kRequestBucket);
  EXPECT_EQ(limited, kRequests - kRequestBucket);
  EXPECT_EQ(rateLimited("http_local_rate_limit"), kRequests - kRequestBucket)
      << httpGet(web_.adminPort, "/stats?filter=rate_limit").value_or("");

  // TCP: 2 connections per minute reach the app; later ones are closed before it answers.
  int answered = 0;
  for (int i = 0; i < kConnections; ++i) {
    const auto got = plainTcpExchange(tcpInbound, "GET / HTTP/1.0\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(got.has_value()) << i;
    const bool ok = got->find("hello from web-db") != std::string::npos;
    EXPECT_EQ(ok, i < kConnectionBucket) << i << ": " << *got;
    answered += ok;
  }
  EXPECT_EQ(answered, kConnectionBucket);
  EXPECT_EQ(rateLimited("tcp_rate_limit"), kConnections - kConnectionBucket)
      << httpGet(web_.adminPort, "/stats?filter=rate_limit").value_or("");
  EXPECT_EQ(envoyStat(web_.adminPort, "listener_manager.lds.update_rejected"), 0);
}

}  // namespace
}  // namespace kuma::test
