#pragma once

// File: meshservice_outbounds.h
// The outbounds Kuma 2.14 gives a proxy for MeshServices (pkg/xds/sync/dataplane_proxy_builder.go
// resolveVIPOutbounds, MeshServiceResource.AsOutbounds): with a transparent proxy one per
// MeshService VIP and port (`spec.ports`, the VIPs in `status.vips`), otherwise one per
// Dataplane outbound whose `backendRef` names a MeshService. Their Envoy names follow Kuma's
// legacy naming (destinationname.ResolveLegacyFromKRI): cluster and stat prefix
// `<mesh>_<name>_<namespace>_<zone>_msvc_<port>`, route configuration and the listener's
// `kuma.io/unified-name` tag the port's KRI (`kri_msvc_<mesh>_<zone>_<ns>_<name>_<section>`).
//
//   for (const MeshServiceOutbound& o : meshServiceOutbounds(context, spec, tp)) ...

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "kuma/model/resource.h"
#include "kuma/xds/protocol.h"
#include "nlohmann/json.hpp"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/destination.h"
#include "source/xds/generator/dns_generator.h"

namespace kuma::xds {

inline constexpr char kMeshServiceType[] = "MeshService";

struct MeshServiceOutbound {
  std::string address;
  uint32_t port = 0;
  bool bindToPort = true;
  const model::Resource* meshService = nullptr;
  /** The MeshService's name: what `to[].targetRef` of kind MeshService names. */
  std::string name;
  /** The port's KRI: the route configuration's name and the listener's unified-name tag. */
  std::string kri;
  /** `<mesh>_<name>_<namespace>_<zone>_msvc_<port>`: cluster, virtual host, stat prefix. */
  std::string clusterName;
  Protocol protocol = Protocol::Unknown;
  /** Kuma's SNI of the port (meshServiceSni), what mTLS clusters present. */
  std::string sni;
  /** The MeshService port this outbound serves (`{name, port, targetPort, appProtocol}`). */
  nlohmann::json servicePort;
};

/**
 * Kuma's SNI of a MeshService port (tls.SNIForResource): `a<fnv64a("<name>;<mesh>;") in hex>.
 * <name>.<port>.<mesh>.ms`, name and mesh cut to 62 characters plus `x`.
 */
std::string meshServiceSni(const std::string& name, const std::string& mesh, uint32_t port);

/**
 * Kuma's MeshService outbounds of the Dataplane `spec`. Transparent proxy: every VIP and port of
 * the mesh's MeshServices, unless `reachableServices` is set without `reachableBackends`, or the
 * mesh mode is ReachableBackends and the proxy names none; with `reachableBackends` only the
 * MeshServices (and ports) it names. Outbounds on one of the proxy's own inbound addresses are
 * skipped. Without a transparent proxy: the Dataplane's `backendRef` outbounds of kind
 * MeshService whose MeshService and port exist.
 */
std::vector<MeshServiceOutbound> meshServiceOutbounds(const MeshContext& context,
                                                      const mesh::v1alpha1::Dataplane& spec,
                                                      bool transparent);

/**
 * The endpoints of one MeshService port: the healthy inbounds of the Dataplanes its selector
 * matches (dataplaneTags, dataplaneRef or dataplaneLabels) whose port is the `targetPort`.
 * `services` receives the `kuma.io/service` values whose endpoints were read.
 */
std::vector<Endpoint> meshServiceEndpoints(const MeshContext& context,
                                           const model::Resource& service,
                                           const nlohmann::json& servicePort,
                                           std::vector<std::string>& services);

/**
 * The DNS names of the MeshServices (their `status.addresses` hostnames) whose first VIP is the
 * address of one of `outboundAddresses`, each to [VIP] plus its `::ffff:` form when `ipv6`.
 */
std::vector<DnsRecord> meshServiceDnsRecords(const MeshContext& context,
                                             const std::set<std::string>& outboundAddresses,
                                             bool ipv6);

/** Adds `more` to `records` (a name in both takes `more`'s addresses, as Kuma's map does);
 *  sorted by name. */
void mergeDnsRecords(std::vector<DnsRecord>& records, std::vector<DnsRecord> more);

}  // namespace kuma::xds
