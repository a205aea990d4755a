#pragma once

// File: envoy_util.h
// Small building blocks shared by the xDS generators: content hashes of serialized resources,
// Kuma's legacy name helpers (pkg/xds/envoy/names), Any packing of extension configs and a JSON
// rendering of serialized resources (config dumps, golden files).
//
//   auto resource = kuma::xds::makeResource("localhost:8080", cluster);
//   resource->hash == kuma::xds::hashOf(resource->serialized);

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "kuma/xds/snapshot.h"

namespace kuma::xds {

inline constexpr char kTcpProxyType[] =
    "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
inline constexpr char kHttpConnectionManagerType[] =
    "type.googleapis.com/"
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
inline constexpr char kRouterType[] =
    "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
inline constexpr char kHttpProtocolOptionsType[] =
    "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
/** Key of Cluster.typed_extension_protocol_options for the upstream HTTP options. */
inline constexpr char kHttpProtocolOptionsKey[] =
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/**
 * Deterministic 64-bit content hash (FNV-1a) of serialized bytes: equal bytes give equal hashes
 * in every process, so hashes can be compared across restarts and replicas.
 */
uint64_t hashOf(std::string_view bytes);

/** `hash` as 16 lowercase hex digits. */
std::string hashHex(uint64_t hash);

/** Serializes `message` deterministically (map fields sorted) into a shared Resource. */
ResourceConstSharedPtr makeResource(std::string name, const google::protobuf::Message& message);

/** Kuma's `util_xds.SanitizeMetric`: every character but [a-zA-Z0-9_-] becomes '_'. */
std::string sanitizeMetric(std::string_view name);

/** `<ip>:<port>`, IPv6 addresses in brackets (`[fd00::1]:80`). */
std::string hostPort(std::string_view ip, uint32_t port);

/** True for an IPv6 literal (contains ':'). */
bool isIPv6(std::string_view ip);

/**
 * Kuma's socketName(filepath.Join(dir, base)): the path of one of kuma-dp's Unix sockets in its
 * work directory (`kuma-al-…`, `kuma-mh-…`, `kuma-otel-…`), cut to 98 characters, then `.sock`.
 */
std::string kumaDpSocketPath(const std::string& dir, const std::string& base);

/**
 * Kuma's outbound cluster name: the service, or `<service>-<16 hex of sha256>` over the sorted
 * `key=value` pairs of the other tags when the outbound selects a subset.
 */
std::string outboundClusterName(const std::string& service,
                                const std::map<std::string, std::string>& tags);

/** Packs `message` into an Any with Envoy's `type.googleapis.com/` prefix. */
google::protobuf::Any packAny(const google::protobuf::Message& message);

/**
 * The upstream `envoy.extensions.upstreams.http.v3.HttpProtocolOptions` Any. That proto is not in
 * the prebuilt Envoy API library, so the wire bytes are composed here from the core messages.
 * @param http2 explicit HTTP/2 upstream (else explicit HTTP/1.1)
 * @param common serialized envoy.config.core.v3.HttpProtocolOptions, or empty for none
 */
google::protobuf::Any httpProtocolOptionsAny(bool http2, const google::protobuf::Message* common);

/**
 * Sets `common_http_protocol_options` (field 1) of an upstream HttpProtocolOptions Any made by
 * httpProtocolOptionsAny(), keeping its other fields: the bytes equal those of
 * httpProtocolOptionsAny(http2, &common). Lets a policy plugin add upstream HTTP options to a
 * cluster whose protocol options the generator already chose.
 * @return InvalidArgument when `any` is not an HttpProtocolOptions or its bytes do not parse.
 */
absl::Status setCommonHttpProtocolOptions(google::protobuf::Any& any,
                                          const google::protobuf::Message& common);

/**
 * A descriptor pool with every generated Envoy message plus the extension types composed by hand
 * (HttpProtocolOptions), for JSON rendering and reflection.
 */
const google::protobuf::DescriptorPool& envoyDescriptorPool();

/**
 * The proto3 JSON of a serialized resource of `typeUrl` (Any members rendered with their types).
 * @return InvalidArgument for an unknown type or bytes that do not parse.
 */
absl::StatusOr<std::string> resourceToJson(std::string_view typeUrl, std::string_view serialized);

}  // namespace kuma::xds
