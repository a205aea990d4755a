#pragma once

// Shared fixture for end-to-end REST tests: one real kuma-cp per test suite.

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/test_common/process.h"

namespace kuma::test {

struct HttpReply {
  int status = 0;
  nlohmann::json body;
  std::string raw;
};

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { startKumaCp({}); }
  /** For suites that need their own settings: call from their SetUpTestSuite. */
  static void startKumaCp(KumaCp::Options options) {
    // The server may answer and close before a large request is sent (413, 431): a write to
    // that socket must fail, not kill the test with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    auto started = KumaCp::start(std::move(options));
    ASSERT_TRUE(started.ok()) << started.status();
    cp_ = std::move(*started);
  }
  static void TearDownTestSuite() { cp_.reset(); }

  static HttpReply call(const std::string& method, const std::string& path,
                        const std::string& body = "", const httplib::Headers& headers = {},
                        const std::string& contentType = "application/json") {
    httplib::Client client("127.0.0.1", cp_->apiPort());
    client.set_read_timeout(std::chrono::seconds(10));
    auto send = [&]() -> httplib::Result {
      if (method == "PUT") {
        return client.Put(path, headers, body, contentType);
      }
      if (method == "DELETE") {
        return client.Delete(path, headers);
      }
      if (method == "POST") {
        return client.Post(path, headers, body, contentType);
      }
      if (method == "PATCH") {
        return client.Patch(path, headers, body, contentType);
      }
      return client.Get(path, headers);
    };
    httplib::Result res = send();
    HttpReply out;
    if (!res) {
      ADD_FAILURE() << method << " " << path << ": " << httplib::to_string(res.error());
      return out;
    }
    out.status = res->status;
    out.raw = res->body;
    out.body = nlohmann::json::parse(res->body, nullptr, false);
    return out;
  }
  static HttpReply get(const std::string& path) { return call("GET", path); }
  static HttpReply put(const std::string& path, const nlohmann::json& body) {
    return call("PUT", path, body.dump());
  }
  static HttpReply del(const std::string& path) { return call("DELETE", path); }

  /** GET until `done` holds (at most 15 s): for what the controllers write on their intervals. */
  static HttpReply getUntil(const std::string& path,
                            const std::function<bool(const nlohmann::json&)>& done) {
    HttpReply r;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    do {
      r = get(path);
      if (r.status == 200 && done(r.body)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (std::chrono::steady_clock::now() < deadline);
    return r;
  }

  /** The (field, reason) pairs of a Kuma error body, also checking causes mirror them. */
  static std::vector<std::pair<std::string, std::string>> violations(const nlohmann::json& body) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!body.contains("invalid_parameters")) {
      return out;
    }
    for (const auto& p : body["invalid_parameters"]) {
      out.emplace_back(p["field"].get<std::string>(), p["reason"].get<std::string>());
    }
    EXPECT_EQ(body["causes"].size(), body["invalid_parameters"].size());
    EXPECT_EQ(body["details"], body["detail"]);
    return out;
  }

  static std::unique_ptr<KumaCp> cp_;
};

inline std::unique_ptr<KumaCp> ApiTest::cp_;

}  // namespace kuma::test
