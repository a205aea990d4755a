#include "source/common/crypto/pki.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/str_cat.h"

#include "source/common/crypto/openssl_util.h"

namespace kuma::crypto {
namespace {

absl::StatusOr<PkeyPtr> newRsaKey(int bits) {
  PkeyPtr key(EVP_RSA_gen(static_cast<unsigned int>(bits)));
  if (!key) {
    return opensslError("RSA key generation failed");
  }
  return key;
}

// PKCS#1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"), as Go's pemEncodeKey.
absl::StatusOr<std::string> keyToTraditionalPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                            nullptr)) {
    return opensslError("PEM encoding of the key failed");
  }
  return bioToString(bio.get());
}

bool addExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

absl::StatusOr<PkeyPtr> newEcdsaP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    return opensslError("ECDSA key generation failed");
  }
  return key;
}

// The SANs of `hosts` as one extension: IP addresses as iPAddress, the rest as dNSName.
absl::Status addHostSans(X509* cert, const std::vector<std::string>& hosts, bool critical) {
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  absl::Status status;
  for (const std::string& host : hosts) {
    if (host.empty()) {
      status = absl::InvalidArgumentError("a certificate host must not be empty");
      break;
    }
    unsigned char ip[16];
    int ipLen = 0;
    if (inet_pton(AF_INET, host.c_str(), ip) == 1) {
      ipLen = 4;
    } else if (inet_pton(AF_INET6, host.c_str(), ip) == 1) {
      ipLen = 16;
    }
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (ipLen > 0) {
      ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
      ASN1_OCTET_STRING_set(value, ip, ipLen);
      GENERAL_NAME_set0_value(name, GEN_IPADD, value);
    } else {
      ASN1_IA5STRING* value = ASN1_IA5STRING_new();
      ASN1_STRING_set(value, host.data(), static_cast<int>(host.size()));
      GENERAL_NAME_set0_value(name, GEN_DNS, value);
    }
    sk_GENERAL_NAME_push(names, name);
  }
  if (status.ok() && sk_GENERAL_NAME_num(names) > 0 &&
      X509_add1_ext_i2d(cert, NID_subject_alt_name, names, critical ? 1 : 0, X509V3_ADD_DEFAULT) !=
          1) {
    status = opensslError("adding the subject alternative names failed");
  }
  GENERAL_NAMES_free(names);
  return status;
}

}  // namespace

absl::StatusOr<std::string> generateRsaKeyPem(int bits) {
  auto key = newRsaKey(bits);
  if (!key.ok()) {
    return key.status();
  }
  return keyToTraditionalPem(key->get());
}

absl::StatusOr<CertAndKey> generateSelfSignedCert(const SelfSignedCertSpec& spec) {
  auto key = newRsaKey(spec.bits);
  if (!key.ok()) {
    return key.status();
  }
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  // Valid from a few minutes ago, to tolerate clock skew between CP and proxies.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -5 * 60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(spec.validity));
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : spec.subject) {
    X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key->get());
  for (const auto& [nid, value] : spec.extensions) {
    if (!addExtension(cert.get(), nid, value.c_str())) {
      return opensslError("adding certificate extensions failed");
    }
  }
  if (X509_sign(cert.get(), key->get(), EVP_sha256()) == 0) {
    return opensslError("signing the certificate failed");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert.get())) {
    return opensslError("PEM encoding of the certificate failed");
  }
  auto keyPem = keyToTraditionalPem(key->get());
  if (!keyPem.ok()) {
    return keyPem.status();
  }
  return CertAndKey{bioToString(bio.get()), std::move(*keyPem)};
}

absl::StatusOr<CertAndKey> generateSelfSignedCa(const std::string& organization,
                                                const std::string& unit,
                                                const std::string& commonName,
                                                absl::Duration validity, int bits) {
  SelfSignedCertSpec spec;
  spec.subject = {{"O", organization}, {"OU", unit}, {"CN", commonName}};
  spec.extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
                     {NID_subject_key_identifier, "hash"}};
  spec.validity = validity;
  spec.bits = bits;
  return generateSelfSignedCert(spec);
}

struct LeafCertIssuer::Impl {
  X509Ptr cert;
  PkeyPtr key;
};

LeafCertIssuer::LeafCertIssuer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LeafCertIssuer::~LeafCertIssuer() = default;

absl::StatusOr<std::shared_ptr<const LeafCertIssuer>> LeafCertIssuer::create(const CertAndKey& ca) {
  auto impl = std::make_unique<Impl>();
  BioPtr certBio(BIO_new_mem_buf(ca.certPem.data(), static_cast<int>(ca.certPem.size())));
  impl->cert.reset(PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr));
  BioPtr keyBio(BIO_new_mem_buf(ca.keyPem.data(), static_cast<int>(ca.keyPem.size())));
  impl->key.reset(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!impl->cert || !impl->key || X509_check_private_key(impl->cert.get(), impl->key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the CA is not a PEM certificate with its private key");
  }
  // Caches the CA's extensions now, so that concurrent issue() calls only read it.
  X509_check_purpose(impl->cert.get(), -1, 0);
  return std::shared_ptr<const LeafCertIssuer>(new LeafCertIssuer(std::move(impl)));
}

absl::StatusOr<CertAndKey> LeafCertIssuer::issue(const LeafCertSpec& spec) const {
  X509* caCert = impl_->cert.get();
  EVP_PKEY* caKey = impl_->key.get();
  auto key = spec.key == LeafKey::EcdsaP256 ? newEcdsaP256Key() : newRsaKey(2048);
  if (!key.ok()) {
    return key.status();
  }
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) {
    return opensslError("random serial");
  }
  serial[0] &= 0x7f;
  serial[15] |= 0x01;  // never zero
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  constexpr long kClockSkew = 5 * 60;
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kClockSkew);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(spec.validity) - kClockSkew);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(caCert));
  X509_set_pubkey(cert.get(), key->get());
  std::vector<std::pair<int, const char*>> extensions = {
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, spec.server ? "serverAuth" : "clientAuth"},
      {NID_basic_constraints, "critical,CA:FALSE"}};
  if (X509_get0_subject_key_id(caCert) != nullptr) {
    extensions.push_back({NID_authority_key_identifier, "keyid:always"});
  }
  for (const auto& [nid, value] : extensions) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, caCert, cert.get(), nullptr, nullptr, 0);
    X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      return opensslError(absl::StrCat("adding extension ", value, " failed").c_str());
    }
  }
  if (absl::Status s = addHostSans(cert.get(), spec.hosts, /*critical=*/true); !s.ok()) {
    return s;
  }
  if (X509_sign(cert.get(), caKey, EVP_sha256()) == 0) {
    return opensslError("signing the certificate failed");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert.get())) {
    return opensslError("PEM encoding of the certificate failed");
  }
  auto keyPem = keyToTraditionalPem(key->get());
  if (!keyPem.ok()) {
    return keyPem.status();
  }
  return CertAndKey{bioToString(bio.get()), std::move(*keyPem)};
}

absl::StatusOr<CertAndKey> issueLeafCert(const CertAndKey& ca, const LeafCertSpec& spec) {
  auto issuer = LeafCertIssuer::create(ca);
  if (!issuer.ok()) {
    return issuer.status();
  }
  return (*issuer)->issue(spec);
}

}  // namespace kuma::crypto
