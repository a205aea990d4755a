#pragma once

// File: sotw_stream.h (internal to the ADS server)
// State-of-the-world ADS (StreamAggregatedResources). Per type URL the stream keeps the client's
// subscription and the last response sent; a response is owed when the client has a request
// open for the type (its first request, or the ACK/NACK of our last response) and the snapshot
// version or the subscribed names differ from what was last sent. So an ACK causes nothing until
// the version changes, and a NACK never gets the rejected version again.

#include <map>
#include <set>
#include <string>
#include <utility>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "source/xds/server/stream_base.h"

namespace kuma::xds::server::internal {

class SotwStream final : public StreamBase<envoy::service::discovery::v3::DiscoveryRequest,
                                           envoy::service::discovery::v3::DiscoveryResponse> {
 public:
  using StreamBase::StreamBase;

 protected:
  absl::StatusOr<std::optional<RequestEvent>> handleRequestLocked(
      const envoy::service::discovery::v3::DiscoveryRequest& req) override;
  bool buildNextLocked(envoy::service::discovery::v3::DiscoveryResponse& out,
                       ResponseEvent& event) override;

 private:
  struct TypeState {
    // Subscription: empty names or "*" means every resource of the type.
    bool wildcard = true;
    std::set<std::string> names;
    // A request is waiting for a response (first request, ACK or NACK of the last response).
    bool requestOpen = false;
    // The open request is a fresh subscription: answer it even if nothing changed.
    bool initial = false;
    // Last response sent.
    bool sent = false;
    std::string sentVersion;
    bool sentWildcard = true;
    std::set<std::string> sentNames;
    std::string lastNonce;
  };

  // Keyed by (typeOrder, type URL) so iteration follows the ordered-ADS response order.
  std::map<std::pair<int, std::string>, TypeState> types_;
};

}  // namespace kuma::xds::server::internal
