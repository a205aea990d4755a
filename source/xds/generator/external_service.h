#pragma once

// File: external_service.h
// The cluster Kuma 2.14 gives an outbound to a legacy ExternalService without a ZoneEgress
// (pkg/xds/topology NewExternalServiceEndpoint, envoy/clusters ProvidedEndpointCluster and
// ClientSideTLSConfigurer): its `networking.address` as the only endpoint, inline (STATIC for an
// IP, STRICT_DNS with V4_ONLY lookups for a host name), the service's tags but
// `kuma.io/service` as endpoint metadata (plus `kuma.io/external-service-name` with TLS), HTTP/1
// or HTTP/2 upstream options by its `kuma.io/protocol`, and with `tls.enabled` a transport
// socket match originating TLS (SNI, CA with the SAN checks, client certificate,
// renegotiation). Routes to it rewrite the Host header (auto_host_rewrite).

#include <string>

#include "absl/status/status.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "kuma/model/resource.h"
#include "kuma/xds/protocol.h"
#include "source/xds/context/mesh_context.h"

namespace kuma::xds {

/** The ExternalService whose `kuma.io/service` tag is `service`, or nullptr. */
const model::Resource* externalServiceFor(const MeshContext& context, const std::string& service);

/** Its protocol (`kuma.io/protocol` tag; Unknown without one). */
Protocol externalServiceProtocol(const model::Resource& externalService);

/**
 * Makes `cluster` (named, otherwise empty) Kuma's cluster of `externalService`. TLS data sources
 * are read as Kuma reads them: inline, the mesh's Secret (`context.secret`) or the control
 * plane's file (at most 1 MiB). One that cannot be read drops the endpoint, as in Kuma.
 * InvalidArgument for an address without a port.
 */
absl::Status buildExternalServiceCluster(const MeshContext& context,
                                         const model::Resource& externalService,
                                         envoy::config::cluster::v3::Cluster& cluster);

}  // namespace kuma::xds
