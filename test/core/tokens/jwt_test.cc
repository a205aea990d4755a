#include "source/core/tokens/jwt.h"

#include "gtest/gtest.h"
#include "source/common/crypto/pki.h"

namespace kuma::tokens {
namespace {

using nlohmann::ordered_json;

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_ = new std::string(*crypto::generateRsaKeyPem(2048));
    otherKey_ = new std::string(*crypto::generateRsaKeyPem(2048));
  }
  static void TearDownTestSuite() {
    delete key_;
    delete otherKey_;
  }
  static std::string* key_;
  static std::string* otherKey_;
};
std::string* JwtTest::key_ = nullptr;
std::string* JwtTest::otherKey_ = nullptr;

const ordered_json kHeader = {{"alg", "RS256"}, {"kid", "1"}, {"typ", "JWT"}};

TEST(Base64Url, RoundTripsBinaryWithoutPadding) {
  const std::string data("\xfb\xff\x00\x01hello", 9);
  const std::string encoded = base64UrlEncode(data);
  EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos) << encoded;
  EXPECT_EQ(encoded, "-_8AAWhlbGxv");
  auto decoded = base64UrlDecode(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, data);
}

TEST(Base64Url, RejectsPaddingAndStandardAlphabet) {
  EXPECT_FALSE(base64UrlDecode("aGk=").ok());
  EXPECT_FALSE(base64UrlDecode("+/8A").ok());
  EXPECT_FALSE(base64UrlDecode("a$b").ok());
}

TEST_F(JwtTest, SignsAndVerifies) {
  const ordered_json claims = {{"Name", "dp-1"}, {"jti", "x"}};
  auto token = signRs256(kHeader, claims, *key_);
  ASSERT_TRUE(token.ok()) << token.status();
  // Header serialized in the given key order.
  EXPECT_EQ(token->substr(0, token->find('.')),
            base64UrlEncode(R"({"alg":"RS256","kid":"1","typ":"JWT"})"));
  auto parsed = parseJwt(*token);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->header["kid"], "1");
  EXPECT_EQ(parsed->claims["Name"], "dp-1");
  EXPECT_EQ(parsed->signature.size(), 256u);  // RSA-2048
  EXPECT_TRUE(verifyRs256(*parsed, *key_).ok());
}

TEST_F(JwtTest, RefusesAnotherKey) {
  auto token = signRs256(kHeader, {{"Name", "dp-1"}}, *key_);
  ASSERT_TRUE(token.ok());
  auto parsed = parseJwt(*token);
  ASSERT_TRUE(parsed.ok());
  absl::Status s = verifyRs256(*parsed, *otherKey_);
  EXPECT_TRUE(absl::IsUnauthenticated(s)) << s;
  EXPECT_EQ(s.message(), "token signature is invalid");
}

TEST_F(JwtTest, RefusesTamperedClaimsAndSignature) {
  auto token = signRs256(kHeader, {{"Name", "dp-1"}}, *key_);
  ASSERT_TRUE(token.ok());
  const size_t first = token->find('.');
  const size_t second = token->find('.', first + 1);
  // Same header and signature, claims of another proxy.
  const std::string forged =
      token->substr(0, first + 1) + base64UrlEncode(R"({"Name":"dp-2"})") + token->substr(second);
  auto parsed = parseJwt(forged);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(absl::IsUnauthenticated(verifyRs256(*parsed, *key_)));
  // One flipped signature character.
  std::string midFlipped = *token;
  char& c = midFlipped[second + 10];
  c = c == 'A' ? 'B' : 'A';
  auto parsedMid = parseJwt(midFlipped);
  ASSERT_TRUE(parsedMid.ok()) << parsedMid.status();
  EXPECT_TRUE(absl::IsUnauthenticated(verifyRs256(*parsedMid, *key_)));
}

TEST_F(JwtTest, RefusesOtherAlgorithms) {
  for (const ordered_json& header : {ordered_json{{"alg", "none"}, {"kid", "1"}},
                                     ordered_json{{"alg", "HS256"}}, ordered_json{{"kid", "1"}}}) {
    auto token = signRs256(header, {{"Name", "dp-1"}}, *key_);
    ASSERT_TRUE(token.ok());
    auto parsed = parseJwt(*token);
    ASSERT_TRUE(parsed.ok());
    absl::Status s = verifyRs256(*parsed, *key_);
    EXPECT_TRUE(absl::IsUnauthenticated(s)) << header.dump();
    EXPECT_NE(s.message().find("is invalid"), std::string::npos) << s;
  }
}

TEST_F(JwtTest, ParseRejectsMalformedTokens) {
  const std::string claims = base64UrlEncode(R"({"a":1})");
  const std::string header = base64UrlEncode(R"({"alg":"RS256"})");
  for (const std::string& bad :
       {std::string(""), std::string("abc"), header + "." + claims,
        header + "." + claims + ".sig.extra", base64UrlEncode("[1]") + "." + claims + ".c2ln",
        header + "." + base64UrlEncode("not json") + ".c2ln", header + ".%%%." + "c2ln",
        header + "." + claims + ".c2ln="}) {
    EXPECT_TRUE(absl::IsInvalidArgument(parseJwt(bad).status())) << bad;
  }
  EXPECT_EQ(parseJwt("a.b").status().message(), "token contains an invalid number of segments");
}

TEST_F(JwtTest, UnreadableKeys) {
  EXPECT_TRUE(absl::IsInvalidArgument(signRs256(kHeader, {}, "not a key").status()));
  auto token = signRs256(kHeader, ordered_json::object(), *key_);
  ASSERT_TRUE(token.ok());
  auto parsed = parseJwt(*token);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(verifyRs256(*parsed, "garbage")));
}

}  // namespace
}  // namespace kuma::tokens
