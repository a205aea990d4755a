#pragma once

// File: pki.h
// Key and certificate generation for the resources Kuma creates by itself (signing keys,
// the Envoy admin CA), on OpenSSL 3.

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

}  // namespace kuma::crypto
