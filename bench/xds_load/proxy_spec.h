#pragma once

// File: proxy_spec.h
// What one emulated proxy is: its Dataplane (services assigned round-robin) and the xDS Node an
// Envoy bootstrapped by kuma-dp 2.14 sends on its ADS stream (id `<mesh>.<name>`, cluster, the
// bootstrap's node metadata with `dataplane.resource`), so that kuma-cp self-registers it.

#include <cstddef>
#include <string>
#include <vector>

#include "bench/xds_load/options.h"
#include "envoy/config/core/v3/base.pb.h"
#include "nlohmann/json.hpp"

namespace kuma::bench::load {

/** `svc-0042`: zero-padded to at least 4 digits so that sorted order is numeric order. */
std::string serviceName(size_t index, size_t services);

struct ProxySpec {
  size_t index = 0;
  std::string name;
  std::string nodeId;
  /** kuma.io/service of each inbound, in inbound order. */
  std::vector<std::string> inboundServices;
  /** Services the proxy reaches (explicit outbounds or reachableServices); empty with TP-all. */
  std::vector<std::string> destinations;
  /** The Dataplane in REST JSON (type, mesh, name, networking). */
  nlohmann::json dataplane;
};

/**
 * Proxy `index` (0-based, already including --first-index): inbound j takes service
 * (index * inbounds + j) mod services; the destinations are the services following its first
 * inbound's service. Address 10.a.b.c unique per index.
 */
ProxySpec makeProxySpec(const LoadOptions& options, size_t index);

/** The node metadata as kuma-cp's bootstrap writes it (JSON; keys as in source/xds/bootstrap). */
nlohmann::json nodeMetadataJson(const LoadOptions& options, const ProxySpec& spec);

/** The Envoy Node of the proxy's first request (setNodeOnFirstMessageOnly). */
envoy::config::core::v3::Node makeNode(const LoadOptions& options, const ProxySpec& spec);

}  // namespace kuma::bench::load
