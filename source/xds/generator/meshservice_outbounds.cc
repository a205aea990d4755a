#include "source/xds/generator/meshservice_outbounds.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/policies/core/schema_spec.h"

namespace kuma::xds {
namespace {

using mesh::v1alpha1::Dataplane;

std::string labelOf(const model::Resource& r, const char* key) {
  auto it = r.meta.labels.find(key);
  return it == r.meta.labels.end() ? "" : it->second;
}

const nlohmann::json& specOf(const model::Resource& r) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const policies::SchemaSpec* spec = policies::schemaSpecOf(r);
  return spec == nullptr ? kEmpty : spec->spec();
}

const nlohmann::ordered_json* statusOf(const model::Resource& r) {
  const policies::SchemaSpec* spec = policies::schemaSpecOf(r);
  return spec == nullptr ? nullptr : spec->status();
}

// The VIPs of a MeshService or MeshMultiZoneService (`status.vips[].ip`) or of a
// MeshExternalService (`status.vip.ip`).
std::vector<std::string> vipsOf(const model::Resource& r) {
  std::vector<std::string> out;
  const nlohmann::ordered_json* status = statusOf(r);
  if (status == nullptr) {
    return out;
  }
  const auto ipOf = [&](const nlohmann::ordered_json& v) {
    if (auto ip = v.find("ip"); v.is_object() && ip != v.end() && ip->is_string()) {
      out.push_back(ip->get<std::string>());
    }
  };
  if (auto vip = status->find("vip"); vip != status->end()) {
    ipOf(*vip);
  }
  if (auto vips = status->find("vips"); vips != status->end() && vips->is_array()) {
    for (const auto& v : *vips) {
      ipOf(v);
    }
  }
  return out;
}

// A MeshService's identities as Kuma's meshroute.Identities reads them (values, sorted).
void addIdentities(const model::Resource& service, std::set<std::string>& out) {
  const nlohmann::json identities = specOf(service).value("identities", nlohmann::json::array());
  if (!identities.is_array()) {
    return;
  }
  for (const auto& identity : identities) {
    if (auto value = identity.find("value");
        identity.is_object() && value != identity.end() && value->is_string()) {
      out.insert(value->get<std::string>());
    }
  }
}

// The MeshServices a MeshMultiZoneService's status lists (mesh, zone, namespace and name).
std::vector<const model::Resource*> matchedMeshServices(const MeshContext& context,
                                                        const model::Resource& multiZone) {
  std::vector<const model::Resource*> out;
  const nlohmann::ordered_json* status = statusOf(multiZone);
  if (status == nullptr || !status->contains("meshServices") ||
      !(*status)["meshServices"].is_array()) {
    return out;
  }
  const std::vector<PolicyEntry>& services = context.policies(kMeshServiceType);
  for (const auto& ref : (*status)["meshServices"]) {
    if (!ref.is_object()) {
      continue;
    }
    for (const PolicyEntry& e : services) {
      const model::Resource& ms = *e.resource;
      if (ms.meta.name == ref.value("name", "") && ms.meta.mesh == ref.value("mesh", "") &&
          labelOf(ms, "kuma.io/zone") == ref.value("zone", "") &&
          labelOf(ms, "k8s.kuma.io/namespace") == ref.value("namespace", "")) {
        out.push_back(&ms);
        break;
      }
    }
  }
  return out;
}

MeshServiceOutbound outboundOf(const MeshContext& context, const model::Resource& service,
                               const nlohmann::json& port, std::string address) {
  const std::string& type = service.descriptor->name;
  MeshServiceOutbound o;
  o.address = std::move(address);
  o.port = static_cast<uint32_t>(port.value("port", 0));
  o.meshService = &service;
  o.name = service.meta.name;
  const std::string kri = model::kriOf(service);  // ends with '_': the section follows
  o.kri = absl::StrCat(kri, portSectionName(port));
  o.service = type == kMeshServiceType ? o.name : o.kri;
  o.clusterName = absl::StrCat(
      context.meshName(), "_", service.meta.name, "_", labelOf(service, "k8s.kuma.io/namespace"),
      "_", labelOf(service, "kuma.io/zone"), "_", service.descriptor->shortName, "_", o.port);
  auto protocol = port.find(type == kMeshExternalServiceType ? "protocol" : "appProtocol");
  o.protocol =
      parseProtocol(protocol != port.end() && protocol->is_string() ? protocol->get<std::string>()
                                                                    : std::string("tcp"));
  o.sni = meshServiceSni(service.meta.name, context.meshName(), o.port, type);
  o.servicePort = port;
  o.external = type == kMeshExternalServiceType;
  std::set<std::string> identities;
  if (type == kMeshServiceType) {
    addIdentities(service, identities);
  } else if (type == kMeshMultiZoneServiceType) {
    for (const model::Resource* ms : matchedMeshServices(context, service)) {
      addIdentities(*ms, identities);
    }
  }
  o.identities.assign(identities.begin(), identities.end());
  return o;
}

bool labelsMatch(const google::protobuf::Map<std::string, std::string>& want,
                 const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : want) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) {
      return false;
    }
  }
  return true;
}

// The mesh's resources of one kind, sorted by name.
std::vector<const model::Resource*> sortedOfType(const MeshContext& context, const char* type) {
  std::vector<const model::Resource*> out;
  for (const PolicyEntry& e : context.policies(type)) {
    out.push_back(e.resource.get());
  }
  std::sort(out.begin(), out.end(),
            [](const auto* a, const auto* b) { return a->meta.name < b->meta.name; });
  return out;
}

constexpr const char* kDestinationTypes[] = {kMeshServiceType, kMeshExternalServiceType,
                                             kMeshMultiZoneServiceType};

// The endpoints of one MeshService port.
std::vector<Endpoint> selectedEndpoints(const MeshContext& context, const model::Resource& service,
                                        const nlohmann::json& servicePort,
                                        std::vector<std::string>& services) {
  std::vector<Endpoint> out;
  const nlohmann::json selector = specOf(service).value("selector", nlohmann::json::object());
  auto target = servicePort.find("targetPort");
  const nlohmann::json targetPort =
      target != servicePort.end() ? *target : servicePort.value("port", nlohmann::json());
  const auto servesPort = [&](const Endpoint& ep) {
    // Kuma's MatchInboundWithMeshServicePort: a number is the inbound's port, a string its name.
    if (targetPort.is_string()) {
      return !ep.inboundName.empty() && targetPort.get<std::string>() == ep.inboundName;
    }
    return targetPort.is_number_integer() && targetPort.get<int64_t>() == ep.port;
  };
  std::vector<std::string> candidates;
  const nlohmann::json tags = selector.value("dataplaneTags", nlohmann::json());
  if (tags.is_object()) {
    if (tags.empty()) {
      return out;
    }
    if (auto svc = tags.find(kServiceTag); svc != tags.end() && svc->is_string()) {
      candidates.push_back(svc->get<std::string>());
    } else {
      candidates = context.services();
    }
  } else {
    candidates = context.services();
  }
  for (const std::string& name : candidates) {
    services.push_back(name);
    for (const Endpoint& ep : context.endpoints(name)) {
      bool selected = false;
      if (tags.is_object()) {
        selected = std::all_of(tags.items().begin(), tags.items().end(), [&](const auto& kv) {
          auto it = ep.tags.find(kv.key());
          return it != ep.tags.end() && kv.value().is_string() &&
                 (kv.value() == "*" || kv.value().template get<std::string>() == it->second);
        });
      } else if (auto ref = selector.find("dataplaneRef");
                 ref != selector.end() && ref->is_object()) {
        selected = ref->value("name", "") == ep.dataplane;
      } else if (auto labels = selector.find("dataplaneLabels");
                 labels != selector.end() && labels->is_object()) {
        selected = true;
        const nlohmann::json match = labels->value("matchLabels", nlohmann::json::object());
        for (const auto& [k, v] : match.items()) {
          auto it = ep.labels.find(k);
          selected = selected && it != ep.labels.end() && v.is_string() &&
                     v.get<std::string>() == it->second;
        }
      }
      if (selected && servesPort(ep)) {
        out.push_back(ep);
      }
    }
  }
  return out;
}

// Adds the hostnames of `r` (`status.addresses`) to `byName`, to its first VIP, when that VIP is
// one of the proxy's outbound addresses.
void addHostnames(const model::Resource& r, const std::set<std::string>& outboundAddresses,
                  bool ipv6, std::map<std::string, std::vector<std::string>>& byName) {
  const std::vector<std::string> vips = vipsOf(r);
  if (vips.empty() || outboundAddresses.count(vips.front()) == 0) {
    return;
  }
  const nlohmann::ordered_json* status = statusOf(r);
  if (status == nullptr || !status->contains("addresses") || !(*status)["addresses"].is_array()) {
    return;
  }
  std::vector<std::string> ips = {vips.front()};
  if (const std::string v6 = toV6(vips.front()); ipv6 && v6 != vips.front()) {
    ips.push_back(v6);
  }
  for (const auto& address : (*status)["addresses"]) {
    if (address.is_object() && address.contains("hostname") && address["hostname"].is_string()) {
      byName[address["hostname"].get<std::string>()] = ips;
    }
  }
}

}  // namespace

nlohmann::json destinationPorts(const model::Resource& r) {
  const nlohmann::json& spec = specOf(r);
  if (r.descriptor->name == kMeshExternalServiceType) {
    auto match = spec.find("match");
    return match != spec.end() && match->is_object() ? nlohmann::json::array({*match})
                                                     : nlohmann::json::array();
  }
  nlohmann::json ports = spec.value("ports", nlohmann::json::array());
  return ports.is_array() ? ports : nlohmann::json::array();
}

std::string portSectionName(const nlohmann::json& port) {
  if (auto name = port.find("name"); name != port.end() && name->is_string()) {
    return name->get<std::string>();
  }
  return std::to_string(port.value("port", 0));
}

std::string meshServiceSni(const std::string& name, const std::string& mesh, uint32_t port,
                           std::string_view type) {
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a, 64 bits
  for (unsigned char c : absl::StrCat(name, ";", mesh, ";")) {
    hash = (hash ^ c) * 1099511628211ULL;
  }
  constexpr size_t kLabel = 63;
  const auto cut = [](const std::string& s) {
    return s.size() > kLabel - 1 ? s.substr(0, kLabel - 1) + "x" : s;
  };
  const char* suffix = type == kMeshExternalServiceType    ? "mes"
                       : type == kMeshMultiZoneServiceType ? "mzms"
                                                           : "ms";
  return absl::StrCat("a", absl::Hex(hash, absl::kZeroPad16), ".", cut(name), ".", port, ".",
                      cut(mesh), ".", suffix);
}

std::vector<MeshServiceOutbound> meshServiceOutbounds(const MeshContext& context,
                                                      const Dataplane& spec, bool transparent) {
  std::vector<MeshServiceOutbound> out;
  const auto& net = spec.networking();
  if (!transparent) {
    for (const auto& o : net.outbound()) {
      if (!o.has_backend_ref()) {
        continue;
      }
      const std::string& kind = o.backend_ref().kind();
      if (kind != kMeshServiceType && kind != kMeshExternalServiceType &&
          kind != kMeshMultiZoneServiceType) {
        continue;
      }
      const model::Resource* target = nullptr;
      for (const PolicyEntry& e : context.policies(kind)) {
        if (e.resource->meta.name == o.backend_ref().name()) {
          target = e.resource.get();
          break;
        }
      }
      if (target == nullptr) {
        continue;
      }
      for (const auto& port : destinationPorts(*target)) {
        if (port.value("port", 0) == static_cast<int64_t>(o.backend_ref().port())) {
          MeshServiceOutbound mo =
              outboundOf(context, *target, port, o.address().empty() ? "127.0.0.1" : o.address());
          mo.port = o.port();
          out.push_back(std::move(mo));
          break;
        }
      }
    }
    return out;
  }
  const auto& tp = net.transparent_proxying();
  const bool onlySelected = tp.has_reachable_backends();
  if (tp.reachable_services_size() != 0 && !onlySelected) {
    return out;
  }
  if (!onlySelected && context.mesh().mesh_services().mode() ==
                           mesh::v1alpha1::Mesh_MeshServices_Mode_ReachableBackends) {
    return out;
  }
  std::set<std::pair<std::string, uint32_t>> own;
  for (const auto& inbound : net.inbound()) {
    own.emplace(inbound.address().empty() ? net.address() : inbound.address(), inbound.port());
  }
  for (const char* type : kDestinationTypes) {
    for (const model::Resource* service : sortedOfType(context, type)) {
      const std::vector<std::string> vips = vipsOf(*service);
      const nlohmann::json ports = destinationPorts(*service);
      for (const std::string& vip : vips) {
        for (const auto& port : ports) {
          if (onlySelected) {
            const uint32_t number = static_cast<uint32_t>(port.value("port", 0));
            const bool selected = std::any_of(
                tp.reachable_backends().refs().begin(), tp.reachable_backends().refs().end(),
                [&](const auto& ref) {
                  if (ref.kind() != type) {
                    return false;
                  }
                  if (!ref.name().empty() ? ref.name() != service->meta.name
                                          : !labelsMatch(ref.labels(), service->meta.labels)) {
                    return false;
                  }
                  return !ref.has_port() || ref.port().value() == number;
                });
            if (!selected) {
              continue;
            }
          }
          MeshServiceOutbound o = outboundOf(context, *service, port, vip);
          if (own.count({o.address, o.port}) != 0) {
            continue;
          }
          o.bindToPort = false;
          out.push_back(std::move(o));
        }
      }
    }
  }
  return out;
}

std::vector<ReachableBackendPort> reachableBackendPorts(const MeshContext& context,
                                                        const Dataplane& spec) {
  std::map<std::string, ReachableBackendPort> out;  // by KRI
  auto addPort = [&](const model::Resource& r, const nlohmann::json& port) {
    ReachableBackendPort p;
    p.kri = absl::StrCat(model::kriOf(r), portSectionName(port));
    p.port = static_cast<uint32_t>(port.value("port", 0));
    auto protocol =
        port.find(r.descriptor->name == kMeshExternalServiceType ? "protocol" : "appProtocol");
    p.protocol = protocol != port.end() && protocol->is_string() ? protocol->get<std::string>()
                                                                 : std::string("tcp");
    out[p.kri] = std::move(p);
  };
  // Kuma's processRef: the resources a ref names (by labels, else by name); the port named by
  // number or name, or every port when none matches or none is given.
  auto processRef = [&](const std::string& kind, const std::string& name,
                        const google::protobuf::Map<std::string, std::string>& labels,
                        std::optional<uint32_t> port) {
    if (kind != kMeshServiceType && kind != kMeshExternalServiceType &&
        kind != kMeshMultiZoneServiceType) {
      return;
    }
    for (const model::Resource* r : sortedOfType(context, kind.c_str())) {
      if (!labels.empty() ? !labelsMatch(labels, r->meta.labels) : r->meta.name != name) {
        continue;
      }
      const nlohmann::json ports = destinationPorts(*r);
      // Kuma's FindPortByName of the ref's section (its port, or "" without one): a port whose
      // name (empty when unnamed) or number is the section; a MeshExternalService's match
      // always.
      const std::string section = port ? std::to_string(*port) : std::string();
      const nlohmann::json* chosen = nullptr;
      for (const auto& p : ports) {
        const std::string name = p.contains("name") && p["name"].is_string()
                                     ? p["name"].get<std::string>()
                                     : std::string();
        if (kind == kMeshExternalServiceType || name == section ||
            std::to_string(p.value("port", 0)) == section) {
          chosen = &p;
          break;
        }
      }
      if (chosen != nullptr) {
        addPort(*r, *chosen);
        continue;
      }
      for (const auto& p : ports) {
        addPort(*r, p);
      }
    }
  };
  const auto& net = spec.networking();
  for (const auto& o : net.outbound()) {
    if (o.has_backend_ref()) {
      processRef(o.backend_ref().kind(), o.backend_ref().name(), o.backend_ref().labels(),
                 o.backend_ref().port());
    }
  }
  if (out.empty()) {
    const auto& tp = net.transparent_proxying();
    if (!tp.has_reachable_backends()) {
      for (const char* type : kDestinationTypes) {
        for (const model::Resource* r : sortedOfType(context, type)) {
          for (const auto& p : destinationPorts(*r)) {
            addPort(*r, p);
          }
        }
      }
    } else {
      for (const auto& ref : tp.reachable_backends().refs()) {
        processRef(ref.kind(), ref.name(), ref.labels(),
                   ref.has_port() ? std::optional<uint32_t>(ref.port().value()) : std::nullopt);
      }
    }
  }
  std::vector<ReachableBackendPort> sorted;
  for (auto& [kri, p] : out) {
    sorted.push_back(std::move(p));
  }
  return sorted;
}

std::vector<Endpoint> meshServiceEndpoints(const MeshContext& context,
                                           const model::Resource& service,
                                           const nlohmann::json& servicePort,
                                           std::vector<std::string>& services) {
  const std::string& type = service.descriptor->name;
  if (type == kMeshExternalServiceType) {
    return {};  // the zone's ZoneEgress instances: ZoneEgress is not modelled yet
  }
  if (type != kMeshMultiZoneServiceType) {
    return selectedEndpoints(context, service, servicePort, services);
  }
  // Kuma's fillMeshMultiZoneServices: the endpoints of each matched MeshService's port of the
  // same number, in the order of `status.meshServices`.
  std::vector<Endpoint> out;
  const int64_t number = servicePort.value("port", 0);
  for (const model::Resource* ms : matchedMeshServices(context, service)) {
    for (const auto& port : destinationPorts(*ms)) {
      if (port.value("port", 0) == number) {
        std::vector<Endpoint> more = selectedEndpoints(context, *ms, port, services);
        out.insert(out.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
        break;
      }
    }
  }
  return out;
}

std::vector<DnsRecord> meshServiceDnsRecords(const MeshContext& context,
                                             const std::set<std::string>& outboundAddresses,
                                             bool ipv6) {
  std::map<std::string, std::vector<std::string>> byName;
  for (const char* type : kDestinationTypes) {
    for (const PolicyEntry& e : context.policies(type)) {
      addHostnames(*e.resource, outboundAddresses, ipv6, byName);
    }
  }
  std::vector<DnsRecord> out;
  for (auto& [name, ips] : byName) {
    out.push_back({name, std::move(ips)});
  }
  return out;
}

void mergeDnsRecords(std::vector<DnsRecord>& records, std::vector<DnsRecord> more) {
  std::map<std::string, std::vector<std::string>> byName;
  for (DnsRecord& r : records) {
    byName[r.name] = std::move(r.ips);
  }
  for (DnsRecord& r : more) {
    byName[r.name] = std::move(r.ips);
  }
  records.clear();
  for (auto& [name, ips] : byName) {
    records.push_back({name, std::move(ips)});
  }
}

}  // namespace kuma::xds
