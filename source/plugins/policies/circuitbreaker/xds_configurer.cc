#include "source/plugins/policies/circuitbreaker/xds_configurer.h"

#include <cstdint>

#include "api/mesh/v1alpha1/circuit_breaker.pb.h"
#include "envoy/config/cluster/v3/circuit_breaker.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/cluster/v3/outlier_detection.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/policies/trafficroute/xds_configurer.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::circuitbreaker {

namespace cluster_v3 = envoy::config::cluster::v3;
using mesh::v1alpha1::CircuitBreaker;

void configureThresholds(const CircuitBreaker::Conf& conf, cluster_v3::Cluster& cluster) {
  const auto& t = conf.thresholds();
  // Kuma's HasThresholds.
  if (!t.has_max_connections() && !t.has_max_pending_requests() && !t.has_max_retries() &&
      !t.has_max_requests()) {
    return;
  }
  // Kuma's legacy generator sets these first and MeshCircuitBreaker (whose hooks already ran
  // here, always with a DEFAULT threshold tracking the remaining capacity) merges its connection
  // limits over them: a limit already set is the MeshCircuitBreaker's and stays.
  auto* cb = cluster.mutable_circuit_breakers();
  envoy::config::cluster::v3::CircuitBreakers::Thresholds* threshold = nullptr;
  for (auto& th : *cb->mutable_thresholds()) {
    if (th.priority() == envoy::config::core::v3::DEFAULT) {
      threshold = &th;
      break;
    }
  }
  if (threshold == nullptr) {
    threshold = cb->add_thresholds();
  }
  if (t.has_max_connections() && !threshold->has_max_connections()) {
    *threshold->mutable_max_connections() = t.max_connections();
  }
  if (t.has_max_pending_requests() && !threshold->has_max_pending_requests()) {
    *threshold->mutable_max_pending_requests() = t.max_pending_requests();
  }
  if (t.has_max_retries() && !threshold->has_max_retries()) {
    *threshold->mutable_max_retries() = t.max_retries();
  }
  if (t.has_max_requests() && !threshold->has_max_requests()) {
    *threshold->mutable_max_requests() = t.max_requests();
  }
}

void configureOutlierDetection(const CircuitBreaker::Conf& conf, cluster_v3::Cluster& cluster) {
  auto* od = cluster.mutable_outlier_detection();
  od->Clear();
  if (conf.has_interval()) {
    *od->mutable_interval() = conf.interval();
  }
  if (conf.has_base_ejection_time()) {
    *od->mutable_base_ejection_time() = conf.base_ejection_time();
  }
  if (conf.has_max_ejection_percent()) {
    *od->mutable_max_ejection_percent() = conf.max_ejection_percent();
  }
  od->set_split_external_local_origin_errors(conf.split_external_and_local_errors());
  const auto& d = conf.detectors();
  if (d.has_total_errors()) {
    if (d.total_errors().has_consecutive()) {
      *od->mutable_consecutive_5xx() = d.total_errors().consecutive();
    }
    od->mutable_enforcing_consecutive_5xx()->set_value(100);
  } else {
    od->mutable_enforcing_consecutive_5xx()->set_value(0);
  }
  if (d.has_gateway_errors()) {
    if (d.gateway_errors().has_consecutive()) {
      *od->mutable_consecutive_gateway_failure() = d.gateway_errors().consecutive();
    }
    od->mutable_enforcing_consecutive_gateway_failure()->set_value(100);
  } else {
    od->mutable_enforcing_consecutive_gateway_failure()->set_value(0);
  }
  if (d.has_local_errors()) {
    if (d.local_errors().has_consecutive()) {
      *od->mutable_consecutive_local_origin_failure() = d.local_errors().consecutive();
    }
    od->mutable_enforcing_consecutive_local_origin_failure()->set_value(100);
  } else {
    od->mutable_enforcing_consecutive_local_origin_failure()->set_value(0);
  }
  if (d.has_standard_deviation()) {
    const auto& s = d.standard_deviation();
    if (s.has_request_volume()) {
      *od->mutable_success_rate_request_volume() = s.request_volume();
    }
    if (s.has_minimum_hosts()) {
      *od->mutable_success_rate_minimum_hosts() = s.minimum_hosts();
    }
    if (s.has_factor()) {
      od->mutable_success_rate_stdev_factor()->set_value(
          static_cast<uint32_t>(s.factor().value() * 1000));
    }
    od->mutable_enforcing_success_rate()->set_value(100);
    od->mutable_enforcing_local_origin_success_rate()->set_value(100);
  } else {
    od->mutable_enforcing_success_rate()->set_value(0);
  }
  if (d.has_failure()) {
    const auto& f = d.failure();
    if (f.has_request_volume()) {
      *od->mutable_failure_percentage_request_volume() = f.request_volume();
    }
    if (f.has_minimum_hosts()) {
      *od->mutable_failure_percentage_minimum_hosts() = f.minimum_hosts();
    }
    if (f.has_threshold()) {
      *od->mutable_failure_percentage_threshold() = f.threshold();
    }
    od->mutable_enforcing_failure_percentage()->set_value(100);
    od->mutable_enforcing_failure_percentage_local_origin()->set_value(100);
  } else {
    od->mutable_enforcing_failure_percentage()->set_value(0);
  }
}

std::string_view XdsConfigurer::policyType() const {
  return "CircuitBreaker";
}

int XdsConfigurer::order() const {
  return 2;
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const nlohmann::json*>&,
                                  xds::ResourceSet& resources) const {
  if (!trafficroute::legacyPath(&proxy) ||
      proxy.mesh->legacyPolicies(resources::kCircuitBreakerType).empty()) {
    return absl::OkStatus();
  }
  const auto inboundTags = trafficroute::inboundTagsOf(*proxy.dataplane);
  for (const trafficroute::LegacyCluster& c : trafficroute::legacyClusters(proxy, resources)) {
    const model::Resource* policy = trafficroute::selectConnectionPolicy<CircuitBreaker>(
        proxy.mesh->legacyPolicies(resources::kCircuitBreakerType), inboundTags, c.service);
    if (policy == nullptr) {
      continue;
    }
    auto* cluster = resources.find<cluster_v3::Cluster>(c.name);
    if (cluster == nullptr) {
      continue;
    }
    const CircuitBreaker::Conf& conf = model::protoSpecOf<CircuitBreaker>(*policy)->conf();
    // What a MeshCircuitBreaker already set wins (it runs after the legacy generator in Kuma).
    configureThresholds(conf, *cluster);
    if (!cluster->has_outlier_detection()) {
      configureOutlierDetection(conf, *cluster);
    }
  }
  return absl::OkStatus();
}

void XdsConfigurer::attachments(const xds::ProxyContext& proxy,
                                std::vector<xds::PolicyAttachment>& out) const {
  // Kuma's BuildCircuitBreakerMap: per destination service.
  trafficroute::attachPerService<CircuitBreaker>(
      proxy.mesh->legacyPolicies(resources::kCircuitBreakerType), *proxy.dataplane,
      trafficroute::inspectedDestinations(*proxy.mesh, *proxy.dataplane), out);
}

}  // namespace kuma::policies::circuitbreaker
