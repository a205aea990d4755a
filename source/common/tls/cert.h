#pragma once

// File: cert.h
// The control plane's own TLS certificate: generation of the self-signed server certificate Kuma
// autoconfigures when general.tlsCertFile is empty (pkg/tls/cert.go), and the few X.509 checks the
// DP server needs (is the first certificate a CA, does a host match the SANs).
//
//   auto files = kuma::tls::ensureSelfSignedCertificate(workDir, kuma::tls::defaultCertHosts());
//   auto sans = kuma::tls::certificateSans(certPem);      // ["my-host", "localhost", "10.0.0.1"]
//   bool ok = kuma::tls::hostMatchesCertificate(certPem, "10.0.0.1");

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kuma::tls {

struct PemCertAndKey {
  std::string certPem;
  std::string keyPem;
};

/**
 * A self-signed RSA-2048 server certificate as Kuma generates it: BasicConstraints CA:true (the
 * bootstrap hands it to Envoy as the trusted CA), KeyUsage keyEncipherment|digitalSignature|
 * keyCertSign, ExtKeyUsage serverAuth, empty subject, notBefore = now − 5m.
 * @param hosts SANs; entries that parse as IPv4/IPv6 become IP SANs, the rest DNS SANs.
 * @return InvalidArgument when `hosts` is empty, Internal on OpenSSL failures.
 */
absl::StatusOr<PemCertAndKey> generateSelfSignedServerCert(
    const std::vector<std::string>& hosts, absl::Duration validity = absl::Hours(24 * 365 * 10));

/** The machine's hostname, `localhost` and every local interface address (v4 and v6). */
std::vector<std::string> defaultCertHosts();

struct CertFiles {
  std::string certFile;
  std::string keyFile;
  /** False when both files already existed and were reused. */
  bool generated = false;
};

/**
 * Kuma's autoconfiguration for general.tlsCertFile: reuses `<workDir>/kuma-cp.crt|.key` when both
 * exist, else generates them (key file mode 0600), creating `workDir` if needed.
 * @return the paths; Internal / PermissionDenied-style errors from the file system.
 */
absl::StatusOr<CertFiles> ensureSelfSignedCertificate(const std::string& workDir,
                                                      const std::vector<std::string>& hosts);

/** Reads a whole file. NotFound / Internal with the path in the message. */
absl::StatusOr<std::string> readFile(const std::string& path);

/**
 * Whether the first PEM certificate is usable as a CA: false only when it carries
 * BasicConstraints with CA=false (a certificate without BasicConstraints passes, as in Kuma).
 * @return InvalidArgument when no certificate can be parsed.
 */
absl::StatusOr<bool> firstCertIsCa(std::string_view pem);

/** DNS SANs then IP SANs of the first PEM certificate (IPs in their usual text form). */
absl::StatusOr<std::vector<std::string>> certificateSans(std::string_view pem);

/**
 * Whether `host` (a name or an IP, no port) verifies against the first certificate the way Go's
 * VerifyHostname does: IPs against IP SANs, names against DNS SANs (wildcards allowed,
 * case-insensitive), never the subject CN.
 */
absl::StatusOr<bool> hostMatchesCertificate(std::string_view pem, std::string_view host);

}  // namespace kuma::tls
