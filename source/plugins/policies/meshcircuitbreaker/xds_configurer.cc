#include "source/plugins/policies/meshcircuitbreaker/xds_configurer.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/cluster/v3/outlier_detection.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "google/protobuf/util/time_util.h"
#include "source/plugins/policies/core/policy.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::meshcircuitbreaker {
namespace {

using nlohmann::json;
namespace cluster_v3 = envoy::config::cluster::v3;

std::optional<uint32_t> uintAt(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  if (v == nullptr || !v->is_number_integer() || v->get<int64_t>() < 0 ||
      v->get<int64_t>() > int64_t{UINT32_MAX}) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(v->get<int64_t>());
}

bool boolAt(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

google::protobuf::Duration toDuration(std::chrono::nanoseconds d) {
  return google::protobuf::util::TimeUtil::NanosecondsToDuration(d.count());
}

// Kuma: uint32(decimal(value) × 1000).IntPart(), exact on the decimal digits (no binary
// floating point): "1.9" → 1900, 2 → 2000, "0.0015" → 1.
std::optional<uint32_t> thousandths(const json& value) {
  if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    return v < 0 ? std::nullopt : std::optional<uint32_t>(static_cast<uint32_t>(v * 1000));
  }
  if (!value.is_string()) {
    return std::nullopt;
  }
  std::string s = value.get<std::string>();
  if (!s.empty() && s[0] == '+') {
    s.erase(0, 1);
  }
  const size_t dot = s.find('.');
  std::string whole = s.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
  frac = (frac + "000").substr(0, 3);
  if (whole.empty()) {
    whole = "0";
  }
  uint64_t w = 0;
  uint64_t f = 0;
  if (!absl::SimpleAtoi(whole, &w) || !absl::SimpleAtoi(frac, &f) || w > UINT32_MAX / 1000) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(w * 1000 + f);
}

cluster_v3::CircuitBreakers::Thresholds& defaultThreshold(cluster_v3::Cluster& cluster) {
  auto* breakers = cluster.mutable_circuit_breakers();
  for (auto& th : *breakers->mutable_thresholds()) {
    if (th.priority() == envoy::config::core::v3::DEFAULT) {
      return th;
    }
  }
  return *breakers->add_thresholds();
}

void configureLimits(const json* limits, cluster_v3::Cluster& cluster) {
  auto& th = defaultThreshold(cluster);
  th.set_track_remaining(true);
  if (limits == nullptr) {
    return;
  }
  if (auto v = uintAt(*limits, "maxConnectionPools")) {
    th.mutable_max_connection_pools()->set_value(*v);
  }
  if (auto v = uintAt(*limits, "maxConnections")) {
    th.mutable_max_connections()->set_value(*v);
  }
  if (auto v = uintAt(*limits, "maxPendingRequests")) {
    th.mutable_max_pending_requests()->set_value(*v);
  }
  if (auto v = uintAt(*limits, "maxRetries")) {
    th.mutable_max_retries()->set_value(*v);
  }
  if (auto v = uintAt(*limits, "maxRequests")) {
    th.mutable_max_requests()->set_value(*v);
  }
}

// One consecutive-failures detector: enforcement 100 and the count when `consecutive` is set,
// else enforcement 0 (the count is left unset).
template <class Count, class Enforcing>
void consecutive(const json* detectors, std::string_view name, Count count, Enforcing enforcing) {
  const json* d = detectors != nullptr ? member(*detectors, name) : nullptr;
  std::optional<uint32_t> n = d != nullptr ? uintAt(*d, "consecutive") : std::nullopt;
  if (!n) {
    enforcing()->set_value(0);
    return;
  }
  enforcing()->set_value(100);
  count()->set_value(*n);
}

absl::Status configureDetectors(const json* detectors, cluster_v3::OutlierDetection& od) {
  consecutive(
      detectors, "totalFailures", [&] { return od.mutable_consecutive_5xx(); },
      [&] { return od.mutable_enforcing_consecutive_5xx(); });
  consecutive(
      detectors, "localOriginFailures",
      [&] { return od.mutable_consecutive_local_origin_failure(); },
      [&] { return od.mutable_enforcing_consecutive_local_origin_failure(); });
  consecutive(
      detectors, "gatewayFailures", [&] { return od.mutable_consecutive_gateway_failure(); },
      [&] { return od.mutable_enforcing_consecutive_gateway_failure(); });
  if (detectors == nullptr) {
    return absl::OkStatus();  // Kuma leaves success rate and failure percentage to Envoy then
  }
  if (const json* sr = member(*detectors, "successRate")) {
    od.mutable_enforcing_success_rate()->set_value(100);
    od.mutable_enforcing_local_origin_success_rate()->set_value(100);
    if (auto v = uintAt(*sr, "minimumHosts")) {
      od.mutable_success_rate_minimum_hosts()->set_value(*v);
    }
    if (auto v = uintAt(*sr, "requestVolume")) {
      od.mutable_success_rate_request_volume()->set_value(*v);
    }
    if (const json* factor = member(*sr, "standardDeviationFactor")) {
      std::optional<uint32_t> t = thousandths(*factor);
      if (!t) {
        return absl::InvalidArgumentError("standardDeviationFactor is not a decimal");
      }
      od.mutable_success_rate_stdev_factor()->set_value(*t);
    }
  } else {
    od.mutable_enforcing_success_rate()->set_value(0);
    od.mutable_enforcing_local_origin_success_rate()->set_value(0);
  }
  if (const json* fp = member(*detectors, "failurePercentage")) {
    od.mutable_enforcing_failure_percentage()->set_value(100);
    od.mutable_enforcing_failure_percentage_local_origin()->set_value(100);
    if (auto v = uintAt(*fp, "minimumHosts")) {
      od.mutable_failure_percentage_minimum_hosts()->set_value(*v);
    }
    if (auto v = uintAt(*fp, "requestVolume")) {
      od.mutable_failure_percentage_request_volume()->set_value(*v);
    }
    if (auto v = uintAt(*fp, "threshold")) {
      od.mutable_failure_percentage_threshold()->set_value(*v);
    }
  } else {
    od.mutable_enforcing_failure_percentage()->set_value(0);
    od.mutable_enforcing_failure_percentage_local_origin()->set_value(0);
  }
  return absl::OkStatus();
}

absl::Status configureOutlierDetection(const json* conf, cluster_v3::Cluster& cluster) {
  if (conf == nullptr || boolAt(*conf, "disabled")) {
    return absl::OkStatus();
  }
  cluster_v3::OutlierDetection& od = *cluster.mutable_outlier_detection();
  od.Clear();
  if (auto d = durationMember(*conf, "interval")) {
    *od.mutable_interval() = toDuration(*d);
  }
  if (auto d = durationMember(*conf, "baseEjectionTime")) {
    *od.mutable_base_ejection_time() = toDuration(*d);
  }
  if (const json* split = member(*conf, "splitExternalAndLocalErrors");
      split != nullptr && split->is_boolean()) {
    od.set_split_external_local_origin_errors(split->get<bool>());
  }
  if (auto v = uintAt(*conf, "maxEjectionPercent")) {
    od.mutable_max_ejection_percent()->set_value(*v);
  }
  if (absl::Status s = configureDetectors(member(*conf, "detectors"), od); !s.ok()) {
    return s;
  }
  if (const json* panic = member(*conf, "healthyPanicThreshold")) {
    std::optional<double> v = decimalOf(*panic);
    if (!v) {
      return absl::InvalidArgumentError(
          "failed to configure healthy panic threshold: not a decimal");
    }
    cluster.mutable_common_lb_config()->mutable_healthy_panic_threshold()->set_value(*v);
  }
  return absl::OkStatus();
}

}  // namespace

void ensureTrackRemaining(cluster_v3::Cluster& cluster) {
  defaultThreshold(cluster).set_track_remaining(true);
}

absl::Status configureCluster(const json& conf, cluster_v3::Cluster& cluster) {
  const bool object = conf.is_object();
  configureLimits(object ? member(conf, "connectionLimits") : nullptr, cluster);
  return configureOutlierDetection(object ? member(conf, "outlierDetection") : nullptr, cluster);
}

std::string_view XdsConfigurer::policyType() const {
  return "MeshCircuitBreaker";
}

int XdsConfigurer::order() const {
  return 1300;  // Kuma's MeshCircuitBreaker order
}

absl::Status XdsConfigurer::configureInboundCluster(const json& conf, const xds::InboundTarget&,
                                                    cluster_v3::Cluster& cluster) const {
  return configureCluster(conf, cluster);
}

absl::Status XdsConfigurer::configureOutboundResources(const json& conf, const xds::OutboundTarget&,
                                                       xds::OutboundResources& resources) const {
  for (auto& cluster : resources.clusters) {
    if (absl::Status s = configureCluster(conf, *cluster); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext&, const std::vector<const json*>&,
                                  xds::ResourceSet& resources) const {
  // The shared clusters have it already (configureOutboundResources); touching them here would
  // make a private copy of each for this proxy.
  const std::string type = xds::ResourceSet::typeUrlOf<cluster_v3::Cluster>();
  for (const std::string& name : resources.names(type)) {
    if (resources.isShared(type, name)) {
      continue;
    }
    if (auto* cluster = resources.find<cluster_v3::Cluster>(name)) {
      ensureTrackRemaining(*cluster);
    }
  }
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshcircuitbreaker
