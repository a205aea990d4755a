#pragma once

// File: dns_generator.h
// DNS for transparent-proxy sidecars as Kuma 2.14 generates it (spec §7.3, §7.3.1;
// pkg/xds/generator/dns_generator.go, pkg/xds/dynconf): the VIP name map of the proxy's outbounds
// either as Envoy's UDP DNS filter (`kuma:dns` on 127.0.0.1:<dataplane.dns.port>, for kuma-dp
// with CoreDNS or DNS off) or, when kuma-dp runs its embedded DNS proxy (`feature-embedded-dns`),
// as JSON served by the `_kuma:dynamicconfig` pipe listener's `/dns` direct-response route.
//
//   auto records = dnsRecords(context.vipDomains(), outboundAddresses, "mesh", /*ipv6=*/false);
//   listener_v3::Listener l = dnsListener(records, 15054, /*reusePort=*/true);

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "envoy/config/listener/v3/listener.pb.h"
#include "source/xds/context/virtual_outbound_view.h"
#include "source/xds/envoy/dynamic_config.h"

namespace kuma::xds {

/** One name of the DNS map and its addresses (the VIP, then its `::ffff:` form when IPv6). */
struct DnsRecord {
  std::string name;
  std::vector<std::string> ips;
};

/**
 * The DNS names of the mesh's VIPs (MeshContext::vipDomains()) whose address is the address of
 * one of `outboundAddresses`: a service's `<service>.<domain>` and, when the service contains
 * '_', the variant with every '_' replaced by '.'; an ExternalService host or VirtualOutbound
 * name as it is. Each maps to [VIP] plus `::ffff:<hex>:<hex>` when `ipv6` (a later name of the
 * same text wins, as in Kuma). Sorted by name.
 */
std::vector<DnsRecord> dnsRecords(const std::vector<VipDomain>& domains,
                                  const std::set<std::string>& outboundAddresses,
                                  const std::string& domain, bool ipv6);

/** Kuma's util_net.ToV6: `::ffff:f000:0` for 240.0.0.0; other input is returned as is. */
std::string toV6(const std::string& ipv4);

/** Listener `kuma:dns`: UDP 127.0.0.1:`port`, INBOUND, `envoy.filters.udp.dns_filter`. */
envoy::config::listener::v3::Listener dnsListener(const std::vector<DnsRecord>& records,
                                                  uint32_t port, bool reusePort);

/**
 * kuma-dp's embedded DNS proxy configuration (dpapi.DNSProxyConfig) as Kuma marshals it:
 * `{"records":[{"name","ips"}],"ttl":30,"extraLabels":{...}}` (extraLabels keys sorted).
 */
std::string dnsProxyConfigJson(const std::vector<DnsRecord>& records,
                               const std::map<std::string, std::string>& extraLabels);

/** dnsExtraLabels: mesh, and kuma_workload / k8s_kuma_io_namespace / kuma_io_zone from labels. */
std::map<std::string, std::string> dnsExtraLabels(
    const std::string& mesh, const std::map<std::string, std::string>& dataplaneLabels);

}  // namespace kuma::xds
