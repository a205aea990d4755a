#include "source/plugins/policies/meshretry/xds_configurer.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshretry {
namespace {

using nlohmann::json;

constexpr char kDefaultHttpRetryOn[] = "gateway-error,connect-failure,refused-stream";
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

// MeshRetry's retryOn names → Envoy retry_on conditions (empty: not an Envoy condition).
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

void applyRetryOn(const json& on, envoy::config::route::v3::RetryPolicy& rp, bool grpc) {
  std::vector<std::string> conditions;
  if (on.is_array()) {
    for (const auto& v : on) {
      if (!v.is_string()) {
        continue;
      }
      const std::string s = v.get<std::string>();
      uint32_t code = 0;
      if (absl::SimpleAtoi(s, &code)) {
        rp.add_retriable_status_codes(code);
        if (std::find(conditions.begin(), conditions.end(), "retriable-status-codes") ==
            conditions.end()) {
          conditions.push_back("retriable-status-codes");
        }
      } else if (std::string e = envoyRetryOn(s); !e.empty()) {
        conditions.push_back(e);
      }
    }
  }
  rp.set_retry_on(!conditions.empty() ? absl::StrJoin(conditions, ",")
                  : grpc              ? kDefaultGrpcRetryOn
                                      : kDefaultHttpRetryOn);
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
  const bool grpc = target.protocol == xds::Protocol::Grpc;
  const json* h = member(conf, grpc ? "grpc" : "http");
  if (h == nullptr || !route.has_route()) {
    return absl::OkStatus();
  }
  auto* rp = route.mutable_route()->mutable_retry_policy();
  const json* on = member(*h, "retryOn");
  applyRetryOn(on != nullptr ? *on : json(), *rp, grpc);
  if (auto n = uintAt(*h, "numRetries")) {
    rp->mutable_num_retries()->set_value(*n);
  }
  if (auto d = durationMember(*h, "perTryTimeout")) {
    *rp->mutable_per_try_timeout() = toDuration(*d);
  }
  if (const json* backOff = member(*h, "backOff")) {
    if (auto base = durationMember(*backOff, "baseInterval")) {
      *rp->mutable_retry_back_off()->mutable_base_interval() = toDuration(*base);
      if (auto max = durationMember(*backOff, "maxInterval")) {
        *rp->mutable_retry_back_off()->mutable_max_interval() = toDuration(*max);
      }
    }
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
