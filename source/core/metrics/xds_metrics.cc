#include "source/core/metrics/xds_metrics.h"

namespace kuma::metrics {

XdsStreamMetrics::XdsStreamMetrics(Metrics& metrics) : metrics_(metrics) {}

void XdsStreamMetrics::recordGeneration(GenerationResult result, std::chrono::nanoseconds duration,
                                        const std::string& proxyType) {
  const char* label = result == GenerationResult::kSkip        ? "skip"
                      : result == GenerationResult::kGenerated ? "generated"
                                                               : "changed";
  metrics_.xdsGeneration()
      .Add({{"proxy_type", proxyType}, {"result", label}}, Metrics::defaultBuckets())
      .Observe(std::chrono::duration<double, std::milli>(duration).count());
}

void XdsStreamMetrics::recordGenerationError() {
  metrics_.xdsGenerationErrors().Increment();
}

void XdsStreamMetrics::onResponseBytes(const std::string& typeUrl, size_t bytes) {
  metrics_.xdsResponsesSentBytes()
      .Add({{"type_url", typeUrl}}, Metrics::responseBytesBuckets())
      .Observe(static_cast<double>(bytes));
}

const char* XdsStreamMetrics::nackErrorType(const std::string& errorDetail) {
  return errorDetail.find("failed calling webhook") != std::string::npos ? "user" : "other";
}

absl::Status XdsStreamMetrics::onStreamOpen(int64_t streamId,
                                            const envoy::config::core::v3::Node& /*node*/,
                                            const xds::server::StreamInfo& info) {
  absl::MutexLock lock(&mu_);
  streams_[streamId].delta = info.delta;
  return absl::OkStatus();
}

void XdsStreamMetrics::onRequest(int64_t streamId, const std::string& typeUrl, bool isAck,
                                 bool isNack, const std::string& errorDetail) {
  if (!isAck && !isNack) {
    return;
  }
  metrics_.xdsRequestsReceived()
      .Add({{"type_url", typeUrl},
            {"confirmation", isAck ? "ACK" : "NACK"},
            {"error_type", isAck ? "no_error" : nackErrorType(errorDetail)}})
      .Increment();
  if (!isAck) {
    return;
  }
  double elapsedMs = -1;
  {
    absl::MutexLock lock(&mu_);
    auto stream = streams_.find(streamId);
    if (stream == streams_.end() || stream->second.delta) {
      return;
    }
    auto sent = stream->second.types.find(typeUrl);
    if (sent == stream->second.types.end() || sent->second.delivered) {
      return;
    }
    sent->second.delivered = true;
    elapsedMs =
        std::chrono::duration<double, std::milli>(Clock::now() - sent->second.firstSent).count();
  }
  metrics_.xdsDelivery().Observe(elapsedMs);
}

void XdsStreamMetrics::onResponse(int64_t streamId, const std::string& typeUrl,
                                  const std::string& version, size_t /*resourceCount*/) {
  metrics_.xdsResponsesSent().Add({{"type_url", typeUrl}}).Increment();
  absl::MutexLock lock(&mu_);
  auto stream = streams_.find(streamId);
  if (stream == streams_.end() || stream->second.delta) {
    return;
  }
  Sent& sent = stream->second.types[typeUrl];
  if (sent.version != version || sent.firstSent == Clock::time_point{}) {
    sent = Sent{version, Clock::now(), false};
  }
}

void XdsStreamMetrics::onStreamClosed(int64_t streamId, const std::string& /*nodeId*/) {
  absl::MutexLock lock(&mu_);
  streams_.erase(streamId);
}

}  // namespace kuma::metrics
