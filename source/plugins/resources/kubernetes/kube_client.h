#pragma once

// File: kube_client.h
// A small Kubernetes API client for the resource store: JSON requests over HTTPS/1.1 and
// streaming watches, throttled by a token bucket (Kuma's runtime.kubernetes.clientConfig.qps /
// burstQps, client-go's flowcontrol), bounded in response size, time and retries.
//
// Why cpp-httplib and not libcurl: it is already a dependency (the REST API server, the test
// fixtures), it verifies the server against a CA store and presents a client certificate held in
// memory (kubeconfig `*-data`, no temporary key files), streams a chunked watch body through a
// content receiver, and a blocked watch can be cut from another thread with stop(). HTTP/2 would
// only save connections; the store opens one connection per request and one per watch. Its
// exceptions (std::bad_alloc, ...) are caught here; errors leave as absl::Status.
//
//   auto client = kuma::k8s::KubeClient::create(connection, options);
//   auto answer = (*client)->request("GET", "/apis/kuma.io/v1alpha1/meshes");

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "source/plugins/resources/kubernetes/kube_config.h"

namespace kuma::k8s {

/**
 * client-go's token bucket: `qps` tokens per second, at most `burst` stored. Thread-safe.
 * The clock and sleep are injectable for unit tests.
 */
class TokenBucket {
 public:
  using Clock = std::function<absl::Time()>;
  using Sleep = std::function<void(absl::Duration)>;
  TokenBucket(double qps, int burst, Clock clock = nullptr, Sleep sleep = nullptr);

  /**
   * Takes one token, waiting for it when the bucket is empty.
   * @return the time waited (zero when a token was there: the request was not throttled).
   */
  absl::Duration take();

 private:
  const double qps_;
  const double burst_;
  const Clock clock_;
  const Sleep sleep_;
  absl::Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_);
  absl::Time last_ ABSL_GUARDED_BY(mu_);
};

struct KubeClientOptions {
  /** runtime.kubernetes.clientConfig.qps / burstQps (Kuma: 100 / 100). <= 0: no throttling. */
  double qps = 100;
  int burst = 100;
  absl::Duration connectTimeout = absl::Seconds(5);
  /** Per request (and per read of a watch stream, which gets bookmarks well within it). */
  absl::Duration requestTimeout = absl::Seconds(30);
  /** Largest response body accepted (a list of many resources); larger: ResourceExhausted. */
  size_t maxResponseBytes = 64u << 20;
  /** Largest single watch event line. */
  size_t maxWatchEventBytes = 8u << 20;
  /** Retries of a failed connection, 429 or 5xx (only for GET, and for 429 on any verb). */
  int maxRetries = 3;
  absl::Duration retryBackoff = absl::Milliseconds(100);
  /**
   * The User-Agent (client-go's `<binary>/<version> (<os>/<arch>) kubernetes/<commit>`): the API
   * server names the field manager of every write after its first segment, `kuma-cp` as Kuma's.
   */
  std::string userAgent = "kuma-cp/v0.0.0 (linux/amd64) kubernetes/$Format";
};

struct KubeResponse {
  int status = 0;
  std::string body;
};

/** The message of the Kubernetes Status in an answer, else the first 300 bytes of its body. */
std::string kubeApiMessage(const KubeResponse& response);

/**
 * The error for an answer the caller did not expect: Unavailable for 429 and 5xx, InvalidArgument
 * for 400 and 422, else Internal; the text names `what`, the HTTP status and kubeApiMessage().
 */
absl::Status kubeApiError(const std::string& what, const KubeResponse& response);

struct KubeClientStats {
  uint64_t requests = 0;
  /** Requests that waited for a token of the bucket. */
  uint64_t throttled = 0;
  /** Total time waited for tokens. */
  absl::Duration throttledTime;
  uint64_t retries = 0;
};

class KubeClient {
 public:
  static absl::StatusOr<std::unique_ptr<KubeClient>> create(KubeConnection connection,
                                                            KubeClientOptions options);

  /**
   * One JSON request (path with query). Any HTTP status is a KubeResponse; Unavailable when the
   * server cannot be reached after the retries, ResourceExhausted for an oversized body.
   */
  absl::StatusOr<KubeResponse> request(const std::string& method, const std::string& path,
                                       const std::string& body = "",
                                       const std::string& contentType = "application/json");

  /**
   * A watch: GET `path` (with ?watch=1...) and calls `onEvent` with each newline-delimited JSON
   * event until the server ends the stream, `onEvent` returns false, or cancelWatches() runs.
   * @return OK when the stream ended normally; OutOfRange for 410 Gone (the version is compacted
   *         away: relist); Unavailable with the HTTP status otherwise; Cancelled after
   *         cancelWatches().
   */
  absl::Status watch(const std::string& path, const std::function<bool(std::string_view)>& onEvent);

  /**
   * Cuts every running watch and makes new watches and new request attempts fail at once with
   * Cancelled (store shutdown). A request already on the wire finishes (bounded by its timeout).
   */
  void cancelWatches();

  /**
   * A client for the same server that shares this one's token bucket and counters (one rate
   * limit for the whole control plane, as client-go's per-config limiter) but has its own watches:
   * cancelWatches() on either leaves the other's alone.
   */
  std::unique_ptr<KubeClient> sibling() const;

  /**
   * A client for the same server with a token bucket (and counters) of its own at the same
   * qps/burst, as client-go gives every clientset made from one config: controller-runtime's
   * event recorder writes Events through such a clientset, outside the controllers' limit.
   */
  std::unique_ptr<KubeClient> withOwnRateLimit() const;
  /** The same with other options (timeouts, retries; the bucket at their qps/burst). */
  std::unique_ptr<KubeClient> withOwnRateLimit(const KubeClientOptions& options) const;

  /** Counters of this client and its siblings together. */
  KubeClientStats stats() const;
  const KubeConnection& connection() const { return connection_; }
  const KubeClientOptions& options() const { return options_; }

 private:
  struct Shared;
  KubeClient(KubeConnection connection, KubeClientOptions options, std::shared_ptr<Shared> shared);
  void throttle();

  const KubeConnection connection_;
  const KubeClientOptions options_;
  const std::shared_ptr<Shared> shared_;

  struct ActiveWatch;
  mutable absl::Mutex watchesMu_;
  bool cancelled_ ABSL_GUARDED_BY(watchesMu_) = false;
  std::vector<std::shared_ptr<ActiveWatch>> watches_ ABSL_GUARDED_BY(watchesMu_);
};

}  // namespace kuma::k8s
