#include "source/plugins/policies/ratelimit/xds_configurer.h"

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "google/protobuf/util/time_util.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/policies/faultinjection/xds_configurer.h"
#include "source/plugins/policies/trafficroute/xds_configurer.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/http_filters.h"

namespace kuma::policies::ratelimit {
namespace {

namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
using mesh::v1alpha1::RateLimit;

}  // namespace

meshratelimit::HttpRateLimit httpRateLimitOf(const RateLimit& spec) {
  meshratelimit::HttpRateLimit out;
  if (!spec.conf().has_http()) {
    return out;
  }
  const auto& http = spec.conf().http();
  out.requests = http.requests();
  out.interval = std::chrono::nanoseconds(
      google::protobuf::util::TimeUtil::DurationToNanoseconds(http.interval()));
  const auto& on = http.onratelimit();
  for (const auto& h : on.headers()) {
    out.headers.push_back({h.key(), h.value(), h.has_append() && h.append().value()});
  }
  if (on.has_status()) {
    out.status = on.status().value();
  }
  return out;
}

std::string_view XdsConfigurer::policyType() const {
  return resources::kRateLimitType;
}

int XdsConfigurer::order() const {
  return 6;
}

absl::Status XdsConfigurer::configureInboundHcm(const nlohmann::json&,
                                                const xds::InboundTarget& target,
                                                hcm_v3::HttpConnectionManager& hcm) const {
  const std::vector<const model::Resource*> matching =
      trafficroute::inboundConnectionPolicies<RateLimit>(target, resources::kRateLimitType);
  if (matching.empty()) {
    return absl::OkStatus();
  }
  // Kuma's GenerateRoutes: the rate-limited routes, then the default one (the generator's
  // catch-all route, the last of the inbound's virtual host).
  if (hcm.has_route_config() && hcm.route_config().virtual_hosts_size() > 0 &&
      hcm.route_config().virtual_hosts(0).routes_size() > 0) {
    auto* routes = hcm.mutable_route_config()->mutable_virtual_hosts(0)->mutable_routes();
    const envoy::config::route::v3::Route fallback = *routes->rbegin();
    std::vector<envoy::config::route::v3::Route> limited;
    for (const model::Resource* r : matching) {
      const RateLimit& spec = *model::protoSpecOf<RateLimit>(*r);
      if (!spec.conf().has_http()) {
        continue;
      }
      envoy::config::route::v3::Route& route = limited.emplace_back(fallback);
      *route.mutable_match()->add_headers() = faultinjection::sourcesHeaderMatcher(spec.sources());
      (*route.mutable_typed_per_filter_config())[meshratelimit::kHttpFilterName] =
          xds::packAny(meshratelimit::httpLocalRateLimit(httpRateLimitOf(spec)));
    }
    const int at = routes->size() - 1;
    for (auto& route : limited) {
      *routes->Add() = std::move(route);
    }
    // Move the default route behind the new ones.
    for (int i = at; i < routes->size() - 1; ++i) {
      routes->SwapElements(i, i + 1);
    }
  }
  return xds::insertHttpFiltersBeforeRouter(hcm, {meshratelimit::httpRateLimitFilter()});
}

absl::Status XdsConfigurer::configureOutboundHcm(const nlohmann::json&,
                                                 const xds::OutboundTarget& target,
                                                 hcm_v3::HttpConnectionManager& hcm) const {
  if (!trafficroute::legacyPath(target.proxy) ||
      target.proxy->mesh->mesh().routing().zone_egress()) {
    return absl::OkStatus();  // Kuma's outbound generator, without zone egress
  }
  const auto& policies = target.proxy->mesh->legacyPolicies(resources::kRateLimitType);
  if (policies.empty() || trafficroute::selectConnectionPolicy<RateLimit>(
                              policies, trafficroute::inboundTagsOf(*target.proxy->dataplane),
                              target.service) == nullptr) {
    return absl::OkStatus();
  }
  return xds::insertHttpFiltersBeforeRouter(hcm, {meshratelimit::httpRateLimitFilter()});
}

void XdsConfigurer::attachments(const xds::ProxyContext& proxy,
                                std::vector<xds::PolicyAttachment>& out) const {
  // Kuma's BuildRateLimitMap: every matching policy per inbound, the best one per outbound.
  const auto& policies = proxy.mesh->legacyPolicies(resources::kRateLimitType);
  trafficroute::attachAllPerInbound<RateLimit>(policies, *proxy.dataplane, out);
  trafficroute::attachPerOutbound<RateLimit>(policies, *proxy.dataplane, out);
}

}  // namespace kuma::policies::ratelimit
