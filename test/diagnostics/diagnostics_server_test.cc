// The diagnostics server in-process: /ready, /healthy, the /logging API (spec §13.4), the
// /debug/pprof endpoints (gated, validated, one CPU profile at a time, 501 without gperftools)
// and TLS.
#include <atomic>
#include <mutex>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "source/common/logging.h"
#include "source/common/tls/cert.h"
#include "source/diagnostics/diagnostics_server.h"
#include "source/diagnostics/profiler.h"

namespace kuma::diagnostics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

class DiagnosticsServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_) {
      server_->stop();
    }
    logging::clearComponentLevels();
  }

  void start(DiagnosticsOptions options) {
    options.interface = "127.0.0.1";
    options.port = 0;
    if (!options.ready) {
      options.ready = [this] { return ready_.load(); };
    }
    server_ = std::make_unique<DiagnosticsServer>(std::move(options));
    ASSERT_TRUE(server_->start().ok());
    ASSERT_NE(server_->port(), 0);
  }

  httplib::Client client(int readTimeoutSeconds = 5) {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(readTimeoutSeconds, 0);
    return c;
  }

  httplib::Result put(const std::string& body) {
    return client().Put("/logging", body, "application/json");
  }

  std::atomic<bool> ready_{false};
  std::unique_ptr<DiagnosticsServer> server_;
};

void expectText(const httplib::Result& r, int status, const std::string& message) {
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, status);
  EXPECT_EQ(r->body, message + "\n");
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; charset=utf-8");
}

TEST_F(DiagnosticsServerTest, ReadyExplainsAnUnreadyReason) {
  std::mutex mu;
  std::string reason = "store unavailable: PostgreSQL at 127.0.0.1:1 is unreachable";
  DiagnosticsOptions options;
  options.unreadyReason = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return reason;
  };
  start(std::move(options));
  auto c = client();
  // Components not ready yet: plain 503 whatever the reason says.
  EXPECT_EQ(c.Get("/ready")->status, 503);
  ready_ = true;
  expectText(c.Get("/ready"), 503, "store unavailable: PostgreSQL at 127.0.0.1:1 is unreachable");
  EXPECT_EQ(c.Get("/healthy")->status, 200);
  {
    std::lock_guard<std::mutex> lock(mu);
    reason.clear();
  }
  auto r = c.Get("/ready");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
}

TEST_F(DiagnosticsServerTest, ReadyHealthyAndUnknownPaths) {
  start({});
  auto c = client();
  EXPECT_EQ(c.Get("/ready")->status, 503);
  ready_ = true;
  EXPECT_EQ(c.Get("/ready")->status, 200);
  EXPECT_EQ(c.Post("/ready", "", "text/plain")->status, 200);
  EXPECT_EQ(c.Get("/healthy")->status, 200);
  EXPECT_EQ(c.Get("/healthy")->body, "");
  expectText(c.Get("/nope"), 404, "404 page not found");
  // Debug endpoints are off by default.
  expectText(c.Get("/debug/pprof/"), 404, "404 page not found");
  expectText(c.Get("/debug/pprof/profile?seconds=1"), 404, "404 page not found");
  expectText(c.Get("/debug/pprof/heap"), 404, "404 page not found");
}

TEST_F(DiagnosticsServerTest, LoggingGetPutDelete) {
  start({});
  auto c = client();
  auto r = c.Get("/logging");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(r->body), nlohmann::json::parse(R"({"components":{}})"));

  r = put(R"({"component":"xds-server","level":"debug","extra":1})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(logging::effectiveLevel("xds-server.reconciler"), spdlog::level::debug);
  ASSERT_EQ(put(R"({"component":"api-server","level":"off"})")->status, 200);
  EXPECT_EQ(nlohmann::json::parse(c.Get("/logging")->body),
            nlohmann::json::parse(R"({"components":{"xds-server":"debug","api-server":"off"}})"));

  r = c.Delete("/logging/xds-server");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(c.Delete("/logging/never-set")->status, 200);
  EXPECT_EQ(logging::effectiveLevel("xds-server"), spdlog::level::info);

  r = c.Delete("/logging");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(nlohmann::json::parse(r->body),
            nlohmann::json::parse(R"({"components":{"api-server":"off"}})"));
  EXPECT_EQ(nlohmann::json::parse(c.Delete("/logging")->body),
            nlohmann::json::parse(R"({"components":{}})"));
}

TEST_F(DiagnosticsServerTest, LoggingRejectsBadRequests) {
  start({});
  expectText(put(""), 400, "invalid request body");
  expectText(put("{not json"), 400, "invalid request body");
  expectText(put("[1,2]"), 400, "invalid request body");
  expectText(put(R"({"component":5,"level":"debug"})"), 400, "invalid request body");
  // Over 4096 bytes, even if it is valid JSON.
  expectText(put(R"({"component":"a","level":"debug","pad":")" + std::string(5000, 'x') + "\"}"),
             400, "invalid request body");
  expectText(put(R"({"level":"debug"})"), 400, "component name must not be empty");
  expectText(put(R"({"component":")" + std::string(257, 'a') + R"(","level":"debug"})"), 400,
             "component name exceeds 256 characters");
  expectText(put(R"({"component":"bad name!","level":"debug"})"), 400,
             "component name \"bad name!\" contains invalid characters");
  expectText(put(R"({"component":"ok","level":"DEBUG"})"), 400,
             "invalid log level: unknown log level \"DEBUG\"");
  expectText(put(R"({"component":"ok"})"), 400, "invalid log level: unknown log level \"\"");
  EXPECT_TRUE(logging::componentLevels().empty());

  auto c = client();
  expectText(c.Post("/logging", "{}", "application/json"), 405, "method not allowed");
  expectText(c.Patch("/logging", "{}", "application/json"), 405, "method not allowed");
  auto r = c.Get("/logging/xds-server");
  expectText(r, 405, "Method Not Allowed");
  EXPECT_EQ(r->get_header_value("Allow"), "DELETE");
  expectText(c.Put("/logging/xds-server", "", "text/plain"), 405, "Method Not Allowed");
  expectText(c.Delete("/logging/-bad"), 400, "component name \"-bad\" contains invalid characters");
  expectText(c.Delete("/logging/a/b"), 404, "404 page not found");
}

TEST_F(DiagnosticsServerTest, LoggingCapsOverridesAt200) {
  start({});
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(put(R"({"component":"c)" + std::to_string(i) + R"(","level":"debug"})")->status, 200);
  }
  expectText(put(R"({"component":"c200","level":"debug"})"), 429,
             "maximum number of component overrides (200) reached");
  EXPECT_EQ(put(R"({"component":"c3","level":"off"})")->status, 200);
  EXPECT_EQ(client().Delete("/logging/c3")->status, 200);
  EXPECT_EQ(put(R"({"component":"c200","level":"debug"})")->status, 200);
}

TEST_F(DiagnosticsServerTest, PprofValidatesSeconds) {
  DiagnosticsOptions o;
  o.debugEndpoints = true;
  start(o);
  auto c = client();
  auto index = c.Get("/debug/pprof/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_THAT(index->body, HasSubstr("profile?seconds="));
  EXPECT_THAT(index->body, HasSubstr("heap"));
  for (const char* bad : {"0", "301", "-5", "abc", "1.5", ""}) {
    auto r = c.Get(std::string("/debug/pprof/profile?seconds=") + bad);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_THAT(r->body, HasSubstr("from 1 to 300"));
  }
  // Go runtime profiles have no counterpart here.
  expectText(c.Get("/debug/pprof/goroutine"), 404, "404 page not found");
}

TEST_F(DiagnosticsServerTest, CpuAndHeapProfilesOrNotImplemented) {
  DiagnosticsOptions o;
  o.debugEndpoints = true;
  start(o);
  ready_ = true;
  if (!profilerAvailable()) {
    auto r = client().Get("/debug/pprof/profile?seconds=1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 501);
    EXPECT_THAT(r->body, HasSubstr("built without gperftools"));
    r = client().Get("/debug/pprof/heap");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 501);
    return;
  }
  // Two overlapping requests: exactly one profiles, the other is told to come back later, and
  // /ready keeps answering meanwhile.
  std::vector<int> statuses(2, 0);
  std::vector<std::string> bodies(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      auto r = client(10).Get("/debug/pprof/profile?seconds=2");
      if (r) {
        statuses[i] = r->status;
        bodies[i] = r->body;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  const auto before = std::chrono::steady_clock::now();
  auto ready = client().Get("/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(900));
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_THAT(statuses, UnorderedElementsAre(200, 429));
  const std::string& profile = statuses[0] == 200 ? bodies[0] : bodies[1];
  // gperftools' CPU profile starts with the header words 0, 3, 0 (native 64-bit words).
  ASSERT_GE(profile.size(), 5 * sizeof(uint64_t));
  const auto* words = reinterpret_cast<const uint64_t*>(profile.data());
  EXPECT_EQ(words[0], 0u);
  EXPECT_EQ(words[1], 3u);
  EXPECT_EQ(words[2], 0u);
  EXPECT_GT(words[3], 0u);  // sampling period in µs

  // tcmalloc samples only when the process starts with TCMALLOC_SAMPLE_PARAMETER (ctest sets it).
  auto heap = client().Get("/debug/pprof/heap");
  ASSERT_TRUE(heap);
  const char* sampling = std::getenv("TCMALLOC_SAMPLE_PARAMETER");
  if (sampling == nullptr || std::string(sampling) == "0") {
    EXPECT_EQ(heap->status, 503);
    EXPECT_THAT(heap->body, HasSubstr("TCMALLOC_SAMPLE_PARAMETER=524288"));
    return;
  }
  ASSERT_STREQ(sampling, "524288");
  EXPECT_EQ(heap->status, 200);
  EXPECT_THAT(heap->body, StartsWith("heap profile: "));
  EXPECT_THAT(heap->body, HasSubstr("heap_v2/524288"));
  EXPECT_THAT(heap->body, HasSubstr("MAPPED_LIBRARIES:"));
}

TEST_F(DiagnosticsServerTest, StopInterruptsARunningProfile) {
  DiagnosticsOptions o;
  o.debugEndpoints = true;
  start(o);
  std::thread profiler([this] { client(60).Get("/debug/pprof/profile?seconds=300"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto before = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(10));
  profiler.join();
}

class DiagnosticsTlsTest : public DiagnosticsServerTest {
 protected:
  void SetUp() override {
    auto pem = tls::generateSelfSignedServerCert({"localhost", "127.0.0.1"});
    ASSERT_TRUE(pem.ok()) << pem.status();
    dir_ = ::testing::TempDir();
    certFile_ = dir_ + "/diag-test.crt";
    keyFile_ = dir_ + "/diag-test.key";
    std::ofstream(certFile_) << pem->certPem;
    std::ofstream(keyFile_) << pem->keyPem;
  }
  std::string dir_, certFile_, keyFile_;
};

TEST_F(DiagnosticsTlsTest, ServesHttpsWhenEnabled) {
  DiagnosticsOptions o;
  o.tlsEnabled = true;
  o.tlsCertFile = certFile_;
  o.tlsKeyFile = keyFile_;
  start(o);
  ready_ = true;
  httplib::SSLClient tlsClient("127.0.0.1", server_->port());
  tlsClient.enable_server_certificate_verification(false);
  auto r = tlsClient.Get("/ready");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  r = tlsClient.Get("/logging");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Plain HTTP gets no answer.
  auto plain = client(2).Get("/ready");
  EXPECT_TRUE(!plain || plain->status != 200);
}

TEST_F(DiagnosticsTlsTest, RejectsUnusableTlsSettings) {
  DiagnosticsOptions o;
  o.interface = "127.0.0.1";
  o.port = 0;
  o.tlsEnabled = true;
  o.tlsCertFile = dir_ + "/missing.crt";
  o.tlsKeyFile = keyFile_;
  DiagnosticsServer missing(o);
  EXPECT_EQ(missing.start().code(), absl::StatusCode::kInvalidArgument);

  o.tlsCertFile = keyFile_;  // a key is no certificate
  DiagnosticsServer wrong(o);
  EXPECT_EQ(wrong.start().code(), absl::StatusCode::kInvalidArgument);

  o.tlsCertFile = certFile_;
  o.tlsMinVersion = "TLSv9";
  DiagnosticsServer version(o);
  EXPECT_EQ(version.start().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kuma::diagnostics
