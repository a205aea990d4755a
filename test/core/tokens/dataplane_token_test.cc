#include "source/core/tokens/dataplane_token.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/pki.h"
#include "source/core/model/rest_codec.h"
#include "source/core/tokens/jwt.h"
#include "source/core/validators/validation_error.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/server/all_types.h"

namespace kuma::tokens {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

class DataplaneTokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (int i = 0; i < 3; ++i) {
      keys_.push_back(*crypto::generateRsaKeyPem(2048));
    }
  }

  void SetUp() override {
    store_ = memory::newMemoryStore();
    manager_ = std::make_unique<manager::ResourceManager>(*store_, registry_);
    put({{"type", "Mesh"}, {"name", "default"}});
    put({{"type", "Mesh"}, {"name", "other"}});
    putSecret("default", "dataplane-token-signing-key-default-1", keys_[0]);
    putSecret("other", "dataplane-token-signing-key-other-1", keys_[1]);
  }

  void put(const json& object) {
    const auto* type = registry_.byName(object["type"].get<std::string>());
    auto body = model::fromRestJson(*type, object);
    ASSERT_TRUE(body.ok()) << body.status();
    auto stored = manager_->upsert(std::move(body->resource));
    ASSERT_TRUE(stored.ok()) << stored.status();
  }

  void putSecret(const std::string& mesh, const std::string& name, const std::string& data) {
    put({{"type", "Secret"}, {"mesh", mesh}, {"name", name}, {"data", absl::Base64Escape(data)}});
  }

  model::Resource dataplane(const std::string& name, const json& inbounds,
                            const std::map<std::string, std::string>& labels = {},
                            const std::string& mesh = "default") {
    json object = {{"type", "Dataplane"},
                   {"mesh", mesh},
                   {"name", name},
                   {"networking", {{"address", "10.0.0.1"}, {"inbound", inbounds}}}};
    if (!labels.empty()) {
      object["labels"] = labels;
    }
    auto body = model::fromRestJson(*registry_.byName("Dataplane"), object);
    EXPECT_TRUE(body.ok()) << body.status();
    body->resource.meta.name = name;
    body->resource.meta.mesh = mesh;
    return body->resource;
  }

  static json inbound(int port, const std::string& service, const std::string& version = "") {
    json tags = {{"kuma.io/service", service}};
    if (!version.empty()) {
      tags["version"] = version;
    }
    return {{"port", port}, {"tags", tags}};
  }

  DataplaneTokenIssuer issuer() const {
    return DataplaneTokenIssuer(*manager_, registry_, [this] { return now_; });
  }
  DataplaneTokenValidator validator() const {
    return DataplaneTokenValidator(*manager_, registry_, [this] { return now_; });
  }

  std::string issue(const DataplaneIdentity& id, absl::Duration validFor = absl::Hours(1)) {
    auto token = issuer().issue(id, validFor);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  // validate() then checkDataplaneClaims(): the ADS authentication.
  absl::Status authenticate(const std::string& token, const model::Resource& dp) {
    auto claims = validator().validate(token, dp.meta.mesh);
    if (!claims.ok()) {
      return claims.status();
    }
    return checkDataplaneClaims(*claims, dp);
  }

  static inline std::vector<std::string> keys_;
  const model::TypeRegistry& registry_ = server::allTypes();
  store::ResourceStorePtr store_;
  std::unique_ptr<manager::ResourceManager> manager_;
  absl::Time now_ = kNow;
};

TEST_F(DataplaneTokenTest, IssuesKumaShapedTokens) {
  const std::string token = issue({.name = "dp-1",
                                   .mesh = "default",
                                   .tags = {{"kuma.io/service", {"web", "web-v2"}}},
                                   .type = "dataplane",
                                   .workload = "w"},
                                  absl::Hours(24));
  auto parsed = parseJwt(token);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->header, json::parse(R"({"alg":"RS256","kid":"1","typ":"JWT"})"));
  const json& c = parsed->claims;
  EXPECT_EQ(c["Name"], "dp-1");
  EXPECT_EQ(c["Mesh"], "default");
  EXPECT_EQ(c["Tags"], json::parse(R"({"kuma.io/service":["web","web-v2"]})"));
  EXPECT_EQ(c["Type"], "dataplane");
  EXPECT_EQ(c["Workload"], "w");
  const int64_t now = absl::ToUnixSeconds(kNow);
  EXPECT_EQ(c["iat"], now - 5);
  EXPECT_EQ(c["nbf"], now - 5);
  EXPECT_EQ(c["exp"], now + 24 * 3600);
  ASSERT_TRUE(c["jti"].is_string());
  EXPECT_THAT(c["jti"].get<std::string>(),
              ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                      "[0-9a-f]{12}"));
  // Go field order in the payload.
  auto raw =
      base64UrlDecode(token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1));
  ASSERT_TRUE(raw.ok());
  EXPECT_THAT(*raw, ::testing::StartsWith(R"({"Name":"dp-1","Mesh":"default","Tags":)"));
  // Two tokens never share a jti.
  EXPECT_NE(parseJwt(issue({.mesh = "default"}))->claims["jti"], c["jti"]);
}

TEST_F(DataplaneTokenTest, RoundTrip) {
  const std::string token = issue({.name = "dp-1", .mesh = "default"});
  auto claims = validator().validate(token, "default");
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->identity.name, "dp-1");
  EXPECT_EQ(claims->identity.mesh, "default");
  EXPECT_EQ(claims->kid, "1");
  EXPECT_EQ(claims->expiresAt, kNow + absl::Hours(1));
  EXPECT_TRUE(authenticate(token, dataplane("dp-1", {inbound(8080, "web")})).ok());
}

TEST_F(DataplaneTokenTest, IssuerUsesTheHighestKid) {
  putSecret("default", "dataplane-token-signing-key-default-10", keys_[2]);
  putSecret("default", "dataplane-token-signing-key-default-9", keys_[1]);
  putSecret("default", "dataplane-token-signing-key-default-x", keys_[1]);  // not a kid
  const std::string token = issue({.mesh = "default"});
  EXPECT_EQ(parseJwt(token)->header["kid"], "10");
  EXPECT_TRUE(validator().validate(token, "default").ok());
  // Verified with key 10 only: remove it and the token is refused.
  ASSERT_TRUE(manager_
                  ->remove(*registry_.byName("Secret"),
                           {"dataplane-token-signing-key-default-10", "default"})
                  .ok());
  auto refused = validator().validate(token, "default");
  EXPECT_TRUE(absl::IsUnauthenticated(refused.status()));
  EXPECT_THAT(refused.status().message(), HasSubstr("there is no signing key with KID 10"));
}

TEST_F(DataplaneTokenTest, IssuerWithoutKeyIsNotFound) {
  put({{"type", "Mesh"}, {"name", "keyless"}});
  auto token = issuer().issue({.mesh = "keyless"}, absl::Hours(1));
  EXPECT_TRUE(absl::IsNotFound(token.status())) << token.status();
  EXPECT_TRUE(absl::IsNotFound(issuer().issue({.mesh = "nosuchmesh"}, absl::Hours(1)).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(issuer().issue({}, absl::Hours(1)).status()));
}

TEST_F(DataplaneTokenTest, RefusesTamperedSignature) {
  const std::string token = issue({.name = "dp-1", .mesh = "default"});
  // Claims of another proxy under the original signature.
  const size_t first = token.find('.');
  const size_t second = token.find('.', first + 1);
  auto claims = parseJwt(token)->claims;
  claims["Name"] = "dp-2";
  const std::string forged =
      token.substr(0, first + 1) + base64UrlEncode(claims.dump()) + token.substr(second);
  auto result = validator().validate(forged, "default");
  EXPECT_TRUE(absl::IsUnauthenticated(result.status()));
  EXPECT_EQ(result.status().message(), "could not parse token: token signature is invalid");
  // A token signed by a key that is not the mesh's key with that kid.
  auto foreign = signRs256({{"alg", "RS256"}, {"kid", "1"}, {"typ", "JWT"}},
                           {{"Name", "dp-1"}, {"Mesh", "default"}}, keys_[2]);
  ASSERT_TRUE(foreign.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(validator().validate(*foreign, "default").status()));
}

TEST_F(DataplaneTokenTest, RefusesExpiredAndNotYetValid) {
  const std::string token = issue({.mesh = "default"}, absl::Minutes(10));
  now_ = kNow + absl::Minutes(9);
  EXPECT_TRUE(validator().validate(token, "default").ok());
  now_ = kNow + absl::Minutes(10);
  auto expired = validator().validate(token, "default");
  EXPECT_TRUE(absl::IsUnauthenticated(expired.status()));
  EXPECT_THAT(expired.status().message(), HasSubstr("token is expired"));
  now_ = kNow - absl::Seconds(6);  // before nbf = now − 5s
  auto early = validator().validate(token, "default");
  EXPECT_THAT(early.status().message(), HasSubstr("token is not valid yet"));
}

// Found by test/fuzz/dataplane_token_fuzz.cc: dates past the int64 nanosecond range (year 2262)
// were converted with an undefined cast, so a token valid for centuries was refused as expired.
TEST_F(DataplaneTokenTest, DatesBeyondYear2262Saturate) {
  const absl::Duration centuries = absl::Hours(24 * 365 * 300);
  auto claims = validator().validate(issue({.mesh = "default"}, centuries), "default");
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->expiresAt, kNow + centuries);

  auto sign = [](const ordered_json& claims) {
    auto token = signRs256({{"alg", "RS256"}, {"kid", "1"}, {"typ", "JWT"}}, claims, keys_[0]);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  };
  auto far =
      validator().validate(sign({{"Mesh", "default"}, {"exp", 1e300}, {"nbf", -1e300}}), "default");
  ASSERT_TRUE(far.ok()) << far.status();
  EXPECT_EQ(far->expiresAt, absl::InfiniteFuture());
  EXPECT_EQ(far->notBefore, absl::InfinitePast());
  auto ancient = validator().validate(sign({{"Mesh", "default"}, {"exp", -1e19}}), "default");
  EXPECT_THAT(ancient.status().message(), HasSubstr("token is expired"));
  auto future = validator().validate(sign({{"Mesh", "default"}, {"nbf", 1e19}}), "default");
  EXPECT_THAT(future.status().message(), HasSubstr("token is not valid yet"));
  // Fractional seconds still count.
  auto fraction = validator().validate(
      sign({{"Mesh", "default"}, {"exp", absl::ToUnixSeconds(kNow) + 0.5}}), "default");
  ASSERT_TRUE(fraction.ok()) << fraction.status();
  EXPECT_EQ(fraction->expiresAt, kNow + absl::Milliseconds(500));
}

TEST_F(DataplaneTokenTest, RefusesWrongOrMissingKid) {
  const ordered_json claims = {{"Mesh", "default"}};
  auto wrongKid = signRs256({{"alg", "RS256"}, {"kid", "7"}}, claims, keys_[0]);
  auto numericKid = signRs256({{"alg", "RS256"}, {"kid", 1}}, claims, keys_[0]);
  auto noKid = signRs256({{"alg", "RS256"}}, claims, keys_[0]);
  ASSERT_TRUE(wrongKid.ok() && numericKid.ok() && noKid.ok());
  EXPECT_THAT(validator().validate(*wrongKid, "default").status().message(),
              HasSubstr("there is no signing key with KID 7"));
  for (const auto& t : {*numericKid, *noKid}) {
    auto s = validator().validate(t, "default").status();
    EXPECT_TRUE(absl::IsUnauthenticated(s));
    EXPECT_THAT(s.message(), HasSubstr("JWT token must have kid header"));
  }
  EXPECT_TRUE(absl::IsUnauthenticated(validator().validate("garbage", "default").status()));
  // A token of mesh "other" presented by a proxy of "default": the key with that kid differs.
  const std::string otherToken = issue({.mesh = "other"});
  EXPECT_TRUE(validator().validate(otherToken, "other").ok());
  EXPECT_TRUE(absl::IsUnauthenticated(validator().validate(otherToken, "default").status()));
}

TEST_F(DataplaneTokenTest, RefusesRevokedTokens) {
  const std::string token = issue({.name = "dp-1", .mesh = "default"});
  const std::string kept = issue({.name = "dp-1", .mesh = "default"});
  const std::string jti = parseJwt(token)->claims["jti"];
  putSecret("default", "dataplane-token-revocations-default", "aaa, " + jti + " ,bbb");
  auto revoked = validator().validate(token, "default");
  EXPECT_TRUE(absl::IsUnauthenticated(revoked.status()));
  EXPECT_EQ(revoked.status().message(), "token is revoked");
  EXPECT_TRUE(validator().validate(kept, "default").ok());
  // Revocations are per mesh.
  putSecret("other", "dataplane-token-revocations-other", parseJwt(kept)->claims["jti"]);
  EXPECT_TRUE(validator().validate(kept, "default").ok());
}

TEST_F(DataplaneTokenTest, ChecksNameMeshAndType) {
  const model::Resource dp = dataplane("dp-1", {inbound(8080, "web")});
  auto s = authenticate(issue({.name = "dp-2", .mesh = "default"}), dp);
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_EQ(s.message(), "proxy name from requestor: dp-1 is different than in token: dp-2");
  // Signed with mesh default's key but claiming mesh other.
  putSecret("default", "dataplane-token-signing-key-default-2", keys_[0]);
  auto crossMesh =
      signRs256({{"alg", "RS256"}, {"kid", "2"}}, {{"Name", "dp-1"}, {"Mesh", "other"}}, keys_[0]);
  ASSERT_TRUE(crossMesh.ok());
  EXPECT_THAT(authenticate(*crossMesh, dp).message(),
              HasSubstr("proxy mesh from requestor: default is different than in token: other"));
  EXPECT_THAT(authenticate(issue({.mesh = "default", .type = "ingress"}), dp).message(),
              HasSubstr("proxy type"));
  // Empty claims do not constrain.
  EXPECT_TRUE(authenticate(issue({.mesh = "default"}), dp).ok());
  EXPECT_TRUE(authenticate(issue({.mesh = "default", .type = "dataplane"}), dp).ok());
}

TEST_F(DataplaneTokenTest, ChecksTags) {
  const model::Resource dp =
      dataplane("dp-1", {inbound(8080, "web", "v1"), inbound(8081, "web-admin", "v1")});
  // Every DP value of a token tag must be allowed.
  EXPECT_TRUE(authenticate(issue({.mesh = "default",
                                  .tags = {{"kuma.io/service", {"web", "web-admin", "extra"}}}}),
                           dp)
                  .ok());
  auto s = authenticate(issue({.mesh = "default", .tags = {{"kuma.io/service", {"web"}}}}), dp);
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_THAT(s.message(), HasSubstr("\"web-admin\" of tag \"kuma.io/service\" is not allowed"));
  EXPECT_THAT(s.message(), HasSubstr("[\"web\"]"));
  auto missing = authenticate(issue({.mesh = "default", .tags = {{"team", {"a"}}}}), dp);
  EXPECT_EQ(missing.message(), "required tag \"team\" is missing");
  EXPECT_TRUE(authenticate(issue({.mesh = "default", .tags = {{"version", {"v1"}}}}), dp).ok());
}

TEST_F(DataplaneTokenTest, ChecksWorkload) {
  const std::string token = issue({.mesh = "default", .workload = "web-wl"});
  EXPECT_TRUE(authenticate(token, dataplane("dp-1", {inbound(8080, "web")},
                                            {{"kuma.io/workload", "web-wl"}}))
                  .ok());
  EXPECT_THAT(
      authenticate(token, dataplane("dp-1", {inbound(8080, "web")}, {{"kuma.io/workload", "x"}}))
          .message(),
      HasSubstr("workload"));
  EXPECT_FALSE(authenticate(token, dataplane("dp-1", {inbound(8080, "web")})).ok());
}

TEST_F(DataplaneTokenTest, EndpointChecksBodyThenRightsThenIssues) {
  int authorizeCalls = 0;
  const auto allow = [&] {
    ++authorizeCalls;
    return absl::OkStatus();
  };
  const auto deny = [&] {
    ++authorizeCalls;
    return absl::PermissionDeniedError("no");
  };
  const DataplaneTokenEndpoint endpoint = dataplaneTokenEndpoint(*manager_, registry_, true);
  auto token = endpoint(R"({"name":"dp-1","mesh":"default","validFor":"1h"})", allow);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(parseJwt(*token)->claims["Name"], "dp-1");
  // An invalid body is refused before the rights are checked.
  EXPECT_TRUE(validators::ValidationError::fromStatus(endpoint(R"({"name":"x"})", deny).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(endpoint("{", deny).status()));
  EXPECT_EQ(authorizeCalls, 1);
  EXPECT_TRUE(absl::IsPermissionDenied(endpoint(R"({"mesh":"default"})", deny).status()));
  EXPECT_TRUE(absl::IsNotFound(endpoint(R"({"mesh":"nosuchmesh"})", allow).status()));
  auto disabled =
      dataplaneTokenEndpoint(*manager_, registry_, false)(R"({"mesh":"default"})", allow);
  EXPECT_TRUE(absl::IsFailedPrecondition(disabled.status()));
  EXPECT_EQ(disabled.status().message(), "issuing tokens using the control plane is disabled.");
}

TEST(DataplaneTokenRequestTest, ParsesKumactlBody) {
  auto r = parseDataplaneTokenRequest(
      R"({"name":"dp-1","mesh":"default","tags":{"kuma.io/service":["web"]},"type":"dataplane",
          "workload":"","validFor":"24h0m0s"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->identity.name, "dp-1");
  EXPECT_EQ(r->identity.mesh, "default");
  EXPECT_EQ(r->identity.tags.at("kuma.io/service"), std::vector<std::string>{"web"});
  EXPECT_EQ(r->identity.type, "dataplane");
  EXPECT_EQ(r->validFor, absl::Hours(24));
  // Empty validFor: 10 years; keys matched case-insensitively like Go; nulls are empty.
  auto d = parseDataplaneTokenRequest(R"({"Mesh":"default","tags":null,"validFor":""})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->identity.mesh, "default");
  EXPECT_EQ(d->validFor, absl::Hours(24 * 365 * 10));
}

TEST(DataplaneTokenRequestTest, UnreadableBodies) {
  for (const char* bad : {"", "not json", "[]", R"({"mesh":1})", R"({"tags":{"a":"b"}})",
                          R"({"tags":{"a":[1]}})", R"({"validFor":10})"}) {
    auto r = parseDataplaneTokenRequest(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
    EXPECT_EQ(r.status().message(), "") << bad;
    EXPECT_FALSE(validators::ValidationError::fromStatus(r.status()).has_value()) << bad;
  }
}

TEST(DataplaneTokenRequestTest, Violations) {
  auto r = parseDataplaneTokenRequest(R"({"name":"dp-1","validFor":"1 day","type":"gateway"})");
  auto errors = validators::ValidationError::fromStatus(r.status());
  ASSERT_TRUE(errors.has_value()) << r.status();
  ASSERT_EQ(errors->violations().size(), 3u) << errors->toString();
  EXPECT_EQ(errors->violations()[0].field, "mesh");
  EXPECT_EQ(errors->violations()[0].message, "cannot be empty");
  EXPECT_EQ(errors->violations()[1].field, "validFor");
  EXPECT_THAT(errors->violations()[1].message, ::testing::StartsWith("is invalid: time: "));
  EXPECT_EQ(errors->violations()[2].field, "type");
}

}  // namespace
}  // namespace kuma::tokens
