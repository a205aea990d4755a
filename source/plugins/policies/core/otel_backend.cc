#include "source/plugins/policies/core/otel_backend.h"

#include <algorithm>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "source/xds/envoy/envoy_util.h"

#include "source/plugins/policies/core/policy.h"
#include "source/xds/context/mesh_context.h"

namespace kuma::policies {
namespace {

using nlohmann::json;

constexpr char kMotbType[] = "MeshOpenTelemetryBackend";

std::string stringMember(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

}  // namespace

Collector parseOtelEndpoint(const std::string& endpoint) {
  constexpr uint32_t kDefaultPort = 4317;
  if (std::count(endpoint.begin(), endpoint.end(), ':') > 1 &&
      endpoint.find('[') == std::string::npos) {
    return {endpoint, kDefaultPort};
  }
  std::string host = endpoint;
  std::string port;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close != std::string::npos) {
      port = close + 1 < host.size() && host[close + 1] == ':' ? host.substr(close + 2) : "";
      host = host.substr(1, close - 1);
    }
  } else if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  Collector out{host, kDefaultPort};
  if (host.empty()) {
    return {endpoint, kDefaultPort};
  }
  if (!port.empty() && port.size() <= 5 &&
      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const uint32_t p = static_cast<uint32_t>(std::stoul(port));
    if (p > 0 && p <= 65535) {
      out.port = p;
    }
  }
  return out;
}

std::optional<OtelBackend> resolveBackendRef(const xds::MeshContext& mesh, const json& ref) {
  const json* labels = member(ref, "labels");
  if (labels == nullptr || !labels->is_object() || labels->empty()) {
    return std::nullopt;
  }
  const xds::PolicyEntry* best = nullptr;
  for (const xds::PolicyEntry& e : mesh.policies(kMotbType)) {
    bool matches = true;
    for (const auto& [k, v] : labels->items()) {
      auto it = e.resource->meta.labels.find(k);
      matches = matches && v.is_string() && it != e.resource->meta.labels.end() &&
                it->second == v.get<std::string>();
    }
    if (!matches) {
      continue;
    }
    if (best == nullptr || e.resource->meta.creationTime < best->resource->meta.creationTime ||
        (e.resource->meta.creationTime == best->resource->meta.creationTime &&
         e.resource->meta.name < best->resource->meta.name)) {
      best = &e;
    }
  }
  if (best == nullptr || best->spec == nullptr) {
    return std::nullopt;
  }
  const json& spec = *best->spec;
  OtelBackend out;
  out.http = stringMember(spec, "protocol") == "http";
  out.collector.port = 4317;
  if (const json* ep = member(spec, "endpoint")) {
    out.collector.host = stringMember(*ep, "address");
    if (const json* port = member(*ep, "port"); port != nullptr && port->is_number_integer()) {
      out.collector.port = static_cast<uint32_t>(port->get<int64_t>());
    }
    out.path = stringMember(*ep, "path");
  }
  if (out.collector.host.empty()) {
    // Kuma's ResolveAddressForDirectExport without the node's host IP.
    out.collector.host = "127.0.0.1";
  }
  out.https = out.http && out.collector.port == 443;
  return out;
}

std::optional<OtelBackend> resolveOtelBackend(const xds::MeshContext& mesh, const json& otel) {
  if (const json* ref = member(otel, "backendRef")) {
    return resolveBackendRef(mesh, *ref);
  }
  if (std::string endpoint = stringMember(otel, "endpoint"); !endpoint.empty()) {
    return OtelBackend{parseOtelEndpoint(endpoint), false, false, ""};
  }
  return std::nullopt;
}

envoy::config::cluster::v3::Cluster collectorCluster(const std::string& name,
                                                     const std::string& host, uint32_t port,
                                                     bool http2, bool ipv6Proxy) {
  envoy::config::cluster::v3::Cluster c;
  c.set_name(name);
  c.set_alt_stat_name(xds::sanitizeMetric(name));
  c.mutable_connect_timeout()->set_seconds(5);
  c.mutable_circuit_breakers()->add_thresholds()->set_track_remaining(true);
  const bool isIp =
      xds::isIPv6(host) || (!host.empty() && std::all_of(host.begin(), host.end(), [](char ch) {
        return (ch >= '0' && ch <= '9') || ch == '.';
      }));
  if (isIp) {
    c.set_type(envoy::config::cluster::v3::Cluster::STATIC);
  } else {
    c.set_type(envoy::config::cluster::v3::Cluster::STRICT_DNS);
    c.set_dns_lookup_family(ipv6Proxy ? envoy::config::cluster::v3::Cluster::AUTO
                                      : envoy::config::cluster::v3::Cluster::V4_ONLY);
  }
  auto* cla = c.mutable_load_assignment();
  cla->set_cluster_name(name);
  auto* address = cla->add_endpoints()->add_lb_endpoints()->mutable_endpoint()->mutable_address();
  address->mutable_socket_address()->set_address(host);
  address->mutable_socket_address()->set_port_value(port);
  if (http2) {
    (*c.mutable_typed_extension_protocol_options())
        ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"] =
            xds::httpProtocolOptionsAny(true, nullptr);
  }
  return c;
}

}  // namespace kuma::policies
