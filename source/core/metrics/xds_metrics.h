#pragma once

// File: xds_metrics.h
// The xDS stream metrics of spec §13.2, fed by the ADS server's hooks:
//   xds_responses_sent{type_url}, xds_responses_sent_bytes{type_url},
//   xds_requests_received{type_url, confirmation, error_type} (ACKs and NACKs only: the first
//   request of a type and pure subscription changes are not counted), and xds_delivery: on a
//   state-of-the-world stream, the time from the first response carrying a new per-type version
//   to the ACK of that type (Kuma measures from the snapshot store, which here precedes the
//   response by a watch notification; delta streams add no samples, as in Kuma).
// Plus the reconciler's xds_generation / xds_generation_errors (recordGeneration()).
//
//   XdsStreamMetrics xds(metrics);
//   CompositeCallbacks callbacks({&dataplaneCallbacks, &insights, &xds});
//   adsOptions.onResponseBytes = [&xds](auto& type, size_t n) { xds.onResponseBytes(type, n); };

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "source/core/metrics/metrics.h"
#include "source/xds/server/stream_callbacks.h"

namespace kuma::metrics {

/** Kuma's `result` label of xds_generation. */
enum class GenerationResult { kSkip, kGenerated, kChanged };

/** Thread-safe. `metrics` must outlive it. */
class XdsStreamMetrics : public xds::server::StreamCallbacks {
 public:
  using Clock = std::chrono::steady_clock;

  explicit XdsStreamMetrics(Metrics& metrics);

  /** One successful reconcile pass of a proxy (`proxy_type` "dataplane", …). */
  void recordGeneration(GenerationResult result, std::chrono::nanoseconds duration,
                        const std::string& proxyType = "dataplane");
  void recordGenerationError();

  /** Serialized size of a response about to be written. */
  void onResponseBytes(const std::string& typeUrl, size_t bytes);

  /** Kuma's error_type of a NACK: "user" when a webhook failed, else "other". */
  static const char* nackErrorType(const std::string& errorDetail);

  // kuma::xds::server::StreamCallbacks
  absl::Status onStreamOpen(int64_t streamId, const envoy::config::core::v3::Node& node,
                            const xds::server::StreamInfo& info) override;
  void onRequest(int64_t streamId, const std::string& typeUrl, bool isAck, bool isNack,
                 const std::string& errorDetail) override;
  void onResponse(int64_t streamId, const std::string& typeUrl, const std::string& version,
                  size_t resourceCount) override;
  void onStreamClosed(int64_t streamId, const std::string& nodeId) override;

 private:
  struct Sent {
    std::string version;
    Clock::time_point firstSent;
    bool delivered = false;
  };
  struct Stream {
    bool delta = false;
    std::map<std::string, Sent> types;  // type URL → latest version sent
  };

  Metrics& metrics_;
  absl::Mutex mu_;
  std::map<int64_t, Stream> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuma::metrics
