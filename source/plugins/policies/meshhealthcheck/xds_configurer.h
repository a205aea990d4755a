#pragma once

// File: xds_configurer.h
// MeshHealthCheck's xDS plugin (Kuma's meshhealthcheck plugin, order 1200, and its xds
// Configurer): the merged `to[]` conf of a destination becomes an active health check on every
// cluster of the destination (its main cluster and every cluster a route plugin split it into):
//
// * which checker: HTTP for an http/http2 destination with `http` not disabled, gRPC for a grpc
//   one with `grpc` not disabled, TCP for a tcp one with `tcp` not disabled; an http/grpc
//   destination whose own checker is disabled falls back to an enabled `tcp`; otherwise none
//   (an unknown protocol gets none).
// * Kuma's defaults: interval 1m, timeout 15s, unhealthy threshold 5, healthy threshold 1, path
//   `/`; jitters, `noTrafficInterval`, `eventLogPath` (the file event sink),
//   `alwaysLogHealthCheckFailures` and `reuseConnection` when given. TCP payloads are
//   hex-encoded text, each value of `requestHeadersToAdd` is split at commas.
// * `healthyPanicThreshold` (deprecated here, moved to MeshCircuitBreaker) and
//   `failTrafficOnPanic` go to the cluster's common_lb_config, whether or not a checker applies.
// * An HTTP check first sends `x-kuma-tags` with the proxy's inbound tags (Kuma's tag set of the
//   Dataplane). That header depends on the proxy, so the shared hook builds the checks without
//   it and apply() adds it to the proxy's copy of each cluster with an HTTP check.

#include <string>

#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"

namespace kuma::policies::meshhealthcheck {

/** The checker Kuma picks for a destination of `protocol` under `conf`. */
enum class Checker { None, Tcp, Http, Grpc };
Checker selectChecker(xds::Protocol protocol, const nlohmann::json& conf);

/**
 * Kuma's Configurer.Configure without the proxy's tags: `conf` (null: nothing) onto `cluster`
 * of a destination of `protocol`; `tagsHeader` non-empty: the `x-kuma-tags` value to send first.
 */
absl::Status configureCluster(const nlohmann::json& conf, xds::Protocol protocol,
                              const std::string& tagsHeader,
                              envoy::config::cluster::v3::Cluster& cluster);

/** Kuma's tags.ServiceFromClusterName: `backend-0123456789abcdef` → `backend`. */
std::string serviceFromClusterName(const std::string& name);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureOutboundResources(const nlohmann::json& conf,
                                          const xds::OutboundTarget& target,
                                          xds::OutboundResources& resources) const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
};

}  // namespace kuma::policies::meshhealthcheck
