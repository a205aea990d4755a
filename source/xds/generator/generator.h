#pragma once

// File: generator.h
// Envoy configuration of one Universal sidecar, with Kuma 2.14's legacy resource names (spec §7):
// inbound listeners/clusters, outbound listeners with EDS clusters and ClusterLoadAssignments
// (shared through the MeshContext), transparent-proxy passthrough listeners and the admin
// listener. Resources carry no version: the reconciler assigns versions per type.
//
//   ProxyOptions options;
//   options.plugins = pluginTable;  // shared_ptr<const PolicyPluginList>
//   KUMA_ASSIGN_OR_RETURN(GeneratedResources out, generate(*meshContext, *dataplane, options));
//   out.types[kListenerType]["inbound:10.0.0.1:8080"]->serialized;

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kuma/model/resource.h"
#include "kuma/xds/policy_plugin.h"
#include "kuma/xds/snapshot.h"
#include "source/xds/context/mesh_context.h"

namespace kuma::xds {

/**
 * The SDS material of one proxy of an mTLS mesh (spec §8.3), issued by the mesh's CA
 * (source/xds/secrets). Immutable; shared by pointer.
 */
struct ProxyTlsSecrets {
  /** Identity certificate (chain) PEM: `identity_cert:secret:<mesh>`. */
  std::string certChainPem;
  std::string keyPem;
  /** Trusted CA certificate(s) PEM, joined by "\n": `mesh_ca:secret:<mesh>`. */
  std::string caPem;
};
using ProxyTlsSecretsConstSharedPtr = std::shared_ptr<const ProxyTlsSecrets>;

/**
 * The server side of the `kuma:envoy:admin` listener's mTLS chain (spec §7.4): a certificate
 * for the Dataplane's address(es) issued by the Envoy Admin CA (GlobalSecret `envoy-admin-ca`),
 * and that CA, which client certificates must chain to. Immutable; shared by pointer.
 */
struct EnvoyAdminTlsCerts {
  std::string certPem;
  std::string keyPem;
  std::string caPem;
};
using EnvoyAdminTlsCertsConstSharedPtr = std::shared_ptr<const EnvoyAdminTlsCerts>;

/** What the proxy told the control plane about itself (node metadata, features) and CP config. */
struct ProxyOptions {
  /**
   * Envoy admin port (metadata `dataplane.admin.port`). nullopt: the Dataplane's
   * `networking.admin.port`, else kuma-dp's default 9901. 0: no admin listener/clusters.
   */
  std::optional<uint32_t> adminPort;
  /**
   * Address Envoy's admin binds to (metadata `dataplane.admin.address`); 0.0.0.0 and "" →
   * 127.0.0.1, :: → ::1; any other value than these and ::1 fails the generation (the admin
   * cluster must not become a gateway to another host).
   */
  std::string adminAddress = "127.0.0.1";
  /**
   * Envoy's admin Unix socket (metadata `dataplane.admin.socketPath`, set by the bootstrap when
   * `envoyAdminUnixSocket`): the `kuma:envoy:admin` cluster's endpoint. Empty: adminAddress:port.
   */
  std::string adminSocketPath = "";
  /**
   * The admin listener's mTLS chain material. nullptr: the listener has the plaintext `/ready`
   * chain only (the control plane always sets it when the listener is generated, see
   * needsEnvoyAdminTls()).
   */
  EnvoyAdminTlsCertsConstSharedPtr adminTls = nullptr;
  /** kuma-dp readiness reporter port (metadata `dataplane.readinessReporter.port`). */
  uint32_t readinessPort = 9902;
  /** The DP sent `feature-reuse-port`. */
  bool reusePort = false;
  /**
   * The DP sent `feature-strict-inbound-ports`: on an mTLS STRICT mesh, the transparent proxy's
   * inbound passthrough accepts only the Dataplane's inbound ports.
   */
  bool strictInboundPorts = false;
  /** `ipam.knownInternalCIDRs`: the HCM's internal address ranges. */
  std::vector<std::string> internalCidrs = {"10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12",
                                            "fc00::/7",   "fd00::/8",       "127.0.0.1/32",
                                            "::1/128"};
  /** Include the IPv6 internal ranges. */
  bool ipv6Enabled = true;
  /**
   * The proxy's SDS secrets when its mesh has mTLS enabled. The TLS contexts depend only on
   * the Mesh and are generated either way; without this the two Secret resources are missing.
   */
  ProxyTlsSecretsConstSharedPtr tls = nullptr;
  /**
   * The policy plugins to run, sorted by order() (the control plane's registered table,
   * policies::makeXdsPolicyPlugins()). nullptr: none, the bare Envoy config.
   */
  PolicyPluginListConstSharedPtr plugins = nullptr;
  /**
   * Envoy's DNS port kuma-dp reports (metadata `dataplane.dns.port`, `--dns-envoy-port`): non-zero
   * turns on DNS for a transparent proxy (`kuma:dns` listener or the embedded-DNS map).
   */
  uint32_t dnsPort = 0;
  /** The DP sent `feature-embedded-dns` (kuma-dp's DNS proxy, KUMA_DNS_PROXY_PORT ≠ 0). */
  bool embeddedDns = false;
  /** The DP sent `feature-bind-outbounds` (no DNS is generated then). */
  bool bindOutbounds = false;
  /** kuma-dp's work directory (metadata `workdir`): the dynamic-config pipe lives there. */
  std::string workDir = "";
  /** Metadata `ipv6Enabled` (kuma-dp's IPv6 support): the dynamic-config HCM's internal ::1. */
  bool metadataIpv6Enabled = false;
  /** `dnsServer.domain`: the suffix of the VIP names (`<service>.mesh`). */
  std::string dnsDomain = "mesh";
  /** The control plane's zone (`multizone.zone.name`, Kuma's proxy.Zone): local endpoints. */
  std::string zone = "default";
  /**
   * kuma-dp's socket directory (metadata `workdir`, Kuma's proxy.Metadata.WorkDir): where the
   * access-log FIFO `kuma-al-<name>-<mesh>.sock` of the Tcp access-log backend lives.
   */
  std::string workdir = "";
};

/**
 * Whether generating `dataplane` with `options` gives a `kuma:envoy:admin` listener (admin port
 * ≠ 0 and the Dataplane's address is not the admin bind address), i.e. needs
 * ProxyOptions::adminTls.
 */
bool needsEnvoyAdminTls(const model::Resource& dataplane, const ProxyOptions& options);

/** SDS names of the mesh's secrets (spec §7.1). */
std::string identitySecretName(const std::string& mesh);
std::string meshCaSecretName(const std::string& mesh);

/**
 * What a generation read of its mesh context beyond MeshContext::baseHash(): while the base, the
 * proxy's own Dataplane and these are unchanged, regenerating gives the same resources.
 */
struct ContextDependencies {
  /** Destination services whose endpoints, protocol and VIP were read (sorted, unique). */
  std::vector<std::string> services;
  /** The whole VIP map was read (transparent proxying without reachableServices). */
  bool allVips = false;
};

/** Per type URL (kListenerType, ...), name → resource. */
struct GeneratedResources {
  std::map<std::string, std::map<std::string, ResourceConstSharedPtr>> types;
  ContextDependencies dependencies;

  /** The resource `name` of `typeUrl`, or nullptr. */
  ResourceConstSharedPtr find(const std::string& typeUrl, const std::string& name) const;
  /** Number of resources over all types. */
  size_t size() const;
};

/**
 * Generates the Envoy resources of `dataplane` (a Dataplane of `context`'s mesh).
 * The policy plugins of `options.plugins` (none when null) shape the resources
 * (kuma/xds/policy_plugin.h). Outbound clusters and ClusterLoadAssignments come from `context`'s
 * shared cache: two proxies selected by the same policies get the very same Resource objects, so
 * every generation from one context must use the same plugin table.
 * Thread-safe: many proxies of one context may be generated concurrently.
 * @return InvalidArgument when `dataplane` is not a Dataplane of this mesh; Unimplemented for
 *         gateways; the first error a plugin returns.
 */
absl::StatusOr<GeneratedResources> generate(const MeshContext& context,
                                            const model::Resource& dataplane,
                                            const ProxyOptions& options);

}  // namespace kuma::xds
