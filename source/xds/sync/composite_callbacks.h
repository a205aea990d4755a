#pragma once

// File: composite_callbacks.h
// The ADS server takes a single StreamCallbacks; the control plane has several concerns hooked to
// the stream lifecycle (Dataplane registration, DataplaneInsight counters). CompositeCallbacks
// fans every hook out to a list, in order.
//
//   CompositeCallbacks callbacks({&dataplaneCallbacks, &insightTracker});
//   AdsServer ads(cache, options, &callbacks);

#include <cstdint>
#include <string>
#include <vector>

#include "source/xds/server/stream_callbacks.h"

namespace kuma::xds::sync {

/**
 * Calls a fixed list of callbacks in order. onStreamOpen() stops at the first error: the later
 * callbacks never see the stream, and the earlier ones, which did open it, get onStreamClosed()
 * right away (in reverse order) because the server will not close a stream it refused. Every
 * member therefore sees balanced open/close pairs. Stateless, hence thread-safe; the members must
 * outlive it.
 */
class CompositeCallbacks : public server::StreamCallbacks {
 public:
  /** Null entries are ignored. */
  explicit CompositeCallbacks(std::vector<server::StreamCallbacks*> callbacks);

  // kuma::xds::server::StreamCallbacks
  absl::Status onStreamOpen(int64_t streamId, const envoy::config::core::v3::Node& node,
                            const server::StreamInfo& info) override;
  void onRequest(int64_t streamId, const std::string& typeUrl, bool isAck, bool isNack,
                 const std::string& errorDetail) override;
  void onResponse(int64_t streamId, const std::string& typeUrl, const std::string& version,
                  size_t resourceCount) override;
  void onStreamClosed(int64_t streamId, const std::string& nodeId) override;

 private:
  const std::vector<server::StreamCallbacks*> callbacks_;
};

}  // namespace kuma::xds::sync
