#include "source/plugins/policies/meshtimeout/xds_configurer.h"

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/protocol.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "google/protobuf/util/time_util.h"
#include "source/plugins/policies/core/policy.h"
#include "source/xds/envoy/envoy_util.h"

namespace kuma::policies::meshtimeout {
namespace {

using nlohmann::json;
namespace cluster_v3 = envoy::config::cluster::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;

google::protobuf::Duration toDuration(std::chrono::nanoseconds d) {
  return google::protobuf::util::TimeUtil::NanosecondsToDuration(d.count());
}

void overlay(const json& obj, std::string_view key, std::chrono::nanoseconds& out) {
  if (auto d = durationMember(obj, key)) {
    out = *d;
  }
}

// Upstream HTTP common options, when the generator gave the cluster HTTP protocol options.
absl::Status setUpstreamCommonOptions(cluster_v3::Cluster& cluster, const Timeouts& t) {
  auto& options = *cluster.mutable_typed_extension_protocol_options();
  auto it = options.find(xds::kHttpProtocolOptionsKey);
  if (it == options.end()) {
    return absl::OkStatus();
  }
  envoy::config::core::v3::HttpProtocolOptions common;
  *common.mutable_idle_timeout() = toDuration(t.idleTimeout);
  *common.mutable_max_connection_duration() = toDuration(t.maxConnectionDuration);
  *common.mutable_max_stream_duration() = toDuration(t.maxStreamDuration);
  return xds::setCommonHttpProtocolOptions(it->second, common);
}

void setRouteTimeouts(envoy::config::route::v3::Route& route, const Timeouts& t) {
  if (!route.has_route()) {
    return;  // redirects and direct responses have no upstream timeouts
  }
  auto* action = route.mutable_route();
  *action->mutable_timeout() = toDuration(t.requestTimeout);
  *action->mutable_idle_timeout() = toDuration(t.streamIdleTimeout);
}

}  // namespace

Timeouts timeoutsOf(const json& conf) {
  Timeouts t;
  overlay(conf, "connectionTimeout", t.connectionTimeout);
  overlay(conf, "idleTimeout", t.idleTimeout);
  if (const json* http = member(conf, "http")) {
    overlay(*http, "requestTimeout", t.requestTimeout);
    overlay(*http, "streamIdleTimeout", t.streamIdleTimeout);
    overlay(*http, "maxStreamDuration", t.maxStreamDuration);
    overlay(*http, "maxConnectionDuration", t.maxConnectionDuration);
    overlay(*http, "requestHeadersTimeout", t.requestHeadersTimeout);
  }
  return t;
}

std::string_view XdsConfigurer::policyType() const {
  return "MeshTimeout";
}

int XdsConfigurer::order() const {
  return 1000;  // Kuma's MeshTimeout order
}

absl::Status XdsConfigurer::configureInboundCluster(const json& conf, const xds::InboundTarget&,
                                                    cluster_v3::Cluster& cluster) const {
  const Timeouts t = timeoutsOf(conf);
  *cluster.mutable_connect_timeout() = toDuration(t.connectionTimeout);
  return setUpstreamCommonOptions(cluster, t);
}

absl::Status XdsConfigurer::configureInboundHcm(const json& conf, const xds::InboundTarget&,
                                                hcm_v3::HttpConnectionManager& hcm) const {
  const Timeouts t = timeoutsOf(conf);
  *hcm.mutable_stream_idle_timeout() = toDuration(t.streamIdleTimeout);
  *hcm.mutable_request_headers_timeout() = toDuration(t.requestHeadersTimeout);
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureInboundRoute(const json& conf, const xds::InboundTarget&,
                                                  envoy::config::route::v3::Route& route) const {
  setRouteTimeouts(route, timeoutsOf(conf));
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureInboundTcpProxy(
    const json& conf, const xds::InboundTarget&,
    envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const {
  *proxy.mutable_idle_timeout() = toDuration(timeoutsOf(conf).idleTimeout);
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureOutboundCluster(const json& conf,
                                                     const xds::OutboundTarget& target,
                                                     cluster_v3::Cluster& cluster) const {
  const Timeouts t = timeoutsOf(conf);
  *cluster.mutable_connect_timeout() = toDuration(t.connectionTimeout);
  // The sidecar-to-sidecar hop is HTTP/2 for every service; the upstream HTTP timeouts only
  // matter (and are only set) for HTTP services.
  if (!xds::isHttpProtocol(target.protocol)) {
    return absl::OkStatus();
  }
  return setUpstreamCommonOptions(cluster, t);
}

absl::Status XdsConfigurer::configureOutboundHcm(const json& conf, const xds::OutboundTarget&,
                                                 hcm_v3::HttpConnectionManager& hcm) const {
  // Outbound stream idle is per route; only the request headers timeout sits on the HCM.
  *hcm.mutable_request_headers_timeout() = toDuration(timeoutsOf(conf).requestHeadersTimeout);
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureOutboundRoute(const json& conf, const xds::OutboundTarget&,
                                                   envoy::config::route::v3::Route& route) const {
  setRouteTimeouts(route, timeoutsOf(conf));
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureOutboundTcpProxy(
    const json& conf, const xds::OutboundTarget&,
    envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const {
  *proxy.mutable_idle_timeout() = toDuration(timeoutsOf(conf).idleTimeout);
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshtimeout
