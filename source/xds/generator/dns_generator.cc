#include "source/xds/generator/dns_generator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/data/dns/v3/dns_table.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/udp/dns_filter/v3/dns_filter.pb.h"
#include "nlohmann/json.hpp"
#include "source/xds/envoy/envoy_util.h"

namespace kuma::xds {
namespace {

namespace core_v3 = envoy::config::core::v3;
namespace listener_v3 = envoy::config::listener::v3;
namespace route_v3 = envoy::config::route::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace dns_filter_v3 = envoy::extensions::filters::udp::dns_filter::v3;

// Kuma: 30s, so that caches do not keep stale ExternalService answers (kumahq/kuma#13353).
constexpr uint32_t kDnsTtlSeconds = 30;

bool parseIPv4(const std::string& ip, uint8_t out[4]) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  if (std::sscanf(ip.c_str(), "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 ||
      b > 255 || c > 255 || d > 255) {
    return false;
  }
  out[0] = a;
  out[1] = b;
  out[2] = c;
  out[3] = d;
  return true;
}

}  // namespace

std::string toV6(const std::string& ipv4) {
  uint8_t b[4];
  if (!parseIPv4(ipv4, b)) {
    return ipv4;
  }
  return absl::StrFormat("::ffff:%x:%x", (uint32_t{b[0]} << 8) + b[1],
                         (uint32_t{b[2]} << 8) + b[3]);
}

std::vector<DnsRecord> dnsRecords(const std::vector<VipDomain>& domains,
                                  const std::set<std::string>& outboundAddresses,
                                  const std::string& domain, bool ipv6) {
  std::map<std::string, std::vector<std::string>> byName;
  for (const VipDomain& d : domains) {
    if (!outboundAddresses.contains(d.address)) {
      continue;  // no outbound for this address: nothing to resolve it for
    }
    std::vector<std::string> ips = {d.address};
    if (const std::string v6 = toV6(d.address); ipv6 && v6 != d.address) {
      ips.push_back(v6);
    }
    if (d.kind != HostnameKind::kService) {
      byName[d.name] = ips;
      continue;
    }
    byName[absl::StrCat(d.name, ".", domain)] = ips;
    if (d.name.find('_') != std::string::npos) {
      byName[absl::StrCat(absl::StrReplaceAll(d.name, {{"_", "."}}), ".", domain)] = ips;
    }
  }
  std::vector<DnsRecord> out;
  out.reserve(byName.size());
  for (auto& [name, ips] : byName) {
    out.push_back(DnsRecord{name, std::move(ips)});
  }
  return out;
}

listener_v3::Listener dnsListener(const std::vector<DnsRecord>& records, uint32_t port,
                                  bool reusePort) {
  listener_v3::Listener l;
  l.set_name("kuma:dns");
  auto* address = l.mutable_address()->mutable_socket_address();
  address->set_address("127.0.0.1");
  address->set_port_value(port);
  address->set_protocol(core_v3::SocketAddress::UDP);
  l.set_traffic_direction(core_v3::INBOUND);
  l.mutable_enable_reuse_port()->set_value(reusePort);
  dns_filter_v3::DnsFilterConfig config;
  config.set_stat_prefix("kuma_dns");
  auto* table = config.mutable_server_config()->mutable_inline_dns_table();
  for (const DnsRecord& record : records) {  // sorted by name
    auto* domain = table->add_virtual_domains();
    domain->set_name(record.name);
    for (const std::string& ip : record.ips) {
      domain->mutable_endpoint()->mutable_address_list()->add_address(ip);
    }
    domain->mutable_answer_ttl()->set_seconds(kDnsTtlSeconds);
  }
  auto* filter = l.add_listener_filters();
  filter->set_name("envoy.filters.udp.dns_filter");
  *filter->mutable_typed_config() = packAny(config);
  return l;
}

std::string dnsProxyConfigJson(const std::vector<DnsRecord>& records,
                               const std::map<std::string, std::string>& extraLabels) {
  nlohmann::ordered_json doc;
  doc["records"] = nlohmann::ordered_json::array();
  for (const DnsRecord& record : records) {
    nlohmann::ordered_json r;
    r["name"] = record.name;
    r["ips"] = record.ips;
    doc["records"].push_back(std::move(r));
  }
  doc["ttl"] = kDnsTtlSeconds;
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (const auto& [key, value] : extraLabels) {  // sorted, as Go marshals a map
    labels[key] = value;
  }
  doc["extraLabels"] = std::move(labels);
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::map<std::string, std::string> dnsExtraLabels(
    const std::string& mesh, const std::map<std::string, std::string>& dataplaneLabels) {
  std::map<std::string, std::string> out;
  const auto copy = [&](const char* label, const char* key) {
    if (auto it = dataplaneLabels.find(label); it != dataplaneLabels.end() && !it->second.empty()) {
      out[key] = it->second;
    }
  };
  copy("kuma.io/workload", "kuma_workload");
  copy("k8s.kuma.io/namespace", "k8s_kuma_io_namespace");
  out["mesh"] = mesh;
  copy("kuma.io/zone", "kuma_io_zone");
  return out;
}

}  // namespace kuma::xds
