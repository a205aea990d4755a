// HttpListener: where it listens. An empty interface is every interface (Go's ":port", Kuma's
// admission server default), reachable over IPv4 and IPv6 loopback alike.
#include "source/common/http/http_listener.h"

#include <string>

#include "gtest/gtest.h"
#include "httplib.h"

namespace kuma::http {
namespace {

bool answers(const std::string& host, uint16_t port) {
  httplib::Client client(host, port);
  client.set_connection_timeout(std::chrono::seconds(2));
  httplib::Result r = client.Get("/");
  return r && r->status == 200 && r->body == "ok";
}

class HttpListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
  }
  httplib::Server server_;
};

TEST_F(HttpListenerTest, AnEmptyInterfaceListensOnEveryInterface) {
  HttpListener listener(server_, "test");
  ASSERT_TRUE(listener.start("", 0).ok());
  EXPECT_TRUE(answers("127.0.0.1", listener.port()));
  EXPECT_TRUE(answers("::1", listener.port()));
  listener.stop();
}

TEST_F(HttpListenerTest, AnAddressListensThereOnly) {
  HttpListener listener(server_, "test");
  ASSERT_TRUE(listener.start("127.0.0.1", 0).ok());
  EXPECT_TRUE(answers("127.0.0.1", listener.port()));
  EXPECT_FALSE(answers("::1", listener.port()));
  listener.stop();
}

}  // namespace
}  // namespace kuma::http
