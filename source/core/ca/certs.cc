#include "source/core/ca/certs.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <ctime>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "source/common/crypto/openssl_util.h"

namespace kuma::ca {
namespace {

using crypto::BioPtr;
using crypto::opensslError;
using crypto::PkeyPtr;
using crypto::X509Ptr;

constexpr int kIdentityKeyBits = 2048;

absl::StatusOr<PkeyPtr> newRsaKey(int bits) {
  PkeyPtr key(EVP_RSA_gen(static_cast<unsigned int>(bits)));
  if (!key) {
    return opensslError("RSA key generation failed");
  }
  return key;
}

// PKCS#1 ("BEGIN RSA PRIVATE KEY") for RSA keys, as Go's x509.MarshalPKCS1PrivateKey.
absl::StatusOr<std::string> keyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                            nullptr)) {
    return opensslError("PEM encoding of the key failed");
  }
  return crypto::bioToString(bio.get());
}

absl::StatusOr<std::string> certToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) {
    return opensslError("PEM encoding of the certificate failed");
  }
  return crypto::bioToString(bio.get());
}

std::vector<X509Ptr> readCertificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (true) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      break;
    }
    out.push_back(std::move(cert));
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  return out;
}

PkeyPtr readKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return key;
}

absl::Status addConfExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  crypto::X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return opensslError(absl::StrCat("adding extension ", value, " failed").c_str());
  }
  return absl::OkStatus();
}

// URI SANs built as GENERAL_NAMEs: no escaping issues with OpenSSL's config syntax.
absl::Status addUriSans(X509* cert, const std::vector<std::string>& uris, bool critical) {
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  for (const std::string& uri : uris) {
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    ASN1_STRING_set(text, uri.data(), static_cast<int>(uri.size()));
    GENERAL_NAME_set0_value(name, GEN_URI, text);
    sk_GENERAL_NAME_push(names, name);
  }
  const int rc =
      X509_add1_ext_i2d(cert, NID_subject_alt_name, names, critical ? 1 : 0, X509V3_ADD_DEFAULT);
  GENERAL_NAMES_free(names);
  if (rc != 1) {
    return opensslError("adding the subject alternative names failed");
  }
  return absl::OkStatus();
}

void setValidity(X509* cert, absl::Time now, absl::Duration validity) {
  ASN1_TIME_set(X509_getm_notBefore(cert), absl::ToTimeT(now - kAllowedClockSkew));
  ASN1_TIME_set(X509_getm_notAfter(cert), absl::ToTimeT(now + validity));
}

// Signs `cert` with `signer` (SHA-256) and returns it with `key`, both as PEM.
absl::StatusOr<KeyPair> signAndEncode(X509* cert, EVP_PKEY* signer, EVP_PKEY* key,
                                      const std::string& what) {
  if (X509_sign(cert, signer, EVP_sha256()) == 0) {
    return opensslError(absl::StrCat("signing the ", what, " failed").c_str());
  }
  auto certPem = certToPem(cert);
  if (!certPem.ok()) {
    return certPem.status();
  }
  auto keyPem = keyToPem(key);
  if (!keyPem.ok()) {
    return keyPem.status();
  }
  return KeyPair{std::move(*certPem), std::move(*keyPem)};
}

}  // namespace

absl::StatusOr<absl::Duration> parseMeshDuration(std::string_view text) {
  if (text == "0") {
    return absl::ZeroDuration();
  }
  static const std::regex re("^(\\d+)(y|w|d|h|m|s|ms)$");
  std::cmatch m;
  int64_t n = 0;
  if (!std::regex_match(text.begin(), text.end(), m, re) || !absl::SimpleAtoi(m[1].str(), &n)) {
    return absl::InvalidArgumentError("has to be a valid format");
  }
  const std::string unit = m[2].str();
  if (unit == "y") {
    return absl::Hours(24 * 365) * n;
  }
  if (unit == "w") {
    return absl::Hours(24 * 7) * n;
  }
  if (unit == "d") {
    return absl::Hours(24) * n;
  }
  if (unit == "h") {
    return absl::Hours(n);
  }
  if (unit == "m") {
    return absl::Minutes(n);
  }
  if (unit == "s") {
    return absl::Seconds(n);
  }
  return absl::Milliseconds(n);
}

absl::StatusOr<KeyPair> generateRootCa(const std::string& mesh, int bits, absl::Duration validity,
                                       absl::Time now) {
  auto key = newRsaKey(bits);
  if (!key.ok()) {
    return key.status();
  }
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 0);
  setValidity(cert.get(), now, validity);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : std::vector<std::pair<const char*, std::string>>{
           {"O", "Kuma"}, {"OU", "Mesh"}, {"CN", mesh}}) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key->get());
  for (const auto& [nid, value] :
       std::vector<std::pair<int, const char*>>{{NID_key_usage, "critical,keyCertSign,cRLSign"},
                                                {NID_basic_constraints, "critical,CA:TRUE"},
                                                {NID_subject_key_identifier, "hash"}}) {
    if (absl::Status s = addConfExtension(cert.get(), cert.get(), nid, value); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = addUriSans(cert.get(), {absl::StrCat("spiffe://", mesh)}, false); !s.ok()) {
    return s;
  }
  return signAndEncode(cert.get(), key->get(), key->get(), "CA certificate");
}

std::vector<std::string> identityUris(const std::string& mesh, const MultiValueTags& tags) {
  std::vector<std::string> uris;
  if (auto it = tags.find("kuma.io/service"); it != tags.end()) {
    for (const std::string& service : it->second) {
      uris.push_back(absl::StrCat("spiffe://", mesh, "/", service));
    }
  }
  for (const auto& [tag, values] : tags) {
    for (const std::string& value : values) {
      uris.push_back(absl::StrCat("kuma://", tag, "/", value));
    }
  }
  return uris;
}

absl::StatusOr<KeyPair> issueIdentityCert(const KeyPair& signer, const std::string& mesh,
                                          const MultiValueTags& tags, absl::Duration lifetime,
                                          absl::Time now) {
  std::vector<X509Ptr> caCerts = readCertificates(signer.certPem);
  PkeyPtr caKey = readKey(signer.keyPem);
  if (caCerts.empty() || !caKey) {
    return absl::InvalidArgumentError(
        absl::StrCat("the CA of mesh ", mesh, " is not a valid PEM certificate and key"));
  }
  X509* ca = caCerts.front().get();
  const std::vector<std::string> uris = identityUris(mesh, tags);
  if (uris.empty()) {
    return absl::InvalidArgumentError("a proxy identity needs at least one tag");
  }
  auto key = newRsaKey(kIdentityKeyBits);
  if (!key.ok()) {
    return key.status();
  }
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) {
    return opensslError("random serial");
  }
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  if (BN_is_zero(bn)) {
    BN_one(bn);
  }
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  setValidity(cert.get(), now, lifetime);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca));
  X509_set_pubkey(cert.get(), key->get());
  std::vector<std::pair<int, const char*>> extensions = {
      {NID_key_usage, "critical,digitalSignature,keyEncipherment,keyAgreement"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      {NID_basic_constraints, "critical,CA:FALSE"}};
  if (X509_get0_subject_key_id(ca) != nullptr) {
    extensions.push_back({NID_authority_key_identifier, "keyid:always"});
  }
  for (const auto& [nid, value] : extensions) {
    if (absl::Status s = addConfExtension(cert.get(), ca, nid, value); !s.ok()) {
      return s;
    }
  }
  // Empty subject: the SANs are the identity and must be critical (RFC 5280 4.2.1.6).
  if (absl::Status s = addUriSans(cert.get(), uris, true); !s.ok()) {
    return s;
  }
  return signAndEncode(cert.get(), caKey.get(), key->get(), "identity certificate");
}

void validateSigningPair(const KeyPair& pair, validators::ValidationError& errors) {
  std::vector<X509Ptr> certs = readCertificates(pair.certPem);
  PkeyPtr key = readKey(pair.keyPem);
  if (certs.empty()) {
    errors.addViolation("cert", "not a valid TLS key pair: no PEM certificate found");
    return;
  }
  if (!key) {
    errors.addViolation("cert", "not a valid TLS key pair: no valid PEM private key found");
    return;
  }
  if (X509_check_private_key(certs.front().get(), key.get()) != 1) {
    ERR_clear_error();
    errors.addViolation("cert", "not a valid TLS key pair: private key does not match public key");
    return;
  }
  for (size_t i = 0; i < certs.size(); ++i) {
    X509* cert = certs[i].get();
    const auto path = validators::PathBuilder("cert").index(i);
    const uint32_t flags = X509_get_extension_flags(cert);
    if ((flags & EXFLAG_CA) == 0) {
      errors.addViolationAt(
          path,
          "basic constraint 'CA' must be set to 'true' (see X509-SVID: 4.1. Basic Constraints)");
    }
    if ((flags & EXFLAG_KUSAGE) == 0 || (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) == 0) {
      errors.addViolationAt(
          path, "key usage extension 'keyCertSign' must be set (see X509-SVID: 4.3. Key Usage)");
    }
  }
}

absl::StatusOr<CertificateInfo> describeCertificate(const std::string& pem) {
  std::vector<X509Ptr> certs = readCertificates(pem);
  if (certs.empty()) {
    return absl::InvalidArgumentError("no PEM certificate found");
  }
  X509* cert = certs.front().get();
  CertificateInfo info;
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  info.serialHex = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_ONELINE);
  info.subject = crypto::bioToString(bio.get());
  const auto toTime = [](const ASN1_TIME* t) {
    struct tm tm = {};
    ASN1_TIME_to_tm(t, &tm);
    return absl::FromTimeT(timegm(&tm));
  };
  info.notBefore = toTime(X509_get0_notBefore(cert));
  info.notAfter = toTime(X509_get0_notAfter(cert));
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type == GEN_URI) {
        const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
        info.uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                               static_cast<size_t>(ASN1_STRING_length(uri)));
      }
    }
    GENERAL_NAMES_free(names);
  }
  const uint32_t flags = X509_get_extension_flags(cert);
  info.isCa = (flags & EXFLAG_CA) != 0;
  info.keyUsage = (flags & EXFLAG_KUSAGE) != 0 ? X509_get_key_usage(cert) : 0;
  info.extendedKeyUsage = (flags & EXFLAG_XKUSAGE) != 0 ? X509_get_extended_key_usage(cert) : 0;
  return info;
}

absl::StatusOr<std::vector<std::string>> splitPemCertificates(const std::string& pem) {
  std::vector<std::string> out;
  for (const X509Ptr& cert : readCertificates(pem)) {
    auto text = certToPem(cert.get());
    if (!text.ok()) {
      return text.status();
    }
    out.push_back(std::move(*text));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("no PEM certificate found");
  }
  return out;
}

}  // namespace kuma::ca
