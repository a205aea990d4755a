#pragma once

// File: dataplane_callbacks.h
// What kuma-cp does when an Envoy opens or closes its ADS stream (spec §6.1–6.3):
//   - identity from node.id `<mesh>.<name>` (split on the first '.'), node metadata required
//     (parsing: node_metadata.h);
//   - authentication (spec §6.2): with `dpToken` (or "") the stream's `authorization` metadata
//     must be a dataplane token valid for the Dataplane (from `dataplane.resource`, else the stored
//     one); `none` accepts every proxy;
//   - Universal self-registration: a Dataplane carried in metadata `dataplane.resource` is upserted
//     through the ResourceManager, and deleted `dataplaneDeregistrationDelay` after its stream
//     closes unless the proxy reconnected meanwhile;
//   - the proxy is handed to the Reconciler, which keeps its snapshot.

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"
#include "source/core/tokens/dataplane_token.h"
#include "source/xds/server/stream_callbacks.h"
#include "source/xds/sync/node_metadata.h"
#include "source/xds/sync/reconciler.h"

namespace kuma::xds::sync {

struct DataplaneCallbacksOptions {
  /** dpServer.authn.dpProxy.type ("" and "dpToken" mean tokens, "none" disables). */
  std::string authnType = "none";
  /** xdsServer.dataplaneDeregistrationDelay; 0 deletes right after the stream closes. */
  std::chrono::nanoseconds deregistrationDelay = std::chrono::seconds(10);
  /** Defaults for what node metadata does not say (internal CIDRs, VIP port). */
  ProxyOptions proxyDefaults;
  /**
   * authnType "serviceAccountToken" (Kubernetes): checks the credential for the Dataplane `name`
   * of `mesh`; the error's message is the reason. Unset: such streams are refused.
   */
  std::function<absl::Status(const std::string& credential, const std::string& mesh,
                             const std::string& name)>
      serviceAccountTokenAuthenticator;
};

class DataplaneCallbacks : public server::StreamCallbacks {
 public:
  DataplaneCallbacks(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                     Reconciler& reconciler, DataplaneCallbacksOptions options);
  ~DataplaneCallbacks() override;

  /** Control-plane shutdown: streams closing from now on do not deregister their proxies. */
  void shutdown();

  // kuma::xds::server::StreamCallbacks
  absl::Status onStreamOpen(int64_t streamId, const envoy::config::core::v3::Node& node,
                            const server::StreamInfo& info) override;
  void onStreamClosed(int64_t streamId, const std::string& nodeId) override;

  /**
   * OK, or Unauthenticated "authentication failed: <reason>" (spec §6.2): the stream's
   * credentials against the Dataplane `fromMetadata` (null: the stored one must exist) and the
   * stored one. The HDS server authenticates its streams with it too.
   */
  absl::Status authenticate(const server::StreamInfo& info, const std::string& mesh,
                            const std::string& name, const model::Resource* fromMetadata);

 private:
  struct Stream {
    std::string nodeId;
    bool selfRegistered = false;
    uint64_t connection = 0;  // its generation in connections_
  };
  struct PendingDeregistration {
    std::chrono::steady_clock::time_point due;
    uint64_t connection;  // the connection generation that scheduled it
  };

  void deregistrationLoop();

  manager::ResourceManager& manager_;
  Reconciler& reconciler_;
  const DataplaneCallbacksOptions options_;
  const model::ResourceTypeDescriptor* const dataplaneType_;
  const tokens::DataplaneTokenValidator tokenValidator_;

  absl::Mutex mu_;
  std::map<int64_t, Stream> streams_ ABSL_GUARDED_BY(mu_);
  // node id → generation of its latest connection (a reconnect invalidates older deregistrations)
  std::map<std::string, uint64_t> connections_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, PendingDeregistration> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t nextConnection_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread deregistrations_;
};

}  // namespace kuma::xds::sync
