#pragma once

// File: meshservice_outbounds.h
// The outbounds Kuma 2.14 gives a proxy for the MeshService family (pkg/xds/sync/
// dataplane_proxy_builder.go resolveVIPOutbounds, the resources' AsOutbounds): with a
// transparent proxy one per VIP and port of every MeshService (`status.vips` × `spec.ports`),
// MeshExternalService (`status.vip` × `spec.match`) and MeshMultiZoneService (`status.vips` ×
// `spec.ports`), in that order; otherwise one per Dataplane outbound whose `backendRef` names
// one of them. Their Envoy names follow Kuma's legacy naming (destinationname.
// ResolveLegacyFromKRI): cluster and stat prefix `<mesh>_<name>_<namespace>_<zone>_<short>_<port>`
// (short: msvc, extsvc, mzsvc), route configuration and the listener's `kuma.io/unified-name`
// tag the port's KRI (`kri_<short>_<mesh>_<zone>_<ns>_<name>_<section>`).
//
// Endpoints: a MeshService's are the Dataplanes it selects; a MeshMultiZoneService's are those
// of the MeshServices in its `status.meshServices` on the same port; a MeshExternalService's are
// the zone's ZoneEgress instances (BuildEdsEndpointMap), and ZoneEgress is not modelled yet, so
// it has none, which is what Kuma 2.14.3 generates for a mesh without a ZoneEgress.
//
//   for (const MeshServiceOutbound& o : meshServiceOutbounds(context, spec, tp)) ...

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
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
inline constexpr char kMeshExternalServiceType[] = "MeshExternalService";
inline constexpr char kMeshMultiZoneServiceType[] = "MeshMultiZoneService";

struct MeshServiceOutbound {
  std::string address;
  uint32_t port = 0;
  bool bindToPort = true;
  /** The MeshService, MeshExternalService or MeshMultiZoneService (its descriptor tells which). */
  const model::Resource* meshService = nullptr;
  /** The resource's name: what `to[].targetRef` of its kind names. */
  std::string name;
  /** What policies see as the destination: the name of a MeshService, the KRI of the others
   *  (so that a `to[]` of kind MeshService never selects a MeshExternalService of that name). */
  std::string service;
  /** The port's KRI: the route configuration's name and the listener's unified-name tag. */
  std::string kri;
  /** `<mesh>_<name>_<namespace>_<zone>_msvc_<port>`: cluster, virtual host, stat prefix. */
  std::string clusterName;
  Protocol protocol = Protocol::Unknown;
  /** Kuma's SNI of the port (meshServiceSni), what mTLS clusters present. */
  std::string sni;
  /** The identities the mTLS cluster verifies (Kuma's meshroute.Identities), sorted: a
   *  `spiffe://` ID exactly, otherwise a `kuma.io/service` value; none: any of the mesh. */
  std::vector<std::string> identities;
  /** A MeshExternalService: the HTTP route rewrites the Host header to the endpoint's. */
  bool external = false;
  /** The MeshService port this outbound serves (`{name, port, targetPort, appProtocol}`). */
  nlohmann::json servicePort;
};

/** The ports of a MeshService-family resource: a MeshExternalService's `spec.match`, the others'
 *  `spec.ports` (Kuma's Destination.GetPorts()). */
nlohmann::json destinationPorts(const model::Resource& r);

/** Kuma's Port.GetName(): the port's name, or its number (a MeshExternalService's match has no
 *  name): the section name of the port's KRI. */
std::string portSectionName(const nlohmann::json& port);

/**
 * Kuma's SNI of a MeshService-family port (tls.SNIForResource): `a<fnv64a("<name>;<mesh>;") in
 * hex>.<name>.<port>.<mesh>.<ms|mes|mzms>`, name and mesh cut to 62 characters plus `x`.
 * `type`: kMeshServiceType (the default), kMeshExternalServiceType or kMeshMultiZoneServiceType.
 */
std::string meshServiceSni(const std::string& name, const std::string& mesh, uint32_t port,
                           std::string_view type = kMeshServiceType);

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

/** One port of a MeshService-family resource a Dataplane can reach (the `_layout` view). */
struct ReachableBackendPort {
  /** The port's KRI (`kri_<short>_<mesh>_<zone>_<ns>_<name>_<section>`). */
  std::string kri;
  uint32_t port = 0;
  /** Its protocol (`appProtocol`, a MeshExternalService's `match.protocol`; default tcp). */
  std::string protocol;
};

/**
 * Kuma's DestinationIndex.GetReachableBackends, what the `_layout` API lists: the ports of the
 * resources the Dataplane's `backendRef` outbounds name; without any, those its
 * `reachableBackends` refs name; without that field, every port of every MeshService,
 * MeshExternalService and MeshMultiZoneService of the mesh. A ref names a resource by name or
 * by labels, and a port by number or name (an unknown one: every port, as Kuma). Sorted by KRI.
 */
std::vector<ReachableBackendPort> reachableBackendPorts(const MeshContext& context,
                                                        const mesh::v1alpha1::Dataplane& spec);

/**
 * The endpoints of one outbound's port. A MeshService's: the healthy inbounds of the Dataplanes
 * its selector matches (dataplaneTags, dataplaneRef or dataplaneLabels) whose port is the
 * `targetPort` (a number, or the name of an inbound). A MeshMultiZoneService's: those of the
 * MeshServices in its `status.meshServices`, on their port of the same number. A
 * MeshExternalService's: none (they would be the ZoneEgress instances). `services` receives
 * the `kuma.io/service` values whose endpoints were read.
 */
std::vector<Endpoint> meshServiceEndpoints(const MeshContext& context,
                                           const model::Resource& service,
                                           const nlohmann::json& servicePort,
                                           std::vector<std::string>& services);

/**
 * The DNS names of the MeshServices, MeshExternalServices and MeshMultiZoneServices (their
 * `status.addresses` hostnames) whose first VIP is the address of one of `outboundAddresses`,
 * each to [VIP] plus its `::ffff:` form when `ipv6`.
 */
std::vector<DnsRecord> meshServiceDnsRecords(const MeshContext& context,
                                             const std::set<std::string>& outboundAddresses,
                                             bool ipv6);

/** Adds `more` to `records` (a name in both takes `more`'s addresses, as Kuma's map does);
 *  sorted by name. */
void mergeDnsRecords(std::vector<DnsRecord>& records, std::vector<DnsRecord> more);

}  // namespace kuma::xds
