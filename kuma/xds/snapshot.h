#pragma once

// File: snapshot.h
// What the xDS server sends to one Envoy: per type URL, a version and a set of named resources.
// Resources are serialized once (protobuf wire bytes of the Envoy message) and shared between
// every proxy and every snapshot that contains the same resource: the ADS server wraps the bytes
// in a google.protobuf.Any without re-serializing.
//
//   auto snapshot = std::make_shared<Snapshot>();
//   auto& clusters = snapshot->types[kClusterType];
//   clusters.version = "4f0c...";
//   clusters.resources.emplace("localhost:8080", makeResource("localhost:8080", cluster));

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace kuma::xds {

inline constexpr char kListenerType[] = "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr char kClusterType[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr char kEndpointType[] =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
inline constexpr char kRouteType[] = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
inline constexpr char kSecretType[] =
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

/** One named Envoy resource, serialized. Immutable; shared by pointer. */
struct Resource {
  std::string name;
  /** Wire bytes of the Envoy message (the `value` of its Any). */
  std::string serialized;
  /** Content hash of `serialized` (equal bytes ⇒ equal hash), for change detection. */
  uint64_t hash = 0;
};
using ResourceConstSharedPtr = std::shared_ptr<const Resource>;

/** The resources of one type for one proxy. */
struct TypeSnapshot {
  /** Changes whenever the set or any resource changes (Kuma: a new UUID per change). */
  std::string version;
  std::map<std::string, ResourceConstSharedPtr> resources;
};

/** Everything one proxy should have. Immutable once published. */
struct Snapshot {
  std::map<std::string, TypeSnapshot> types;  // key: type URL
};
using SnapshotConstSharedPtr = std::shared_ptr<const Snapshot>;

}  // namespace kuma::xds
