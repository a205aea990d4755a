#include "source/plugins/policies/meshmetric/xds_configurer.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/grpc_stats/v3/config.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "source/common/go_duration.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/policies/core/otel_backend.h"
#include "source/plugins/policies/core/policy.h"
#include "source/xds/envoy/dynamic_config.h"
#include "source/common/go_json.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/resource_set.h"
#include "source/xds/generator/generator.h"

namespace kuma::policies::meshmetric {
namespace {

using nlohmann::json;
namespace cluster_v3 = envoy::config::cluster::v3;
namespace listener_v3 = envoy::config::listener::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;

constexpr char kPrometheusListener[] = "_kuma:metrics:prometheus";
constexpr char kHijackerCluster[] = "_kuma:metrics:hijacker";
constexpr char kDefaultBackendName[] = "default-backend";
constexpr char kStatsPath[] = "/meshmetric";
constexpr char kServiceTag[] = "kuma.io/service";

std::string stringMember(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

uint32_t portMember(const json& obj, std::string_view key, uint32_t fallback) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_number_integer() ? v->get<uint32_t>() : fallback;
}

// Kuma's backendNameFrom: '/' removed, ':' → '-' (the name is a directory/socket name).
std::string otelBackendName(const std::string& endpoint) {
  return absl::StrReplaceAll(endpoint, {{"/", ""}, {":", "-"}});
}

// Kuma's StaticEndpoints filter chain: an HTTP connection manager with one virtual host `name`
// routing `prefix` to `cluster` (with `rewrite` when non-empty); `grpcStats` puts Envoy's gRPC
// stats filter before the router.
listener_v3::FilterChain staticEndpointsChain(const std::string& name, const std::string& prefix,
                                              const std::string& cluster,
                                              const std::string& rewrite, bool grpcStats,
                                              bool ipv6) {
  hcm_v3::HttpConnectionManager hcm;
  hcm.set_stat_prefix(xds::sanitizeMetric(name));
  if (grpcStats) {
    envoy::extensions::filters::http::grpc_stats::v3::FilterConfig stats;
    stats.set_emit_filter_state(true);
    auto* f = hcm.add_http_filters();
    f->set_name("envoy.filters.http.grpc_stats");
    *f->mutable_typed_config() = xds::packAny(stats);
  }
  auto* router = hcm.add_http_filters();
  router->set_name("envoy.filters.http.router");
  *router->mutable_typed_config() =
      xds::packAny(envoy::extensions::filters::http::router::v3::Router());
  auto* internal = hcm.mutable_internal_address_config();
  auto* v4 = internal->add_cidr_ranges();
  v4->set_address_prefix("127.0.0.1");
  v4->mutable_prefix_len()->set_value(32);
  if (ipv6) {
    auto* v6 = internal->add_cidr_ranges();
    v6->set_address_prefix("::1");
    v6->mutable_prefix_len()->set_value(128);
  }
  auto* rc = hcm.mutable_route_config();
  rc->mutable_validate_clusters()->set_value(false);
  auto* vh = rc->add_virtual_hosts();
  vh->set_name(name);
  vh->add_domains("*");
  auto* route = vh->add_routes();
  route->mutable_match()->set_prefix(prefix);
  route->mutable_route()->set_cluster(cluster);
  if (!rewrite.empty()) {
    route->mutable_route()->set_prefix_rewrite(rewrite);
  }
  listener_v3::FilterChain chain;
  auto* filter = chain.add_filters();
  filter->set_name("envoy.filters.network.http_connection_manager");
  *filter->mutable_typed_config() = xds::packAny(hcm);
  return chain;
}

cluster_v3::Cluster hijackerCluster(const std::string& socket) {
  cluster_v3::Cluster c;
  c.set_name(kHijackerCluster);
  c.set_alt_stat_name(xds::sanitizeMetric(kHijackerCluster));
  c.set_type(cluster_v3::Cluster::STATIC);
  c.mutable_connect_timeout()->set_seconds(5);
  auto* cla = c.mutable_load_assignment();
  cla->set_cluster_name(kHijackerCluster);
  cla->add_endpoints()
      ->add_lb_endpoints()
      ->mutable_endpoint()
      ->mutable_address()
      ->mutable_pipe()
      ->set_path(socket);
  return c;
}

listener_v3::Listener prometheusListener(const json& prometheus, const std::string& name,
                                         const std::string& address, bool reusePort, bool ipv6) {
  listener_v3::Listener l;
  l.set_name(name);
  auto* sa = l.mutable_address()->mutable_socket_address();
  sa->set_address(address);
  sa->set_port_value(portMember(prometheus, "port", 5670));
  l.mutable_enable_reuse_port()->set_value(reusePort);
  l.set_traffic_direction(envoy::config::core::v3::INBOUND);
  const std::string path = member(prometheus, "path") != nullptr ? stringMember(prometheus, "path")
                                                                 : std::string("/metrics");
  *l.add_filter_chains() =
      staticEndpointsChain(name, path, kHijackerCluster, kStatsPath, false, ipv6);
  return l;
}

bool isIpLiteral(const std::string& host) {
  return xds::isIPv6(host) || (!host.empty() && std::all_of(host.begin(), host.end(), [](char ch) {
           return (ch >= '0' && ch <= '9') || ch == '.';
         }));
}

cluster_v3::Cluster otelCluster(const std::string& name, const Collector& collector,
                                bool ipv6Proxy) {
  cluster_v3::Cluster c;
  c.set_name(name);
  c.set_alt_stat_name(xds::sanitizeMetric(name));
  c.mutable_connect_timeout()->set_seconds(5);
  if (isIpLiteral(collector.host)) {
    c.set_type(cluster_v3::Cluster::STATIC);
  } else {
    c.set_type(cluster_v3::Cluster::STRICT_DNS);
    c.set_dns_lookup_family(ipv6Proxy ? cluster_v3::Cluster::AUTO : cluster_v3::Cluster::V4_ONLY);
  }
  auto* cla = c.mutable_load_assignment();
  cla->set_cluster_name(name);
  auto* sa = cla->add_endpoints()
                 ->add_lb_endpoints()
                 ->mutable_endpoint()
                 ->mutable_address()
                 ->mutable_socket_address();
  sa->set_address(collector.host);
  sa->set_port_value(collector.port);
  (*c.mutable_typed_extension_protocol_options())
      ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"] =
          xds::httpProtocolOptionsAny(true, nullptr);
  return c;
}

listener_v3::Listener otelListener(const std::string& name, const std::string& socket, bool ipv6) {
  listener_v3::Listener l;
  l.set_name(name);
  l.mutable_address()->mutable_pipe()->set_path(socket);
  *l.add_filter_chains() = staticEndpointsChain(name, "/", name, "", true, ipv6);
  return l;
}

std::string goBool(bool b) {
  return b ? "true" : "false";
}

// v1alpha1.Selector list: [{"type","match"}].
std::string selectorsJson(const json& selectors) {
  std::string out = "[";
  for (size_t i = 0; i < selectors.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",",
                    "{\"type\":", common::goJsonString(stringMember(selectors[i], "type")),
                    ",\"match\":", common::goJsonString(stringMember(selectors[i], "match")), "}");
  }
  return out + "]";
}

// v1alpha1.Sidecar in Go struct order, nil pointers omitted.
std::string sidecarJson(const json& sidecar) {
  std::vector<std::string> parts;
  if (const json* profiles = member(sidecar, "profiles"); profiles != nullptr) {
    std::vector<std::string> p;
    if (const json* append = member(*profiles, "appendProfiles");
        append != nullptr && append->is_array()) {
      std::string list = "[";
      for (size_t i = 0; i < append->size(); ++i) {
        absl::StrAppend(&list, i == 0 ? "" : ",",
                        "{\"name\":", common::goJsonString(stringMember((*append)[i], "name")),
                        "}");
      }
      p.push_back(absl::StrCat("\"appendProfiles\":", list, "]"));
    }
    for (const char* key : {"exclude", "include"}) {
      if (const json* s = member(*profiles, key); s != nullptr && s->is_array()) {
        p.push_back(absl::StrCat("\"", key, "\":", selectorsJson(*s)));
      }
    }
    parts.push_back(absl::StrCat("\"profiles\":{", absl::StrJoin(p, ","), "}"));
  }
  if (const json* unused = member(sidecar, "includeUnused");
      unused != nullptr && unused->is_boolean()) {
    parts.push_back(absl::StrCat("\"includeUnused\":", goBool(unused->get<bool>())));
  }
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

// Prometheus label name: every character other than [a-zA-Z0-9_] as '_'.
std::string labelName(const std::string& key) {
  std::string out = key;
  for (char& c : out) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      c = '_';
    }
  }
  return out;
}

struct OtelPlan {
  std::string name;
  std::string refreshInterval;
};

// Kuma's createDynamicConfig (dpapi.MeshMetricDpConfig as encoding/json writes it).
std::string dynamicConfigJson(const json& conf, bool prometheus, const std::vector<OtelPlan>& otel,
                              const std::string& workdir, const model::Resource& dataplane,
                              const mesh::v1alpha1::Dataplane* dp) {
  std::string applications = "null";
  if (const json* apps = member(conf, "applications"); apps != nullptr && apps->is_array()) {
    std::vector<std::string> items;
    for (const json& app : *apps) {
      std::string item = "{";
      if (member(app, "name") != nullptr) {
        absl::StrAppend(&item, "\"name\":", common::goJsonString(stringMember(app, "name")), ",");
      }
      absl::StrAppend(&item, "\"path\":", common::goJsonString(stringMember(app, "path")),
                      ",\"port\":", portMember(app, "port", 0),
                      ",\"address\":", common::goJsonString(stringMember(app, "address")), "}");
      items.push_back(std::move(item));
    }
    applications = items.empty() ? "null" : absl::StrCat("[", absl::StrJoin(items, ","), "]");
  }
  std::vector<std::string> backends;
  if (prometheus) {
    backends.emplace_back("{\"type\":\"Prometheus\",\"name\":null}");
  }
  for (const OtelPlan& o : otel) {
    backends.push_back(absl::StrCat(
        "{\"type\":\"OpenTelemetry\",\"name\":", common::goJsonString(o.name),
        ",\"openTelemetry\":{\"endpoint\":",
        common::goJsonString(xds::kumaDpSocketPath(workdir, absl::StrCat("kuma-otel-", o.name))),
        ",\"refreshInterval\":", common::goJsonString(o.refreshInterval), "}}"));
  }
  std::map<std::string, std::string> labels;
  labels["mesh"] = dataplane.meta.mesh;
  const auto& meta = dataplane.meta.labels;
  if (auto it = meta.find("kuma.io/zone"); it != meta.end() && !it->second.empty()) {
    labels["zone"] = it->second;
  }
  labels["kuma.proxy_role"] =
      dp != nullptr && dp->networking().has_gateway() ? "gateway" : "sidecar";
  if (auto it = meta.find("kuma.io/workload"); it != meta.end() && !it->second.empty()) {
    labels["kuma.workload"] = it->second;
  }
  // mads.DataplaneLabels: every tag (its first value, sorted) and its plural (",a,b,").
  std::map<std::string, std::set<std::string>> tags;
  if (dp != nullptr) {
    for (const auto& inbound : dp->networking().inbound()) {
      for (const auto& [k, v] : inbound.tags()) {
        tags[k].insert(v);
      }
    }
    for (const auto& [k, v] : dp->networking().gateway().tags()) {
      tags[k].insert(v);
    }
  }
  for (const auto& [key, values] : tags) {
    labels[labelName(key)] = values.empty() ? "" : *values.begin();
    labels[labelName(key + "s")] = absl::StrCat(",", absl::StrJoin(values, ","), ",");
  }
  labels["dataplane"] = dataplane.meta.name;
  if (labels.find("kuma.workload") == labels.end()) {
    auto services = tags.find(kServiceTag);
    if (services != tags.end() && !services->second.empty()) {
      labels["service"] = *services->second.begin();
    }
  }
  std::vector<std::string> extra;
  for (const auto& [k, v] : labels) {
    extra.push_back(absl::StrCat(common::goJsonString(k), ":", common::goJsonString(v)));
  }
  std::string metrics =
      absl::StrCat("{\"applications\":", applications, ",\"backends\":",
                   backends.empty() ? std::string("null")
                                    : absl::StrCat("[", absl::StrJoin(backends, ","), "]"));
  if (const json* sidecar = member(conf, "sidecar"); sidecar != nullptr && sidecar->is_object()) {
    absl::StrAppend(&metrics, ",\"sidecar\":", sidecarJson(*sidecar));
  }
  absl::StrAppend(&metrics, ",\"extraLabels\":{", absl::StrJoin(extra, ","), "}}");
  return absl::StrCat("{\"observability\":{\"metrics\":", metrics, "}}");
}

}  // namespace

std::string metricsHijackerSocketPath(const std::string& workdir, const std::string& name,
                                      const std::string& mesh) {
  return xds::kumaDpSocketPath(workdir, absl::StrCat("kuma-mh-", name, "-", mesh));
}

std::string_view XdsConfigurer::policyType() const {
  return "MeshMetric";
}

int XdsConfigurer::order() const {
  return 1500;  // Kuma's MeshMetric order
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const nlohmann::json*>& specs,
                                  xds::ResourceSet& resources) const {
  if (specs.empty() || proxy.dataplane == nullptr || proxy.options == nullptr) {
    return absl::OkStatus();
  }
  const json conf = mergedDefault(specs);
  const json* backends = member(conf, "backends");
  if (backends == nullptr || !backends->is_array() || backends->empty()) {
    return absl::OkStatus();
  }
  const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane);
  const xds::ProxyOptions& options = *proxy.options;
  const std::string& workdir = options.workdir.empty() ? options.workDir : options.workdir;
  const bool ipv6 = options.metadataIpv6Enabled;
  const std::string address = dp != nullptr ? dp->networking().address() : std::string();

  bool prometheus = false;
  std::vector<OtelPlan> otel;
  for (const json& backend : *backends) {
    const std::string type = stringMember(backend, "type");
    if (type == "Prometheus") {
      const json* p = member(backend, "prometheus");
      if (p == nullptr) {
        continue;
      }
      prometheus = true;
      const std::string clientId =
          member(*p, "clientId") != nullptr ? stringMember(*p, "clientId") : kDefaultBackendName;
      resources.add(hijackerCluster(metricsHijackerSocketPath(workdir, proxy.dataplane->meta.name,
                                                              proxy.dataplane->meta.mesh)));
      resources.add(prometheusListener(*p, absl::StrCat(kPrometheusListener, ":", clientId),
                                       address, options.reusePort, ipv6));
    } else if (type == "OpenTelemetry") {
      const json* o = member(backend, "openTelemetry");
      const std::string endpoint = o == nullptr ? std::string() : stringMember(*o, "endpoint");
      if (o == nullptr || member(*o, "backendRef") != nullptr || endpoint.empty()) {
        continue;  // backendRef backends: not yet
      }
      OtelPlan plan;
      plan.name = otelBackendName(endpoint);
      plan.refreshInterval = "1m0s";
      if (auto d = durationMember(*o, "refreshInterval")) {
        plan.refreshInterval = common::formatGoDuration(*d);
      }
      const std::string name = absl::StrCat("_kuma:metrics:opentelemetry:", plan.name);
      const bool ipv6Proxy = xds::isIPv6(address);
      resources.add(otelCluster(name, parseOtelEndpoint(endpoint), ipv6Proxy));
      resources.add(otelListener(
          name, xds::kumaDpSocketPath(workdir, absl::StrCat("kuma-otel-", plan.name)), ipv6));
      otel.push_back(std::move(plan));
    }
  }
  const xds::DynamicConfigRoute route{
      kStatsPath, kStatsPath,
      dynamicConfigJson(conf, prometheus, otel, workdir, *proxy.dataplane, dp)};
  auto* listener = resources.find<listener_v3::Listener>(xds::kDynamicConfigListenerName);
  if (listener == nullptr) {
    resources.add(xds::dynamicConfigListener(options.workDir, {route}, ipv6));
    return absl::OkStatus();
  }
  return xds::addDynamicConfigRoute(*listener, route);
}

}  // namespace kuma::policies::meshmetric
