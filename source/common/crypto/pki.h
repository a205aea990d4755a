#pragma once

// File: pki.h
// Key and certificate generation for the resources Kuma creates by itself (signing keys,
// the Envoy admin CA), on OpenSSL 3.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kuma::crypto {

/** A new RSA private key as PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"), as Kuma stores signing keys. */
absl::StatusOr<std::string> generateRsaKeyPem(int bits = 2048);

struct CertAndKey {
  std::string certPem;
  std::string keyPem;
};

/** What a self-signed certificate carries. */
struct SelfSignedCertSpec {
  /** Subject entries in order, e.g. {{"O", "Kuma"}, {"CN", "x"}}; empty: an empty subject. */
  std::vector<std::pair<std::string, std::string>> subject;
  /** X.509v3 extensions as (NID, OpenSSL config value), e.g. {NID_basic_constraints,
   * "critical,CA:TRUE"}. */
  std::vector<std::pair<int, std::string>> extensions;
  absl::Duration validity = absl::Hours(24 * 365);
  int bits = 2048;
};

/**
 * A new RSA key and a certificate signed with it (SHA-256, random serial, valid from 5 minutes
 * ago to tolerate clock skew). InternalError when OpenSSL fails or rejects an extension.
 */
absl::StatusOr<CertAndKey> generateSelfSignedCert(const SelfSignedCertSpec& spec);

/**
 * A self-signed CA certificate (BasicConstraints CA:true, KeyUsage certSign|crlSign|
 * digitalSignature) with subject O=<organization>, OU=<unit>, CN=<commonName>.
 */
absl::StatusOr<CertAndKey> generateSelfSignedCa(const std::string& organization,
                                                const std::string& unit,
                                                const std::string& commonName,
                                                absl::Duration validity, int bits = 2048);

/** Key of a leaf certificate. */
enum class LeafKey { Rsa2048, EcdsaP256 };

/** What a leaf certificate signed by a CA carries (Kuma's `pkg/tls` NewCert). */
struct LeafCertSpec {
  /** SANs: entries that parse as IPv4/IPv6 become IP SANs, the others DNS SANs. */
  std::vector<std::string> hosts;
  /** ExtendedKeyUsage serverAuth (true) or clientAuth (false). */
  bool server = true;
  LeafKey key = LeafKey::Rsa2048;
  absl::Duration validity = absl::Hours(24 * 365 * 10);
};

/**
 * A CA, parsed once, that signs leaf certificates (Kuma's `pkg/tls` NewCert): each a new key and
 * a certificate for it: SHA-256, random 128-bit serial, empty subject, issuer = the CA's subject,
 * valid from 5 minutes ago to `validity` after that, BasicConstraints CA:false, KeyUsage
 * digitalSignature|keyEncipherment, the one ExtendedKeyUsage, AuthorityKeyId when the CA has a
 * SubjectKeyId, and the SANs (critical, the subject being empty). Keys are PEM in their
 * traditional form (PKCS#1 / SEC 1). Thread-safe: issue() only reads the CA.
 */
class LeafCertIssuer {
 public:
  /**
   * @param ca the CA certificate (first PEM certificate of `certPem`) and its key (first PEM key
   *        of `keyPem`; both may be the same bundle).
   * @return InvalidArgument when they do not parse or do not match.
   */
  static absl::StatusOr<std::shared_ptr<const LeafCertIssuer>> create(const CertAndKey& ca);
  ~LeafCertIssuer();

  /** @return InvalidArgument for an empty host; Internal on OpenSSL failures. */
  absl::StatusOr<CertAndKey> issue(const LeafCertSpec& spec) const;

 private:
  struct Impl;
  explicit LeafCertIssuer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/** LeafCertIssuer::create(ca) then issue(spec), for a one-off certificate. */
absl::StatusOr<CertAndKey> issueLeafCert(const CertAndKey& ca, const LeafCertSpec& spec);

}  // namespace kuma::crypto
