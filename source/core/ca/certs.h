#pragma once

// File: certs.h
// The X.509 material of Kuma's mesh mTLS (spec §8.1, §8.2), on OpenSSL 3: the builtin root CA,
// the per-proxy identity certificates every CA backend issues, the checks a user-supplied
// (provided) CA must pass, and Kuma's duration syntax of `dpCert.rotation.expiration`.
//
//   KUMA_ASSIGN_OR_RETURN(KeyPair ca, generateRootCa("default", 2048, absl::Hours(87600), now));
//   KUMA_ASSIGN_OR_RETURN(KeyPair id, issueIdentityCert(ca, "default", tags, absl::Hours(24),
//   now));

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "source/core/validators/validation_error.h"

namespace kuma::ca {

/** A PEM certificate (chain) and its PEM private key. */
struct KeyPair {
  std::string certPem;
  std::string keyPem;
};

/** Tag → every value it has on the proxy's inbounds (Kuma's MultiValueTagSet). */
using MultiValueTags = std::map<std::string, std::set<std::string>>;

/** Kuma's clock skew allowance: certificates are valid from 10 s before their issue. */
inline constexpr absl::Duration kAllowedClockSkew = absl::Seconds(10);
/** Lifetime of an identity certificate without `dpCert.rotation.expiration`. */
inline constexpr absl::Duration kDefaultIdentityLifetime = absl::Hours(24);
/** Lifetime of a builtin CA without `conf.caCert.expiration` (10y). */
inline constexpr absl::Duration kDefaultCaLifetime = absl::Hours(24 * 365 * 10);

/**
 * Parses Kuma's mesh duration syntax `^(\d+)(y|w|d|h|m|s|ms)$` (y = 365d, w = 7d), or "0".
 * @return InvalidArgument "has to be a valid format" for anything else.
 */
absl::StatusOr<absl::Duration> parseMeshDuration(std::string_view text);

/**
 * A new self-signed root CA of `mesh` as Kuma's builtin backend makes it: RSA `bits`, subject
 * O=Kuma, OU=Mesh, CN=<mesh>, serial 0, valid from now−10s to now+`validity`, KeyUsage
 * keyCertSign|cRLSign (critical), BasicConstraints CA:true (critical), URI SAN spiffe://<mesh>.
 * The key is PKCS#1 PEM.
 */
absl::StatusOr<KeyPair> generateRootCa(const std::string& mesh, int bits, absl::Duration validity,
                                       absl::Time now);

/** The URI SANs of an identity certificate in Kuma's order (§8.2). */
std::vector<std::string> identityUris(const std::string& mesh, const MultiValueTags& tags);

/**
 * A new identity certificate signed by `signer`: RSA-2048 key, random 128-bit serial (≥ 1),
 * empty subject, valid from now−10s to now+`lifetime`, KeyUsage keyEncipherment|keyAgreement|
 * digitalSignature, ExtKeyUsage serverAuth+clientAuth, the URI SANs of identityUris().
 * @return InvalidArgument when `signer` does not parse or `tags` has no value at all.
 */
absl::StatusOr<KeyPair> issueIdentityCert(const KeyPair& signer, const std::string& mesh,
                                          const MultiValueTags& tags, absl::Duration lifetime,
                                          absl::Time now);

/**
 * Appends the violations of a CA key pair that should sign identities (Kuma's provided CA
 * rules): the pair must parse and match, and every certificate must be a CA (`cert[i]`) with
 * keyCertSign. Paths are relative to the backend's `conf`.
 */
void validateSigningPair(const KeyPair& pair, validators::ValidationError& errors);

/** What tests and the identity cache read back from a certificate. */
struct CertificateInfo {
  std::string serialHex;  // uppercase hex, "0" for serial 0
  std::string subject;    // OpenSSL one-line form, e.g. "O = Kuma, OU = Mesh, CN = default"
  absl::Time notBefore;
  absl::Time notAfter;
  std::vector<std::string> uris;  // URI SANs in order
  bool isCa = false;
  uint32_t keyUsage = 0;          // OpenSSL KU_* bits (0 without the extension)
  uint32_t extendedKeyUsage = 0;  // OpenSSL XKU_* bits
};

/** Parses the first certificate of `pem`. @return InvalidArgument when there is none. */
absl::StatusOr<CertificateInfo> describeCertificate(const std::string& pem);

/** Every certificate of a PEM bundle, PEM-encoded one by one (for the mesh_ca secret). */
absl::StatusOr<std::vector<std::string>> splitPemCertificates(const std::string& pem);

}  // namespace kuma::ca
