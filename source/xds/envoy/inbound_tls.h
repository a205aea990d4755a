#pragma once

// File: inbound_tls.h
// The shapes of a sidecar's inbound listeners under the mesh's mTLS, shared by the generator
// (the Mesh's CA backend mode) and MeshTLS (a per-inbound mode): Kuma's STRICT and PERMISSIVE
// filter chains, and the inbound passthrough listener's chains (one per inbound port under strict
// inbound ports).
//
//   listener.add_filter_chains() = chain with Kuma's mTLS transport socket;  // STRICT
//   makeInboundPermissive(listener);                                          // now PERMISSIVE

#include <cstdint>
#include <string>
#include <vector>

#include "envoy/config/listener/v3/listener.pb.h"

namespace kuma::xds {

inline constexpr char kTlsTransportSocket[] = "envoy.transport_sockets.tls";
inline constexpr char kTlsInspectorName[] = "envoy.filters.listener.tls_inspector";
inline constexpr char kTlsInspectorType[] =
    "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector";
/** ALPN of mesh traffic: lets PERMISSIVE inbounds tell it from the application's own TLS. */
inline constexpr char kMeshAlpn[] = "kuma";
/** Kuma's reserved port of an inbound without a real port. */
inline constexpr uint32_t kTcpPortReserved = 49151;
/** The endpoint-less cluster of the reserved port's passthrough chain (strict inbound ports). */
inline constexpr char kNoDestinationInbound[] = "self_transparentproxy_no_destination_inbound";

/**
 * A STRICT inbound listener (its chain with Kuma's mTLS transport socket) becomes PERMISSIVE:
 * the TLS inspector added to the listener filters, and the chains: a plaintext (`raw_buffer`) chain
 * and an application-TLS (`tls`) chain, both the mTLS chain without its transport socket, then the
 * mTLS chain matching `tls` with ALPN `kuma`. A listener already PERMISSIVE is left as is.
 */
void makeInboundPermissive(envoy::config::listener::v3::Listener& listener);

/** The reverse of makeInboundPermissive(): only the mTLS chain (no match), no TLS inspector. */
void makeInboundStrict(envoy::config::listener::v3::Listener& listener);

/**
 * The filter chains of the passthrough listener `name` (tcp_proxy to the cluster `name`): for the
 * inbound passthrough with `strictPorts`, one chain per distinct inbound port of `ports` matching
 * that original destination port (the reserved port's chain ends in kNoDestinationInbound), else
 * (or without ports) one catch-all chain. Replaces the listener's chains.
 */
void setPassthroughChains(envoy::config::listener::v3::Listener& listener, const std::string& name,
                          const std::vector<uint32_t>& ports, bool strictPorts);

}  // namespace kuma::xds
