#include "source/xds/sync/dataplane_callbacks.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "source/common/logging.h"
#include "source/common/status_macros.h"

namespace kuma::xds::sync {

DataplaneCallbacks::DataplaneCallbacks(manager::ResourceManager& manager,
                                       const model::TypeRegistry& registry, Reconciler& reconciler,
                                       DataplaneCallbacksOptions options)
    : manager_(manager),
      reconciler_(reconciler),
      options_(std::move(options)),
      dataplaneType_(registry.byName("Dataplane")),
      tokenValidator_(manager, registry) {
  deregistrations_ = std::thread([this] { deregistrationLoop(); });
}

DataplaneCallbacks::~DataplaneCallbacks() {
  shutdown();
  deregistrations_.join();
}

void DataplaneCallbacks::shutdown() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  pending_.clear();
}

absl::Status DataplaneCallbacks::authenticate(const server::StreamInfo& info,
                                              const std::string& mesh, const std::string& name,
                                              const model::Resource* fromMetadata) {
  auto failed = [](absl::string_view reason) {
    return absl::UnauthenticatedError(absl::StrCat("authentication failed: ", reason));
  };
  const std::string& type = options_.authnType;
  if (type == "none") {
    return absl::OkStatus();
  }
  const bool serviceAccount = type == "serviceAccountToken";
  if (!type.empty() && type != "dpToken" &&
      !(serviceAccount && options_.serviceAccountTokenAuthenticator)) {
    return failed(absl::StrCat("authentication type \"", type,
                               "\" is not supported by this control plane (Universal: dpToken or "
                               "none; Kubernetes: serviceAccountToken or none)"));
  }
  const size_t credentials = info.metadata.count("authorization");
  if (credentials != 1) {
    return failed(
        absl::StrCat("request must have exactly 1 \"authorization\" header, got ", credentials));
  }
  const std::string& token = info.metadata.find("authorization")->second;
  if (serviceAccount) {
    // Kuma authenticates the stored Dataplane (on Kubernetes the pod controller made it).
    if (absl::Status s = options_.serviceAccountTokenAuthenticator(token, mesh, name); !s.ok()) {
      return absl::IsUnauthenticated(s)
                 ? failed(s.message())
                 : absl::Status(s.code(), absl::StrCat("authentication failed: ", s.message()));
    }
    return absl::OkStatus();
  }
  // Kuma authenticates the Dataplane the proxy claims to be (node metadata) and, when one is
  // already stored under that name, the stored one too: a token must not take over another proxy.
  model::ResourceConstSharedPtr stored;
  if (dataplaneType_ != nullptr) {
    auto found = manager_.get(*dataplaneType_, {name, mesh});
    if (found.ok()) {
      stored = *found;
    } else if (!absl::IsNotFound(found.status()) || fromMetadata == nullptr) {
      return failed(absl::StrCat("could not retrieve the Dataplane: ", found.status().message()));
    }
  }
  auto claims = tokenValidator_.validate(token, mesh);
  if (!claims.ok()) {
    return absl::IsUnauthenticated(claims.status())
               ? failed(claims.status().message())
               : absl::Status(claims.status().code(),
                              absl::StrCat("authentication failed: ", claims.status().message()));
  }
  if (fromMetadata != nullptr) {
    if (absl::Status s = tokens::checkDataplaneClaims(*claims, *fromMetadata); !s.ok()) {
      return failed(s.message());
    }
  }
  if (stored != nullptr) {
    if (absl::Status s = tokens::checkDataplaneClaims(*claims, *stored); !s.ok()) {
      return failed(fromMetadata != nullptr
                        ? "you are trying to override existing proxy to which you don't have an "
                          "access."
                        : std::string(s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status DataplaneCallbacks::onStreamOpen(int64_t streamId,
                                              const envoy::config::core::v3::Node& node,
                                              const server::StreamInfo& info) {
  auto parsed = parseNodeDataplane(node, dataplaneType_);
  if (!parsed.ok()) {
    return parsed.status();
  }
  const std::string& mesh = parsed->mesh;
  const std::string& name = parsed->name;
  bool selfRegistered = false;
  if (!parsed->dataplane.has_value()) {
    KUMA_RETURN_IF_ERROR(authenticate(info, mesh, name, nullptr));
  } else {
    KUMA_RETURN_IF_ERROR(authenticate(info, mesh, name, &*parsed->dataplane));
    auto upserted = manager_.upsert(std::move(*parsed->dataplane));
    if (!upserted.ok()) {
      std::string detail(upserted.status().message());
      if (auto violations = validators::ValidationError::fromStatus(upserted.status())) {
        detail = absl::StrCat(detail, ": ", violations->toString());
      }
      return absl::Status(upserted.status().code(),
                          absl::StrCat("could not register the Dataplane: ", detail));
    }
    selfRegistered = true;
  }
  ProxyOptions proxy = options_.proxyDefaults;
  const NodeProxyMetadata metadata = parseNodeProxyMetadata(node);
  if (metadata.adminPort) {
    proxy.adminPort = *metadata.adminPort;
  }
  if (metadata.adminAddress) {
    proxy.adminAddress = *metadata.adminAddress;
  }
  if (metadata.adminSocketPath) {
    proxy.adminSocketPath = *metadata.adminSocketPath;
  }
  if (metadata.workdir) {
    proxy.workdir = *metadata.workdir;
  }
  if (metadata.readinessPort) {
    proxy.readinessPort = *metadata.readinessPort;
  }
  proxy.reusePort = metadata.reusePort;
  proxy.strictInboundPorts = metadata.strictInboundPorts;
  proxy.dnsPort = metadata.dnsPort;
  proxy.embeddedDns = metadata.embeddedDns;
  proxy.bindOutbounds = metadata.bindOutbounds;
  proxy.workDir = metadata.workDir;
  // As Kuma (proxy.Metadata.GetIPv6Enabled()): the HCMs' IPv6 internal ranges only when kuma-dp
  // says the host has IPv6; without the field the IPv6 ranges stay (older clients, tests).
  proxy.metadataIpv6Enabled = metadata.ipv6Enabled.value_or(false);
  if (metadata.ipv6Enabled.has_value()) {
    proxy.ipv6Enabled = *metadata.ipv6Enabled;
  }
  {
    // The reconciler is told under mu_, in the order of the connections: see onStreamClosed.
    absl::MutexLock lock(&mu_);
    const uint64_t connection = ++nextConnection_;
    streams_[streamId] = Stream{node.id(), selfRegistered, connection};
    connections_[node.id()] = connection;
    pending_.erase(node.id());
    reconciler_.addProxy(node.id(), mesh, name, std::move(proxy));
  }
  logging::logger("xds-server")->info("proxy {} connected (stream {})", node.id(), streamId);
  return absl::OkStatus();
}

void DataplaneCallbacks::onStreamClosed(int64_t streamId, const std::string& nodeId) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(streamId);
  if (it == streams_.end()) {
    return;  // refused at open: it never served the node
  }
  const bool selfRegistered = it->second.selfRegistered;
  const bool latest = connections_[nodeId] == it->second.connection;
  streams_.erase(it);
  if (latest) {
    // Only the node's latest stream stops its reconciliation: when a proxy reconnects before its
    // old stream is torn down (a reconnect storm), closing the old one must not orphan the new.
    reconciler_.removeProxy(nodeId);
  }
  if (selfRegistered && latest && !stopping_) {  // a newer stream keeps the Dataplane
    pending_[nodeId] =
        PendingDeregistration{std::chrono::steady_clock::now() +
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      options_.deregistrationDelay),
                              connections_[nodeId]};
  }
  logging::logger("xds-server")->info("proxy {} disconnected (stream {})", nodeId, streamId);
}

void DataplaneCallbacks::deregistrationLoop() {
  while (true) {
    std::vector<std::string> due;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(50));
      if (stopping_ && pending_.empty()) {
        return;
      }
      const auto now = std::chrono::steady_clock::now();
      for (auto it = pending_.begin(); it != pending_.end();) {
        // A newer connection of the node cancels the deregistration.
        if (connections_[it->first] != it->second.connection) {
          it = pending_.erase(it);
        } else if (it->second.due <= now) {
          due.push_back(it->first);
          it = pending_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (const std::string& nodeId : due) {
      auto key = parseNodeId(nodeId);
      if (!key.ok() || dataplaneType_ == nullptr) {
        continue;
      }
      absl::Status s = manager_.remove(*dataplaneType_, {key->second, key->first});
      if (s.ok()) {
        logging::logger("xds-server")->info("deregistered Dataplane {}", nodeId);
      } else if (!absl::IsNotFound(s)) {
        logging::logger("xds-server")
            ->error("could not deregister Dataplane {}: {}", nodeId, std::string(s.message()));
      }
    }
  }
}

}  // namespace kuma::xds::sync
