#include "source/plugins/policies/meshtimeout/xds_configurer.h"

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/protocol.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "google/protobuf/util/time_util.h"
#include "source/plugins/policies/core/policy.h"
#include "source/xds/context/mesh_context.h"
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

// Kuma's InboundProxyGenerator sets the inbound HCM's stream idle timeout from
// DefaultInboundTimeout (2 × the 30 min default); MeshTimeout does not touch it.
constexpr std::chrono::nanoseconds kInboundStreamIdleTimeout = std::chrono::hours(1);

// Kuma's legacy outbound path (TrafficRoutes, see the file comment of the header).
bool legacyPath(const xds::OutboundTarget& target) {
  return target.proxy != nullptr && target.proxy->mesh != nullptr &&
         target.proxy->dataplane != nullptr &&
         target.proxy->mesh->usesLegacyRouting(*target.proxy->dataplane);
}

// ConfigureRouteAction of Kuma's DeprecatedListenerConfigurer: the request timeout (default
// 15 s); the stream idle timeout when the conf gives one, else the 30 min default where the
// route has none.
void setLegacyRouteTimeouts(envoy::config::route::v3::Route& route, const json& conf) {
  if (!route.has_route()) {
    return;
  }
  const Timeouts t = timeoutsOf(conf);
  auto* action = route.mutable_route();
  *action->mutable_timeout() = toDuration(t.requestTimeout);
  const json* http = member(conf, "http");
  if ((http != nullptr && durationMember(*http, "streamIdleTimeout")) ||
      !action->has_idle_timeout()) {
    *action->mutable_idle_timeout() = toDuration(t.streamIdleTimeout);
  }
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
  *hcm.mutable_stream_idle_timeout() = toDuration(kInboundStreamIdleTimeout);
  *hcm.mutable_request_headers_timeout() = toDuration(timeoutsOf(conf).requestHeadersTimeout);
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

absl::Status XdsConfigurer::configureOutboundHcm(const json& conf,
                                                 const xds::OutboundTarget& target,
                                                 hcm_v3::HttpConnectionManager& hcm) const {
  if (legacyPath(target)) {
    // Every legacy route of the outbound (they are all in place by now), only with a conf.
    *hcm.mutable_common_http_protocol_options()->mutable_idle_timeout() =
        toDuration(std::chrono::nanoseconds(0));
    if (conf.is_null()) {
      return absl::OkStatus();
    }
    for (auto& vh : *hcm.mutable_route_config()->mutable_virtual_hosts()) {
      for (auto& route : *vh.mutable_routes()) {
        setLegacyRouteTimeouts(route, conf);
      }
    }
  }
  // Outbound stream idle is per route; only the request headers timeout sits on the HCM.
  *hcm.mutable_request_headers_timeout() = toDuration(timeoutsOf(conf).requestHeadersTimeout);
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureOutboundRoute(const json& conf,
                                                   const xds::OutboundTarget& target,
                                                   envoy::config::route::v3::Route& route) const {
  if (legacyPath(target)) {
    return absl::OkStatus();  // configureOutboundHcm, once every legacy route exists
  }
  setRouteTimeouts(route, timeoutsOf(conf));
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureOutboundTcpProxy(
    const json& conf, const xds::OutboundTarget& target,
    envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const {
  if (legacyPath(target) && conf.is_null()) {
    return absl::OkStatus();  // the legacy Timeout's idle timeout stays
  }
  *proxy.mutable_idle_timeout() = toDuration(timeoutsOf(conf).idleTimeout);
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshtimeout
