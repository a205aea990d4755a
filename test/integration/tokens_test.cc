// End to end through the real kuma-cp binary: POST /tokens/dataplane (spec §4.5).
#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "test/integration/api_test_base.h"

namespace kuma::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

struct TokenReply {
  int status = 0;
  std::string contentType;
  std::string body;
};

TokenReply postToken(uint16_t port, const std::string& body, const httplib::Headers& headers = {}) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(10));
  auto res = client.Post("/tokens/dataplane", headers, body, "application/json");
  if (!res) {
    ADD_FAILURE() << httplib::to_string(res.error());
    return {};
  }
  return {res->status, res->get_header_value("Content-Type"), res->body};
}

// The header and claims of a compact JWT.
std::pair<json, json> decodeJwt(const std::string& token) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  EXPECT_EQ(parts.size(), 3u) << token;
  if (parts.size() != 3) {
    return {};
  }
  std::string header;
  std::string claims;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(parts[0], &header));
  EXPECT_TRUE(absl::WebSafeBase64Unescape(parts[1], &claims));
  return {json::parse(header, nullptr, false), json::parse(claims, nullptr, false)};
}

class TokensApiTest : public ApiTest {
 protected:
  static TokenReply post(const std::string& body, const httplib::Headers& headers = {}) {
    return postToken(cp_->apiPort(), body, headers);
  }
};

TEST_F(TokensApiTest, IssuesADataplaneTokenToTheAdmin) {
  // What kumactl generate dataplane-token sends.
  const TokenReply r = post(
      R"({"name":"dp-1","mesh":"default","tags":{"kuma.io/service":["web"]},"type":"dataplane",)"
      R"("workload":"","validFor":"24h0m0s"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.contentType, ::testing::StartsWith("text/plain"));
  const auto [header, claims] = decodeJwt(r.body);
  EXPECT_EQ(header, json::parse(R"({"alg":"RS256","kid":"1","typ":"JWT"})"));
  EXPECT_EQ(claims["Name"], "dp-1");
  EXPECT_EQ(claims["Mesh"], "default");
  EXPECT_EQ(claims["Tags"], json::parse(R"({"kuma.io/service":["web"]})"));
  EXPECT_EQ(claims["Type"], "dataplane");
  ASSERT_TRUE(claims["exp"].is_number_integer() && claims["iat"].is_number_integer());
  EXPECT_EQ(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>(), 24 * 3600 + 5);
  EXPECT_EQ(claims["nbf"], claims["iat"]);
  EXPECT_TRUE(claims["jti"].is_string());
  // No validFor: 10 years.
  const TokenReply longLived = post(R"({"name":"dp-1","mesh":"default"})");
  ASSERT_EQ(longLived.status, 200) << longLived.body;
  const json c = decodeJwt(longLived.body).second;
  EXPECT_EQ(c["exp"].get<int64_t>() - c["iat"].get<int64_t>(), 24LL * 365 * 10 * 3600 + 5);
}

TEST_F(TokensApiTest, OnlyTheAdminGetsTokens) {
  const std::string body = R"({"name":"dp-1","mesh":"default"})";
  const TokenReply proxied = post(body, {{"X-Forwarded-For", "10.1.1.1"}});
  EXPECT_EQ(proxied.status, 403) << proxied.body;
  const json error = json::parse(proxied.body, nullptr, false);
  EXPECT_EQ(error["title"], "Access Denied");
  EXPECT_THAT(error["detail"].get<std::string>(), HasSubstr("mesh-system:anonymous"));
  // A bearer token from a non-loopback caller: user tokens are not supported yet.
  EXPECT_EQ(post(body, {{"X-Forwarded-For", "10.1.1.1"}, {"Authorization", "Bearer abc"}}).status,
            401);
}

TEST_F(TokensApiTest, BadRequests) {
  // Unreadable JSON: 400 even before the rights are checked. Kuma's body is empty; ours is Kuma's
  // error body (every error carries one).
  for (const std::string& bad : {std::string("{"), std::string(""), std::string(R"({"mesh":1})")}) {
    const TokenReply r = post(bad, {{"X-Forwarded-For", "10.1.1.1"}});
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_THAT(r.contentType, ::testing::StartsWith("application/json")) << bad;
    const json e = json::parse(r.body, nullptr, false);
    EXPECT_EQ(e.value("detail", ""), "Could not read a request") << bad;
  }
  const TokenReply noMesh = post(R"({"name":"dp-1"})");
  ASSERT_EQ(noMesh.status, 400) << noMesh.body;
  const json e = json::parse(noMesh.body, nullptr, false);
  EXPECT_EQ(e["invalid_parameters"],
            json::parse(R"([{"field":"mesh","reason":"cannot be empty"}])"));
  const TokenReply badDuration = post(R"({"mesh":"default","validFor":"1 day"})");
  ASSERT_EQ(badDuration.status, 400) << badDuration.body;
  const json d = json::parse(badDuration.body, nullptr, false);
  EXPECT_EQ(d["invalid_parameters"][0]["field"], "validFor");
  EXPECT_THAT(d["invalid_parameters"][0]["reason"].get<std::string>(),
              ::testing::StartsWith("is invalid: time: "));
  EXPECT_EQ(post(R"({"mesh":"default","type":"gateway"})").status, 400);
  // Wrong method.
  httplib::Client client("127.0.0.1", cp_->apiPort());
  EXPECT_EQ(client.Get("/tokens/dataplane")->status, 405);
}

TEST_F(TokensApiTest, MeshWithoutSigningKeyIsNotFound) {
  const TokenReply r = post(R"({"name":"dp-1","mesh":"nosuchmesh"})");
  ASSERT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(json::parse(r.body, nullptr, false)["title"], "Signing Key not found");
  // Removing the only key of an existing mesh has the same effect.
  httplib::Client client("127.0.0.1", cp_->apiPort());
  ASSERT_EQ(
      client.Put("/meshes/keyless", R"({"type":"Mesh","name":"keyless"})", "application/json")
          ->status,
      201);
  ASSERT_EQ(client.Delete("/meshes/keyless/secrets/dataplane-token-signing-key-keyless-1")->status,
            200);
  EXPECT_EQ(post(R"({"mesh":"keyless"})").status, 404);
}

TEST(TokensIssuerDisabledTest, IssuerCanBeDisabled) {
  KumaCp::Options options;
  options.env = {{"KUMA_DP_SERVER_AUTHN_DP_PROXY_DP_TOKEN_ENABLE_ISSUER", "false"}};
  auto cp = KumaCp::start(options);
  ASSERT_TRUE(cp.ok()) << cp.status();
  const TokenReply r = postToken((*cp)->apiPort(), R"({"name":"dp-1","mesh":"default"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("disabled"));
}

}  // namespace
}  // namespace kuma::test
