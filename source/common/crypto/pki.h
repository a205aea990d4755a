#pragma once

// File: pki.h
// Key and certificate generation for the resources Kuma creates by itself (signing keys,
// the Envoy admin CA), on OpenSSL 3.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kuma::crypto {

/** A new RSA private key as PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"), as Kuma stores signing keys. */
absl::StatusOr<std::string> generateRsaKeyPem(int bits = 2048);

struct CertAndKey {
  std::string certPem;
  std::string keyPem;
};

/**
 * A self-signed CA certificate (BasicConstraints CA:true, KeyUsage certSign|crlSign|
 * digitalSignature) with subject O=<organization>, OU=<unit>, CN=<commonName>.
 */
absl::StatusOr<CertAndKey> generateSelfSignedCa(const std::string& organization,
                                                const std::string& unit,
                                                const std::string& commonName,
                                                absl::Duration validity, int bits = 2048);

}  // namespace kuma::crypto
