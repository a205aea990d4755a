#include "source/xds/server/ads_server.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "source/xds/server/delta_stream.h"
#include "source/xds/server/server_state.h"
#include "source/xds/server/sotw_stream.h"

namespace kuma::xds::server {
namespace internal {

int typeOrder(const std::string& typeUrl) {
  if (typeUrl == kClusterType) {
    return 0;
  }
  if (typeUrl == kEndpointType) {
    return 1;
  }
  if (typeUrl == kListenerType) {
    return 2;
  }
  if (typeUrl == kRouteType) {
    return 3;
  }
  if (typeUrl == kSecretType) {
    return 4;
  }
  return 5;  // anything else (e.g. Runtime) after the known types, by URL
}

std::string resourceVersion(const Resource& resource) {
  return absl::StrCat(absl::Hex(resource.hash, absl::kZeroPad16));
}

grpc::Status toGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace internal

AdsServer::AdsServer(cache::SnapshotCache& cache, AdsServerOptions options,
                     StreamCallbacks* callbacks)
    : state_(std::make_shared<internal::ServerState>(cache, std::move(options), callbacks)) {}

AdsServer::~AdsServer() {
  shutdown();
}

void AdsServer::shutdown() {
  std::vector<std::shared_ptr<internal::StreamControl>> streams;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->shuttingDown = true;
    for (auto& [id, weak] : state_->streams) {
      if (auto stream = weak.lock()) {
        streams.push_back(std::move(stream));
      }
    }
  }
  for (auto& stream : streams) {
    stream->requestFinish(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "control plane is shutting down"));
  }
}

AdsServerStats AdsServer::stats() const {
  const internal::ServerCounters& c = state_->counters;
  AdsServerStats stats;
  stats.streamsActive = c.streamsActive.load();
  stats.streamsOpened = c.streamsOpened.load();
  stats.streamsRejected = c.streamsRejected.load();
  stats.requests = c.requests.load();
  stats.acks = c.acks.load();
  stats.nacks = c.nacks.load();
  stats.staleRequests = c.staleRequests.load();
  stats.responses = c.responses.load();
  return stats;
}

grpc::ServerBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                        envoy::service::discovery::v3::DiscoveryResponse>*
AdsServer::StreamAggregatedResources(grpc::CallbackServerContext* context) {
  auto stream = std::make_shared<internal::SotwStream>(state_, context, /*delta=*/false);
  internal::SotwStream::start(stream);
  return stream.get();  // owned by itself until OnDone()
}

grpc::ServerBidiReactor<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                        envoy::service::discovery::v3::DeltaDiscoveryResponse>*
AdsServer::DeltaAggregatedResources(grpc::CallbackServerContext* context) {
  auto stream = std::make_shared<internal::DeltaStream>(state_, context, /*delta=*/true);
  internal::DeltaStream::start(stream);
  return stream.get();
}

}  // namespace kuma::xds::server
