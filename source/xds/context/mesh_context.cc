#include "source/xds/context/mesh_context.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "api/mesh/v1alpha1/external_service.pb.h"
#include "source/common/status_macros.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/core/resources/validation_helpers.h"
#include "source/core/store/errors.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/rules.h"
#include "source/plugins/policies/core/schema_spec.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/inbound_tls.h"

namespace kuma::xds {
namespace {

using mesh::v1alpha1::Dataplane;

constexpr char kDefaultVipCidr[] = "240.0.0.0/4";

// Layers of each protocol, most specific first; the common protocol of several endpoints is
// the first layer every one of them shares (grpc+http2 → http2, http+http2 → tcp).
std::vector<Protocol> stackOf(Protocol p) {
  switch (p) {
    case Protocol::Grpc:
      return {Protocol::Grpc, Protocol::Http2, Protocol::Tcp};
    case Protocol::Http2:
      return {Protocol::Http2, Protocol::Tcp};
    case Protocol::Http:
      return {Protocol::Http, Protocol::Tcp};
    case Protocol::Kafka:
      return {Protocol::Kafka, Protocol::Tcp};
    case Protocol::Tls:
      return {Protocol::Tls, Protocol::Tcp};
    case Protocol::Mysql:
      return {Protocol::Mysql, Protocol::Tcp};
    case Protocol::Tcp:
      return {Protocol::Tcp};
    case Protocol::Unknown:
      break;
  }
  return {};
}

Protocol commonProtocol(Protocol a, Protocol b) {
  if (a == Protocol::Unknown || b == Protocol::Unknown) {
    return Protocol::Unknown;
  }
  const auto bs = stackOf(b);
  for (Protocol layer : stackOf(a)) {
    if (std::find(bs.begin(), bs.end(), layer) != bs.end()) {
      return layer;
    }
  }
  return Protocol::Unknown;
}

bool inboundUsable(const Dataplane::Networking::Inbound& inbound) {
  if (inbound.state() != Dataplane::Networking::Inbound::Ready) {
    return false;
  }
  return !inbound.has_health() || inbound.health().ready();
}

std::map<std::string, std::string> toMap(const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

// Canonical text of one input resource for the content hash.
void appendCanonical(std::string& out, const model::Resource& r) {
  absl::StrAppend(&out, r.descriptor != nullptr ? r.descriptor->name : "?", "|", r.meta.mesh, "|",
                  r.meta.name, "|");
  for (const auto& [k, v] : r.meta.labels) {
    absl::StrAppend(&out, k, "=", v, ",");
  }
  // Length-prefixed: the canonical bytes of a protobuf spec are binary.
  const std::string spec = r.spec != nullptr ? r.spec->canonicalBytes() : "null";
  absl::StrAppend(&out, "|", spec.size(), ":", spec, "\n");
}

// A spec-and-status resource as xDS reads it: meta, spec, and of a status only the VIPs,
// hostnames and a MeshMultiZoneService's matched MeshServices (MeshService & co.). The controllers
// rewrite the rest of a status (proxy counters, TLS readiness) as proxies come and go; hashing it
// would regenerate every proxy of the mesh for nothing.
void appendServiceCanonical(std::string& out, const model::Resource& r) {
  const policies::SchemaSpec* spec = policies::schemaSpecOf(r);
  const nlohmann::ordered_json* status = spec != nullptr ? spec->status() : nullptr;
  if (status == nullptr) {
    appendCanonical(out, r);
    return;
  }
  absl::StrAppend(&out, r.descriptor->name, "|", r.meta.mesh, "|", r.meta.name, "|");
  for (const auto& [k, v] : r.meta.labels) {
    absl::StrAppend(&out, k, "=", v, ",");
  }
  std::string read = spec->spec().dump();
  for (const char* key : {"vip", "vips", "addresses", "meshServices"}) {
    if (auto it = status->find(key); it != status->end()) {
      absl::StrAppend(&read, "|", key, "=", it->dump());
    }
  }
  absl::StrAppend(&out, "|", read.size(), ":", read, "\n");
}

std::vector<model::ResourceConstSharedPtr> sortedByName(
    std::vector<model::ResourceConstSharedPtr> items) {
  const auto byName = [](const auto& a, const auto& b) {
    return std::tie(a->meta.mesh, a->meta.name) < std::tie(b->meta.mesh, b->meta.name);
  };
  if (!std::is_sorted(items.begin(), items.end(), byName)) {  // stores list in key order
    std::sort(items.begin(), items.end(), byName);
  }
  return items;
}

absl::StatusOr<std::pair<uint32_t, int>> parseCidr(const std::string& cidr) {
  std::vector<std::string> parts = absl::StrSplit(cidr, '/');
  if (parts.size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat("invalid CIDR ", cidr));
  }
  int bits = 0;
  if (!absl::SimpleAtoi(parts[1], &bits) || bits < 0 || bits > 32) {
    return absl::InvalidArgumentError(absl::StrCat("invalid CIDR ", cidr));
  }
  std::vector<std::string> octets = absl::StrSplit(parts[0], '.');
  if (octets.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat("invalid CIDR ", cidr));
  }
  uint32_t ip = 0;
  for (const auto& o : octets) {
    int v = 0;
    if (!absl::SimpleAtoi(o, &v) || v < 0 || v > 255) {
      return absl::InvalidArgumentError(absl::StrCat("invalid CIDR ", cidr));
    }
    ip = (ip << 8) | static_cast<uint32_t>(v);
  }
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return std::make_pair(ip & mask, bits);
}

std::string formatIPv4(uint32_t ip) {
  return absl::StrCat(ip >> 24, ".", (ip >> 16) & 0xff, ".", (ip >> 8) & 0xff, ".", ip & 0xff);
}

}  // namespace

Protocol parseProtocol(std::string_view text) {
  const std::string lower = absl::AsciiStrToLower(std::string(text));
  if (lower == "tcp")
    return Protocol::Tcp;
  if (lower == "tls")
    return Protocol::Tls;
  if (lower == "http")
    return Protocol::Http;
  if (lower == "http2")
    return Protocol::Http2;
  if (lower == "grpc")
    return Protocol::Grpc;
  if (lower == "kafka")
    return Protocol::Kafka;
  if (lower == "mysql")
    return Protocol::Mysql;
  return Protocol::Unknown;
}

std::string_view protocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::Tcp:
      return "tcp";
    case Protocol::Tls:
      return "tls";
    case Protocol::Http:
      return "http";
    case Protocol::Http2:
      return "http2";
    case Protocol::Grpc:
      return "grpc";
    case Protocol::Kafka:
      return "kafka";
    case Protocol::Mysql:
      return "mysql";
    case Protocol::Unknown:
      break;
  }
  return "unknown";
}

absl::StatusOr<MeshResources> loadMeshResources(store::ResourceStore& store,
                                                const model::TypeRegistry& registry,
                                                const std::string& mesh) {
  MeshResources out;
  const model::ResourceTypeDescriptor* meshType = registry.byName(resources::kMeshType);
  if (meshType == nullptr) {
    return absl::FailedPreconditionError("type Mesh is not registered");
  }
  KUMA_ASSIGN_OR_RETURN(out.mesh, store.get(*meshType, {mesh, ""}));
  store::ListOptions options;
  options.mesh = mesh;
  auto listOf =
      [&](std::string_view type) -> absl::StatusOr<std::vector<model::ResourceConstSharedPtr>> {
    const model::ResourceTypeDescriptor* d = registry.byName(type);
    if (d == nullptr) {
      return std::vector<model::ResourceConstSharedPtr>{};
    }
    KUMA_ASSIGN_OR_RETURN(auto list, store.list(*d, options));
    return std::move(list.items);
  };
  KUMA_ASSIGN_OR_RETURN(out.dataplanes, listOf(resources::kDataplaneType));
  KUMA_ASSIGN_OR_RETURN(out.externalServices, listOf(resources::kExternalServiceType));
  KUMA_ASSIGN_OR_RETURN(out.virtualOutbounds, listOf(resources::kVirtualOutboundType));
  // The Secrets their TLS data sources name: only those, so that other Secrets changing
  // regenerates nothing.
  if (const model::ResourceTypeDescriptor* secretType = registry.byName(resources::kSecretType)) {
    std::set<std::string> names;
    for (const auto& es : out.externalServices) {
      const auto* spec = model::protoSpecOf<mesh::v1alpha1::ExternalService>(*es);
      if (spec == nullptr) {
        continue;
      }
      const auto& tls = spec->networking().tls();
      for (const auto* source : {&tls.ca_cert(), &tls.client_cert(), &tls.client_key()}) {
        if (source->type_case() == mesh::v1alpha1::DataSource::kSecret) {
          names.insert(source->secret());
        }
      }
    }
    for (const std::string& name : names) {
      auto secret = store.get(*secretType, {name, mesh});
      if (secret.ok()) {
        out.secrets.push_back(std::move(*secret));
      } else if (!store::isNotFound(secret.status())) {
        return secret.status();
      }
    }
  }
  KUMA_ASSIGN_OR_RETURN(out.trafficPermissions, listOf(resources::kTrafficPermissionType));
  KUMA_ASSIGN_OR_RETURN(out.trafficRoutes, listOf(resources::kTrafficRouteType));
  KUMA_ASSIGN_OR_RETURN(out.timeouts, listOf(resources::kTimeoutType));
  for (std::string_view type : kLegacyPolicyTypes) {
    KUMA_ASSIGN_OR_RETURN(auto items, listOf(type));
    if (!items.empty()) {
      out.legacy[std::string(type)] = std::move(items);
    }
  }
  for (const model::ResourceTypeDescriptor* d : registry.all()) {
    // Every type of a policy folder: the policies and the resources they reference
    // (MeshOpenTelemetryBackend), so that a change of either regenerates the mesh's proxies.
    if (d->format != model::SpecFormat::SpecStatus) {
      continue;
    }
    KUMA_ASSIGN_OR_RETURN(auto items, listOf(d->name));
    if (!items.empty()) {
      out.policies[d->name] = std::move(items);
    }
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> allocateVips(
    const std::vector<std::string>& sortedServices, const std::string& cidr,
    const std::map<std::string, std::string>& view) {
  KUMA_ASSIGN_OR_RETURN(auto network, parseCidr(cidr));
  const uint64_t size = uint64_t{1} << (32 - network.second);
  // Offsets in the CIDR taken by the view (unparsable or outside addresses are re-allocated).
  std::set<uint64_t> reserved;
  std::map<std::string, std::string> kept;
  for (const auto& [entry, address] : view) {
    auto ip = parseCidr(absl::StrCat(address, "/32"));
    if (!ip.ok() || ip->first < network.first || ip->first - network.first >= size) {
      continue;
    }
    reserved.insert(ip->first - network.first);
    kept.emplace(entry, address);
  }
  std::map<std::string, std::string> out;
  uint64_t next = 0;  // lowest candidate offset: new entries come in order, so it only grows
  for (const auto& service : sortedServices) {
    if (auto it = kept.find(service); it != kept.end()) {
      out.emplace_hint(out.end(), service, it->second);
      continue;
    }
    while (next < size && reserved.contains(next)) {
      ++next;
    }
    if (next >= size) {
      continue;  // exhausted: the entry stays without an address (§7.3.1)
    }
    out.emplace_hint(out.end(), service, formatIPv4(network.first + static_cast<uint32_t>(next)));
    reserved.insert(next++);
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const MeshContext::VipState>> MeshContext::buildVipState(
    const MeshResources& resources, const std::unordered_set<std::string_view>& vipServices) {
  auto state = std::make_shared<VipState>();
  // Kuma's VIP view (§7.3.1 step 1): a service entry per service of the Dataplanes, then what
  // the VirtualOutbounds derive from their inbounds, then the ExternalServices' entries and what
  // the VirtualOutbounds derive from those.
  VirtualOutboundView& view = state->view;
  for (std::string_view service : vipServices) {
    const std::string name(service);
    view.add({HostnameKind::kService, name}, {0, {{kServiceTag, name}}, "service"});
  }
  if (!resources.virtualOutbounds.empty()) {
    for (const auto& dp : resources.dataplanes) {
      const auto* spec = model::protoSpecOf<Dataplane>(*dp);
      for (const auto& inbound : spec->networking().inbound()) {
        if (inbound.state() != Dataplane::Networking::Inbound::Ignored &&
            inbound.port() != kTcpPortReserved) {
          addVirtualOutbounds(view, resources.virtualOutbounds, toMap(inbound.tags()), "Dataplane",
                              dp->meta.name);
        }
      }
    }
  }
  for (const auto& es : resources.externalServices) {
    const auto* spec = model::protoSpecOf<mesh::v1alpha1::ExternalService>(*es);
    if (spec == nullptr) {
      continue;
    }
    auto svc = spec->tags().find(kServiceTag);
    const std::string service = svc == spec->tags().end() ? "" : svc->second;
    // Kuma's GetHost / GetPortUInt32 (net.SplitHostPort; a malformed address gives neither).
    std::string host;
    std::string portText;
    uint32_t port = 0;
    if (!resources::splitHostPort(spec->networking().address(), host, portText) ||
        !absl::SimpleAtoi(portText, &port)) {
      host.clear();
      port = 0;
    }
    const std::map<std::string, std::string> tags = {{kServiceTag, service}};
    if (!service.empty()) {
      view.add({HostnameKind::kService, service}, {port, tags, "service"});
    }
    if (!spec->networking().disable_host_dns_entry() && !host.empty()) {
      view.add({HostnameKind::kHost, host},
               {port, tags, absl::StrCat("external-service:", es->meta.name)});
    }
    addVirtualOutbounds(view, resources.virtualOutbounds, tags, "ExternalService", es->meta.name);
  }

  std::vector<std::string> names;  // the entries without an address, in Kuma's order
  for (const auto& [entry, vo] : view.entries()) {
    if (vo.address.empty()) {
      names.push_back(entry.key());
    }
  }
  KUMA_ASSIGN_OR_RETURN(
      state->allocation,
      allocateVips(names, resources.vipCidr.empty() ? kDefaultVipCidr : resources.vipCidr,
                   resources.vipView));
  for (auto& [entry, vo] : view.entries()) {
    if (!vo.address.empty()) {
      continue;
    }
    if (auto it = state->allocation.find(entry.key()); it != state->allocation.end()) {
      vo.address = it->second;
      if (entry.kind == HostnameKind::kService) {
        state->vips.emplace_hint(state->vips.end(), entry.name, vo.address);  // sorted: append
      }
    }
  }

  // The proxies' VIP outbounds and names. A service's text (its outbounds and the names of their
  // addresses) goes into its serviceHash, all of them into vipsHash.
  state->outbounds = xds::vipOutbounds(view, resources.vipPort);
  std::map<std::string, std::string> namesOf;  // address → its names
  for (const VipDomain& d : state->outbounds.domains) {
    absl::StrAppend(&namesOf[d.address], static_cast<int>(d.kind), ":", d.name, ",");
    absl::StrAppend(&state->canonical, "name|", static_cast<int>(d.kind), ":", d.name, "=",
                    d.address, "\n");
  }
  for (size_t i = 0; i < state->outbounds.outbounds.size(); ++i) {
    const VipOutbound& o = state->outbounds.outbounds[i];
    state->byService[o.service].push_back(i);
    std::string& text = state->textOf[o.service];
    absl::StrAppend(&text, "vip|", o.address, ":", o.port, "|");
    for (const auto& [k, v] : o.tags) {
      absl::StrAppend(&text, k, "=", v, ",");
    }
    if (auto it = namesOf.find(o.address); it != namesOf.end()) {
      absl::StrAppend(&text, "=", it->second);
    }
    text += "\n";
  }
  for (const auto& [service, text] : state->textOf) {
    state->canonical += text;
  }
  return std::shared_ptr<const VipState>(std::move(state));
}

absl::StatusOr<std::shared_ptr<const MeshContext>> MeshContext::build(MeshResources resources,
                                                                      const MeshContext* previous) {
  if (resources.mesh == nullptr) {
    return absl::InvalidArgumentError("mesh context: the Mesh resource is required");
  }
  std::shared_ptr<MeshContext> ctx(new MeshContext());
  ctx->meshName_ = resources.mesh->meta.name;
  if (const auto* m = model::protoSpecOf<mesh::v1alpha1::Mesh>(*resources.mesh)) {
    ctx->mesh_ = *m;
  }

  // `canonical`: the base inputs (baseHash); Dataplanes (by their digests' hashes) and VIPs are
  // hashed apart.
  std::string canonical;
  std::string dataplaneHashes;
  appendCanonical(canonical, *resources.mesh);
  resources.dataplanes = sortedByName(std::move(resources.dataplanes));
  resources.externalServices = sortedByName(std::move(resources.externalServices));

  // The services of the Dataplanes' VIP entries, collected in a hash set first: most Dataplanes
  // repeat a service.
  std::unordered_set<std::string_view> vipServices;
  // Lookups into services_ by hash; the views point into the digests, which the context keeps.
  std::unordered_map<std::string_view, ServiceIndex*> serviceIndexes;
  for (const auto& dp : resources.dataplanes) {
    std::shared_ptr<const DataplaneDigest> digest;
    if (previous != nullptr) {
      if (auto it = previous->digests_.find(dp.get()); it != previous->digests_.end()) {
        digest = it->second;  // the same stored object: same content
      }
    }
    if (digest == nullptr) {
      KUMA_ASSIGN_OR_RETURN(digest, digestOf(*dp));
    }
    dataplaneHashes.append(reinterpret_cast<const char*>(&digest->hash), sizeof(digest->hash));
    for (const std::string& service : digest->vipServices) {
      vipServices.insert(service);
    }
    for (const auto& [service, endpoint] : digest->endpoints) {
      ServiceIndex*& index = serviceIndexes[service];
      if (index == nullptr) {
        index = &ctx->services_[service];
      }
      if (index->from.empty() || index->from.back() != digest.get()) {
        index->from.push_back(digest.get());
      }
    }
    ctx->digests_.emplace(dp.get(), std::move(digest));
  }
  resources.virtualOutbounds = sortedByName(std::move(resources.virtualOutbounds));
  resources.secrets = sortedByName(std::move(resources.secrets));
  for (const auto& secret : resources.secrets) {
    appendCanonical(canonical, *secret);
  }
  // What the VIP view is derived from (services, ExternalServices, VirtualOutbounds and, with
  // these, the Dataplanes' inbound tags; the CIDR and port): when it is what the previous
  // context's was and the allocation starts from that context's, the VIP state is shared.
  std::string vipInputs;
  {
    uint64_t servicesSum = 0;  // order-independent: the set comes from a hash set
    for (std::string_view service : vipServices) {
      servicesSum += hashOf(service) * 0x9e3779b97f4a7c15ULL + 1;
    }
    absl::StrAppend(&vipInputs, vipServices.size(), "|", servicesSum, "|", resources.vipCidr, "|",
                    resources.vipPort, "\n");
  }
  for (const auto& es : resources.externalServices) {
    appendCanonical(canonical, *es);
    appendCanonical(vipInputs, *es);
  }
  for (const auto& vo : resources.virtualOutbounds) {
    appendCanonical(vipInputs, *vo);
    absl::StrAppend(&vipInputs, "created|", absl::FormatTime(vo->meta.creationTime), "\n");
  }
  if (!resources.virtualOutbounds.empty()) {
    vipInputs += dataplaneHashes;
  }
  ctx->vipInputsHash_ = hashOf(vipInputs);
  if (previous != nullptr && previous->vipInputsHash_ == ctx->vipInputsHash_ &&
      resources.vipView == previous->vip_->allocation) {
    ctx->vip_ = previous->vip_;
  } else {
    KUMA_ASSIGN_OR_RETURN(ctx->vip_, buildVipState(resources, vipServices));
  }

  // Both maps are sorted by service: one forward walk finds each service's previous index.
  auto before = previous != nullptr ? previous->services_.begin() : ctx->services_.end();
  const auto beforeEnd = previous != nullptr ? previous->services_.end() : ctx->services_.end();
  for (auto& [service, index] : ctx->services_) {
    while (before != beforeEnd && before->first < service) {
      ++before;
    }
    if (before != beforeEnd && before->first == service && before->second.from == index.from) {
      index = before->second;  // the same Dataplanes (by identity): the same endpoints
      continue;
    }
    indexService(service, index);
  }

  // Policies, sorted ascending by precedence: targetRef kind specificity, then reverse name
  // (of two otherwise equal policies the one whose name sorts first is applied last).
  for (auto& [type, items] : resources.policies) {
    std::vector<PolicyEntry> entries;
    for (const auto& p : sortedByName(items)) {
      appendServiceCanonical(canonical, *p);
      const auto* spec = policies::schemaSpecOf(*p);
      if (spec == nullptr) {
        continue;
      }
      PolicyEntry e;
      e.resource = p;
      e.spec = &spec->spec();
      const nlohmann::json* ref = policies::member(spec->spec(), "targetRef");
      e.targetRef = policies::parseTargetRef(ref != nullptr ? *ref : nlohmann::json());
      entries.push_back(std::move(e));
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const PolicyEntry& a, const PolicyEntry& b) {
                       return policies::appliesBefore(a.targetRef, a.resource->meta.name,
                                                      b.targetRef, b.resource->meta.name);
                     });
    ctx->policies_[type] = std::move(entries);
  }

  // Legacy TrafficPermissions, TrafficRoutes, Timeouts and the other legacy policies: their
  // creation time breaks ties between equally specific selectors, so it is part of the content.
  // They are base inputs: a TrafficRoute appearing switches every proxy of the mesh to the legacy
  // outbound path.
  std::vector<std::vector<model::ResourceConstSharedPtr>*> legacyLists = {
      &resources.trafficPermissions, &resources.trafficRoutes, &resources.timeouts};
  for (auto& [type, list] : resources.legacy) {  // by type name: a stable canonical order
    absl::StrAppend(&canonical, "legacy|", type, "\n");
    legacyLists.push_back(&list);
  }
  for (auto* legacy : legacyLists) {
    std::erase(*legacy, nullptr);
    *legacy = sortedByName(std::move(*legacy));
    for (const auto& r : *legacy) {
      appendCanonical(canonical, *r);
      absl::StrAppend(&canonical, "created|", absl::FormatTime(r->meta.creationTime), "\n");
    }
  }

  const VipState& vip = *ctx->vip_;
  static const std::string kNoVip;
  const auto vipTextOf = [&](const std::string& service) -> const std::string& {
    auto it = vip.textOf.find(service);
    return it == vip.textOf.end() ? kNoVip : it->second;
  };
  for (const auto& [service, index] : ctx->services_) {
    ctx->serviceHashes_.emplace_hint(
        ctx->serviceHashes_.end(), service,
        hashOf(absl::StrCat(index.endpointsHash, "\nvip=", vipTextOf(service))));
  }
  for (const auto& [service, text] : vip.textOf) {
    if (!ctx->serviceHashes_.contains(service)) {  // VIPs without endpoints
      ctx->serviceHashes_[service] = hashOf(absl::StrCat("unknown\nvip=", vipTextOf(service)));
    }
  }

  ctx->baseHash_ = hashOf(canonical);
  ctx->vipsHash_ = hashOf(vip.canonical);
  ctx->hash_ = hashOf(absl::StrCat(canonical, dataplaneHashes, vip.canonical));
  ctx->dataplanes_ = resources.dataplanes;
  ctx->inputs_ = std::move(resources);
  return std::shared_ptr<const MeshContext>(std::move(ctx));
}

absl::StatusOr<std::shared_ptr<const MeshContext::DataplaneDigest>> MeshContext::digestOf(
    const model::Resource& dp) {
  const auto* spec = model::protoSpecOf<Dataplane>(dp);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("mesh context: Dataplane ", dp.meta.name, " has no Dataplane spec"));
  }
  auto digest = std::make_shared<DataplaneDigest>();
  std::string canonical;
  appendCanonical(canonical, dp);
  digest->hash = hashOf(canonical);
  const auto& net = spec->networking();
  for (const auto& inbound : net.inbound()) {
    auto svc = inbound.tags().find(kServiceTag);
    if (svc == inbound.tags().end()) {
      continue;
    }
    if (inbound.state() != Dataplane::Networking::Inbound::Ignored &&
        inbound.port() != kTcpPortReserved) {
      digest->vipServices.push_back(svc->second);
    }
    if (!inboundUsable(inbound)) {
      continue;
    }
    Endpoint ep;
    ep.address = !net.advertised_address().empty() ? net.advertised_address()
                 : !inbound.address().empty()      ? inbound.address()
                                                   : net.address();
    ep.port = inbound.port();
    ep.tags = toMap(inbound.tags());
    ep.labels = dp.meta.labels;
    auto zone = ep.tags.find(kZoneTag);
    if (zone != ep.tags.end()) {
      ep.zone = zone->second;
    } else if (auto l = ep.labels.find(kZoneTag); l != ep.labels.end()) {
      ep.zone = l->second;
    }
    ep.dataplane = dp.meta.name;
    ep.inboundName = inbound.name();
    digest->endpoints.emplace_back(svc->second, std::move(ep));
  }
  return std::shared_ptr<const DataplaneDigest>(std::move(digest));
}

void MeshContext::indexService(const std::string& service, ServiceIndex& index) {
  auto endpoints = std::make_shared<std::vector<Endpoint>>();
  for (const DataplaneDigest* digest : index.from) {
    for (const auto& [svc, endpoint] : digest->endpoints) {
      if (svc == service) {
        endpoints->push_back(endpoint);
      }
    }
  }
  std::sort(endpoints->begin(), endpoints->end(), [](const Endpoint& a, const Endpoint& b) {
    return std::tie(a.address, a.port, a.dataplane) < std::tie(b.address, b.port, b.dataplane);
  });
  Protocol p = Protocol::Unknown;
  bool first = true;
  for (const auto& ep : *endpoints) {
    auto tag = ep.tags.find(kProtocolTag);
    const Protocol epProtocol =
        tag == ep.tags.end() ? Protocol::Unknown : parseProtocol(tag->second);
    p = first ? epProtocol : commonProtocol(p, epProtocol);
    first = false;
  }
  std::string text = absl::StrCat(std::string(protocolName(p)), "\n");
  for (const Endpoint& ep : *endpoints) {
    absl::StrAppend(&text, ep.dataplane, "|", ep.address, "|", ep.port, "|", ep.zone, "|");
    for (const auto& [k, v] : ep.tags) {
      absl::StrAppend(&text, k, "=", v, ",");
    }
    absl::StrAppend(&text, "|");
    for (const auto& [k, v] : ep.labels) {
      absl::StrAppend(&text, k, "=", v, ",");
    }
    absl::StrAppend(&text, "\n");
  }
  index.protocol = p;
  index.endpointsHash = hashOf(text);
  index.endpoints = std::move(endpoints);
}

const std::vector<Endpoint>& MeshContext::endpoints(const std::string& service) const {
  static const std::vector<Endpoint> kNone;
  auto it = services_.find(service);
  return it == services_.end() ? kNone : *it->second.endpoints;
}

uint64_t MeshContext::serviceHash(const std::string& service) const {
  auto it = serviceHashes_.find(service);
  return it == serviceHashes_.end() ? 0 : it->second;
}

Protocol MeshContext::protocol(const std::string& service) const {
  auto it = services_.find(service);
  return it == services_.end() ? Protocol::Unknown : it->second.protocol;
}

std::vector<std::string> MeshContext::services() const {
  std::vector<std::string> out;
  for (const auto& [service, index] : services_) {
    out.push_back(service);
  }
  return out;
}

const std::vector<size_t>* MeshContext::vipOutboundsOf(const std::string& service) const {
  auto it = vip_->byService.find(service);
  return it == vip_->byService.end() ? nullptr : &it->second;
}

const std::vector<model::ResourceConstSharedPtr>& MeshContext::legacyPolicies(
    std::string_view type) const {
  static const std::vector<model::ResourceConstSharedPtr> kNone;
  auto it = inputs_.legacy.find(std::string(type));
  return it == inputs_.legacy.end() ? kNone : it->second;
}

bool MeshContext::usesLegacyRouting(const model::Resource& dataplane) const {
  if (inputs_.trafficRoutes.empty()) {
    return false;
  }
  const auto& httpRoutes = policies(kMeshHTTPRoute);
  const auto& tcpRoutes = policies(kMeshTCPRoute);
  if (httpRoutes.empty() && tcpRoutes.empty()) {
    return true;
  }
  policies::ProxyView proxy;
  proxy.name = dataplane.meta.name;
  proxy.labels = dataplane.meta.labels;
  if (const auto* spec = model::protoSpecOf<Dataplane>(dataplane)) {
    for (const auto& inbound : spec->networking().inbound()) {
      proxy.inboundTags.emplace_back(inbound.tags().begin(), inbound.tags().end());
    }
  }
  for (const auto* entries : {&httpRoutes, &tcpRoutes}) {
    for (const PolicyEntry& e : *entries) {
      if (policies::selectsProxy(e.targetRef, proxy)) {
        return false;
      }
    }
  }
  return true;
}

const model::Resource* MeshContext::secret(std::string_view name) const {
  for (const auto& secret : inputs_.secrets) {
    if (secret->meta.name == name) {
      return secret.get();
    }
  }
  return nullptr;
}

const std::vector<PolicyEntry>& MeshContext::policies(std::string_view type) const {
  static const std::vector<PolicyEntry> kNone;
  auto it = policies_.find(type);
  return it == policies_.end() ? kNone : it->second;
}

ResourceConstSharedPtr MeshContext::sharedResource(
    const std::string& key, const std::function<ResourceConstSharedPtr()>& make) const {
  return std::static_pointer_cast<const Resource>(memoSlot(
      absl::StrCat("resource|", key), [&]() -> std::shared_ptr<const void> { return make(); },
      true));
}

std::shared_ptr<const MeshContext::SharedGroup> MeshContext::sharedGroup(
    std::string_view signature, std::string_view name,
    const std::function<std::shared_ptr<const SharedGroup>()>& make) const {
  return std::static_pointer_cast<const SharedGroup>(memoSlot(
      std::string("group|").append(signature).append("|").append(name),
      [&]() -> std::shared_ptr<const void> { return make(); }, true));
}

std::shared_ptr<const void> MeshContext::memoSlot(
    const std::string& key, const std::function<std::shared_ptr<const void>()>& make,
    bool countBuild) const {
  std::shared_ptr<SharedSlot> slot;
  {
    absl::MutexLock lock(&mutex_);
    std::shared_ptr<SharedSlot>& entry = shared_[key];
    if (entry == nullptr) {
      entry = std::make_shared<SharedSlot>();
    }
    slot = entry;
  }
  absl::MutexLock lock(&slot->mutex);
  if (!slot->built) {
    slot->value = make();
    slot->built = true;
    if (countBuild) {
      sharedBuilds_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return slot->value;
}

}  // namespace kuma::xds
