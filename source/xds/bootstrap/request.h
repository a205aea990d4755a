#pragma once

// File: request.h
// The body kuma-dp 2.14 POSTs to /bootstrap (pkg/xds/bootstrap/types/bootstrap_request.go), typed.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace kuma::xds::bootstrap {

inline constexpr char kFeatureDeltaGrpc[] = "feature-delta-grpc";

struct BootstrapRequest {
  std::string mesh;
  std::string name;
  /** "" in the body is normalized to "dataplane". */
  std::string proxyType = "dataplane";
  std::string dataplaneToken;
  std::string dataplaneTokenPath;
  /** The REST JSON (or YAML) of the Dataplane as a string; empty when kuma-dp got no -d. */
  std::string dataplaneResource;
  /** `{kumaDp: {...}, envoy: {...}}`, copied as-is into the node metadata. Null when absent. */
  nlohmann::json version;
  std::string caCert;
  /** Object or null. */
  nlohmann::json dynamicMetadata;
  /** Object or null. */
  nlohmann::json otelEnv;
  uint32_t dnsPort = 0;
  uint32_t readinessPort = 0;
  /** JSON key `appProbeProxyDisabled`: historically named, `true` means *enabled*. */
  bool appProbeProxyEnabled = false;
  std::string operatingSystem;
  std::vector<std::string> features;
  std::string workdir;
  std::string metricsCertPath;
  std::string metricsKeyPath;
  std::string systemCaPath;
  /** The transparent-proxy configuration (object), null when absent. */
  nlohmann::json dataplaneConfig;
  bool ipv6Enabled = false;
  std::string spireSocketPath;

  bool hasFeature(std::string_view feature) const;
};

/**
 * Parses the request body like Go's json.Unmarshal into Kuma's struct: unknown keys are ignored,
 * null leaves the zero value, a known key of the wrong JSON type is an error.
 * @return InvalidArgument for invalid JSON or mistyped fields (the handler answers 400).
 */
absl::StatusOr<BootstrapRequest> parseBootstrapRequest(std::string_view body);

}  // namespace kuma::xds::bootstrap
