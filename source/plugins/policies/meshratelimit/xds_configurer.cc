#include "source/plugins/policies/meshratelimit/xds_configurer.h"

#include <string>

#include "absl/strings/str_split.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/local_ratelimit/v3/local_rate_limit.pb.h"
#include "google/protobuf/util/time_util.h"
#include "source/plugins/policies/core/inbound_policies.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/rules.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/http_filters.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::meshratelimit {
namespace {

using nlohmann::json;
namespace core_v3 = envoy::config::core::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace http_rl = envoy::extensions::filters::http::local_ratelimit::v3;
namespace tcp_rl = envoy::extensions::filters::network::local_ratelimit::v3;

constexpr char kTcpFilterName[] =
    "envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit";

bool disabled(const json& conf) {
  const json* d = member(conf, "disabled");
  return d != nullptr && d->is_boolean() && d->get<bool>();
}

// {num, interval} of a rate; nullopt when absent.
struct Rate {
  uint32_t num = 0;
  std::chrono::nanoseconds interval{0};
};
std::optional<Rate> rateOf(const json& conf, std::string_view key) {
  const json* rate = member(conf, key);
  if (rate == nullptr || !rate->is_object()) {
    return std::nullopt;
  }
  Rate out;
  if (const json* num = member(*rate, "num");
      num != nullptr && num->is_number_integer() && num->get<int64_t>() >= 0) {
    out.num = static_cast<uint32_t>(num->get<int64_t>());
  }
  out.interval = durationMember(*rate, "interval").value_or(std::chrono::nanoseconds(0));
  return out;
}

void setBucket(envoy::type::v3::TokenBucket& bucket, uint32_t num,
               std::chrono::nanoseconds interval) {
  bucket.set_max_tokens(num);
  bucket.mutable_tokens_per_fill()->set_value(num);
  *bucket.mutable_fill_interval() =
      google::protobuf::util::TimeUtil::NanosecondsToDuration(interval.count());
}

void setFullPercent(core_v3::RuntimeFractionalPercent& p, const std::string& runtimeKey) {
  p.mutable_default_value()->set_numerator(100);
  p.mutable_default_value()->set_denominator(envoy::type::v3::FractionalPercent::HUNDRED);
  p.set_runtime_key(runtimeKey);
}

std::string stringMember(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// Kuma's ConfigureFilterChain on one inbound filter chain.
absl::Status configureChain(const json& local, envoy::config::listener::v3::FilterChain& chain) {
  if (const json* http = member(local, "http")) {
    if (auto rl = httpRouteRateLimitOf(*http)) {
      const google::protobuf::Any perRoute = xds::packAny(*rl);
      const hcm_v3::HttpFilter filter = httpRateLimitFilter();
      absl::Status s =
          xds::updateHttpConnectionManager(chain, [&](hcm_v3::HttpConnectionManager& hcm) {
            if (!hcm.has_route_config()) {
              return absl::OkStatus();
            }
            for (auto& vh : *hcm.mutable_route_config()->mutable_virtual_hosts()) {
              for (auto& route : *vh.mutable_routes()) {
                // A route's own local rate limit (an earlier rule) stays.
                route.mutable_typed_per_filter_config()->insert({kHttpFilterName, perRoute});
              }
            }
            for (auto& existing : *hcm.mutable_http_filters()) {
              if (existing.name() == kHttpFilterName) {
                existing = filter;
                return absl::OkStatus();
              }
            }
            return xds::insertHttpFiltersBeforeRouter(hcm, {filter});
          });
      if (!s.ok()) {
        return s;
      }
    }
  }
  if (const json* tcp = member(local, "tcp")) {
    if (auto rl = tcpRateLimitOf(*tcp)) {
      envoy::config::listener::v3::Filter filter;
      filter.set_name(kTcpFilterName);
      *filter.mutable_typed_config() = xds::packAny(*rl);
      for (auto& existing : *chain.mutable_filters()) {
        if (existing.name() == kTcpFilterName) {
          existing = filter;
          return absl::OkStatus();
        }
      }
      auto* filters = chain.mutable_filters();
      *filters->Add() = std::move(filter);
      for (int i = filters->size() - 1; i > 0; --i) {
        filters->SwapElements(i, i - 1);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

const char kHttpFilterName[] = "envoy.filters.http.local_ratelimit";

http_rl::LocalRateLimit httpLocalRateLimit(const HttpRateLimit& limit) {
  http_rl::LocalRateLimit rl;
  rl.set_stat_prefix("rate_limit");
  if (limit.status > 0) {
    rl.mutable_status()->set_code(static_cast<envoy::type::v3::StatusCode>(limit.status));
  }
  for (const HttpRateLimit::Header& h : limit.headers) {
    auto* option = rl.add_response_headers_to_add();
    option->mutable_header()->set_key(h.name);
    option->mutable_header()->set_value(h.value);
    option->set_append_action(h.append ? core_v3::HeaderValueOption::APPEND_IF_EXISTS_OR_ADD
                                       : core_v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  }
  setBucket(*rl.mutable_token_bucket(), limit.requests, limit.interval);
  setFullPercent(*rl.mutable_filter_enabled(), "local_rate_limit_enabled");
  setFullPercent(*rl.mutable_filter_enforced(), "local_rate_limit_enforced");
  return rl;
}

hcm_v3::HttpFilter httpRateLimitFilter() {
  http_rl::LocalRateLimit config;
  config.set_stat_prefix("rate_limit");
  hcm_v3::HttpFilter filter;
  filter.set_name(kHttpFilterName);
  *filter.mutable_typed_config() = xds::packAny(config);
  return filter;
}

std::optional<http_rl::LocalRateLimit> httpRouteRateLimitOf(const json& http) {
  if (disabled(http)) {
    return std::nullopt;
  }
  const std::optional<Rate> rate = rateOf(http, "requestRate");
  if (!rate) {
    return std::nullopt;
  }
  HttpRateLimit limit;
  limit.requests = rate->num;
  limit.interval = rate->interval;
  if (const json* on = member(http, "onRateLimit"); on != nullptr && on->is_object()) {
    if (const json* status = member(*on, "status");
        status != nullptr && status->is_number_integer() && status->get<int64_t>() > 0) {
      limit.status = static_cast<uint32_t>(status->get<int64_t>());
    }
    if (const json* headers = member(*on, "headers"); headers != nullptr) {
      if (const json* add = member(*headers, "add"); add != nullptr && add->is_array()) {
        for (const json& h : *add) {
          limit.headers.push_back({stringMember(h, "name"), stringMember(h, "value"), true});
        }
      }
      if (const json* set = member(*headers, "set"); set != nullptr && set->is_array()) {
        for (const json& h : *set) {
          const std::string name = stringMember(h, "name");
          for (absl::string_view v : absl::StrSplit(stringMember(h, "value"), ',')) {
            limit.headers.push_back({name, std::string(v), false});
          }
        }
      }
    }
  }
  return httpLocalRateLimit(limit);
}

std::optional<tcp_rl::LocalRateLimit> tcpRateLimitOf(const json& tcp) {
  if (disabled(tcp)) {
    return std::nullopt;
  }
  const std::optional<Rate> rate = rateOf(tcp, "connectionRate");
  if (!rate) {
    return std::nullopt;
  }
  tcp_rl::LocalRateLimit rl;
  rl.set_stat_prefix("tcp_rate_limit");
  setBucket(*rl.mutable_token_bucket(), rate->num, rate->interval);
  return rl;
}

std::string_view XdsConfigurer::policyType() const {
  return "MeshRateLimit";
}

int XdsConfigurer::order() const {
  return 900;  // Kuma's MeshRateLimit order
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const nlohmann::json*>& specs,
                                  xds::ResourceSet& resources) const {
  if (specs.empty() || proxy.inbounds == nullptr) {
    return absl::OkStatus();
  }
  for (const xds::InboundTarget& inbound : *proxy.inbounds) {
    auto* listener = resources.find<envoy::config::listener::v3::Listener>(inbound.listenerName);
    if (listener == nullptr) {
      continue;
    }
    const json conf = mergeInboundConf(specsForInbound(proxy, policyType(), specs, inbound.index));
    const json* local = member(conf, "local");
    if (local == nullptr || !local->is_object()) {
      continue;
    }
    for (auto& chain : *listener->mutable_filter_chains()) {
      if (absl::Status s = configureChain(*local, chain); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshratelimit
