#include "source/plugins/policies/meshcircuitbreaker/xds_configurer.h"

#include <cstdint>
#include <optional>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshcircuitbreaker {
namespace {

std::optional<uint32_t> uintAt(const nlohmann::json& obj, std::string_view key) {
  const nlohmann::json* v = member(obj, key);
  if (v == nullptr || !v->is_number_integer() || v->get<int64_t>() < 0) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(v->get<int64_t>());
}

}  // namespace

std::string_view XdsConfigurer::policyType() const {
  return "MeshCircuitBreaker";
}

int XdsConfigurer::order() const {
  return 1300;  // Kuma's MeshCircuitBreaker order
}

absl::Status XdsConfigurer::configureOutboundCluster(
    const nlohmann::json& conf, const xds::OutboundTarget&,
    envoy::config::cluster::v3::Cluster& cluster) const {
  const nlohmann::json* limits = member(conf, "connectionLimits");
  if (limits == nullptr) {
    return absl::OkStatus();
  }
  auto* th = cluster.mutable_circuit_breakers()->add_thresholds();
  if (auto v = uintAt(*limits, "maxConnections")) {
    th->mutable_max_connections()->set_value(*v);
  }
  if (auto v = uintAt(*limits, "maxPendingRequests")) {
    th->mutable_max_pending_requests()->set_value(*v);
  }
  if (auto v = uintAt(*limits, "maxRequests")) {
    th->mutable_max_requests()->set_value(*v);
  }
  if (auto v = uintAt(*limits, "maxRetries")) {
    th->mutable_max_retries()->set_value(*v);
  }
  th->set_track_remaining(true);
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshcircuitbreaker
