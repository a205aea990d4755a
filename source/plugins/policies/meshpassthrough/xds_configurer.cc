#include "source/plugins/policies/meshpassthrough/xds_configurer.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/policies/core/policy.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/http_filters.h"
#include "source/xds/envoy/inbound_tls.h"
#include "source/xds/envoy/resource_set.h"
#include "source/xds/generator/generator.h"

namespace kuma::policies::meshpassthrough {
namespace {

using nlohmann::json;
using xds::addInternalAddresses;
using xds::addRouter;
using xds::httpProtocolOptionsAny;
using xds::isIPv6;
using xds::kHttpProtocolOptionsKey;
using xds::packAny;
using xds::sanitizeMetric;
namespace cluster_v3 = envoy::config::cluster::v3;
namespace listener_v3 = envoy::config::listener::v3;
namespace route_v3 = envoy::config::route::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;

constexpr char kOutboundIpv4[] = "outbound:passthrough:ipv4";
constexpr char kOutboundIpv6[] = "outbound:passthrough:ipv6";
constexpr char kHttpInspectorName[] = "envoy.filters.listener.http_inspector";
constexpr char kHttpInspectorType[] =
    "type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector";
constexpr char kNoMatchMessage[] =
    "This response comes from Kuma Sidecar. No routes matched this domain - check configuration "
    "of your MeshPassthrough policy.\n";

// Kuma's MatchType, in its numeric order (the sort uses it).
enum MatchType { kWildcardDomain = 1, kDomain, kCidr, kCidrV6, kIp, kIpV6 };

// Kuma's protocolOrder (MySQL is missing there, so it sorts with TLS).
int protocolOrder(const std::string& protocol) {
  static const std::map<std::string, int> order = {
      {"tls", 0}, {"tcp", 1}, {"http", 2}, {"http2", 3}, {"grpc", 4}};
  auto it = order.find(protocol);
  return it == order.end() ? 0 : it->second;
}

bool isL7(const std::string& protocol) {
  return protocol == "http" || protocol == "http2" || protocol == "grpc";
}

struct Route {
  std::string value;
  MatchType type;
  bool operator<(const Route& o) const { return std::tie(value, type) < std::tie(o.value, o.type); }
};

struct Matcher {
  std::string protocol;
  uint32_t port = 0;
  MatchType type = kDomain;
  std::string value;
  bool operator<(const Matcher& o) const {
    return std::tie(protocol, port, type, value) < std::tie(o.protocol, o.port, o.type, o.value);
  }
};

struct FilterChainMatch {
  Matcher matcher;
  std::vector<Route> routes;
};

// Kuma's sortDomains: more labels first, then by name.
bool domainBefore(const std::string& a, const std::string& b) {
  const size_t la = std::count(a.begin(), a.end(), '.');
  const size_t lb = std::count(b.begin(), b.end(), '.');
  if (la != lb) {
    return la > lb;
  }
  return a < b;
}

// Go's net.ParseCIDR network: the masked address, printed canonically, and the prefix length.
std::pair<std::string, uint32_t> ipAndMask(const std::string& cidr) {
  std::vector<std::string> parts = absl::StrSplit(cidr, '/');
  uint32_t len = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &len)) {
    return {"", 0};
  }
  const bool v6 = isIPv6(parts[0]);
  const int family = v6 ? AF_INET6 : AF_INET;
  unsigned char buf[16] = {};
  const uint32_t bits = v6 ? 128 : 32;
  if (inet_pton(family, parts[0].c_str(), buf) != 1 || len > bits) {
    return {"", 0};
  }
  for (uint32_t bit = len; bit < bits; ++bit) {
    buf[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  }
  char out[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, buf, out, sizeof(out));
  return {out, len};
}

MatchType matchTypeOf(const json& match, bool& wildcard) {
  const std::string type = match.value("type", "");
  const std::string value = match.value("value", "");
  wildcard = false;
  if (type == "IP") {
    return isIPv6(value) ? kIpV6 : kIp;
  }
  if (type == "CIDR") {
    return isIPv6(value.substr(0, value.find('/'))) ? kCidrV6 : kCidr;
  }
  if (absl::StartsWith(value, "*")) {
    if (isL7(match.value("protocol", "tcp"))) {
      wildcard = true;
      return kDomain;
    }
    return kWildcardDomain;
  }
  return kDomain;
}

// Kuma's GetOrderedMatchers.
absl::StatusOr<std::vector<FilterChainMatch>> orderedMatchers(const json& appendMatch) {
  std::map<Matcher, std::set<Route>> withRoutes;
  std::map<uint32_t, std::set<std::string>> portProtocols;
  for (const json& m : appendMatch) {
    Matcher matcher;
    matcher.protocol = m.value("protocol", "tcp");
    matcher.port = m.contains("port") && m["port"].is_number_integer()
                       ? static_cast<uint32_t>(m["port"].get<int64_t>())
                       : 0;
    bool wildcard = false;
    matcher.type = matchTypeOf(m, wildcard);
    portProtocols[matcher.port].insert(matcher.protocol);
    const std::string value = m.value("value", "");
    if (isL7(matcher.protocol) && matcher.type == kDomain) {
      withRoutes[matcher].insert(Route{value, wildcard ? kWildcardDomain : kDomain});
    } else {
      matcher.value = value;
      withRoutes[matcher];
    }
  }
  std::string errors;
  for (const auto& [port, protocols] : portProtocols) {
    if (protocols.count("http") + protocols.count("http2") + protocols.count("grpc") > 1) {
      absl::StrAppend(&errors, errors.empty() ? "" : "; ",
                      "you cannot configure http, http2, grpc on the same port ", port);
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(errors);
  }
  // A match without a port also applies on every port some match names.
  std::map<Matcher, std::set<Route>> all = withRoutes;
  for (const auto& [matcher, routes] : withRoutes) {
    if (matcher.port != 0) {
      continue;
    }
    for (const auto& [port, protocols] : portProtocols) {
      if (port == 0) {
        continue;
      }
      Matcher extra = matcher;
      extra.port = port;
      all[extra].insert(routes.begin(), routes.end());
    }
  }
  std::vector<FilterChainMatch> out;
  for (const auto& [matcher, routes] : all) {
    FilterChainMatch f{matcher, {routes.begin(), routes.end()}};
    std::stable_sort(f.routes.begin(), f.routes.end(), [](const Route& a, const Route& b) {
      if (a.type != b.type) {
        return a.type > b.type;
      }
      return domainBefore(a.value, b.value);
    });
    out.push_back(std::move(f));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const FilterChainMatch& fa, const FilterChainMatch& fb) {
                     const Matcher& a = fa.matcher;
                     const Matcher& b = fb.matcher;
                     if (protocolOrder(a.protocol) != protocolOrder(b.protocol)) {
                       return protocolOrder(a.protocol) < protocolOrder(b.protocol);
                     }
                     if (a.type != b.type) {
                       return a.type > b.type;
                     }
                     if (a.port != b.port) {
                       return a.port > b.port;
                     }
                     if (a.type == kDomain || a.type == kWildcardDomain) {
                       return domainBefore(a.value, b.value);
                     }
                     if (a.type == kCidr || a.type == kCidrV6) {
                       const auto [ipA, lenA] = ipAndMask(a.value);
                       const auto [ipB, lenB] = ipAndMask(b.value);
                       if (lenA == lenB) {
                         return ipA > ipB;
                       }
                       return lenA > lenB;
                     }
                     if (a.type == kIp || a.type == kIpV6) {
                       return a.value > b.value;
                     }
                     return fa.routes.size() > fb.routes.size();
                   });
  return out;
}

std::string displayPort(uint32_t port) {
  return port == 0 ? "*" : absl::StrCat(port);
}

std::string clusterName(const std::string& value, const std::string& protocol, uint32_t port) {
  return absl::StrCat("meshpassthrough_", protocol, "_", value, "_", displayPort(port));
}

std::string chainName(const std::string& name, const std::string& protocol, uint32_t port) {
  if (name == protocol) {
    return absl::StrCat("meshpassthrough_", name, "_", displayPort(port));
  }
  return absl::StrCat("meshpassthrough_", protocol, "_", name, "_", displayPort(port));
}

// Kuma's CreateCluster: an ORIGINAL_DST cluster, HTTP/2 upstream for http2 and gRPC.
cluster_v3::Cluster passthroughCluster(const std::string& name, const std::string& protocol) {
  cluster_v3::Cluster c;
  c.set_name(name);
  c.set_alt_stat_name(sanitizeMetric(name));
  c.set_type(cluster_v3::Cluster::ORIGINAL_DST);
  c.set_lb_policy(cluster_v3::Cluster::CLUSTER_PROVIDED);
  c.mutable_connect_timeout()->set_seconds(5);
  if (protocol == "http2" || protocol == "grpc") {
    (*c.mutable_typed_extension_protocol_options())[kHttpProtocolOptionsKey] =
        httpProtocolOptionsAny(true, nullptr);
  }
  return c;
}

// Does a chain of `type` belong on the IPv4 (IPv6) listener?
bool wrongFamily(MatchType type, bool ipv6) {
  return ipv6 ? (type == kIp || type == kCidr) : (type == kIpV6 || type == kCidrV6);
}

void addressMatch(const Matcher& m, bool ipv6, listener_v3::FilterChainMatch& match) {
  if (m.type == kCidr || m.type == kCidrV6) {
    const auto [ip, len] = ipAndMask(m.value);
    auto* range = match.add_prefix_ranges();
    range->set_address_prefix(ip);
    range->mutable_prefix_len()->set_value(len);
  } else if (m.type == kIp || m.type == kIpV6) {
    auto* range = match.add_prefix_ranges();
    range->set_address_prefix(m.value);
    range->mutable_prefix_len()->set_value(ipv6 ? 128 : 32);
  }
}

void addVirtualHost(route_v3::RouteConfiguration& rc, const std::string& name,
                    const std::vector<std::string>& domains, const std::string& cluster) {
  auto* vh = rc.add_virtual_hosts();
  vh->set_name(name);
  for (const auto& d : domains) {
    vh->add_domains(d);
  }
  auto* route = vh->add_routes();
  route->mutable_match()->set_prefix("/");
  route->mutable_route()->set_cluster(cluster);
}

struct ListenerBuild {
  const xds::ProxyOptions* options;
  bool ipv6;
  std::map<std::string, std::string>* clusters;  // name → protocol
};

void addTcpOrTlsChain(const FilterChainMatch& f, const ListenerBuild& b, listener_v3::Listener& l) {
  const Matcher& m = f.matcher;
  const bool tls = m.protocol == "tls";
  const std::string protocol = tls ? "tls" : "tcp";
  const std::string name = chainName(m.value, protocol, m.port);
  const std::string cluster = clusterName(m.value, protocol, m.port);
  auto* chain = l.add_filter_chains();
  chain->set_name(name);
  auto* match = chain->mutable_filter_chain_match();
  match->set_transport_protocol(tls ? "tls" : "raw_buffer");
  addressMatch(m, b.ipv6, *match);
  if (tls && (m.type == kDomain || m.type == kWildcardDomain)) {
    match->add_server_names(m.value);
  }
  if (m.port != 0) {
    match->mutable_destination_port()->set_value(m.port);
  }
  tcp_v3::TcpProxy proxy;
  proxy.set_stat_prefix(sanitizeMetric(cluster));
  proxy.set_cluster(cluster);
  auto* filter = chain->add_filters();
  filter->set_name("envoy.filters.network.tcp_proxy");
  *filter->mutable_typed_config() = packAny(proxy);
  (*b.clusters)[cluster] = m.protocol;
}

void addHttpChain(const FilterChainMatch& f, const ListenerBuild& b, listener_v3::Listener& l) {
  const Matcher& m = f.matcher;
  const bool byDomain = m.type == kDomain || m.type == kWildcardDomain;
  const std::string name = chainName(byDomain ? m.protocol : m.value, m.protocol, m.port);
  hcm_v3::HttpConnectionManager hcm;
  hcm.set_stat_prefix(sanitizeMetric(name));
  addRouter(hcm);
  addInternalAddresses(hcm, b.options->internalCidrs, b.options->ipv6Enabled);
  auto* rc = hcm.mutable_route_config();
  rc->set_name(name);
  if (byDomain) {
    for (const Route& r : f.routes) {
      std::vector<std::string> domains = {r.value};
      if (m.port != 0) {
        domains.push_back(absl::StrCat(r.value, ":", m.port));
      } else if (r.type == kDomain) {
        domains.push_back(absl::StrCat(r.value, ":*"));
      }
      const std::string cluster = clusterName(r.value, m.protocol, m.port);
      addVirtualHost(*rc, r.value, domains, cluster);
      (*b.clusters)[cluster] = m.protocol;
    }
    auto* noMatch = rc->add_virtual_hosts();
    noMatch->set_name("no_match");
    noMatch->add_domains("*");
    auto* route = noMatch->add_routes();
    route->mutable_match()->set_prefix("/");
    route->mutable_direct_response()->set_status(503);
    route->mutable_direct_response()->mutable_body()->set_inline_string(kNoMatchMessage);
  } else {
    const std::string cluster = clusterName(m.value, m.protocol, m.port);
    addVirtualHost(*rc, m.value, {"*"}, cluster);
    (*b.clusters)[cluster] = m.protocol;
  }
  auto* chain = l.add_filter_chains();
  chain->set_name(name);
  auto* match = chain->mutable_filter_chain_match();
  match->add_application_protocols("http/1.1");
  match->add_application_protocols("h2c");
  match->set_transport_protocol("raw_buffer");
  addressMatch(m, b.ipv6, *match);
  if (m.port != 0) {
    match->mutable_destination_port()->set_value(m.port);
  }
  auto* filter = chain->add_filters();
  filter->set_name("envoy.filters.network.http_connection_manager");
  *filter->mutable_typed_config() = packAny(hcm);
}

// Kuma's TLS/HTTP inspector with `filter_disabled` on the MySQL ports (one port: a range; more:
// an or_match of ranges, duplicates kept).
void addInspector(listener_v3::Listener& l, const char* name, const char* type,
                  const std::vector<uint32_t>& disabledPorts) {
  auto* filter = l.add_listener_filters();
  filter->set_name(name);
  filter->mutable_typed_config()->set_type_url(type);
  if (disabledPorts.empty()) {
    return;
  }
  auto* disabled = filter->mutable_filter_disabled();
  auto setRange = [](listener_v3::ListenerFilterChainMatchPredicate& p, uint32_t port) {
    p.mutable_destination_port_range()->set_start(static_cast<int32_t>(port));
    p.mutable_destination_port_range()->set_end(static_cast<int32_t>(port + 1));
  };
  if (disabledPorts.size() == 1) {
    setRange(*disabled, disabledPorts[0]);
    return;
  }
  for (uint32_t port : disabledPorts) {
    setRange(*disabled->mutable_or_match()->add_rules(), port);
  }
}

void configureListener(const std::vector<FilterChainMatch>& matchers, const ListenerBuild& b,
                       listener_v3::Listener& l) {
  std::vector<uint32_t> mysqlPorts;
  l.clear_filter_chains();
  for (const FilterChainMatch& f : matchers) {
    if (f.matcher.protocol == "mysql") {
      mysqlPorts.push_back(f.matcher.port);
    }
    const bool l4 =
        f.matcher.protocol == "tcp" || f.matcher.protocol == "mysql" || f.matcher.protocol == "tls";
    if (wrongFamily(f.matcher.type, b.ipv6)) {
      continue;
    }
    if (l4) {
      addTcpOrTlsChain(f, b, l);
    } else {
      addHttpChain(f, b, l);
    }
  }
  bool hasTls = false;
  bool hasHttp = false;
  for (const auto& f : l.listener_filters()) {
    hasTls = hasTls || f.name() == xds::kTlsInspectorName;
    hasHttp = hasHttp || f.name() == kHttpInspectorName;
  }
  auto* originalDst = l.add_listener_filters();
  originalDst->set_name("envoy.filters.listener.original_dst");
  *originalDst->mutable_typed_config() =
      packAny(envoy::extensions::filters::listener::original_dst::v3::OriginalDst());
  if (!hasTls) {
    addInspector(l, xds::kTlsInspectorName, xds::kTlsInspectorType, mysqlPorts);
  }
  if (!hasHttp) {
    addInspector(l, kHttpInspectorName, kHttpInspectorType, mysqlPorts);
  }
}

bool hasFamily(const std::vector<FilterChainMatch>& matchers, bool ipv6) {
  for (const auto& f : matchers) {
    const MatchType t = f.matcher.type;
    if (t == kDomain || t == kWildcardDomain ||
        (ipv6 ? t == kCidrV6 || t == kIpV6 : t == kCidr || t == kIp)) {
      return true;
    }
  }
  return false;
}

// Kuma's merge of single-item confs: the last `passthroughMode` wins, `appendMatch` lists are
// concatenated in precedence order.
json mergedConf(const std::vector<const json*>& specs) {
  json conf = json::object();
  json appendMatch = json::array();
  for (const json* spec : specs) {
    const json* d = member(*spec, "default");
    if (d == nullptr) {
      continue;
    }
    if (const json* mode = member(*d, "passthroughMode")) {
      conf["passthroughMode"] = *mode;
    }
    if (const json* matches = member(*d, "appendMatch");
        matches != nullptr && matches->is_array()) {
      appendMatch.insert(appendMatch.end(), matches->begin(), matches->end());
    }
  }
  conf["appendMatch"] = std::move(appendMatch);
  return conf;
}

}  // namespace

std::string_view XdsConfigurer::policyType() const {
  return "MeshPassthrough";
}

int XdsConfigurer::order() const {
  return 500;
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const nlohmann::json*>& specs,
                                  xds::ResourceSet& resources) const {
  if (specs.empty() || proxy.dataplane == nullptr || proxy.mesh == nullptr) {
    return absl::OkStatus();
  }
  const auto* dataplane = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane);
  if (dataplane == nullptr || (dataplane->networking().has_gateway() &&
                               dataplane->networking().gateway().type() ==
                                   mesh::v1alpha1::Dataplane::Networking::Gateway::BUILTIN)) {
    return absl::OkStatus();
  }
  if (!proxy.transparentProxy || (proxy.options != nullptr && proxy.options->bindOutbounds)) {
    return absl::OkStatus();
  }
  const json conf = mergedConf(specs);
  const std::string mode = conf.value("passthroughMode", "Matched");
  const auto& outbound = proxy.mesh->mesh().networking().outbound();
  const bool meshPassthrough = !outbound.has_passthrough() || outbound.passthrough().value();
  const std::string clusterType = xds::ResourceSet::typeUrlOf<cluster_v3::Cluster>();
  if (mode == "None" && meshPassthrough) {
    resources.remove(clusterType, kOutboundIpv4);
    resources.remove(clusterType, kOutboundIpv6);
    return absl::OkStatus();
  }
  if (mode == "All") {
    if (!meshPassthrough) {
      resources.add(passthroughCluster(kOutboundIpv4, "tcp"));
      resources.add(passthroughCluster(kOutboundIpv6, "tcp"));
    }
    return absl::OkStatus();
  }
  if (mode != "Matched") {
    return absl::OkStatus();
  }
  resources.remove(clusterType, kOutboundIpv4);
  resources.remove(clusterType, kOutboundIpv6);
  if (conf["appendMatch"].empty()) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<FilterChainMatch>> matchers = orderedMatchers(conf["appendMatch"]);
  if (!matchers.ok()) {
    return matchers.status();
  }
  std::map<std::string, std::string> clusters;
  ListenerBuild build{proxy.options, false, &clusters};
  if (hasFamily(*matchers, false)) {
    if (auto* l = resources.find<listener_v3::Listener>(kOutboundIpv4)) {
      configureListener(*matchers, build, *l);
    }
  }
  if (hasFamily(*matchers, true)) {
    build.ipv6 = true;
    if (auto* l = resources.find<listener_v3::Listener>(kOutboundIpv6)) {
      configureListener(*matchers, build, *l);
    }
  }
  for (const auto& [name, protocol] : clusters) {
    resources.add(passthroughCluster(name, protocol));
  }
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshpassthrough
