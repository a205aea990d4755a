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

DnsPlan planDns(const DnsConfig& dns) {
  DnsPlan plan;
  if (!dns.enabled) {
    return plan;
  }
  if (dns.proxyPort != 0) {
    plan.run = true;
    plan.embedded = true;
    plan.listen = {{"127.0.0.1", dns.proxyPort}};
    return plan;
  }
  if (dns.coreDnsPort == 0 || dns.envoyDnsPort == 0) {
    return plan;
  }
  plan.run = true;
  plan.listen = {{"127.0.0.1", dns.coreDnsPort}};
  plan.envoyDnsPort = dns.envoyDnsPort;
  return plan;
}

}  // namespace kuma::dp
