#pragma once

// File: bootstrap_client.h
// kuma-dp's side of `POST /bootstrap` on the DP server (spec §5.2–5.3): the request body, the
// HTTP(S) exchange and Kuma's retry rules.
//
//   5xx, connection errors, 404 with an empty body (Dataplane not stored yet) → retry every
//   `backoff` until `maxDuration` has passed;
//   404 "404: Page Not Found" (the address is not a DP server) and any other 4xx → fatal.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "source/dp/config.h"
#include "source/dp/envoy_version.h"

namespace kuma::dp {

/** What kuma-dp knows when it asks for its bootstrap, besides its config. */
struct BootstrapInputs {
  /** The rendered Dataplane definition; null when the Dataplane is stored in the CP. */
  nlohmann::json dataplane;
  /** The token content (from --dataplane-token or the token file). */
  std::string token;
  std::string workDir;
  EnvoyVersion envoy;
  /** The PEM of --ca-cert-file or KUMA_CONTROL_PLANE_CA_CERT, else empty. */
  std::string caCertPem;
  /** A CA bundle found on this host, sent as systemCaPath. */
  std::string systemCaPath;
  /**
   * The host has a non-loopback IPv6 address (hasLocalIPv6()): as Kuma's kuma-dp, ipv6Enabled is
   * reported only then.
   */
  bool hasLocalIPv6 = true;
};

/** Kuma's HasLocalIPv6: some interface has an IPv6 address other than ::1. */
bool hasLocalIPv6();

/** The features this kuma-dp implements (spec §5.2 list, restricted to what kuma-cpp does). */
std::vector<std::string> bootstrapFeatures(const Config& config);

/** The JSON body of POST /bootstrap, with kuma-dp 2.14's field names. */
nlohmann::ordered_json buildBootstrapRequest(const Config& config, const BootstrapInputs& in);

/** A 200 answer, decoded. */
struct BootstrapResponse {
  /** The Envoy bootstrap as the CP wrote it (YAML), written verbatim to bootstrap.yaml. */
  std::string bootstrapYaml;
  /** The same, parsed. */
  nlohmann::json bootstrap;
  /** kumaSidecarConfiguration (null with a legacy YAML answer). */
  nlohmann::json sidecarConfiguration;
};

/** What to do with one HTTP answer (or no answer). */
enum class BootstrapOutcome {
  Ok,
  RetryNotFound,    // 404 with an empty body: the Dataplane is not in the store yet
  RetryTransient,   // 5xx or no answer
  FatalNoEndpoint,  // 404 with Go's "page not found" body: not a DP server address
  FatalInvalid,     // any other 4xx
};

/** Classifies an answer; `status` 0 means no answer (connection error, timeout). */
BootstrapOutcome classifyBootstrapAnswer(int status, const std::string& body);

/** Decodes a 200 body: JSON {"bootstrap": base64 YAML, ...} or, for content-type
 *  text/x-yaml, the YAML itself. */
absl::StatusOr<BootstrapResponse> decodeBootstrapAnswer(const std::string& contentType,
                                                        const std::string& body);

class BootstrapClient {
 public:
  struct Options {
    std::string url = "https://localhost:5678";
    std::string caCertFile;
    /** Inline PEM, used when caCertFile is empty. */
    std::string caCertPem;
    bool skipVerify = false;
    std::chrono::nanoseconds backoff = std::chrono::seconds(3);
    std::chrono::nanoseconds maxDuration = std::chrono::minutes(5);
    std::chrono::milliseconds requestTimeout = std::chrono::seconds(10);
    /** Waits between attempts; returns false when kuma-dp is told to stop meanwhile. */
    std::function<bool(std::chrono::nanoseconds)> sleep;
    /** Progress messages (retries). */
    std::function<void(const std::string&)> log;
  };

  /** Validates the URL (http or https, host, optional port, no path). */
  static absl::StatusOr<BootstrapClient> create(Options options);

  /**
   * Posts `body` until an answer is final.
   * @return the bootstrap; FailedPrecondition "Invalid request: <body>" or the "no /bootstrap
   *         endpoint" message for fatal answers; DeadlineExceeded with the last problem after
   *         maxDuration; Cancelled when `sleep` said stop.
   */
  absl::StatusOr<BootstrapResponse> fetch(const std::string& body) const;

 private:
  struct Answer {
    int status = 0;
    std::string body;
    std::string contentType;
    std::string error;
  };
  Answer post(const std::string& body) const;

  Options options_;
  bool https_ = false;
  std::string host_;
  int port_ = 0;
};

}  // namespace kuma::dp
