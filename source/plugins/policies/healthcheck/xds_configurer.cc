#include "source/plugins/policies/healthcheck/xds_configurer.h"

#include <string>

#include "absl/strings/escaping.h"
#include "api/mesh/v1alpha1/health_check.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/health_check.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/policies/trafficroute/xds_configurer.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::healthcheck {
namespace {

namespace cluster_v3 = envoy::config::cluster::v3;
namespace core_v3 = envoy::config::core::v3;
using mesh::v1alpha1::HealthCheck;

// buildHealthCheck: the fields every checker shares.
core_v3::HealthCheck common(const HealthCheck::Conf& conf) {
  core_v3::HealthCheck hc;
  hc.mutable_tcp_health_check();
  if (conf.has_interval()) {
    *hc.mutable_interval() = conf.interval();
  }
  if (conf.has_timeout()) {
    *hc.mutable_timeout() = conf.timeout();
  }
  hc.mutable_unhealthy_threshold()->set_value(conf.unhealthy_threshold());
  hc.mutable_healthy_threshold()->set_value(conf.healthy_threshold());
  if (conf.has_initial_jitter()) {
    *hc.mutable_initial_jitter() = conf.initial_jitter();
  }
  if (conf.has_interval_jitter()) {
    *hc.mutable_interval_jitter() = conf.interval_jitter();
  }
  hc.set_interval_jitter_percent(conf.interval_jitter_percent());
  // Kuma sets the deprecated event_log_path as it is.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  hc.set_event_log_path(conf.event_log_path());
#pragma GCC diagnostic pop
  hc.set_always_log_health_check_failures(conf.always_log_health_check_failures().value());
  if (conf.has_no_traffic_interval()) {
    *hc.mutable_no_traffic_interval() = conf.no_traffic_interval();
  }
  if (conf.has_reuse_connection()) {
    *hc.mutable_reuse_connection() = conf.reuse_connection();
  }
  return hc;
}

}  // namespace

void configureCluster(const HealthCheck::Conf& conf, bool http2, cluster_v3::Cluster& cluster) {
  if (conf.has_healthy_panic_threshold()) {
    cluster.mutable_common_lb_config()->mutable_healthy_panic_threshold()->set_value(
        static_cast<double>(conf.healthy_panic_threshold().value()));
  }
  if (conf.has_fail_traffic_on_panic()) {
    auto* lb = cluster.mutable_common_lb_config();
    // Kuma leaves a locality-weighted LB alone (it logs an error); it never configures one.
    if (!lb->has_locality_weighted_lb_config()) {
      lb->mutable_zone_aware_lb_config()->set_fail_traffic_on_panic(
          conf.fail_traffic_on_panic().value());
    }
  }
  if (!conf.has_tcp() && !conf.has_http()) {
    *cluster.add_health_checks() = common(conf);
    return;
  }
  if (conf.has_tcp()) {
    core_v3::HealthCheck hc = common(conf);
    auto* tcp = hc.mutable_tcp_health_check();
    if (conf.tcp().has_send()) {
      tcp->mutable_send()->set_text(absl::BytesToHexString(conf.tcp().send().value()));
    }
    for (const auto& r : conf.tcp().receive()) {
      tcp->add_receive()->set_text(absl::BytesToHexString(r.value()));
    }
    *cluster.add_health_checks() = std::move(hc);
  }
  if (conf.has_http()) {
    core_v3::HealthCheck hc = common(conf);
    auto* http = hc.mutable_http_health_check();
    http->set_path(conf.http().path());
    for (const auto& h : conf.http().request_headers_to_add()) {
      auto* option = http->add_request_headers_to_add();
      option->mutable_header()->set_key(h.header().key());
      option->mutable_header()->set_value(h.header().value());
      option->set_append_action(h.append().value()
                                    ? core_v3::HeaderValueOption::APPEND_IF_EXISTS_OR_ADD
                                    : core_v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
    }
    for (const auto& status : conf.http().expected_statuses()) {
      auto* range = http->add_expected_statuses();
      range->set_start(status.value());
      range->set_end(static_cast<int64_t>(status.value()) + 1);
    }
    http->set_codec_client_type(http2 ? envoy::type::v3::HTTP2 : envoy::type::v3::HTTP1);
    *cluster.add_health_checks() = std::move(hc);
  }
}

std::string_view XdsConfigurer::policyType() const {
  return "HealthCheck";
}

int XdsConfigurer::order() const {
  return 1;
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const nlohmann::json*>&,
                                  xds::ResourceSet& resources) const {
  if (!trafficroute::legacyPath(&proxy) ||
      proxy.mesh->legacyPolicies(resources::kHealthCheckType).empty()) {
    return absl::OkStatus();
  }
  const auto inboundTags = trafficroute::inboundTagsOf(*proxy.dataplane);
  for (const trafficroute::LegacyCluster& c : trafficroute::legacyClusters(proxy, resources)) {
    const model::Resource* policy = trafficroute::selectConnectionPolicy<HealthCheck>(
        proxy.mesh->legacyPolicies(resources::kHealthCheckType), inboundTags, c.service);
    if (policy == nullptr) {
      continue;
    }
    const HealthCheck* spec = model::protoSpecOf<HealthCheck>(*policy);
    if (!spec->has_conf()) {
      continue;
    }
    auto* cluster = resources.find<cluster_v3::Cluster>(c.name);
    if (cluster == nullptr || cluster->health_checks_size() > 0) {
      continue;  // absent, or a MeshHealthCheck configured it (it wins, as in Kuma)
    }
    configureCluster(spec->conf(), proxy.mesh->protocol(c.service) == xds::Protocol::Http2,
                     *cluster);
  }
  return absl::OkStatus();
}

void XdsConfigurer::attachments(const xds::ProxyContext& proxy,
                                std::vector<xds::PolicyAttachment>& out) const {
  // Kuma's BuildHealthCheckMap: per destination service.
  trafficroute::attachPerService<HealthCheck>(
      proxy.mesh->legacyPolicies(resources::kHealthCheckType), *proxy.dataplane,
      trafficroute::inspectedDestinations(*proxy.mesh, *proxy.dataplane), out);
}

}  // namespace kuma::policies::healthcheck
