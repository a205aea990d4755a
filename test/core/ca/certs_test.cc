// The X.509 material of spec §8.1/§8.2, parsed back with OpenSSL.

#include "source/core/ca/certs.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/openssl_util.h"
#include "source/common/crypto/pki.h"

namespace kuma::ca {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

crypto::X509Ptr parse(const std::string& pem) {
  crypto::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return crypto::X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bool extensionCritical(X509* cert, int nid) {
  const int idx = X509_get_ext_by_NID(cert, nid, -1);
  return idx >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, idx)) == 1;
}

TEST(MeshDuration, KumaUnits) {
  EXPECT_EQ(*parseMeshDuration("10y"), absl::Hours(24 * 365 * 10));
  EXPECT_EQ(*parseMeshDuration("2w"), absl::Hours(24 * 14));
  EXPECT_EQ(*parseMeshDuration("1d"), absl::Hours(24));
  EXPECT_EQ(*parseMeshDuration("3h"), absl::Hours(3));
  EXPECT_EQ(*parseMeshDuration("1m"), absl::Minutes(1));
  EXPECT_EQ(*parseMeshDuration("30s"), absl::Seconds(30));
  EXPECT_EQ(*parseMeshDuration("250ms"), absl::Milliseconds(250));
  EXPECT_EQ(*parseMeshDuration("0"), absl::ZeroDuration());
}

TEST(MeshDuration, RejectsGoDurationsAndGarbage) {
  for (const char* bad : {"", "1h30m", "1.5h", "h", "-1s", "10", "1H", "1 d"}) {
    auto parsed = parseMeshDuration(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().message(), "has to be a valid format");
  }
}

TEST(RootCa, AsKumaBuiltin) {
  auto ca = generateRootCa("demo", 2048, absl::Hours(24 * 365 * 10), kNow);
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_THAT(ca->keyPem, HasSubstr("-----BEGIN RSA PRIVATE KEY-----"));
  auto info = describeCertificate(ca->certPem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->subject, "O = Kuma, OU = Mesh, CN = demo");
  EXPECT_EQ(info->serialHex, "0");
  EXPECT_EQ(info->notBefore, kNow - absl::Seconds(10));
  EXPECT_EQ(info->notAfter, kNow + absl::Hours(24 * 365 * 10));
  EXPECT_THAT(info->uris, ElementsAre("spiffe://demo"));
  EXPECT_TRUE(info->isCa);
  EXPECT_EQ(info->keyUsage, static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  crypto::X509Ptr cert = parse(ca->certPem);
  ASSERT_TRUE(cert);
  EXPECT_TRUE(extensionCritical(cert.get(), NID_basic_constraints));
  EXPECT_TRUE(extensionCritical(cert.get(), NID_key_usage));
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(cert.get())), 2048);
  // Self-signed.
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(cert.get())), 1);
  validators::ValidationError errors;
  validateSigningPair(*ca, errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();
}

TEST(RootCa, HonoursKeySize) {
  auto ca = generateRootCa("m", 3072, absl::Hours(1), kNow);
  ASSERT_TRUE(ca.ok()) << ca.status();
  crypto::X509Ptr cert = parse(ca->certPem);
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(cert.get())), 3072);
}

TEST(IdentityUris, ServicesFirstThenEveryTagSorted) {
  MultiValueTags tags = {{"kuma.io/service", {"web", "admin"}},
                         {"version", {"v1"}},
                         {"kuma.io/protocol", {"http"}},
                         {"kuma.io/zone", {"default"}}};
  EXPECT_THAT(
      identityUris("default", tags),
      ElementsAre("spiffe://default/admin", "spiffe://default/web", "kuma://kuma.io/protocol/http",
                  "kuma://kuma.io/service/admin", "kuma://kuma.io/service/web",
                  "kuma://kuma.io/zone/default", "kuma://version/v1"));
}

TEST(IdentityCert, AsKumaIssuer) {
  auto ca = generateRootCa("default", 2048, absl::Hours(1000), kNow);
  ASSERT_TRUE(ca.ok());
  MultiValueTags tags = {{"kuma.io/service", {"web"}},
                         {"kuma.io/protocol", {"http"}},
                         {"kuma.io/zone", {"default"}},
                         {"version", {"v1"}}};
  auto id = issueIdentityCert(*ca, "default", tags, absl::Minutes(1), kNow);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_THAT(id->keyPem, HasSubstr("-----BEGIN RSA PRIVATE KEY-----"));
  auto info = describeCertificate(id->certPem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->subject, "");
  EXPECT_THAT(info->uris, ElementsAre("spiffe://default/web", "kuma://kuma.io/protocol/http",
                                      "kuma://kuma.io/service/web", "kuma://kuma.io/zone/default",
                                      "kuma://version/v1"));
  EXPECT_EQ(info->notBefore, kNow - absl::Seconds(10));
  EXPECT_EQ(info->notAfter, kNow + absl::Minutes(1));
  EXPECT_FALSE(info->isCa);
  EXPECT_EQ(info->keyUsage,
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT));
  EXPECT_EQ(info->extendedKeyUsage, static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_NE(info->serialHex, "0");
  EXPECT_LE(info->serialHex.size(), 32u);  // 128 bits
  crypto::X509Ptr cert = parse(id->certPem);
  crypto::X509Ptr root = parse(ca->certPem);
  EXPECT_TRUE(extensionCritical(cert.get(), NID_subject_alt_name));  // empty subject
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(root.get())), 1);
  EXPECT_EQ(X509_check_issued(root.get(), cert.get()), X509_V_OK);
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(cert.get())), 2048);

  // Two identities never share a serial or a key.
  auto other = issueIdentityCert(*ca, "default", tags, absl::Minutes(1), kNow);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(describeCertificate(other->certPem)->serialHex, info->serialHex);
  EXPECT_NE(other->keyPem, id->keyPem);
}

TEST(IdentityCert, RejectsBadSignerAndEmptyTags) {
  auto ca = generateRootCa("default", 2048, absl::Hours(1), kNow);
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(issueIdentityCert({"garbage", ca->keyPem}, "default", {{"kuma.io/service", {"a"}}},
                              absl::Hours(1), kNow)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issueIdentityCert({ca->certPem, ""}, "default", {{"kuma.io/service", {"a"}}},
                              absl::Hours(1), kNow)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(issueIdentityCert(*ca, "default", {}, absl::Hours(1), kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SigningPair, LeafIsNotACa) {
  auto ca = generateRootCa("default", 2048, absl::Hours(1), kNow);
  auto leaf = issueIdentityCert(*ca, "default", {{"kuma.io/service", {"a"}}}, absl::Hours(1), kNow);
  ASSERT_TRUE(leaf.ok());
  validators::ValidationError errors;
  validateSigningPair(*leaf, errors);
  ASSERT_EQ(errors.violations().size(), 2u) << errors.toString();
  EXPECT_EQ(errors.violations()[0].field, "cert[0]");
  EXPECT_EQ(errors.violations()[0].message,
            "basic constraint 'CA' must be set to 'true' (see X509-SVID: 4.1. Basic Constraints)");
  EXPECT_EQ(errors.violations()[1].message,
            "key usage extension 'keyCertSign' must be set (see X509-SVID: 4.3. Key Usage)");
}

TEST(SigningPair, MismatchedKeyAndGarbage) {
  auto ca = generateRootCa("default", 2048, absl::Hours(1), kNow);
  auto otherKey = crypto::generateRsaKeyPem(2048);
  ASSERT_TRUE(ca.ok() && otherKey.ok());
  validators::ValidationError mismatch;
  validateSigningPair({ca->certPem, *otherKey}, mismatch);
  ASSERT_EQ(mismatch.violations().size(), 1u);
  EXPECT_EQ(mismatch.violations()[0].field, "cert");
  EXPECT_THAT(mismatch.violations()[0].message, HasSubstr("not a valid TLS key pair"));

  validators::ValidationError garbage;
  validateSigningPair({"not a cert", "not a key"}, garbage);
  ASSERT_EQ(garbage.violations().size(), 1u);
  EXPECT_THAT(garbage.violations()[0].message, HasSubstr("no PEM certificate"));
}

TEST(SplitPem, EveryCertificate) {
  auto a = generateRootCa("a", 2048, absl::Hours(1), kNow);
  auto b = generateRootCa("b", 2048, absl::Hours(1), kNow);
  auto certs = splitPemCertificates(a->certPem + b->certPem);
  ASSERT_TRUE(certs.ok());
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ((*certs)[0], a->certPem);
  EXPECT_EQ((*certs)[1], b->certPem);
  EXPECT_FALSE(splitPemCertificates("nothing").ok());
}

}  // namespace
}  // namespace kuma::ca
