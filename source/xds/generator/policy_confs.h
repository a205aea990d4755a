#pragma once

// File: policy_confs.h
// The effective MeshTimeout / MeshCircuitBreaker / MeshRetry configuration of one proxy, for its
// inbounds (`from` / `rules`, treated as catch-all) and per destination service (`to`): policies
// that select the proxy are merged in precedence order (RFC 7396 merge of `default`), on top of
// the MeshTimeout plugin's built-in defaults (spec §3.7, §7.6).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "kuma/model/resource.h"
#include "nlohmann/json.hpp"
#include "source/xds/context/mesh_context.h"

namespace kuma::xds {

struct TimeoutConf {
  std::chrono::nanoseconds connectionTimeout = std::chrono::seconds(5);
  std::chrono::nanoseconds idleTimeout = std::chrono::hours(1);
  std::chrono::nanoseconds requestTimeout = std::chrono::seconds(15);
  std::chrono::nanoseconds streamIdleTimeout = std::chrono::minutes(30);
  std::chrono::nanoseconds maxStreamDuration{0};
  std::chrono::nanoseconds maxConnectionDuration{0};
  std::chrono::nanoseconds requestHeadersTimeout{0};
};

struct CircuitBreakerConf {
  std::optional<uint32_t> maxConnections;
  std::optional<uint32_t> maxPendingRequests;
  std::optional<uint32_t> maxRequests;
  std::optional<uint32_t> maxRetries;
};

struct HttpRetryConf {
  std::optional<uint32_t> numRetries;
  std::optional<std::chrono::nanoseconds> perTryTimeout;
  std::optional<std::chrono::nanoseconds> baseInterval;
  std::optional<std::chrono::nanoseconds> maxInterval;
  /** Envoy retry_on conditions, comma-joined; empty: the protocol's default. */
  std::vector<std::string> retryOn;
  std::vector<uint32_t> retriableStatusCodes;
};

struct RetryConf {
  std::optional<HttpRetryConf> http;
  std::optional<HttpRetryConf> grpc;
  std::optional<uint32_t> tcpMaxConnectAttempt;
};

/** Everything the generators apply to traffic towards one destination service. */
struct OutboundConf {
  TimeoutConf timeouts;
  std::optional<CircuitBreakerConf> circuitBreaker;
  std::optional<RetryConf> retry;
};

/** What applies to the proxy's inbound listeners. */
struct InboundConf {
  TimeoutConf timeouts;
};

/** The policies selecting one proxy, per type, in precedence order. */
class ProxyPolicies {
 public:
  ProxyPolicies(const MeshContext& context, const model::Resource& dataplane,
                const mesh::v1alpha1::Dataplane& spec);

  /** A key identifying the selected set (equal keys ⇒ equal confs for every destination). */
  const std::string& signature() const { return signature_; }

  InboundConf inbound() const;
  OutboundConf outbound(const std::string& service) const;

 private:
  nlohmann::json mergedTo(std::string_view type, const std::string& service) const;

  std::map<std::string, std::vector<const PolicyEntry*>, std::less<>> selected_;
  std::string signature_;
};

}  // namespace kuma::xds
