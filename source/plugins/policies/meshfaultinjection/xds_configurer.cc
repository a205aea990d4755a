#include "source/plugins/policies/meshfaultinjection/xds_configurer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/extensions/common/matching/v3/extension_matcher.pb.h"
#include "envoy/extensions/filters/common/matcher/action/v3/skip_action.pb.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/matching/common_inputs/network/v3/network_inputs.pb.h"
#include "envoy/extensions/matching/common_inputs/ssl/v3/ssl_inputs.pb.h"
#include "google/protobuf/util/time_util.h"
#include "source/core/model/proto_spec.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/policies/core/inbound_policies.h"
#include "source/plugins/policies/core/policy.h"
#include "source/core/resources/mesh_types.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/http_filters.h"
#include "source/xds/envoy/resource_set.h"
#include "xds/type/matcher/v3/matcher.pb.h"

namespace kuma::policies::meshfaultinjection {
namespace {

using nlohmann::json;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace fault_v3 = envoy::extensions::filters::http::fault::v3;
using ::xds::type::matcher::v3::Matcher;

constexpr char kFaultFilterName[] = "envoy.filters.http.fault";
constexpr char kTagsHeader[] = "x-kuma-tags";

// Kuma's tags.Serialize of the Dataplane's TagSet: `&key=v1,v2&` per key of its inbounds' tags,
// keys and values sorted.
std::string tagsHeaderValue(const model::Resource& dataplane) {
  std::map<std::string, std::set<std::string>> set;
  if (const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dataplane)) {
    for (const auto& inbound : spec->networking().inbound()) {
      for (const auto& [k, v] : inbound.tags()) {
        set[k].insert(v);
      }
    }
  }
  std::string out;
  for (const auto& [k, values] : set) {
    absl::StrAppend(&out, "&", k, "=", absl::StrJoin(values, ","), "&");
  }
  return out;
}

envoy::type::v3::FractionalPercent percentageMember(const json& obj) {
  const json* p = member(obj, "percentage");
  return fractionalPercentOf(p != nullptr ? decimalOf(*p).value_or(0) : 0);
}

// Kuma's createHeaders for a legacy rule's callers: the positive tags must match the caller's
// x-kuma-tags, the negated ones must not (one value per key: the subset's last).
std::vector<envoy::config::route::v3::HeaderMatcher> headersOf(
    const std::vector<SubsetTag>& subset) {
  std::map<std::string, std::string> positive;
  std::map<std::string, std::string> negated;
  for (const SubsetTag& t : subset) {
    (t.negated ? negated : positive)[t.key] = t.value;
  }
  std::vector<envoy::config::route::v3::HeaderMatcher> out;
  for (const auto* tags : {&positive, &negated}) {
    if (tags->empty()) {
      continue;
    }
    auto& m = out.emplace_back();
    m.set_name("x-kuma-tags");
    m.mutable_string_match()->mutable_safe_regex()->set_regex(matchingRegex(*tags));
    m.set_invert_match(tags == &negated);
  }
  return out;
}

// One rule of Kuma's inbound rules: its match (null: every caller), conf and origin policy.
struct Rule {
  const json* match = nullptr;
  const json* conf = nullptr;
  std::string origin;  // the policy's KRI
};

// Kuma's CompareMatch: SPIFFE ID exact before prefix before none, then SNI before none.
int matchRank(const json* match) {
  int rank = 0;
  if (match != nullptr) {
    if (const json* id = member(*match, "spiffeID")) {
      const json* type = member(*id, "type");
      rank += (type != nullptr && *type == "Exact") ? 0 : 2;
    } else {
      rank += 4;
    }
    rank += member(*match, "sni") != nullptr ? 0 : 1;
  } else {
    rank = 5;
  }
  return rank;
}

Matcher::MatcherList::Predicate singlePredicate(const std::string& inputName,
                                                const google::protobuf::Message& input, bool prefix,
                                                const std::string& value) {
  Matcher::MatcherList::Predicate p;
  auto* single = p.mutable_single_predicate();
  single->mutable_input()->set_name(inputName);
  *single->mutable_input()->mutable_typed_config() = kuma::xds::packAny(input);
  if (prefix) {
    single->mutable_value_match()->set_prefix(value);
  } else {
    single->mutable_value_match()->set_exact(value);
  }
  return p;
}

// Kuma's matcher for one rule: skip the fault for callers that do not match it.
Matcher matcherOf(const json* match) {
  Matcher matcher;
  if (match == nullptr) {
    return matcher;
  }
  std::vector<Matcher::MatcherList::Predicate> predicates;
  if (const json* id = member(*match, "spiffeID")) {
    const json* type = member(*id, "type");
    const json* value = member(*id, "value");
    predicates.push_back(
        singlePredicate("envoy.matching.inputs.uri_san",
                        envoy::extensions::matching::common_inputs::ssl::v3::UriSanInput(),
                        type != nullptr && *type == "Prefix",
                        value != nullptr && value->is_string() ? value->get<std::string>() : ""));
  }
  if (const json* sni = member(*match, "sni")) {
    const json* value = member(*sni, "value");
    predicates.push_back(singlePredicate(
        "envoy.matching.inputs.server_name",
        envoy::extensions::matching::common_inputs::network::v3::ServerNameInput(), false,
        value != nullptr && value->is_string() ? value->get<std::string>() : ""));
  }
  if (predicates.empty()) {
    return matcher;
  }
  Matcher::MatcherList::Predicate combined;
  if (predicates.size() == 1) {
    combined = std::move(predicates[0]);
  } else {
    for (auto& p : predicates) {
      *combined.mutable_and_matcher()->add_predicate() = std::move(p);
    }
  }
  auto* field = matcher.mutable_matcher_list()->add_matchers();
  *field->mutable_predicate()->mutable_not_matcher() = std::move(combined);
  auto* action = field->mutable_on_match()->mutable_action();
  action->set_name("skip");
  *action->mutable_typed_config() =
      kuma::xds::packAny(envoy::extensions::filters::common::matcher::action::v3::SkipFilter());
  return matcher;
}

// The faults of a conf's `http` list.
std::vector<fault_v3::HTTPFault> faultsOf(const json* conf) {
  std::vector<fault_v3::HTTPFault> out;
  const json* http = conf != nullptr ? member(*conf, "http") : nullptr;
  if (http == nullptr || !http->is_array()) {
    return out;
  }
  for (const json& fault : *http) {
    out.push_back(httpFaultOf(fault));
  }
  return out;
}

// The KRI of the selected policy whose spec is `spec`.
std::string originOf(const kuma::xds::MeshContext& mesh, const json* spec) {
  for (const kuma::xds::PolicyEntry& e : mesh.policies("MeshFaultInjection")) {
    if (e.spec == spec && e.resource != nullptr) {
      return model::kriOf(*e.resource);
    }
  }
  return "";
}

// The HTTP filters of the proxy's inbounds (Kuma's Configurer or LegacyConfigurer).
std::vector<hcm_v3::HttpFilter> filtersOf(const kuma::xds::ProxyContext& proxy,
                                          const std::vector<const json*>& specs) {
  std::vector<Rule> rules;
  for (const json* spec : specs) {
    const json* items = spec != nullptr ? member(*spec, "rules") : nullptr;
    if (items == nullptr || !items->is_array() || items->empty()) {
      continue;
    }
    const std::string origin = proxy.mesh != nullptr ? originOf(*proxy.mesh, spec) : "";
    for (const json& item : *items) {
      const json* conf = member(item, "default");
      const json* matches = member(item, "matches");
      if (matches == nullptr || !matches->is_array() || matches->empty()) {
        rules.push_back({nullptr, conf, origin});
        continue;
      }
      for (const json& m : *matches) {
        rules.push_back({&m, conf, origin});
      }
    }
  }
  std::vector<hcm_v3::HttpFilter> filters;
  if (!rules.empty()) {
    std::stable_sort(rules.begin(), rules.end(), [](const Rule& a, const Rule& b) {
      return matchRank(a.match) < matchRank(b.match);
    });
    for (const Rule& rule : rules) {
      const Matcher matcher = matcherOf(rule.match);
      for (const fault_v3::HTTPFault& fault : faultsOf(rule.conf)) {
        envoy::extensions::common::matching::v3::ExtensionWithMatcher extension;
        *extension.mutable_xds_matcher() = matcher;
        extension.mutable_extension_config()->set_name(kFaultFilterName);
        *extension.mutable_extension_config()->mutable_typed_config() = kuma::xds::packAny(fault);
        hcm_v3::HttpFilter& filter = filters.emplace_back();
        filter.set_name(rule.origin);
        *filter.mutable_typed_config() = kuma::xds::packAny(extension);
      }
    }
    return filters;
  }
  // Kuma's legacy path: the `from` rules, most specific first, each fault with the rule's callers
  // as x-kuma-tags header matchers.
  for (const LegacyFromRule& rule : legacyFromRules(specs)) {
    const std::vector<envoy::config::route::v3::HeaderMatcher> headers = headersOf(rule.subset);
    for (fault_v3::HTTPFault& fault : faultsOf(&rule.conf)) {
      for (const auto& h : headers) {
        *fault.add_headers() = h;
      }
      hcm_v3::HttpFilter& filter = filters.emplace_back();
      filter.set_name(kFaultFilterName);
      *filter.mutable_typed_config() = kuma::xds::packAny(fault);
    }
  }
  return filters;
}

}  // namespace

// Kuma's ConvertBandwidthToKbps: `<digits><kbps|Mbps|Gbps>` (validated).
uint64_t kbpsOf(const std::string& limit) {
  size_t i = 0;
  while (i < limit.size() && limit[i] >= '0' && limit[i] <= '9') {
    ++i;
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(limit.substr(0, i), &value)) {
    return 0;
  }
  std::string_view unit = std::string_view(limit).substr(i);
  if (!unit.empty() && unit.front() == ' ') {
    unit.remove_prefix(1);
  }
  if (unit == "Mbps") {
    return value * 1000;
  }
  if (unit == "Gbps") {
    return value * 1000000;
  }
  return value;
}

// Kuma's tags.MatchingRegex: `.*` then `&key=[^&]*value[,&].*` per key in key order (dots of
// the value escaped; `*` matches any value).
std::string matchingRegex(const std::map<std::string, std::string>& tags) {
  std::string re = ".*";
  for (const auto& [key, value] : tags) {
    std::string v = value == "*" ? "" : absl::StrCat("[^&]*", value, "[,&]");
    v = absl::StrReplaceAll(v, {{".", "\\."}});
    absl::StrAppend(&re, "&", key, "=", v, ".*");
  }
  return re;
}

envoy::type::v3::FractionalPercent fractionalPercentOf(double value) {
  envoy::type::v3::FractionalPercent out;
  if (std::floor(value) == value) {
    out.set_numerator(static_cast<uint32_t>(value));
    out.set_denominator(envoy::type::v3::FractionalPercent::HUNDRED);
    return out;
  }
  const double hundredTimes = 100 * value;
  if (std::floor(hundredTimes) == hundredTimes) {
    out.set_numerator(static_cast<uint32_t>(hundredTimes));
    out.set_denominator(envoy::type::v3::FractionalPercent::TEN_THOUSAND);
    return out;
  }
  out.set_numerator(static_cast<uint32_t>(std::round(10000 * value)));
  out.set_denominator(envoy::type::v3::FractionalPercent::MILLION);
  return out;
}

fault_v3::HTTPFault httpFaultOf(const json& fault) {
  fault_v3::HTTPFault out;
  if (const json* delay = member(fault, "delay")) {
    auto* d = out.mutable_delay();
    *d->mutable_fixed_delay() = google::protobuf::util::TimeUtil::NanosecondsToDuration(
        durationMember(*delay, "value").value_or(std::chrono::nanoseconds(0)).count());
    *d->mutable_percentage() = percentageMember(*delay);
  }
  if (const json* abort = member(fault, "abort")) {
    auto* a = out.mutable_abort();
    const json* status = member(*abort, "httpStatus");
    a->set_http_status(status != nullptr && status->is_number_integer()
                           ? static_cast<uint32_t>(status->get<int64_t>())
                           : 0);
    *a->mutable_percentage() = percentageMember(*abort);
  }
  if (const json* bw = member(fault, "responseBandwidth")) {
    auto* r = out.mutable_response_rate_limit();
    const json* limit = member(*bw, "limit");
    r->mutable_fixed_limit()->set_limit_kbps(
        kbpsOf(limit != nullptr && limit->is_string() ? limit->get<std::string>() : ""));
    *r->mutable_percentage() = percentageMember(*bw);
  }
  return out;
}

std::string_view XdsConfigurer::policyType() const {
  return "MeshFaultInjection";
}

int XdsConfigurer::order() const {
  return 800;  // Kuma's MeshFaultInjection order
}

absl::Status XdsConfigurer::configureOutboundHcm(const json&, const xds::OutboundTarget& target,
                                                 hcm_v3::HttpConnectionManager& hcm) const {
  if (target.proxy == nullptr || target.proxy->mesh == nullptr ||
      target.proxy->dataplane == nullptr || !hcm.has_route_config()) {
    return absl::OkStatus();
  }
  // Kuma's IsXKumaTagsUsed: any MeshFaultInjection, legacy FaultInjection or legacy RateLimit.
  const xds::MeshContext& mesh = *target.proxy->mesh;
  if (mesh.policies(policyType()).empty() &&
      mesh.legacyPolicies(resources::kFaultInjectionType).empty() &&
      mesh.legacyPolicies("RateLimit").empty()) {
    return absl::OkStatus();
  }
  auto* rc = hcm.mutable_route_config();
  for (const auto& h : rc->request_headers_to_add()) {
    if (h.header().key() == kTagsHeader) {
      return absl::OkStatus();
    }
  }
  const std::string value = tagsHeaderValue(*target.proxy->dataplane);
  if (!value.empty()) {
    auto* header = rc->add_request_headers_to_add()->mutable_header();
    header->set_key(kTagsHeader);
    header->set_value(value);
  }
  return absl::OkStatus();
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const nlohmann::json*>& specs,
                                  xds::ResourceSet& resources) const {
  if (specs.empty() || proxy.inbounds == nullptr) {
    return absl::OkStatus();
  }
  for (const xds::InboundTarget& inbound : *proxy.inbounds) {
    if (!xds::isHttpProtocol(inbound.protocol)) {
      continue;
    }
    auto* listener = resources.find<envoy::config::listener::v3::Listener>(inbound.listenerName);
    if (listener == nullptr) {
      continue;
    }
    const std::vector<hcm_v3::HttpFilter> filters =
        filtersOf(proxy, specsForInbound(proxy, policyType(), specs, inbound.index));
    if (filters.empty()) {
      continue;
    }
    for (auto& chain : *listener->mutable_filter_chains()) {
      absl::Status s =
          xds::updateHttpConnectionManager(chain, [&](hcm_v3::HttpConnectionManager& hcm) {
            return xds::insertHttpFiltersBeforeRouter(hcm, filters);
          });
      if (!s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshfaultinjection
