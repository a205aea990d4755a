#include "source/plugins/policies/faultinjection/xds_configurer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/policies/meshfaultinjection/xds_configurer.h"
#include "source/plugins/policies/trafficroute/xds_configurer.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/http_filters.h"

namespace kuma::policies::faultinjection {
namespace {

namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace fault_v3 = envoy::extensions::filters::http::fault::v3;
using mesh::v1alpha1::FaultInjection;

constexpr char kFaultFilterName[] = "envoy.filters.http.fault";

}  // namespace

std::vector<const model::Resource*> inboundFaultInjections(
    const std::vector<model::ResourceConstSharedPtr>& policies,
    const std::map<std::string, std::string>& inboundTags) {
  return trafficroute::inboundConnectionPolicies<FaultInjection>(policies, inboundTags);
}

envoy::config::route::v3::HeaderMatcher sourcesHeaderMatcher(
    const google::protobuf::RepeatedPtrField<mesh::v1alpha1::Selector>& sources) {
  std::vector<std::string> regexes;
  for (const auto& source : sources) {
    regexes.push_back(meshfaultinjection::matchingRegex(trafficroute::toTags(source.match())));
  }
  envoy::config::route::v3::HeaderMatcher header;
  header.set_name("x-kuma-tags");
  // Kuma's RegexOR: one alone as it is, several as `(a|b)`; Kuma still sets the deprecated
  // safe_regex_match.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  header.mutable_safe_regex_match()->set_regex(
      regexes.size() == 1 ? regexes.front() : absl::StrCat("(", absl::StrJoin(regexes, "|"), ")"));
#pragma GCC diagnostic pop
  return header;
}

fault_v3::HTTPFault httpFaultOf(const FaultInjection& spec) {
  fault_v3::HTTPFault out;
  const auto& conf = spec.conf();
  if (conf.has_delay()) {
    auto* delay = out.mutable_delay();
    *delay->mutable_fixed_delay() = conf.delay().value();
    *delay->mutable_percentage() =
        meshfaultinjection::fractionalPercentOf(conf.delay().percentage().value());
  }
  if (conf.has_abort()) {
    auto* abort = out.mutable_abort();
    abort->set_http_status(conf.abort().httpstatus().value());
    *abort->mutable_percentage() =
        meshfaultinjection::fractionalPercentOf(conf.abort().percentage().value());
  }
  *out.add_headers() = sourcesHeaderMatcher(spec.sources());
  if (conf.has_response_bandwidth()) {
    auto* limit = out.mutable_response_rate_limit();
    limit->mutable_fixed_limit()->set_limit_kbps(
        meshfaultinjection::kbpsOf(conf.response_bandwidth().limit().value()));
    *limit->mutable_percentage() =
        meshfaultinjection::fractionalPercentOf(conf.response_bandwidth().percentage().value());
  }
  return out;
}

std::string_view XdsConfigurer::policyType() const {
  return "FaultInjection";
}

int XdsConfigurer::order() const {
  return 4;
}

absl::Status XdsConfigurer::configureInboundHcm(const nlohmann::json&,
                                                const xds::InboundTarget& target,
                                                hcm_v3::HttpConnectionManager& hcm) const {
  std::vector<hcm_v3::HttpFilter> filters;
  for (const model::Resource* r : trafficroute::inboundConnectionPolicies<FaultInjection>(
           target, resources::kFaultInjectionType)) {
    hcm_v3::HttpFilter& filter = filters.emplace_back();
    filter.set_name(kFaultFilterName);
    filter.mutable_typed_config()->PackFrom(httpFaultOf(*model::protoSpecOf<FaultInjection>(*r)));
  }
  if (filters.empty()) {
    return absl::OkStatus();
  }
  return xds::insertHttpFiltersBeforeRouter(hcm, std::move(filters));
}

void XdsConfigurer::attachments(const xds::ProxyContext& proxy,
                                std::vector<xds::PolicyAttachment>& out) const {
  // Kuma's BuildFaultInjectionMap: every matching policy per inbound.
  trafficroute::attachAllPerInbound<FaultInjection>(
      proxy.mesh->legacyPolicies(resources::kFaultInjectionType), *proxy.dataplane, out);
}

}  // namespace kuma::policies::faultinjection
