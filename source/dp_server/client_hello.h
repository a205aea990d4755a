#pragma once

// File: client_hello.h
// Just enough TLS parsing to route a connection on the DP server port before any byte is consumed:
// does the first record hold a complete ClientHello, and does its ALPN extension offer "h2"?

#include <string_view>

namespace kuma::dp_server {

enum class ClientHelloVerdict {
  /** The first TLS record is not complete yet: peek again. */
  kNeedMore,
  /** A ClientHello whose ALPN list contains "h2" (Envoy's gRPC). */
  kOffersH2,
  /** Anything else: a ClientHello without h2, not TLS, or malformed (HTTP/1.1 handling). */
  kOther,
};

/** Inspects the bytes peeked so far from a fresh connection. */
ClientHelloVerdict inspectClientHello(std::string_view bytes);

}  // namespace kuma::dp_server
