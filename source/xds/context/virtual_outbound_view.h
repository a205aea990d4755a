#pragma once

// File: virtual_outbound_view.h
// Kuma's VIP view of a mesh (pkg/dns/vips: VirtualOutboundMeshView; pkg/dns/vips_allocator.go;
// pkg/xds/topology/dns.go VIPOutbounds): every hostname that gets a VIP, with the outbounds
// (port and tags) behind it.
//   - `0:<service>` (service): one per service of a Dataplane inbound (port 0) or of an
//     ExternalService (its port); names `<service>.mesh` (and `_` → `.`).
//   - `1:<host>` (host): an ExternalService's address host, unless disableHostDNSEntry; an IP
//     host keeps its own address.
//   - `2:<fqdn>` (fqdn): a VirtualOutbound's host template evaluated for each Dataplane inbound
//     and ExternalService it selects; its outbounds carry the parameters' tags.
// The allocator gives every entry without an address the next free VIP (entries in type, then
// name order); proxies get an outbound listener per (VIP, port) and the DNS names.
//
//   VirtualOutboundView view;
//   view.add({HostnameKind::kService, "backend"}, {0, {{"kuma.io/service", "backend"}},
//   "service"}); addVirtualOutbounds(view, vos, inboundTags, "Dataplane", "backend-1");
//   VipOutbounds out = vipOutbounds(view, /*vipPort=*/80);

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kuma/model/resource.h"
#include "source/core/resources/tag_selector.h"

namespace kuma::xds {

/** Kuma's vips.EntryType (its number is the persisted key's prefix). */
enum class HostnameKind { kService = 0, kHost = 1, kFqdn = 2 };

/** Kuma's vips.HostnameEntry; ordered by kind, then name (HostnameEntries()). */
struct HostnameEntry {
  HostnameKind kind = HostnameKind::kService;
  std::string name;
  auto operator<=>(const HostnameEntry&) const = default;
  /** The persisted key: "<kind number>:<name>". */
  std::string key() const;
};

/** Kuma's vips.OutboundEntry. */
struct VipOutboundEntry {
  uint32_t port = 0;
  resources::Tags tags;
  /** "service", "external-service:<name>", "virtual-outbound:<name>". */
  std::string origin;
  /** Kuma's String(): `<origin>=<port>{k=v,...}` (identity of an entry). */
  std::string str() const;
};

/** Kuma's vips.VirtualOutbound: the address and the outbounds (sorted by port) of a hostname. */
struct VirtualOutboundEntry {
  std::string address;
  std::vector<VipOutboundEntry> outbounds;
};

/** Kuma's VirtualOutboundMeshView. */
class VirtualOutboundView {
 public:
  /**
   * Kuma's Add: a new hostname takes the outbound (an IP host takes its own address); an
   * existing one appends it (kept sorted by port) unless an outbound on that port is there:
   * identical ones are dropped silently, others are conflicts (logged as Kuma logs them; the
   * first one stays).
   */
  void add(const HostnameEntry& entry, VipOutboundEntry outbound);
  const std::map<HostnameEntry, VirtualOutboundEntry>& entries() const { return entries_; }
  std::map<HostnameEntry, VirtualOutboundEntry>& entries() { return entries_; }

 private:
  std::map<HostnameEntry, VirtualOutboundEntry> entries_;
};

/**
 * Kuma's addFromVirtualOutbound for every VirtualOutbound of `vos` that selects `tags` (Kuma's
 * Match order): the evaluated host (fqdn entry) and port with the parameters' tags. Templates
 * that fail are logged and skipped. `type`/`name`: the resource the tags come from (logs).
 */
void addVirtualOutbounds(VirtualOutboundView& view,
                         const std::vector<model::ResourceConstSharedPtr>& vos,
                         const resources::Tags& tags, std::string_view type, std::string_view name);

/** One legacy VIP outbound (Kuma's VIPOutbounds): a listener `outbound:<address>:<port>`. */
struct VipOutbound {
  std::string address;
  uint32_t port = 0;
  resources::Tags tags;
  /** tags' kuma.io/service. */
  std::string service;
};

/** The names of one VIP (Kuma's VIPDomains, without the top-level domain of service names). */
struct VipDomain {
  std::string address;
  HostnameKind kind = HostnameKind::kService;
  /** The service (kService: the DNS names are `<name>.<domain>` and `_` → `.`), else the host. */
  std::string name;
};

struct VipOutbounds {
  std::vector<VipOutbound> outbounds;
  std::vector<VipDomain> domains;
};

/**
 * Kuma's VIPOutbounds over the entries with an address, in HostnameEntries order: a service
 * entry's outbound on its port (when not 0) and on `vipPort` (when different); a host or fqdn
 * entry's outbounds on their ports, plus (host entries with a DNS name only) `vipPort` with the
 * first outbound's tags when none uses it. Host and fqdn names that are not DNS names get no
 * domain.
 */
VipOutbounds vipOutbounds(const VirtualOutboundView& view, uint32_t vipPort);

}  // namespace kuma::xds
