#include "source/dp/dns.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kuma::dp {

std::string findExecutable(const std::string& name, const std::string& pathEnv) {
  if (name.empty()) {
    return "";
  }
  if (name.find('/') != std::string::npos) {
    return access(name.c_str(), X_OK) == 0 ? name : "";
  }
  for (absl::string_view dir : absl::StrSplit(pathEnv, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

absl::Status checkDnsSupported(const DnsConfig& dns, const std::string& pathEnv) {
  if (!dns.enabled) {
    return absl::OkStatus();
  }
  if (dns.proxyPort != 0) {
    return absl::FailedPreconditionError(
        "the embedded DNS proxy (KUMA_DNS_PROXY_PORT) is not implemented by kuma-cpp's kuma-dp "
        "yet; run with --dns-enabled=false (or KUMA_DNS_ENABLED=false)");
  }
  if (findExecutable(dns.coreDnsBinaryPath, pathEnv).empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "DNS is enabled (--dns-enabled defaults to true) but the CoreDNS binary \"",
        dns.coreDnsBinaryPath,
        "\" was not found (kuma-cpp does not ship CoreDNS); run with --dns-enabled=false (or "
        "KUMA_DNS_ENABLED=false), or install coredns and point --dns-coredns-path at it"));
  }
  return absl::FailedPreconditionError(
      "DNS through CoreDNS is not implemented by kuma-cpp's kuma-dp yet; run with "
      "--dns-enabled=false (or KUMA_DNS_ENABLED=false)");
}

}  // namespace kuma::dp
