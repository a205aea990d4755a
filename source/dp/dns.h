#pragma once

// File: dns.h
// Kuma's kuma-dp runs CoreDNS next to Envoy when --dns-enabled (the default). kuma-cpp ships no
// CoreDNS and does not drive it yet, so DNS-enabled runs stop early with a clear message.

#include <string>

#include "absl/status/status.h"
#include "source/dp/config.h"

namespace kuma::dp {

/** The file `name` resolves to: itself when it contains '/', else searched in `pathEnv`. */
std::string findExecutable(const std::string& name, const std::string& pathEnv);

/**
 * OK when DNS is disabled. Otherwise FailedPrecondition: CoreDNS missing (pass
 * --dns-enabled=false), or present but not supported by this kuma-dp yet.
 */
absl::Status checkDnsSupported(const DnsConfig& dns, const std::string& pathEnv);

}  // namespace kuma::dp
