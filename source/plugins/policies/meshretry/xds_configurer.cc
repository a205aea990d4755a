#include "source/plugins/policies/meshretry/xds_configurer.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshretry {
namespace {

using nlohmann::json;
namespace route_v3 = envoy::config::route::v3;

// Protobuf wire format for the few extension configs whose protos this build does not compile.
std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string lengthDelimited(uint32_t field, const std::string& bytes) {
  return varint((field << 3) | 2) + varint(bytes.size()) + bytes;
}
std::string varintField(uint32_t field, int64_t v) {
  return varint(field << 3) + varint(static_cast<uint64_t>(v));
}

constexpr char kDefaultHttpRetryOn[] = "gateway-error,connect-failure,refused-stream";
constexpr char kRetriableStatusCodes[] = "retriable-status-codes";
constexpr char kDefaultGrpcRetryOn[] =
    "cancelled,connect-failure,gateway-error,refused-stream,reset,resource-exhausted,unavailable";

google::protobuf::Duration toDuration(std::chrono::nanoseconds d) {
  return google::protobuf::util::TimeUtil::NanosecondsToDuration(d.count());
}

std::optional<uint32_t> uintAt(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  if (v == nullptr || !v->is_number_integer() || v->get<int64_t>() < 0) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(v->get<int64_t>());
}

// Kuma's HttpRetryOnEnumToEnvoyValue / GrpcRetryOnEnumToEnvoyValue (empty: not in the map;
// Kuma then joins an empty item). Note Kuma's "canceled" for gRPC's Canceled.
std::string envoyRetryOn(const std::string& kuma, bool grpc) {
  static const std::map<std::string, std::string> kHttp = {
      {"5xx", "5xx"},
      {"GatewayError", "gateway-error"},
      {"Reset", "reset"},
      {"Retriable4xx", "retriable-4xx"},
      {"ConnectFailure", "connect-failure"},
      {"EnvoyRatelimited", "envoy-ratelimited"},
      {"RefusedStream", "refused-stream"},
      {"Http3PostConnectFailure", "http3-post-connect-failure"},
      {"HttpMethodConnect", "CONNECT"},
      {"HttpMethodDelete", "DELETE"},
      {"HttpMethodGet", "GET"},
      {"HttpMethodHead", "HEAD"},
      {"HttpMethodOptions", "OPTIONS"},
      {"HttpMethodPatch", "PATCH"},
      {"HttpMethodPost", "POST"},
      {"HttpMethodPut", "PUT"},
      {"HttpMethodTrace", "TRACE"},
  };
  static const std::map<std::string, std::string> kGrpc = {
      {"Canceled", "canceled"},       {"DeadlineExceeded", "deadline-exceeded"},
      {"Internal", "internal"},       {"ResourceExhausted", "resource-exhausted"},
      {"Unavailable", "unavailable"},
  };
  const auto& names = grpc ? kGrpc : kHttp;
  auto it = names.find(kuma);
  return it == names.end() ? std::string() : it->second;
}

// Go's net/http StatusText(code) != "".
bool knownStatusCode(uint64_t code) {
  static const std::set<uint64_t> kCodes = {
      100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301,
      302, 303, 304, 305, 306, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408,
      409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426,
      428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511};
  return kCodes.contains(code);
}

// Kuma's headerMatcher: Exact unless `type` says otherwise.
route_v3::HeaderMatcher headerMatcher(const json& h) {
  route_v3::HeaderMatcher m;
  const json* name = member(h, "name");
  const json* value = member(h, "value");
  const json* type = member(h, "type");
  m.set_name(name != nullptr && name->is_string() ? name->get<std::string>() : "");
  const std::string v = value != nullptr && value->is_string() ? value->get<std::string>() : "";
  const std::string t = type != nullptr && type->is_string() ? type->get<std::string>() : "Exact";
  if (t == "RegularExpression") {
    m.mutable_string_match()->mutable_safe_regex()->set_regex(v);
  } else if (t == "Prefix") {
    m.mutable_string_match()->set_prefix(v);
  } else if (t == "Exact") {
    m.mutable_string_match()->set_exact(v);
  } else if (t == "Present") {
    m.set_present_match(true);
  } else if (t == "Absent") {
    m.set_present_match(false);
  }
  return m;
}

void setBackOff(const json& conf, route_v3::RetryPolicy& rp, bool grpc) {
  const json* backOff = member(conf, "backOff");
  if (backOff == nullptr) {
    return;
  }
  auto* b = rp.mutable_retry_back_off();
  if (auto base = durationMember(*backOff, "baseInterval")) {
    *b->mutable_base_interval() = toDuration(*base);
  } else if (grpc) {
    // Kuma's gRPC policy: the mesh default base interval (25ms) when only maxInterval is given.
    *b->mutable_base_interval() = toDuration(std::chrono::milliseconds(25));
  }
  if (auto max = durationMember(*backOff, "maxInterval")) {
    *b->mutable_max_interval() = toDuration(*max);
  }
}

void setRateLimitedBackOff(const json& conf, route_v3::RetryPolicy& rp) {
  const json* rl = member(conf, "rateLimitedBackOff");
  if (rl == nullptr) {
    return;
  }
  auto* out = rp.mutable_rate_limited_retry_back_off();
  if (const json* resets = member(*rl, "resetHeaders"); resets != nullptr && resets->is_array()) {
    for (const json& r : *resets) {
      auto* h = out->add_reset_headers();
      const json* name = member(r, "name");
      const json* format = member(r, "format");
      h->set_name(name != nullptr && name->is_string() ? name->get<std::string>() : "");
      h->set_format(format != nullptr && format->is_string() &&
                            format->get<std::string>() == "UnixTimestamp"
                        ? route_v3::RetryPolicy::UNIX_TIMESTAMP
                        : route_v3::RetryPolicy::SECONDS);
    }
  }
  if (auto max = durationMember(*rl, "maxInterval")) {
    *out->mutable_max_interval() = toDuration(*max);
  }
}

absl::Status setHostSelection(const json& conf, route_v3::RetryPolicy& rp) {
  const json* list = member(conf, "hostSelection");
  if (list == nullptr || !list->is_array()) {
    return absl::OkStatus();
  }
  for (const json& p : *list) {
    const json* predicate = member(p, "predicate");
    const std::string type =
        predicate != nullptr && predicate->is_string() ? predicate->get<std::string>() : "";
    if (type == "OmitPreviousHosts") {
      auto* pred = rp.add_retry_host_predicate();
      pred->set_name("envoy.retry_host_predicates.previous_hosts");
      pred->mutable_typed_config()->set_type_url(
          "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3."
          "PreviousHostsPredicate");
    } else if (type == "OmitHostsWithTags") {
      // OmitHostMetadataConfig{metadata_match = Kuma's LbMetadata(tags)}: field 1, a Metadata
      // whose filter_metadata["envoy.lb"] is a Struct of the tags.
      envoy::config::core::v3::Metadata md;
      if (const json* tags = member(p, "tags"); tags != nullptr && tags->is_object()) {
        auto& fields = *(*md.mutable_filter_metadata())["envoy.lb"].mutable_fields();
        for (const auto& [k, v] : tags->items()) {
          fields[k].set_string_value(v.is_string() ? v.get<std::string>() : "");
        }
      }
      std::string mdBytes;
      if (!md.SerializeToString(&mdBytes)) {
        return absl::InternalError("OmitHostsWithTags metadata does not serialize");
      }
      auto* pred = rp.add_retry_host_predicate();
      pred->set_name("envoy.retry_host_predicates.omit_host_metadata");
      pred->mutable_typed_config()->set_type_url(
          "type.googleapis.com/envoy.extensions.retry.host.omit_host_metadata.v3."
          "OmitHostMetadataConfig");
      pred->mutable_typed_config()->set_value(lengthDelimited(1, mdBytes));
    } else if (type == "OmitPreviousPriorities") {
      const json* freq = member(p, "updateFrequency");
      const int64_t f = freq != nullptr && freq->is_number_integer() ? freq->get<int64_t>() : 0;
      auto* prio = rp.mutable_retry_priority();
      prio->set_name("envoy.retry_priorities.previous_priorities");
      prio->mutable_typed_config()->set_type_url(
          "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3."
          "PreviousPrioritiesConfig");
      // PreviousPrioritiesConfig{update_frequency = f}: field 1, int32 (omitted when 0).
      prio->mutable_typed_config()->set_value(f != 0 ? varintField(1, f) : std::string());
    }
  }
  return absl::OkStatus();
}

// Kuma's genHttpRetryPolicy; nullopt: no retry policy (numRetries 0).
std::optional<route_v3::RetryPolicy> httpRetryPolicy(const json& conf) {
  route_v3::RetryPolicy rp;
  rp.set_retry_on(kDefaultHttpRetryOn);
  if (auto d = durationMember(conf, "perTryTimeout")) {
    *rp.mutable_per_try_timeout() = toDuration(*d);
  }
  if (auto n = uintAt(conf, "numRetries")) {
    if (*n == 0) {
      return std::nullopt;
    }
    rp.mutable_num_retries()->set_value(*n);
  }
  setBackOff(conf, rp, /*grpc=*/false);
  setRateLimitedBackOff(conf, rp);
  std::vector<std::string> retryOn;
  std::vector<std::string> methods;
  bool codes = false;
  if (const json* on = member(conf, "retryOn"); on != nullptr && on->is_array()) {
    for (const json& v : *on) {
      const std::string key = v.is_string() ? v.get<std::string>() : "";
      uint64_t code = 0;
      if (absl::SimpleAtoi(key, &code) && knownStatusCode(code)) {
        rp.add_retriable_status_codes(static_cast<uint32_t>(code));
        codes = true;
      } else if (absl::StartsWith(key, "HttpMethod")) {
        methods.push_back(envoyRetryOn(key, false));
      } else {
        retryOn.push_back(envoyRetryOn(key, false));
      }
    }
  }
  if (!retryOn.empty()) {
    rp.set_retry_on(absl::StrJoin(retryOn, ","));
  }
  if (codes) {
    std::vector<std::string> parts = absl::StrSplit(rp.retry_on(), ',');
    if (std::find(parts.begin(), parts.end(), kRetriableStatusCodes) == parts.end()) {
      parts.push_back(kRetriableStatusCodes);
    }
    rp.set_retry_on(absl::StrJoin(parts, ","));
  }
  for (const std::string& m : methods) {
    auto* h = rp.add_retriable_request_headers();
    h->set_name(":method");
    h->mutable_string_match()->set_exact(m);
  }
  if (const json* hs = member(conf, "retriableRequestHeaders"); hs != nullptr && hs->is_array()) {
    for (const json& h : *hs) {
      *rp.add_retriable_request_headers() = headerMatcher(h);
    }
  }
  if (const json* hs = member(conf, "retriableResponseHeaders"); hs != nullptr && hs->is_array()) {
    for (const json& h : *hs) {
      *rp.add_retriable_headers() = headerMatcher(h);
    }
  }
  if (!setHostSelection(conf, rp).ok()) {
    return std::nullopt;
  }
  if (const json* max = member(conf, "hostSelectionMaxAttempts");
      max != nullptr && max->is_number_integer()) {
    rp.set_host_selection_retry_max_attempts(max->get<int64_t>());
  }
  return rp;
}

// Kuma's genGrpcRetryPolicy.
std::optional<route_v3::RetryPolicy> grpcRetryPolicy(const json& conf) {
  route_v3::RetryPolicy rp;
  rp.set_retry_on(kDefaultGrpcRetryOn);
  if (auto d = durationMember(conf, "perTryTimeout")) {
    *rp.mutable_per_try_timeout() = toDuration(*d);
  }
  if (auto n = uintAt(conf, "numRetries")) {
    if (*n == 0) {
      return std::nullopt;
    }
    rp.mutable_num_retries()->set_value(*n);
  }
  if (const json* on = member(conf, "retryOn"); on != nullptr && on->is_array() && !on->empty()) {
    std::vector<std::string> retryOn;
    for (const json& v : *on) {
      retryOn.push_back(envoyRetryOn(v.is_string() ? v.get<std::string>() : "", true));
    }
    const std::string joined = absl::StrJoin(retryOn, ",");
    if (!joined.empty()) {
      rp.set_retry_on(joined);
    }
  }
  setBackOff(conf, rp, /*grpc=*/true);
  setRateLimitedBackOff(conf, rp);
  return rp;
}

}  // namespace

std::string_view XdsConfigurer::policyType() const {
  return "MeshRetry";
}

int XdsConfigurer::order() const {
  return 1400;  // Kuma's MeshRetry order
}

absl::Status XdsConfigurer::configureOutboundRoute(const json& conf,
                                                   const xds::OutboundTarget& target,
                                                   envoy::config::route::v3::Route& route) const {
  // Kuma's GetRouteRetryConfig: "http" and "grpc" destinations only (not http2).
  const bool grpc = target.protocol == xds::Protocol::Grpc;
  if ((!grpc && target.protocol != xds::Protocol::Http) || !route.has_route()) {
    return absl::OkStatus();
  }
  const json* section = member(conf, grpc ? "grpc" : "http");
  if (section == nullptr) {
    return absl::OkStatus();
  }
  std::optional<route_v3::RetryPolicy> rp =
      grpc ? grpcRetryPolicy(*section) : httpRetryPolicy(*section);
  if (rp) {
    *route.mutable_route()->mutable_retry_policy() = *std::move(rp);
  }
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureOutboundTcpProxy(
    const json& conf, const xds::OutboundTarget&,
    envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const {
  const json* tcp = member(conf, "tcp");
  if (tcp == nullptr) {
    return absl::OkStatus();
  }
  if (auto attempts = uintAt(*tcp, "maxConnectAttempt")) {
    proxy.mutable_max_connect_attempts()->set_value(*attempts);
  }
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshretry
