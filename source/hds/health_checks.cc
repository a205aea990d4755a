#include "source/hds/health_checks.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kuma::hds {
namespace {

namespace core_v3 = envoy::config::core::v3;
namespace health_v3 = envoy::service::health::v3;
using mesh::v1alpha1::Dataplane;
using Inbound = mesh::v1alpha1::Dataplane_Networking_Inbound;

constexpr char kSystemEnvoyAdminCluster[] = "system_envoy_admin";  // unified naming

void setDuration(google::protobuf::Duration& out, std::chrono::nanoseconds d) {
  out.set_seconds(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  out.set_nanos(static_cast<int32_t>((d % std::chrono::seconds(1)).count()));
}

// Kuma's ToInboundInterface: the workload's address and port.
std::pair<std::string, uint32_t> workloadOf(const Dataplane& dp, const Inbound& inbound) {
  std::string ip = inbound.address().empty() ? dp.networking().address() : inbound.address();
  if (!inbound.service_address().empty()) {
    ip = inbound.service_address();
  }
  return {ip, inbound.service_port() != 0 ? inbound.service_port() : inbound.port()};
}

bool isLoopback(const std::string& ip) {
  return ip == "127.0.0.1" || ip == "::1";
}

void setSocketAddress(core_v3::SocketAddress& out, const std::string& ip, uint32_t port) {
  out.set_address(ip);
  out.set_port_value(port);
}

health_v3::ClusterHealthCheck envoyCheck(const Dataplane& dp, const ProxyFacts& proxy,
                                         const SpecifierOptions& options) {
  health_v3::ClusterHealthCheck out;
  out.set_cluster_name(kEnvoyAdminCluster);
  auto* address = out.add_locality_endpoints()->add_endpoints()->mutable_address();
  if (!proxy.adminSocketPath.empty()) {
    address->mutable_pipe()->set_path(proxy.adminSocketPath);
  } else {
    const uint32_t port = dp.networking().has_admin() && dp.networking().admin().port() != 0
                              ? dp.networking().admin().port()
                              : options.defaultAdminPort;
    setSocketAddress(*address->mutable_socket_address(), "127.0.0.1", port);
  }
  auto* check = out.add_health_checks();
  setDuration(*check->mutable_timeout(), options.checks.timeout);
  setDuration(*check->mutable_interval(), options.checks.interval);
  check->mutable_healthy_threshold()->set_value(options.checks.healthyThreshold);
  check->mutable_unhealthy_threshold()->set_value(options.checks.unhealthyThreshold);
  setDuration(*check->mutable_no_traffic_interval(), options.checks.noTrafficInterval);
  check->mutable_http_health_check()->set_path("/ready");
  return out;
}

}  // namespace

health_v3::HealthCheckSpecifier healthCheckSpecifier(const Dataplane& dp, const ProxyFacts& proxy,
                                                     const SpecifierOptions& options) {
  health_v3::HealthCheckSpecifier out;
  *out.add_cluster_health_checks() = envoyCheck(dp, proxy, options);
  const bool transparent = dp.networking().has_transparent_proxying() &&
                           dp.networking().transparent_proxying().redirect_port_inbound() != 0;
  for (const Inbound& inbound : dp.networking().inbound()) {
    if (!inbound.has_service_probe()) {
      continue;
    }
    const auto& probe = inbound.service_probe();
    const auto [ip, port] = workloadOf(dp, inbound);
    health_v3::ClusterHealthCheck hc;
    hc.set_cluster_name(absl::StrCat("localhost:", port));
    setSocketAddress(
        *hc.add_locality_endpoints()->add_endpoints()->mutable_address()->mutable_socket_address(),
        ip, port);
    auto* check = hc.add_health_checks();
    if (probe.has_timeout()) {
      *check->mutable_timeout() = probe.timeout();
    } else {
      setDuration(*check->mutable_timeout(), options.checks.timeout);
    }
    if (probe.has_interval()) {
      *check->mutable_interval() = probe.interval();
    } else {
      setDuration(*check->mutable_interval(), options.checks.interval);
    }
    check->mutable_healthy_threshold()->set_value(probe.has_healthy_threshold()
                                                      ? probe.healthy_threshold().value()
                                                      : options.checks.healthyThreshold);
    check->mutable_unhealthy_threshold()->set_value(probe.has_unhealthy_threshold()
                                                        ? probe.unhealthy_threshold().value()
                                                        : options.checks.unhealthyThreshold);
    setDuration(*check->mutable_no_traffic_interval(), options.checks.noTrafficInterval);
    check->mutable_tcp_health_check();
    if (transparent && !isLoopback(ip)) {
      const bool v6 = absl::StrContains(ip, ':');
      setSocketAddress(*hc.mutable_upstream_bind_config()->mutable_source_address(),
                       v6 ? "::6" : "127.0.0.6", 0);
    }
    *out.add_cluster_health_checks() = std::move(hc);
  }
  setDuration(*out.mutable_interval(), options.interval);
  return out;
}

std::optional<Dataplane> dataplaneWithHealth(const Dataplane& dp,
                                             const health_v3::EndpointHealthResponse& response,
                                             std::string* error) {
  std::map<uint32_t, bool> byPort;
  bool envoyHealthy = true;  // no report of Envoy itself: assume it is healthy
  for (const auto& cluster : response.cluster_endpoints_health()) {
    if (cluster.locality_endpoints_health().empty() ||
        cluster.locality_endpoints_health(0).endpoints_health().empty()) {
      continue;
    }
    const auto status = cluster.locality_endpoints_health(0).endpoints_health(0).health_status();
    const bool healthy = status == core_v3::HEALTHY || status == core_v3::UNKNOWN;
    const std::string& name = cluster.cluster_name();
    if (name == kEnvoyAdminCluster || name == kSystemEnvoyAdminCluster) {
      envoyHealthy = healthy;
      continue;
    }
    uint32_t port = 0;
    if (!absl::StartsWith(name, "localhost:") ||
        !absl::SimpleAtoi(name.substr(std::string_view("localhost:").size()), &port)) {
      if (error != nullptr) {
        *error = absl::StrCat("failed to  parse local cluster name: ", name);
      }
      return std::nullopt;
    }
    byPort[port] = healthy;
  }
  Dataplane out = dp;
  bool changed = false;
  for (Inbound& inbound : *out.mutable_networking()->mutable_inbound()) {
    const uint32_t port = workloadOf(dp, inbound).second;
    auto it = byPort.find(port);
    const bool healthy = it != byPort.end() ? it->second && envoyHealthy : envoyHealthy;
    if (healthy && inbound.state() == Inbound::NotReady) {
      inbound.set_state(Inbound::Ready);
      inbound.mutable_health()->set_ready(true);
      changed = true;
    } else if (!healthy && inbound.state() == Inbound::Ready) {
      inbound.set_state(Inbound::NotReady);
      inbound.mutable_health()->set_ready(false);
      changed = true;
    }
  }
  if (!changed) {
    return std::nullopt;
  }
  return out;
}

}  // namespace kuma::hds
