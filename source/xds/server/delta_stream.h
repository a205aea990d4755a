#pragma once

// File: delta_stream.h (internal to the ADS server)
// Incremental ADS (DeltaAggregatedResources). Per type URL the stream tracks the subscription
// (wildcard and/or explicit names) and the version of every resource the client has: seeded from
// initial_resource_versions on the first request of the type, updated whenever a response is
// sent. Responses carry only resources whose version (content hash) differs, plus
// removed_resources for those the client has but the snapshot no longer contains.

#include <map>
#include <set>
#include <string>
#include <utility>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "source/xds/server/stream_base.h"

namespace kuma::xds::server::internal {

class DeltaStream final : public StreamBase<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                                            envoy::service::discovery::v3::DeltaDiscoveryResponse> {
 public:
  using StreamBase::StreamBase;

 protected:
  absl::StatusOr<std::optional<RequestEvent>> handleRequestLocked(
      const envoy::service::discovery::v3::DeltaDiscoveryRequest& req) override;
  bool buildNextLocked(envoy::service::discovery::v3::DeltaDiscoveryResponse& out,
                       ResponseEvent& event) override;

 private:
  struct TypeState {
    bool wildcard = false;
    std::set<std::string> names;
    /** name → version the client has. */
    std::map<std::string, std::string> clientVersions;
    /** First request of the type not answered yet: answer even with nothing to send. */
    bool initial = true;
    /** Subscription changed since the last diff. */
    bool dirty = true;
    /** Snapshot version the last diff was computed against. */
    std::string diffedVersion;
    std::string lastNonce;

    bool interested(const std::string& name) const { return wildcard || names.count(name) > 0; }
  };

  std::map<std::pair<int, std::string>, TypeState> types_;
};

}  // namespace kuma::xds::server::internal
