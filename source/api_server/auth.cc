#include "source/api_server/auth.h"

#include <arpa/inet.h>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "httplib.h"

namespace kuma::api_server {
namespace {

constexpr char kAdmin[] = "mesh-system:admin";

bool isLoopbackIp(std::string ip) {
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') {
    ip = ip.substr(1, ip.size() - 2);
  }
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) {
      return true;
    }
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      return v6.s6_addr[12] == 127;
    }
  }
  return false;
}

// Host header or URL authority without the port.
std::string hostOf(std::string authority) {
  if (!authority.empty() && authority.front() == '[') {
    const auto end = authority.find(']');
    return end == std::string::npos ? authority : authority.substr(0, end + 1);
  }
  const auto colon = authority.rfind(':');
  return colon == std::string::npos ? authority : authority.substr(0, colon);
}

bool isLoopbackHost(const std::string& authority) {
  const std::string host = hostOf(authority);
  return host == "localhost" || isLoopbackIp(host);
}

}  // namespace

bool Identity::isAdmin() const {
  for (const auto& g : groups) {
    if (g == kAdmin) {
      return true;
    }
  }
  return name == kAdmin;
}

std::string Identity::describe() const {
  return name + "/" + absl::StrJoin(groups, ",");
}

bool isDirectLoopbackRequest(const httplib::Request& req) {
  if (!isLoopbackIp(req.remote_addr)) {
    return false;
  }
  for (const char* h : {"Forwarded", "X-Forwarded-For", "X-Real-IP"}) {
    if (req.has_header(h)) {
      return false;
    }
  }
  if (req.has_header("Host") && !isLoopbackHost(req.get_header_value("Host"))) {
    return false;
  }
  const std::string fetchSite = req.get_header_value("Sec-Fetch-Site");
  if (!fetchSite.empty() && fetchSite != "same-origin" && fetchSite != "none") {
    return false;
  }
  if (req.has_header("Origin")) {
    std::string origin = req.get_header_value("Origin");
    const auto scheme = origin.find("://");
    if (scheme == std::string::npos || !isLoopbackHost(origin.substr(scheme + 3))) {
      return false;
    }
  }
  return true;
}

Identity identify(const httplib::Request& req, bool localhostIsAdmin) {
  if (localhostIsAdmin && isDirectLoopbackRequest(req)) {
    return {kAdmin, {kAdmin, "mesh-system:authenticated"}, false};
  }
  const bool bearer = absl::StartsWithIgnoreCase(req.get_header_value("Authorization"), "bearer ");
  return {"mesh-system:anonymous", {"mesh-system:unauthenticated"}, bearer};
}

}  // namespace kuma::api_server
