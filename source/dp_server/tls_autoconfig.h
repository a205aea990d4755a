#pragma once

// File: tls_autoconfig.h
// The certificate step of Kuma's start-up autoconfiguration (pkg/core/bootstrap/autoconfig.go):
// general.tlsCertFile empty → reuse or generate <workDir>/kuma-cp.crt|.key (self-signed, CA:true,
// SANs hostname, localhost, local IPs), then empty server cert settings inherit general.*.

#include "absl/status/status.h"
#include "source/core/config/config.h"

namespace kuma::dp_server {

/**
 * Call after config::autoconfigure() (workDir must be set) and before the components are built.
 * Idempotent. @return FailedPrecondition when workDir is empty, or the file-system/OpenSSL error.
 */
absl::Status autoconfigureTlsCertificate(config::KumaCpConfig& config);

}  // namespace kuma::dp_server
