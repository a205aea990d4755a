#include "source/xds/generator/policy_confs.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "source/common/go_duration.h"
#include "source/plugins/policies/core/policy.h"

namespace kuma::xds {
namespace {

using nlohmann::json;

bool subsetOf(const std::map<std::string, std::string>& subset,
              const std::map<std::string, std::string>& tags) {
  return std::all_of(subset.begin(), subset.end(), [&](const auto& kv) {
    auto it = tags.find(kv.first);
    return it != tags.end() && it->second == kv.second;
  });
}

// Does a policy's top-level targetRef select this sidecar?
bool selects(const policies::TargetRef& ref, const model::Resource& dp,
             const mesh::v1alpha1::Dataplane& spec) {
  std::vector<std::map<std::string, std::string>> inboundTags;
  for (const auto& inbound : spec.networking().inbound()) {
    inboundTags.emplace_back(inbound.tags().begin(), inbound.tags().end());
  }
  auto anyInbound = [&](const std::map<std::string, std::string>& want) {
    return std::any_of(inboundTags.begin(), inboundTags.end(),
                       [&](const auto& tags) { return subsetOf(want, tags); });
  };
  if (ref.kind == policies::kMesh) {
    return ref.proxyTypes.empty() || std::find(ref.proxyTypes.begin(), ref.proxyTypes.end(),
                                               "Sidecar") != ref.proxyTypes.end();
  }
  if (ref.kind == policies::kMeshSubset) {
    return anyInbound(ref.tags);
  }
  if (ref.kind == policies::kMeshService || ref.kind == policies::kMeshServiceSubset) {
    std::map<std::string, std::string> want =
        ref.kind == policies::kMeshServiceSubset ? ref.tags : std::map<std::string, std::string>{};
    want[kServiceTag] = ref.name;
    return anyInbound(want);
  }
  if (ref.kind == policies::kDataplane) {
    if (!ref.name.empty()) {
      return ref.name == dp.meta.name;
    }
    return subsetOf(ref.labels, dp.meta.labels);
  }
  return false;
}

// Does a `to[]` item's targetRef cover destination `service` (legacy kuma.io/service)?
bool coversDestination(const policies::TargetRef& ref, const std::string& service) {
  const std::map<std::string, std::string> destination = {{kServiceTag, service}};
  if (ref.kind == policies::kMesh) {
    return true;
  }
  if (ref.kind == policies::kMeshService) {
    return ref.name == service && ref.sectionName.empty();
  }
  if (ref.kind == policies::kMeshServiceSubset) {
    return ref.name == service && subsetOf(ref.tags, destination);
  }
  if (ref.kind == policies::kMeshSubset) {
    return subsetOf(ref.tags, destination);
  }
  return false;
}

std::optional<std::chrono::nanoseconds> durationAt(const json& obj, std::string_view key) {
  const json* v = policies::member(obj, key);
  if (v == nullptr || !v->is_string()) {
    return std::nullopt;
  }
  auto d = common::parseGoDuration(v->get<std::string>());
  if (!d.ok()) {
    return std::nullopt;
  }
  return *d;
}

std::optional<uint32_t> uintAt(const json& obj, std::string_view key) {
  const json* v = policies::member(obj, key);
  if (v == nullptr || !v->is_number_integer() || v->get<int64_t>() < 0) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(v->get<int64_t>());
}

void applyTimeouts(const json& conf, TimeoutConf& t) {
  if (auto d = durationAt(conf, "connectionTimeout"))
    t.connectionTimeout = *d;
  if (auto d = durationAt(conf, "idleTimeout"))
    t.idleTimeout = *d;
  if (const json* http = policies::member(conf, "http")) {
    if (auto d = durationAt(*http, "requestTimeout"))
      t.requestTimeout = *d;
    if (auto d = durationAt(*http, "streamIdleTimeout"))
      t.streamIdleTimeout = *d;
    if (auto d = durationAt(*http, "maxStreamDuration"))
      t.maxStreamDuration = *d;
    if (auto d = durationAt(*http, "maxConnectionDuration"))
      t.maxConnectionDuration = *d;
    if (auto d = durationAt(*http, "requestHeadersTimeout"))
      t.requestHeadersTimeout = *d;
  }
}

// MeshRetry's retryOn names → Envoy retry_on conditions.
std::string envoyRetryOn(const std::string& kuma) {
  static const std::map<std::string, std::string> kNames = {
      {"5xx", "5xx"},
      {"5XX", "5xx"},
      {"GatewayError", "gateway-error"},
      {"Reset", "reset"},
      {"Retriable4xx", "retriable-4xx"},
      {"ConnectFailure", "connect-failure"},
      {"EnvoyRatelimited", "envoy-ratelimited"},
      {"RefusedStream", "refused-stream"},
      {"Http3PostConnectFailure", "http3-post-connect-failure"},
      {"Canceled", "cancelled"},
      {"DeadlineExceeded", "deadline-exceeded"},
      {"Internal", "internal"},
      {"ResourceExhausted", "resource-exhausted"},
      {"Unavailable", "unavailable"},
  };
  auto it = kNames.find(kuma);
  return it == kNames.end() ? std::string() : it->second;
}

std::optional<HttpRetryConf> httpRetry(const json& conf, std::string_view key) {
  const json* h = policies::member(conf, key);
  if (h == nullptr) {
    return std::nullopt;
  }
  HttpRetryConf r;
  r.numRetries = uintAt(*h, "numRetries");
  r.perTryTimeout = durationAt(*h, "perTryTimeout");
  if (const json* backOff = policies::member(*h, "backOff")) {
    r.baseInterval = durationAt(*backOff, "baseInterval");
    r.maxInterval = durationAt(*backOff, "maxInterval");
  }
  if (const json* on = policies::member(*h, "retryOn"); on != nullptr && on->is_array()) {
    for (const auto& v : *on) {
      if (!v.is_string()) {
        continue;
      }
      const std::string s = v.get<std::string>();
      uint32_t code = 0;
      if (absl::SimpleAtoi(s, &code)) {
        r.retriableStatusCodes.push_back(code);
        if (std::find(r.retryOn.begin(), r.retryOn.end(), "retriable-status-codes") ==
            r.retryOn.end()) {
          r.retryOn.push_back("retriable-status-codes");
        }
      } else if (std::string e = envoyRetryOn(s); !e.empty()) {
        r.retryOn.push_back(e);
      }
    }
  }
  return r;
}

}  // namespace

ProxyPolicies::ProxyPolicies(const MeshContext& context, const model::Resource& dataplane,
                             const mesh::v1alpha1::Dataplane& spec) {
  for (std::string_view type : {kMeshTimeout, kMeshCircuitBreaker, kMeshRetry}) {
    auto& list = selected_[std::string(type)];
    absl::StrAppend(&signature_, std::string(type), ":");
    for (const PolicyEntry& e : context.policies(type)) {
      if (selects(e.targetRef, dataplane, spec)) {
        list.push_back(&e);
        absl::StrAppend(&signature_, e.resource->meta.name, ",");
      }
    }
    absl::StrAppend(&signature_, ";");
  }
}

json ProxyPolicies::mergedTo(std::string_view type, const std::string& service) const {
  json merged;  // null: nothing applies
  auto it = selected_.find(type);
  if (it == selected_.end()) {
    return merged;
  }
  for (const PolicyEntry* e : it->second) {
    const json* to = policies::member(*e->spec, "to");
    if (to == nullptr || !to->is_array()) {
      continue;
    }
    for (const auto& item : *to) {
      const json* ref = policies::member(item, "targetRef");
      const json* conf = policies::member(item, "default");
      if (conf == nullptr ||
          !coversDestination(policies::parseTargetRef(ref != nullptr ? *ref : json()), service)) {
        continue;
      }
      if (merged.is_null()) {
        merged = json::object();
      }
      merged.merge_patch(*conf);
    }
  }
  return merged;
}

InboundConf ProxyPolicies::inbound() const {
  InboundConf out;
  auto it = selected_.find(kMeshTimeout);
  if (it == selected_.end()) {
    return out;
  }
  json merged = json::object();
  for (const PolicyEntry* e : it->second) {
    // MeshTimeout treats `from[]` items as catch-all inbound rules, like `rules[]` without
    // matches (IsFromAsRules).
    for (std::string_view key : {"from", "rules"}) {
      const json* items = policies::member(*e->spec, key);
      if (items == nullptr || !items->is_array()) {
        continue;
      }
      for (const auto& item : *items) {
        if (key == "rules" && policies::arraySize(item, "matches") > 0) {
          continue;
        }
        if (const json* conf = policies::member(item, "default")) {
          merged.merge_patch(*conf);
        }
      }
    }
  }
  applyTimeouts(merged, out.timeouts);
  return out;
}

OutboundConf ProxyPolicies::outbound(const std::string& service) const {
  OutboundConf out;
  const json timeouts = mergedTo(kMeshTimeout, service);
  if (!timeouts.is_null()) {
    applyTimeouts(timeouts, out.timeouts);
  }
  const json cb = mergedTo(kMeshCircuitBreaker, service);
  if (const json* limits = cb.is_null() ? nullptr : policies::member(cb, "connectionLimits")) {
    CircuitBreakerConf c;
    c.maxConnections = uintAt(*limits, "maxConnections");
    c.maxPendingRequests = uintAt(*limits, "maxPendingRequests");
    c.maxRequests = uintAt(*limits, "maxRequests");
    c.maxRetries = uintAt(*limits, "maxRetries");
    out.circuitBreaker = c;
  }
  const json retry = mergedTo(kMeshRetry, service);
  if (!retry.is_null()) {
    RetryConf r;
    r.http = httpRetry(retry, "http");
    r.grpc = httpRetry(retry, "grpc");
    if (const json* tcp = policies::member(retry, "tcp")) {
      r.tcpMaxConnectAttempt = uintAt(*tcp, "maxConnectAttempt");
    }
    out.retry = r;
  }
  return out;
}

}  // namespace kuma::xds
