#include "source/xds/sync/composite_callbacks.h"

#include <algorithm>

namespace kuma::xds::sync {
namespace {

std::vector<server::StreamCallbacks*> withoutNulls(std::vector<server::StreamCallbacks*> in) {
  in.erase(std::remove(in.begin(), in.end(), nullptr), in.end());
  return in;
}

}  // namespace

CompositeCallbacks::CompositeCallbacks(std::vector<server::StreamCallbacks*> callbacks)
    : callbacks_(withoutNulls(std::move(callbacks))) {}

absl::Status CompositeCallbacks::onStreamOpen(int64_t streamId,
                                              const envoy::config::core::v3::Node& node,
                                              const server::StreamInfo& info) {
  for (size_t i = 0; i < callbacks_.size(); ++i) {
    absl::Status status = callbacks_[i]->onStreamOpen(streamId, node, info);
    if (!status.ok()) {
      // The server never closes a refused stream: undo the members that accepted it.
      for (size_t j = i; j > 0; --j) {
        callbacks_[j - 1]->onStreamClosed(streamId, node.id());
      }
      return status;
    }
  }
  return absl::OkStatus();
}

void CompositeCallbacks::onRequest(int64_t streamId, const std::string& typeUrl, bool isAck,
                                   bool isNack, const std::string& errorDetail) {
  for (server::StreamCallbacks* c : callbacks_) {
    c->onRequest(streamId, typeUrl, isAck, isNack, errorDetail);
  }
}

void CompositeCallbacks::onResponse(int64_t streamId, const std::string& typeUrl,
                                    const std::string& version, size_t resourceCount) {
  for (server::StreamCallbacks* c : callbacks_) {
    c->onResponse(streamId, typeUrl, version, resourceCount);
  }
}

void CompositeCallbacks::onStreamClosed(int64_t streamId, const std::string& nodeId) {
  for (server::StreamCallbacks* c : callbacks_) {
    c->onStreamClosed(streamId, nodeId);
  }
}

}  // namespace kuma::xds::sync
