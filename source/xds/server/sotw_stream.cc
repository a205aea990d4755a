#include "source/xds/server/sotw_stream.h"

#include "absl/status/status.h"

namespace kuma::xds::server::internal {

using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

absl::StatusOr<std::optional<SotwStream::RequestEvent>> SotwStream::handleRequestLocked(
    const DiscoveryRequest& req) {
  if (req.type_url().empty()) {
    return absl::InvalidArgumentError("type_url is required on an aggregated stream");
  }
  TypeState& state = types_[{typeOrder(req.type_url()), req.type_url()}];
  // Subscription changes count even on stale requests: the client's latest view wins.
  state.wildcard = false;
  state.names.clear();
  for (const std::string& name : req.resource_names()) {
    if (name == "*") {
      state.wildcard = true;
    } else {
      state.names.insert(name);
    }
  }
  if (req.resource_names().empty()) {
    state.wildcard = true;
  }

  RequestEvent event;
  event.typeUrl = req.type_url();
  if (req.response_nonce().empty()) {
    state.requestOpen = true;
    state.initial = true;
    return std::optional<RequestEvent>(std::move(event));
  }
  if (req.response_nonce() != state.lastNonce) {
    // Answers a response that was superseded: the client will also answer the newer one.
    counters().staleRequests.fetch_add(1);
    return std::optional<RequestEvent>();
  }
  state.requestOpen = true;
  if (req.has_error_detail()) {
    event.isNack = true;
    event.errorDetail = req.error_detail().message();
    startBackoffLocked();
  } else {
    event.isAck = true;
  }
  return std::optional<RequestEvent>(std::move(event));
}

bool SotwStream::buildNextLocked(DiscoveryResponse& out, ResponseEvent& event) {
  if (snapshot_ == nullptr) {
    return false;
  }
  for (auto& [key, state] : types_) {
    if (!state.requestOpen) {
      continue;
    }
    const std::string& typeUrl = key.second;
    auto typeIt = snapshot_->types.find(typeUrl);
    if (typeIt == snapshot_->types.end()) {
      continue;  // the type is not (yet) part of this proxy's snapshot
    }
    const TypeSnapshot& resources = typeIt->second;
    bool subscriptionChanged =
        state.wildcard != state.sentWildcard || (!state.wildcard && state.names != state.sentNames);
    if (state.sent && !state.initial && resources.version == state.sentVersion &&
        !subscriptionChanged) {
      continue;
    }
    out.Clear();
    out.set_version_info(resources.version);
    out.set_type_url(typeUrl);
    out.set_nonce(nextNonceLocked());
    out.mutable_control_plane()->set_identifier(controlPlaneId());
    auto add = [&](const Resource& resource) {
      google::protobuf::Any* any = out.add_resources();
      any->set_type_url(typeUrl);
      any->set_value(resource.serialized);
    };
    if (state.wildcard) {
      for (const auto& [name, resource] : resources.resources) {
        add(*resource);
      }
    } else {
      for (const std::string& name : state.names) {
        auto it = resources.resources.find(name);
        if (it != resources.resources.end()) {
          add(*it->second);
        }
      }
    }
    state.requestOpen = false;
    state.initial = false;
    state.sent = true;
    state.sentVersion = resources.version;
    state.sentWildcard = state.wildcard;
    state.sentNames = state.names;
    state.lastNonce = out.nonce();
    event.typeUrl = typeUrl;
    event.version = resources.version;
    event.resourceCount = static_cast<size_t>(out.resources_size());
    return true;
  }
  return false;
}

}  // namespace kuma::xds::server::internal
