#include "source/xds/generator/meshservice_outbounds.h"

#include <algorithm>
#include <map>
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

std::vector<std::string> vipsOf(const model::Resource& r) {
  std::vector<std::string> out;
  const policies::SchemaSpec* spec = policies::schemaSpecOf(r);
  const nlohmann::ordered_json* status = spec == nullptr ? nullptr : spec->status();
  if (status == nullptr) {
    return out;
  }
  auto vips = status->find("vips");
  if (vips == status->end() || !vips->is_array()) {
    return out;
  }
  for (const auto& v : *vips) {
    if (auto ip = v.find("ip"); v.is_object() && ip != v.end() && ip->is_string()) {
      out.push_back(ip->get<std::string>());
    }
  }
  return out;
}

// Kuma's Port.GetName(): the port's name, or its number.
std::string sectionName(const nlohmann::json& port) {
  if (auto name = port.find("name"); name != port.end() && name->is_string()) {
    return name->get<std::string>();
  }
  return std::to_string(port.value("port", 0));
}

MeshServiceOutbound outboundOf(const MeshContext& context, const model::Resource& service,
                               const nlohmann::json& port, std::string address) {
  MeshServiceOutbound o;
  o.address = std::move(address);
  o.port = static_cast<uint32_t>(port.value("port", 0));
  o.meshService = &service;
  o.name = service.meta.name;
  const std::string kri = model::kriOf(service);  // ends with '_': the section follows
  o.kri = absl::StrCat(kri, sectionName(port));
  o.clusterName = absl::StrCat(context.meshName(), "_", service.meta.name, "_",
                               labelOf(service, "k8s.kuma.io/namespace"), "_",
                               labelOf(service, "kuma.io/zone"), "_msvc_", o.port);
  o.protocol = parseProtocol(port.value("appProtocol", "tcp"));
  o.sni = meshServiceSni(service.meta.name, context.meshName(), o.port);
  o.servicePort = port;
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

}  // namespace

std::string meshServiceSni(const std::string& name, const std::string& mesh, uint32_t port) {
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a, 64 bits
  for (unsigned char c : absl::StrCat(name, ";", mesh, ";")) {
    hash = (hash ^ c) * 1099511628211ULL;
  }
  constexpr size_t kLabel = 63;
  const auto cut = [](const std::string& s) {
    return s.size() > kLabel - 1 ? s.substr(0, kLabel - 1) + "x" : s;
  };
  return absl::StrCat("a", absl::Hex(hash, absl::kZeroPad16), ".", cut(name), ".", port, ".",
                      cut(mesh), ".ms");
}

std::vector<MeshServiceOutbound> meshServiceOutbounds(const MeshContext& context,
                                                      const Dataplane& spec, bool transparent) {
  std::vector<MeshServiceOutbound> out;
  const std::vector<PolicyEntry>& services = context.policies(kMeshServiceType);
  if (services.empty()) {
    return out;
  }
  std::vector<const model::Resource*> byName;
  for (const PolicyEntry& e : services) {
    byName.push_back(e.resource.get());
  }
  std::sort(byName.begin(), byName.end(),
            [](const auto* a, const auto* b) { return a->meta.name < b->meta.name; });
  const auto& net = spec.networking();
  if (!transparent) {
    for (const auto& o : net.outbound()) {
      if (!o.has_backend_ref() || o.backend_ref().kind() != kMeshServiceType) {
        continue;
      }
      auto it = std::find_if(byName.begin(), byName.end(), [&](const model::Resource* r) {
        return r->meta.name == o.backend_ref().name();
      });
      if (it == byName.end()) {
        continue;
      }
      for (const auto& port : specOf(**it).value("ports", nlohmann::json::array())) {
        if (port.value("port", 0) == static_cast<int64_t>(o.backend_ref().port())) {
          MeshServiceOutbound mo =
              outboundOf(context, **it, port, o.address().empty() ? "127.0.0.1" : o.address());
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
  for (const model::Resource* service : byName) {
    const std::vector<std::string> vips = vipsOf(*service);
    for (const std::string& vip : vips) {
      for (const auto& port : specOf(*service).value("ports", nlohmann::json::array())) {
        if (onlySelected) {
          const uint32_t number = static_cast<uint32_t>(port.value("port", 0));
          const bool selected = std::any_of(
              tp.reachable_backends().refs().begin(), tp.reachable_backends().refs().end(),
              [&](const auto& ref) {
                if (ref.kind() != kMeshServiceType) {
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
  return out;
}

std::vector<Endpoint> meshServiceEndpoints(const MeshContext& context,
                                           const model::Resource& service,
                                           const nlohmann::json& servicePort,
                                           std::vector<std::string>& services) {
  std::vector<Endpoint> out;
  const nlohmann::json selector = specOf(service).value("selector", nlohmann::json::object());
  auto target = servicePort.find("targetPort");
  const nlohmann::json targetPort =
      target != servicePort.end() ? *target : servicePort.value("port", nlohmann::json());
  const auto servesPort = [&](const Endpoint& ep) {
    // A named targetPort refers to an inbound's name, which endpoints do not carry: no match.
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

std::vector<DnsRecord> meshServiceDnsRecords(const MeshContext& context,
                                             const std::set<std::string>& outboundAddresses,
                                             bool ipv6) {
  std::map<std::string, std::vector<std::string>> byName;
  for (const PolicyEntry& e : context.policies(kMeshServiceType)) {
    const std::vector<std::string> vips = vipsOf(*e.resource);
    if (vips.empty() || outboundAddresses.count(vips.front()) == 0) {
      continue;
    }
    std::vector<std::string> ips = {vips.front()};
    if (const std::string v6 = toV6(vips.front()); ipv6 && v6 != vips.front()) {
      ips.push_back(v6);
    }
    const policies::SchemaSpec* spec = policies::schemaSpecOf(*e.resource);
    const nlohmann::ordered_json* status = spec == nullptr ? nullptr : spec->status();
    if (status == nullptr || !status->contains("addresses") || !(*status)["addresses"].is_array()) {
      continue;
    }
    for (const auto& address : (*status)["addresses"]) {
      if (address.is_object() && address.contains("hostname") && address["hostname"].is_string()) {
        byName[address["hostname"].get<std::string>()] = ips;
      }
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
