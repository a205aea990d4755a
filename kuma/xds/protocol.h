#pragma once

// File: protocol.h
// The application protocols Kuma knows (pkg/core/metadata/protocol.go), as the xDS generators
// and the policy plugins see a service or an inbound.

namespace kuma::xds {

/** Application protocols Kuma knows. */
enum class Protocol { Unknown, Tcp, Tls, Http, Http2, Grpc, Kafka, Mysql };

/** True for the protocols served by the HTTP connection manager (http, http2, grpc). */
inline bool isHttpProtocol(Protocol protocol) {
  return protocol == Protocol::Http || protocol == Protocol::Http2 || protocol == Protocol::Grpc;
}

}  // namespace kuma::xds
