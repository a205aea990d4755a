#include "source/xds/inspect/rule_attachments.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "source/xds/envoy/destination.h"
#include "source/xds/generator/dns_generator.h"
#include "source/xds/inspect/policy_inspect.h"

namespace kuma::xds {
namespace {

using Json = nlohmann::ordered_json;
using Tags = std::map<std::string, std::string>;

constexpr char kServiceTagKey[] = "kuma.io/service";

struct Matcher {
  std::string key;
  std::string value;
  bool negated = false;
};

std::vector<Matcher> matchersOf(const Json& rule) {
  std::vector<Matcher> out;
  if (auto it = rule.find("matchers"); it != rule.end() && it->is_array()) {
    for (const Json& m : *it) {
      out.push_back({m.value("key", ""), m.value("value", ""), m.value("not", false)});
    }
  }
  return out;
}

// Kuma's Subset.ContainsElement: does the subset `matchers` cover the tags `element`?
bool containsElement(const std::vector<Matcher>& matchers, const Tags& element) {
  if (matchers.empty()) {
    return true;
  }
  if (element.empty()) {
    return false;
  }
  bool overlap = false;
  size_t positive = 0;
  for (const Matcher& m : matchers) {
    positive += m.negated ? 0 : 1;
    auto it = element.find(m.key);
    if (it == element.end()) {
      if (!m.negated) {
        return false;
      }
      continue;
    }
    overlap = true;
    if ((it->second == m.value) == m.negated) {
      return false;  // contradicts
    }
  }
  return overlap || positive == 0;
}

// Kuma's RuleInspectEntry of one rule (`rule`: a rule of inspectRules, with conf and origin).
Json entry(const std::string& type, const std::string& name, const std::vector<std::string>& addrs,
           const std::string& service, const Tags& tags, const std::string& policyType,
           const Json& rule) {
  Json out;
  out["type"] = type;
  if (!name.empty()) {
    out["name"] = name;
  }
  out["addresses"] = addrs;  // dropped at the end when still empty (omitempty)
  if (!service.empty()) {
    out["service"] = service;
  }
  if (!tags.empty()) {
    out["tags"] = tags;
  }
  out["policyType"] = policyType;
  Tags subset;  // a key given twice keeps its last value, as Kuma's map does
  for (const Matcher& m : matchersOf(rule)) {
    subset[m.key] = m.negated ? "!" + m.value : m.value;
  }
  out["subset"] = subset;
  out["conf"] = rule.contains("conf") ? rule["conf"] : Json(nullptr);
  Json origins = Json::array();
  if (auto it = rule.find("origin"); it != rule.end() && it->is_array()) {
    for (const Json& o : *it) {
      origins.push_back({{"mesh", o.value("mesh", "")}, {"name", o.value("name", "")}});
    }
  }
  out["origins"] = origins.empty() ? Json(nullptr) : std::move(origins);
  return out;
}

Tags tagsOf(const google::protobuf::Map<std::string, std::string>& tags) {
  return Tags(tags.begin(), tags.end());
}

}  // namespace

Json inspectRuleAttachments(const MeshContext& context, const model::Resource& dataplane,
                            const mesh::v1alpha1::Dataplane& spec, const std::string& dnsDomain) {
  const auto& networking = spec.networking();
  const Json inspected = inspectRules(context, dataplane, spec);

  // Reverse DNS of the outbound addresses: the names of the VIPs among them.
  std::set<std::string> outboundAddresses;
  for (const auto& outbound : networking.outbound()) {
    outboundAddresses.insert(outbound.address().empty() ? "127.0.0.1" : outbound.address());
  }
  std::map<std::string, std::vector<std::string>> domainsByAddress;
  for (const DnsRecord& record :
       dnsRecords(context.vipDomains(), outboundAddresses, dnsDomain, /*ipv6=*/false)) {
    if (!record.ips.empty()) {
      domainsByAddress[record.ips.front()].push_back(record.name);
    }
  }

  std::vector<Json> items;
  for (const Json& rule : inspected["rules"]) {
    const std::string policyType = rule.value("type", "");
    // ClientSubset: the legacy from[] rules of each inbound.
    for (const Json& perInbound : rule["fromRules"]) {
      const Json& in = perInbound["inbound"];
      const uint32_t port = in.value("port", 0u);
      const auto* inbound = [&]() -> const mesh::v1alpha1::Dataplane_Networking_Inbound* {
        for (const auto& i : networking.inbound()) {
          if (i.port() == port && (!in.contains("name") || in["name"] == i.name())) {
            return &i;
          }
        }
        return nullptr;
      }();
      if (inbound == nullptr) {
        continue;
      }
      const Tags tags = tagsOf(inbound->tags());
      const std::string address =
          inbound->address().empty() ? networking.address() : inbound->address();
      const std::string service = tags.contains(kServiceTagKey) ? tags.at(kServiceTagKey) : "";
      for (const Json& r : perInbound["rules"]) {
        items.push_back(entry("ClientSubset", destinationClusterName(tags),
                              {absl::StrCat(address, ":", inbound->port())}, service, tags,
                              policyType, r));
      }
    }
    // DestinationSubset: the first to[] rule covering each listed outbound (one per cluster).
    std::map<std::string, size_t> byCluster;  // cluster name → index in items
    for (const auto& outbound : networking.outbound()) {
      const Tags tags = tagsOf(outbound.tags());
      if (!tags.contains(kServiceTagKey)) {
        continue;  // a backendRef outbound: the `_rules` view covers those
      }
      const std::string name = destinationClusterName(tags);
      auto known = byCluster.find(name);
      if (known == byCluster.end()) {
        const Json* covering = nullptr;
        for (const Json& r : rule["toRules"]) {
          if (containsElement(matchersOf(r), tags)) {
            covering = &r;
            break;
          }
        }
        if (covering == nullptr) {
          continue;
        }
        items.push_back(entry("DestinationSubset", name, {}, tags.at(kServiceTagKey), tags,
                              policyType, *covering));
        known = byCluster.emplace(name, items.size() - 1).first;
      }
      Json& addresses = items[known->second]["addresses"];
      const std::string ip = outbound.address().empty() ? "127.0.0.1" : outbound.address();
      std::vector<std::string> add;
      for (const std::string& domain : domainsByAddress[ip]) {
        add.push_back(absl::StrCat(domain, ":", outbound.port()));
      }
      add.push_back(absl::StrCat(ip, ":", outbound.port()));
      for (std::string& a : add) {
        if (std::find(addresses.begin(), addresses.end(), a) == addresses.end()) {
          addresses.push_back(std::move(a));
        }
      }
    }
    // SingleItem: the merged default of single-item policies.
    if (auto it = rule.find("proxyRule"); it != rule.end()) {
      items.push_back(entry("SingleItem", "", {}, "", {}, policyType, *it));
    }
  }
  for (Json& item : items) {
    if (item["addresses"].empty()) {
      item.erase("addresses");
    }
  }
  std::stable_sort(items.begin(), items.end(), [](const Json& a, const Json& b) {
    const std::string an = a.value("name", ""), bn = b.value("name", "");
    if (an != bn) {
      return an < bn;
    }
    return a.value("type", "") < b.value("type", "");
  });
  Json out;
  out["total"] = items.size();
  out["items"] = std::move(items);
  return out;
}

}  // namespace kuma::xds
