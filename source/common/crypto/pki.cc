#include "source/common/crypto/pki.h"

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

absl::StatusOr<std::string> keyToPkcs1Pem(EVP_PKEY* key) {
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

}  // namespace

absl::StatusOr<std::string> generateRsaKeyPem(int bits) {
  auto key = newRsaKey(bits);
  if (!key.ok()) {
    return key.status();
  }
  return keyToPkcs1Pem(key->get());
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
  auto keyPem = keyToPkcs1Pem(key->get());
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

}  // namespace kuma::crypto
