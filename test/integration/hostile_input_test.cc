// Hostile input against a running kuma-cp (issue: parser limits). Every request here gets a 4xx
// with Kuma's JSON error body and a Content-Type; the process stays up and its memory bounded.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "test/integration/api_test_base.h"

namespace kuma::test {
namespace {

using json = nlohmann::json;

// Resident memory of a process in KiB (VmRSS), or 0 if unreadable.
size_t rssKib(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "VmRSS:")) {
      size_t kib = 0;
      std::string digits;
      for (char c : line) {
        if (c >= '0' && c <= '9') {
          digits += c;
        }
      }
      return absl::SimpleAtoi(digits, &kib) ? kib : 0;
    }
  }
  return 0;
}

struct RawReply {
  int status = 0;
  std::string contentType;
  std::string body;
};

// A connected loopback TCP socket with send and receive timeouts, or -1.
int connectLoopback(uint16_t port, int timeoutSeconds) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{timeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` as is over a fresh loopback connection (for what an HTTP client library would
// refuse or re-encode) and reads the answer until the server closes (bounded: 10 s).
RawReply rawExchange(uint16_t port, const std::string& request) {
  RawReply out;
  const int fd = connectLoopback(port, 10);
  if (fd < 0) {
    return out;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      break;  // the server may answer and close before reading everything
    }
    sent += static_cast<size_t>(n);
  }
  // No half-close: httplib drops a connection whose read side reached EOF. Every request here
  // says `Connection: close`, so the server closes after its answer.
  // Read until the answer is complete (headers, then Content-Length bytes) or the server closes:
  // after an error httplib may keep the connection until its read timeout.
  std::string response;
  char buf[4096];
  for (;;) {
    const size_t end = response.find("\r\n\r\n");
    if (end != std::string::npos) {
      const std::string lower = absl::AsciiStrToLower(response.substr(0, end));
      const size_t at = lower.find("content-length:");
      size_t length = 0;
      if (at != std::string::npos &&
          absl::SimpleAtoi(
              absl::StripAsciiWhitespace(lower.substr(at + 15, lower.find("\r\n", at) - at - 15)),
              &length) &&
          response.size() >= end + 4 + length) {
        break;
      }
    }
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;
    }
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  // "HTTP/1.1 404 Not Found\r\n...headers...\r\n\r\nbody"
  if (response.size() > 12 && absl::StartsWith(response, "HTTP/1.1 ")) {
    (void)absl::SimpleAtoi(response.substr(9, 3), &out.status);
  }
  const size_t headersEnd = response.find("\r\n\r\n");
  const std::string headers = response.substr(0, headersEnd);
  for (absl::string_view line : absl::StrSplit(headers, "\r\n")) {
    if (absl::StartsWithIgnoreCase(line, "content-type:")) {
      out.contentType = std::string(absl::StripAsciiWhitespace(line.substr(13)));
    }
  }
  if (headersEnd != std::string::npos) {
    out.body = response.substr(headersEnd + 4);
  }
  return out;
}

class HostileInputTest : public ApiTest {
 protected:
  // A Kuma error body: JSON with type, status, title and detail.
  static void expectKumaError(int status, const std::string& contentType, const std::string& body,
                              int expectedStatus, const std::string& what) {
    EXPECT_EQ(status, expectedStatus) << what << ": " << body.substr(0, 300);
    EXPECT_TRUE(absl::StartsWith(contentType, "application/json"))
        << what << ": content type \"" << contentType << "\"";
    const json parsed = json::parse(body, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << what << ": not a JSON body: " << body.substr(0, 300);
    EXPECT_EQ(parsed.value("type", ""), "/std-errors") << what;
    EXPECT_EQ(parsed.value("status", 0), expectedStatus) << what;
    EXPECT_FALSE(parsed.value("title", "").empty()) << what;
    EXPECT_FALSE(parsed.value("detail", "").empty()) << what;
  }

  static httplib::Result send(const std::string& method, const std::string& path,
                              const std::string& body, const std::string& contentType) {
    httplib::Client client("127.0.0.1", cp_->apiPort());
    client.set_read_timeout(std::chrono::seconds(30));
    if (method == "POST") {
      return client.Post(path, body, contentType);
    }
    return client.Put(path, body, contentType);
  }

  static void expectRefused(const std::string& method, const std::string& path,
                            const std::string& body, const std::string& contentType,
                            int expectedStatus, const std::string& what) {
    auto res = send(method, path, body, contentType);
    ASSERT_TRUE(res) << what << ": " << httplib::to_string(res.error());
    expectKumaError(res->status, res->get_header_value("Content-Type"), res->body, expectedStatus,
                    what);
    alive(what);
  }

  static void alive(const std::string& after) {
    ASSERT_EQ(::kill(cp_->pid(), 0), 0) << "kuma-cp died after: " << after;
    EXPECT_EQ(get("/meshes/default").status, 200) << "after: " << after;
  }

  static std::string mesh(const std::string& name) {
    return json{{"type", "Mesh"}, {"name", name}}.dump();
  }
};

TEST_F(HostileInputTest, DeepNestingIsRefused) {
  // 50 000 levels of JSON objects (about 100 KB).
  std::string deep;
  for (int i = 0; i < 50000; ++i) {
    deep += "{\"a\":";
  }
  deep += "1" + std::string(50000, '}');
  expectRefused("PUT", "/meshes/deep", deep, "application/json", 400, "50 000-level JSON");
  // A million-level array inside a policy spec.
  const std::string spec = absl::StrCat(
      R"({"type":"MeshTimeout","mesh":"default","name":"t","spec":)", std::string(1000000, '['));
  expectRefused("PUT", "/meshes/default/meshtimeouts/t", spec, "application/json", 400,
                "1 000 000 x [ in a spec");
  // Deep YAML, flow and block style.
  expectRefused("PUT", "/meshes/deep", "a: " + std::string(100000, '['), "application/yaml", 400,
                "deep flow YAML");
  std::string block = "type: Mesh\nname: deep\nx: ";
  for (int i = 0; i < 20000; ++i) {
    block += "- ";
  }
  expectRefused("PUT", "/meshes/deep", block + "1\n", "application/yaml", 400, "deep block YAML");
  // The token endpoint reads JSON too.
  expectRefused("POST", "/tokens/dataplane", std::string(200000, '['), "application/json", 400,
                "deep JSON token request");
}

TEST_F(HostileInputTest, YamlAliasesAreBounded) {
  const size_t before = rssKib(cp_->pid());
  ASSERT_GT(before, 0u);
  // A 35-byte self-referencing alias.
  expectRefused("PUT", "/meshes/loop", "type: Mesh\nname: loop\nx: &a {y: *a}\n",
                "application/yaml", 400, "recursive alias");
  // "Billion laughs": ten levels of ten aliases (about 500 bytes).
  std::string bomb = "type: Mesh\nname: lol\na: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    bomb += absl::StrCat(std::string(1, c), ": &", std::string(1, c), " [");
    for (int i = 0; i < 10; ++i) {
      bomb += absl::StrCat(i ? "," : "", "*", std::string(1, static_cast<char>(c - 1)));
    }
    bomb += "]\n";
  }
  ASSERT_LT(bomb.size(), 600u);
  for (int round = 0; round < 5; ++round) {
    expectRefused("PUT", "/meshes/lol", bomb, "application/yaml", 400, "billion laughs");
  }
  // A smaller bomb that expands to about 100 000 nodes: refused too, not stored.
  std::string small = "type: Mesh\nname: small\na: &a [x,x,x,x,x,x,x,x,x,x]\n";
  for (char c = 'b'; c <= 'f'; ++c) {
    small += absl::StrCat(std::string(1, c), ": &", std::string(1, c), " [");
    for (int i = 0; i < 10; ++i) {
      small += absl::StrCat(i ? "," : "", "*", std::string(1, static_cast<char>(c - 1)));
    }
    small += "]\n";
  }
  expectRefused("PUT", "/meshes/small", small, "application/yaml", 400, "smaller bomb");
  EXPECT_EQ(get("/meshes/small").status, 404);
  // YAML is never parsed as JSON's stand-in: the same bomb labelled JSON is a JSON syntax error.
  expectRefused("PUT", "/meshes/lol", bomb, "application/json", 400, "bomb labelled JSON");
  const size_t after = rssKib(cp_->pid());
  // Bound: the bombs leave less than 64 MiB behind (Kuma's YAML limit equivalents keep the
  // expansion under 100 000 nodes / 4 MiB of strings).
  EXPECT_LT(after, before + 64 * 1024) << "RSS before " << before << " KiB, after " << after;
}

TEST_F(HostileInputTest, InvalidUtf8IsRefusedNamingTheField) {
  const std::string bad = "\xC3\x28";
  struct Case {
    std::string path;
    std::string body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"/meshes/x", absl::StrCat(R"({"type":"Mesh","name":"m)", bad, R"("})"), "name"},
      {"/meshes/default/dataplanes/dp",
       absl::StrCat(R"({"type":"Dataplane","mesh":"default","name":"dp","labels":{"team":")", bad,
                    R"("},"networking":{"address":"1.1.1.1"}})"),
       "labels.team"},
      {"/meshes/default/dataplanes/dp",
       absl::StrCat(R"({"type":"Dataplane","mesh":"default","name":"dp","networking":{"address":")",
                    bad, R"("}})"),
       "networking.address"},
      {"/meshes/default/dataplanes/dp",
       absl::StrCat(R"({"type":"Dataplane","mesh":"default","name":"dp","networking":{)",
                    R"("address":"1.1.1.1","inbound":[{"port":1,"tags":{"kuma.io/service":")", bad,
                    R"("}}]}})"),
       "networking.inbound[0].tags.kuma.io/service"},
  };
  for (const Case& c : cases) {
    auto res = send("PUT", c.path, c.body, "application/json");
    ASSERT_TRUE(res);
    expectKumaError(res->status, res->get_header_value("Content-Type"), res->body, 400, c.field);
    const json body = json::parse(res->body, nullptr, false);
    EXPECT_THAT(body.value("detail", ""), testing::HasSubstr(c.field));
  }
  // The same through YAML.
  auto yaml = send(
      "PUT", "/meshes/default/dataplanes/dp",
      absl::StrCat("type: Dataplane\nmesh: default\nname: dp\nnetworking:\n  address: ", bad, "\n"),
      "application/yaml");
  ASSERT_TRUE(yaml);
  expectKumaError(yaml->status, yaml->get_header_value("Content-Type"), yaml->body, 400, "yaml");
  EXPECT_THAT(yaml->body, testing::HasSubstr("networking.address"));
  alive("invalid UTF-8");
}

TEST_F(HostileInputTest, ContentTypeChoosesTheParser) {
  // Kuma consumes JSON: anything else with a body is 415.
  expectRefused("PUT", "/meshes/ct", mesh("ct"), "text/plain", 415, "text/plain");
  expectRefused("PUT", "/meshes/ct", mesh("ct"), "application/x-www-form-urlencoded", 415, "form");
  const RawReply none = rawExchange(
      cp_->apiPort(), absl::StrCat("PUT /meshes/ct HTTP/1.1\r\nHost: x\r\nContent-Length: ",
                                   mesh("ct").size(), "\r\nConnection: close\r\n\r\n", mesh("ct")));
  expectKumaError(none.status, none.contentType, none.body, 415, "no content type");
  expectRefused("POST", "/tokens/dataplane", "name: x\nmesh: default\n", "application/yaml", 415,
                "YAML token request");
  // JSON and (this control plane's addition) YAML are accepted.
  auto asJson = send("PUT", "/meshes/ct", mesh("ct"), "application/json; charset=utf-8");
  ASSERT_TRUE(asJson);
  EXPECT_EQ(asJson->status, 201) << asJson->body;
  auto asYaml = send("PUT", "/meshes/ct2", "type: Mesh\nname: ct2\n", "application/yaml");
  ASSERT_TRUE(asYaml);
  EXPECT_EQ(asYaml->status, 201) << asYaml->body;
  // A JSON syntax error names the type like Kuma's decoder error.
  auto syntax = send("PUT", "/meshes/ct", "{\"type\": ", "application/json");
  ASSERT_TRUE(syntax);
  expectKumaError(syntax->status, syntax->get_header_value("Content-Type"), syntax->body, 400,
                  "syntax");
  EXPECT_THAT(syntax->body, testing::HasSubstr("invalid Mesh object"));
}

TEST_F(HostileInputTest, EveryErrorHasKumasJsonBody) {
  const uint16_t port = cp_->apiPort();
  // Percent-encoded CR and LF in a path segment.
  for (const char* path :
       {"/meshes/a%0D%0Ab", "/meshes/default/dataplanes/%0A", "/%0D", "/meshes/%00/dataplanes"}) {
    const RawReply r = rawExchange(
        port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    ASSERT_GE(r.status, 400) << path;
    ASSERT_LT(r.status, 500) << path;
    expectKumaError(r.status, r.contentType, r.body, r.status, path);
  }
  // Unknown route, wrong method.
  const RawReply unknown =
      rawExchange(port, "GET /no/such/route HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  expectKumaError(unknown.status, unknown.contentType, unknown.body, 404, "unknown route");
  const RawReply method = rawExchange(
      port, "POST /meshes HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  expectKumaError(method.status, method.contentType, method.body, 405, "405");
  // Body too large (5 MiB).
  expectRefused("PUT", "/meshes/big", std::string(6 << 20, ' '), "application/json", 413,
                "large body");
  // URI too long.
  const RawReply longUri =
      rawExchange(port, absl::StrCat("GET /meshes/", std::string(20000, 'a'),
                                     " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  expectKumaError(longUri.status, longUri.contentType, longUri.body, 414, "long URI");
  // A header line over the limit, and a malformed request line.
  const RawReply longHeader = rawExchange(
      port, absl::StrCat("GET /meshes HTTP/1.1\r\nHost: x\r\nX-Big: ", std::string(20000, 'h'),
                         "\r\nConnection: close\r\n\r\n"));
  ASSERT_GE(longHeader.status, 400);
  expectKumaError(longHeader.status, longHeader.contentType, longHeader.body, longHeader.status,
                  "long header");
  // Many header lines, each within httplib's 8 KiB: the head as a whole is bounded (64 KiB).
  std::string manyHeaders = "GET /meshes HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 100; ++i) {
    manyHeaders += absl::StrCat("X-H", i, ": ", std::string(1000, 'v'), "\r\n");
  }
  const RawReply tooManyHeaders = rawExchange(port, manyHeaders + "\r\n");
  expectKumaError(tooManyHeaders.status, tooManyHeaders.contentType, tooManyHeaders.body, 431,
                  "100 KB of headers");
  const RawReply garbage =
      rawExchange(port, "\x16\x03\x01 garbage HTTP/1.1\r\nConnection: close\r\n\r\n");
  expectKumaError(garbage.status, garbage.contentType, garbage.body, 400, "garbage");
  alive("transport errors");
}

// The DP server's /bootstrap (HTTP/1.1 over TLS): bounded body, bounded connection, bounded JSON.
TEST_F(HostileInputTest, BootstrapRequestsAreBounded) {
  const auto client = [] {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", cp_->dpServerPort());
    c->enable_server_certificate_verification(false);
    c->set_connection_timeout(std::chrono::seconds(5));
    c->set_read_timeout(std::chrono::seconds(20));
    c->set_write_timeout(std::chrono::seconds(20));
    return c;
  };
  const size_t before = rssKib(cp_->pid());
  // A deeply nested request body: 400, not a crash.
  auto deep = client()->Post("/bootstrap", std::string(1000000, '['), "application/json");
  ASSERT_TRUE(deep) << httplib::to_string(deep.error());
  EXPECT_EQ(deep->status, 400) << deep->body.substr(0, 200);
  // dataplaneResource nested deeply inside an otherwise valid request (with a valid token).
  httplib::Client api("127.0.0.1", cp_->apiPort());
  auto token =
      api.Post("/tokens/dataplane", R"({"name":"dp-1","mesh":"default"})", "application/json");
  ASSERT_TRUE(token && token->status == 200) << (token ? token->body : "no answer");
  const std::string resource = std::string(100000, '[') + std::string(100000, ']');
  const json request = {{"mesh", "default"},
                        {"name", "dp-1"},
                        {"proxyType", "dataplane"},
                        {"dataplaneToken", token->body},
                        {"dataplaneResource", resource}};
  auto nested = client()->Post("/bootstrap", request.dump(), "application/json");
  ASSERT_TRUE(nested) << httplib::to_string(nested.error());
  EXPECT_EQ(nested->status, 400) << nested->body.substr(0, 200);
  // A body over 5 MiB: 413.
  auto large = client()->Post("/bootstrap", std::string(6 << 20, ' '), "application/json");
  EXPECT_TRUE(!large || large->status == 413) << large->status;
  // 100 000 header lines (10 MB): the connection is cut off, nothing is kept.
  httplib::Headers flood;
  for (int i = 0; i < 100000; ++i) {
    flood.emplace(absl::StrCat("X-Flood-", i), std::string(90, 'f'));
  }
  auto flooded = client()->Post("/bootstrap", flood, "{}", "application/json");
  EXPECT_FALSE(flooded && flooded->status == 200);
  EXPECT_LT(rssKib(cp_->pid()), before + 64 * 1024);
  alive("bootstrap floods");
}

TEST_F(HostileInputTest, RequestHeadIsBoundedInSizeAndTime) {
  const uint16_t port = cp_->apiPort();
  const size_t before = rssKib(cp_->pid());
  // A client that streams header lines without end: cut off at 64 KiB with a 431, not kept.
  const int fd = connectLoopback(port, 10);
  ASSERT_GE(fd, 0);
  std::string chunk = "GET /meshes HTTP/1.1\r\nHost: x\r\n";
  const std::string line = absl::StrCat("X-Flood: ", std::string(90, 'f'), "\r\n");
  for (int i = 0; i < 1000; ++i) {
    chunk += line;
  }
  size_t sent = 0;
  while (sent < (256u << 20)) {  // at most 256 MB, and the server stops reading long before
    const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      break;
    }
    sent += static_cast<size_t>(n);
  }
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) {
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  EXPECT_LT(sent, 64u << 20) << "the server kept reading an endless head";
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 431")) << answer.substr(0, 200);
  EXPECT_THAT(answer, testing::HasSubstr("application/json"));
  EXPECT_THAT(answer, testing::HasSubstr("\"status\": 431"));
  EXPECT_LT(rssKib(cp_->pid()), before + 32 * 1024);
  alive("endless head");

  // A client that trickles its head: answered 408 once the 10 s head deadline passes.
  const auto started = std::chrono::steady_clock::now();
  const int slow = connectLoopback(port, 20);
  ASSERT_GE(slow, 0);
  std::string trickled;
  for (int i = 0; i < 60 && trickled.empty(); ++i) {
    const std::string piece = i == 0 ? "GET /meshes HTTP/1.1\r\n" : "X-Slow: 1\r\n";
    if (::send(slow, piece.data(), piece.size(), MSG_NOSIGNAL) <= 0) {
      break;
    }
    // Wait up to 300 ms for an answer before the next piece.
    pollfd p{slow, POLLIN, 0};
    if (::poll(&p, 1, 300) > 0) {
      for (ssize_t n; (n = ::recv(slow, buf, sizeof(buf), 0)) > 0;) {
        trickled.append(buf, static_cast<size_t>(n));
      }
    }
  }
  ::close(slow);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(absl::StartsWith(trickled, "HTTP/1.1 408")) << trickled.substr(0, 200);
  EXPECT_GE(took, std::chrono::seconds(9));
  EXPECT_LT(took, std::chrono::seconds(16));
  alive("slow head");
}

}  // namespace
}  // namespace kuma::test
