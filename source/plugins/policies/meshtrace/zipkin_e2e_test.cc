// End to end with our kuma-cp, our kuma-dp and a real Envoy: MeshTrace with a Zipkin backend
// (issue 14). The test runs a Zipkin collector stub on loopback (an HTTP server recording
// POST /api/v2/spans) and an app behind the sidecar `web`; a MeshTrace sends every span to the
// stub with a literal and a header tag. A request through the proxy's inbound makes Envoy report
// a SERVER span whose local service is `web`, carrying the literal tag, the header tag from the
// request, Kuma's `kuma.mesh`/`kuma.zone` tags, and the request's own HTTP data.

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test/integration/kuma_dp_start.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

// What a Zipkin collector sees: every JSON body POSTed to /api/v2/spans.
class ZipkinStub {
 public:
  ZipkinStub() {
    server_.Post("/api/v2/spans", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(req.body);
      res.status = 202;
    });
    port_ = static_cast<uint16_t>(server_.bind_to_any_port("127.0.0.1"));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ZipkinStub() {
    server_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }

  // Every span received so far (each body is a JSON array of spans).
  json spans() const {
    std::lock_guard<std::mutex> lock(mu_);
    json out = json::array();
    for (const std::string& body : bodies_) {
      const json parsed = json::parse(body, nullptr, false);
      if (parsed.is_array()) {
        for (const json& span : parsed) {
          out.push_back(span);
        }
      }
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> bodies_;
  httplib::Server server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

class MeshTraceZipkinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    envoy_ = std::getenv("KUMA_ENVOY_BINARY") != nullptr ? std::getenv("KUMA_ENVOY_BINARY") : "";
    ASSERT_FALSE(envoy_.empty()) << "KUMA_ENVOY_BINARY is not set";
    dir_ = makeTempDir("meshtrace-zipkin");
    KumaCp::Options options;
    options.env = {{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "none"}};
    auto cp = KumaCp::start(options);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
  }
  void TearDown() override {
    if (dp_.process) {
      EXPECT_EQ(dp_.process->stop(SIGTERM, std::chrono::seconds(15)), 0) << dp_.process->output();
    }
  }

  void put(const std::string& path, const json& body) {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res = api.Put(path, body.dump(), "application/json");
    ASSERT_TRUE(res) << path;
    ASSERT_LT(res->status, 300) << path << ": " << res->body;
  }

  std::string diagnostics() const {
    return "kuma-dp:\n" + (dp_.process ? dp_.process->output() : "") + "\nkuma-cp:\n" +
           cp_->output();
  }

  std::string envoy_;
  std::string dir_;
  std::unique_ptr<KumaCp> cp_;
  KumaDpProcess dp_;
};

// The value of tag `key` of `span`, or "".
std::string tagOf(const json& span, const std::string& key) {
  const json tags = span.value("tags", json::object());
  return tags.contains(key) && tags[key].is_string() ? tags[key].get<std::string>() : "";
}

TEST_F(MeshTraceZipkinTest, RequestThroughTheProxyReportsASpanToZipkin) {
  ZipkinStub zipkin;
  App app("web");
  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  put("/meshes/default/meshtraces/zipkin", json::parse(R"({
    "type": "MeshTrace", "mesh": "default", "name": "zipkin",
    "spec": {"default": {
      "backends": [{"type": "Zipkin", "zipkin": {"url": "http://127.0.0.1:)" +
                                                       std::to_string(zipkin.port()) +
                                                       R"(/api/v2/spans"}}],
      "sampling": {"overall": 100, "random": 100},
      "tags": [{"name": "team", "literal": "core"},
               {"name": "version", "header": {"name": "x-version", "default": "none"}}]}}})"));

  const uint16_t inbound = freePort();
  const std::string yaml =
      "type: Dataplane\nmesh: default\nname: web\nnetworking:\n  address: 127.0.0.1\n"
      "  admin:\n    port: " +
      std::to_string(freePort()) + "\n  inbound:\n  - port: " + std::to_string(inbound) +
      "\n    servicePort: " + std::to_string(app.port()) +
      "\n    serviceAddress: 127.0.0.1\n    tags:\n      kuma.io/service: web\n"
      "      kuma.io/protocol: http\n";
  dp_ = startKumaDp(*cp_, envoy_, dir_, "web", yaml);
  ASSERT_NO_FATAL_FAILURE(expectKumaDpReady(dp_, *cp_));

  // The inbound listener carries the tracing config once its HCM is there; then one request.
  ASSERT_TRUE(eventually(
      [&] {
        auto dump = unixHttpGet(dp_.adminSocket(), "/config_dump?resource=dynamic_listeners");
        return dump && dump->second.find("envoy.tracers.zipkin") != std::string::npos;
      },
      30s))
      << diagnostics();
  httplib::Client client("127.0.0.1", inbound);
  client.set_connection_timeout(1s);
  client.set_read_timeout(3s);
  auto res = client.Get("/traced", {{"x-version", "v7"}});
  ASSERT_TRUE(res) << diagnostics();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello from web");

  // Envoy's Zipkin tracer flushes every 5 s: the span arrives within a few flushes.
  json span;
  ASSERT_TRUE(eventually(
      [&] {
        for (const json& s : zipkin.spans()) {
          if (tagOf(s, "http.url").find("/traced") != std::string::npos) {
            span = s;
            return true;
          }
        }
        return false;
      },
      30s))
      << "spans: " << zipkin.spans().dump() << "\n"
      << diagnostics();
  EXPECT_EQ(span.value("kind", ""), "SERVER") << span.dump();
  EXPECT_EQ(span["localEndpoint"].value("serviceName", ""), "web") << span.dump();
  EXPECT_EQ(tagOf(span, "team"), "core") << span.dump();
  EXPECT_EQ(tagOf(span, "version"), "v7") << span.dump();
  EXPECT_EQ(tagOf(span, "kuma.mesh"), "default") << span.dump();
  EXPECT_EQ(tagOf(span, "kuma.zone"), "default") << span.dump();
  EXPECT_EQ(tagOf(span, "http.method"), "GET") << span.dump();
  EXPECT_EQ(tagOf(span, "http.status_code"), "200") << span.dump();
  // 64-bit trace ids (traceId128bit defaults to false).
  EXPECT_EQ(span.value("traceId", "").size(), 16u) << span.dump();
}

}  // namespace
}  // namespace kuma::test
