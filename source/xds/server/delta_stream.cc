#include "source/xds/server/delta_stream.h"

#include <vector>

#include "absl/status/status.h"

namespace kuma::xds::server::internal {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;

absl::StatusOr<std::optional<DeltaStream::RequestEvent>> DeltaStream::handleRequestLocked(
    const DeltaDiscoveryRequest& req) {
  if (req.type_url().empty()) {
    return absl::InvalidArgumentError("type_url is required on an aggregated stream");
  }
  auto [it, first] = types_.try_emplace({typeOrder(req.type_url()), req.type_url()});
  TypeState& state = it->second;
  if (first) {
    // Legacy wildcard: a first request without names subscribes to everything.
    state.wildcard = req.resource_names_subscribe().empty();
    for (const auto& [name, version] : req.initial_resource_versions()) {
      state.clientVersions[name] = version;
    }
  }
  for (const std::string& name : req.resource_names_subscribe()) {
    if (name == "*") {
      state.wildcard = true;
    } else {
      state.names.insert(name);
    }
  }
  for (const std::string& name : req.resource_names_unsubscribe()) {
    if (name == "*") {
      state.wildcard = false;
    } else {
      state.names.erase(name);
    }
  }
  if (first || !req.resource_names_subscribe().empty() ||
      !req.resource_names_unsubscribe().empty()) {
    state.dirty = true;
    // The client forgets what it no longer subscribes to; nothing is sent for those.
    for (auto v = state.clientVersions.begin(); v != state.clientVersions.end();) {
      v = state.interested(v->first) ? std::next(v) : state.clientVersions.erase(v);
    }
  }

  RequestEvent event;
  event.typeUrl = req.type_url();
  if (req.response_nonce().empty()) {
    return std::optional<RequestEvent>(std::move(event));
  }
  if (req.response_nonce() != state.lastNonce) {
    counters().staleRequests.fetch_add(1);
    return std::optional<RequestEvent>();
  }
  if (req.has_error_detail()) {
    event.isNack = true;
    event.errorDetail = req.error_detail().message();
    startBackoffLocked();
  } else {
    event.isAck = true;
  }
  return std::optional<RequestEvent>(std::move(event));
}

bool DeltaStream::buildNextLocked(DeltaDiscoveryResponse& out, ResponseEvent& event) {
  if (snapshot_ == nullptr) {
    return false;
  }
  for (auto& [key, state] : types_) {
    const std::string& typeUrl = key.second;
    auto typeIt = snapshot_->types.find(typeUrl);
    if (typeIt == snapshot_->types.end()) {
      continue;
    }
    const TypeSnapshot& resources = typeIt->second;
    if (!state.dirty && !state.initial && resources.version == state.diffedVersion) {
      continue;
    }
    state.dirty = false;
    state.diffedVersion = resources.version;

    // (name, resource, version) the client lacks or has in another version.
    struct Change {
      const std::string* name;
      const Resource* resource;
      std::string version;
    };
    std::vector<Change> changed;
    auto consider = [&](const std::string& name, const Resource& resource) {
      std::string version = resourceVersion(resource);
      auto have = state.clientVersions.find(name);
      if (have == state.clientVersions.end() || have->second != version) {
        changed.push_back(Change{&name, &resource, std::move(version)});
      }
    };
    if (state.wildcard) {
      for (const auto& [name, resource] : resources.resources) {
        consider(name, *resource);
      }
    } else {
      for (const std::string& name : state.names) {
        auto it = resources.resources.find(name);
        if (it != resources.resources.end()) {
          consider(it->first, *it->second);
        }
      }
    }
    std::vector<std::string> removed;
    for (const auto& [name, version] : state.clientVersions) {
      if (resources.resources.count(name) == 0) {
        removed.push_back(name);
      }
    }
    if (changed.empty() && removed.empty() && !state.initial) {
      continue;
    }

    out.Clear();
    out.set_system_version_info(resources.version);
    out.set_type_url(typeUrl);
    out.set_nonce(nextNonceLocked());
    out.mutable_control_plane()->set_identifier(controlPlaneId());
    for (Change& change : changed) {
      auto* r = out.add_resources();
      r->set_name(*change.name);
      r->set_version(change.version);
      r->mutable_resource()->set_type_url(typeUrl);
      r->mutable_resource()->set_value(change.resource->serialized);
      state.clientVersions[*change.name] = std::move(change.version);
    }
    for (std::string& name : removed) {
      state.clientVersions.erase(name);
      out.add_removed_resources(std::move(name));
    }
    state.initial = false;
    state.lastNonce = out.nonce();
    event.typeUrl = typeUrl;
    event.version = resources.version;
    event.resourceCount = static_cast<size_t>(out.resources_size());
    return true;
  }
  return false;
}

}  // namespace kuma::xds::server::internal
