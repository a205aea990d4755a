#include "source/xds/sync/dataplane_callbacks.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "source/common/json_yaml.h"
#include "source/common/logging.h"
#include "source/common/status_macros.h"
#include "source/core/model/rest_codec.h"

namespace kuma::xds::sync {
namespace {

const google::protobuf::Value* metadataField(const envoy::config::core::v3::Node& node,
                                             const std::string& key) {
  const auto& fields = node.metadata().fields();
  auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

std::optional<uint32_t> metadataPort(const envoy::config::core::v3::Node& node,
                                     const std::string& key) {
  const google::protobuf::Value* v = metadataField(node, key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->has_number_value()) {
    return static_cast<uint32_t>(v->number_value());
  }
  if (v->has_string_value()) {
    uint32_t port = 0;
    if (absl::SimpleAtoi(v->string_value(), &port)) {
      return port;
    }
  }
  return std::nullopt;
}

bool hasFeature(const envoy::config::core::v3::Node& node, const std::string& feature) {
  const google::protobuf::Value* v = metadataField(node, "features");
  if (v == nullptr || !v->has_list_value()) {
    return false;
  }
  for (const auto& item : v->list_value().values()) {
    if (item.string_value() == feature) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<std::pair<std::string, std::string>> parseNodeId(const std::string& nodeId) {
  const auto dot = nodeId.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == nodeId.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid node id \"", nodeId, "\": expected <mesh>.<name>"));
  }
  return std::make_pair(nodeId.substr(0, dot), nodeId.substr(dot + 1));
}

DataplaneCallbacks::DataplaneCallbacks(manager::ResourceManager& manager,
                                       const model::TypeRegistry& registry, Reconciler& reconciler,
                                       DataplaneCallbacksOptions options)
    : manager_(manager),
      registry_(registry),
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
  if (!type.empty() && type != "dpToken") {
    return failed(absl::StrCat("authentication type \"", type,
                               "\" is not supported by this control plane (Universal: dpToken or "
                               "none)"));
  }
  const size_t credentials = info.metadata.count("authorization");
  if (credentials != 1) {
    return failed(
        absl::StrCat("request must have exactly 1 \"authorization\" header, got ", credentials));
  }
  const std::string& token = info.metadata.find("authorization")->second;
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
  if (!node.has_metadata()) {
    return absl::InvalidArgumentError("metadata in xDS Node cannot be nil");
  }
  auto key = parseNodeId(node.id());
  if (!key.ok()) {
    return key.status();
  }
  const auto& [mesh, name] = *key;
  bool selfRegistered = false;
  const google::protobuf::Value* resource = metadataField(node, "dataplane.resource");
  if (resource == nullptr || dataplaneType_ == nullptr) {
    KUMA_RETURN_IF_ERROR(authenticate(info, mesh, name, nullptr));
  } else {
    auto json = common::parseJsonOrYaml(resource->string_value());
    if (!json.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid dataplane.resource in node metadata: ", json.status().message()));
    }
    auto body = model::fromRestJson(*dataplaneType_, *json);
    if (!body.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid dataplane.resource in node metadata: ", body.status().message()));
    }
    if (body->mesh != mesh || body->name != name) {
      return absl::InvalidArgumentError(absl::StrCat("dataplane.resource ", body->mesh, ".",
                                                     body->name, " does not match node id ",
                                                     node.id()));
    }
    body->resource.meta.mesh = mesh;
    body->resource.meta.name = name;
    KUMA_RETURN_IF_ERROR(authenticate(info, mesh, name, &body->resource));
    auto upserted = manager_.upsert(std::move(body->resource));
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
  if (auto port = metadataPort(node, "dataplane.admin.port")) {
    proxy.adminPort = *port;
  }
  if (const auto* address = metadataField(node, "dataplane.admin.address")) {
    proxy.adminAddress = address->string_value();
  }
  if (const auto* path = metadataField(node, "dataplane.admin.socketPath")) {
    proxy.adminSocketPath = path->string_value();
  }
  if (auto port = metadataPort(node, "dataplane.readinessReporter.port")) {
    proxy.readinessPort = *port;
  }
  proxy.reusePort = hasFeature(node, "feature-reuse-port");
  proxy.strictInboundPorts = hasFeature(node, "feature-strict-inbound-ports");
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
