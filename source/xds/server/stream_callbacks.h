#pragma once

// File: stream_callbacks.h
// Hooks the control plane plugs into the ADS server: authentication, Dataplane lifecycle,
// DataplaneInsight counters. All hooks run on gRPC callback threads (or, for onResponse, on the
// thread that published a snapshot) and must not block for long: a slow hook delays that stream
// and ties up a shared gRPC thread.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "envoy/config/core/v3/base.pb.h"

namespace kuma::xds::server {

/** What the server knows about a stream's transport when it opens. */
struct StreamInfo {
  /** gRPC peer, e.g. "ipv4:127.0.0.1:53412". */
  std::string peer;
  /** Client metadata (e.g. "authorization"); keys are lower case, as gRPC delivers them. */
  std::multimap<std::string, std::string> metadata;
  /** true for DeltaAggregatedResources, false for StreamAggregatedResources. */
  bool delta = false;
};

/** Lifecycle hooks of ADS streams. Every method has a no-op default. */
class StreamCallbacks {
 public:
  virtual ~StreamCallbacks() = default;

  /**
   * The first request of a stream arrived (node id present and not already streaming).
   * @return a non-OK status ends the stream with that gRPC code and message; onStreamClosed()
   *         is then not called.
   */
  virtual absl::Status onStreamOpen(int64_t /*streamId*/,
                                    const envoy::config::core::v3::Node& /*node*/,
                                    const StreamInfo& /*info*/) {
    return absl::OkStatus();
  }

  /**
   * A (non-stale) request for one type. isAck/isNack are both false for a subscription request
   * (first request of a type, or a change of subscribed names without a response nonce).
   */
  virtual void onRequest(int64_t /*streamId*/, const std::string& /*typeUrl*/, bool /*isAck*/,
                         bool /*isNack*/, const std::string& /*errorDetail*/) {}

  /** A response is about to be written. */
  virtual void onResponse(int64_t /*streamId*/, const std::string& /*typeUrl*/,
                          const std::string& /*version*/, size_t /*resourceCount*/) {}

  /** A stream whose onStreamOpen() succeeded has ended. */
  virtual void onStreamClosed(int64_t /*streamId*/, const std::string& /*nodeId*/) {}
};

}  // namespace kuma::xds::server
