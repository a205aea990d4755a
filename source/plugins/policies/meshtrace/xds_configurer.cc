#include "source/plugins/policies/meshtrace/xds_configurer.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/grpc_service.pb.h"
#include "envoy/config/core/v3/http_service.pb.h"
#include "envoy/config/core/v3/http_uri.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/trace/v3/datadog.pb.h"
#include "envoy/config/trace/v3/http_tracer.pb.h"
#include "envoy/config/trace/v3/opentelemetry.pb.h"
#include "envoy/config/trace/v3/zipkin.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/type/tracing/v3/custom_tag.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/policies/core/otel_backend.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/meshtrace/meshtrace.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/http_filters.h"
#include "source/xds/envoy/resource_set.h"
#include "source/xds/generator/generator.h"

namespace kuma::policies::meshtrace {
namespace {

using nlohmann::json;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace trace_v3 = envoy::config::trace::v3;
namespace cluster_v3 = envoy::config::cluster::v3;

constexpr char kServiceTag[] = "kuma.io/service";

std::string stringMember(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

bool boolMember(const json& obj, std::string_view key, bool fallback) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_boolean() ? v->get<bool>() : fallback;
}

// path.Join(base, "v1/traces") with base "/" when empty.
std::string tracesPath(const std::string& base) {
  std::string joined = (base.empty() ? std::string("/") : base) + "/v1/traces";
  std::string out;
  for (char c : joined) {
    if (c == '/' && !out.empty() && out.back() == '/') {
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// What one proxy's conf resolves to.
struct Plan {
  const json* conf = nullptr;
  std::string backendType;  // Zipkin, Datadog, OpenTelemetry; empty: no backend
  const json* backend = nullptr;
  std::optional<OtelBackend> otel;
  std::string service;
  std::string mesh;
  std::string zone;
  std::string workloadKri;
};

envoy::type::tracing::v3::CustomTag literalTag(const std::string& name, const std::string& value) {
  envoy::type::tracing::v3::CustomTag tag;
  tag.set_tag(name);
  tag.mutable_literal()->set_value(value);
  return tag;
}

std::optional<double> percentOf(const json& sampling, std::string_view key) {
  const json* v = member(sampling, key);
  return v == nullptr ? std::nullopt : decimalOf(*v);
}

absl::Status configureHcm(const Plan& plan, const std::string& datadogServiceName,
                          hcm_v3::HttpConnectionManager& hcm) {
  auto* tracing = hcm.mutable_tracing();
  tracing->Clear();
  tracing->mutable_spawn_upstream_span()->set_value(false);
  if (const json* sampling = member(*plan.conf, "sampling")) {
    if (auto v = percentOf(*sampling, "overall")) {
      tracing->mutable_overall_sampling()->set_value(*v);
    }
    if (auto v = percentOf(*sampling, "client")) {
      tracing->mutable_client_sampling()->set_value(*v);
    }
    if (auto v = percentOf(*sampling, "random")) {
      tracing->mutable_random_sampling()->set_value(*v);
    }
  }
  if (const json* tags = member(*plan.conf, "tags"); tags != nullptr && tags->is_array()) {
    for (const json& t : *tags) {
      if (const json* header = member(t, "header")) {
        auto* tag = tracing->add_custom_tags();
        tag->set_tag(stringMember(t, "name"));
        tag->mutable_request_header()->set_name(stringMember(*header, "name"));
        tag->mutable_request_header()->set_default_value(stringMember(*header, "default"));
      } else {
        *tracing->add_custom_tags() =
            literalTag(stringMember(t, "name"), stringMember(t, "literal"));
      }
    }
  }
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"kuma.mesh", plan.mesh},
                                   {"kuma.zone", plan.zone},
                                   {"kuma.workload", plan.workloadKri}}) {
    if (value.empty()) {
      continue;
    }
    bool found = false;
    for (const auto& t : tracing->custom_tags()) {
      found = found || t.tag() == key;
    }
    if (!found) {
      *tracing->add_custom_tags() = literalTag(key, value);
    }
  }
  const json& backend = *plan.backend;
  if (plan.backendType == "Zipkin") {
    const json& zipkin = *member(backend, "zipkin");
    std::optional<RequestUri> url = parseRequestUri(stringMember(zipkin, "url"));
    if (!url) {
      return absl::InvalidArgumentError("invalid URL of Zipkin");
    }
    trace_v3::ZipkinConfig config;
    config.set_collector_cluster("meshtrace:zipkin");
    config.set_collector_endpoint(url->path);
    config.set_trace_id_128bit(boolMember(zipkin, "traceId128bit", false));
    config.set_collector_endpoint_version(stringMember(zipkin, "apiVersion") == "httpProto"
                                              ? trace_v3::ZipkinConfig::HTTP_PROTO
                                              : trace_v3::ZipkinConfig::HTTP_JSON);
    config.mutable_shared_span_context()->set_value(boolMember(zipkin, "sharedSpanContext", true));
    config.set_collector_hostname(url->host);
    tracing->mutable_provider()->set_name("envoy.tracers.zipkin");
    *tracing->mutable_provider()->mutable_typed_config() = xds::packAny(config);
  } else if (plan.backendType == "Datadog") {
    trace_v3::DatadogConfig config;
    config.set_collector_cluster("meshtrace:datadog");
    config.set_service_name(datadogServiceName);
    tracing->mutable_provider()->set_name("envoy.tracers.datadog");
    *tracing->mutable_provider()->mutable_typed_config() = xds::packAny(config);
  } else if (plan.backendType == "OpenTelemetry" && plan.otel) {
    trace_v3::OpenTelemetryConfig config;
    config.set_service_name(plan.service);
    if (plan.otel->http) {
      auto* uri = config.mutable_http_service()->mutable_http_uri();
      uri->set_uri(absl::StrCat(plan.otel->https ? "https" : "http", "://",
                                xds::hostPort(plan.otel->collector.host, plan.otel->collector.port),
                                tracesPath(plan.otel->path)));
      uri->set_cluster("meshtrace:opentelemetry");
      uri->mutable_timeout()->set_seconds(10);
    } else {
      config.mutable_grpc_service()->mutable_envoy_grpc()->set_cluster_name(
          "meshtrace:opentelemetry");
    }
    tracing->mutable_provider()->set_name("envoy.tracers.opentelemetry");
    *tracing->mutable_provider()->mutable_typed_config() = xds::packAny(config);
  }
  return absl::OkStatus();
}

absl::Status configureListener(const Plan& plan, const std::string& datadogServiceName,
                               envoy::config::listener::v3::Listener& listener) {
  for (auto& chain : *listener.mutable_filter_chains()) {
    absl::Status s =
        xds::updateHttpConnectionManager(chain, [&](hcm_v3::HttpConnectionManager& hcm) {
          return configureHcm(plan, datadogServiceName, hcm);
        });
    if (!s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

std::string datadogName(const Plan& plan, std::string_view direction,
                        const std::string& destination) {
  const json* datadog = member(*plan.backend, "datadog");
  if (datadog == nullptr || !boolMember(*datadog, "splitService", false)) {
    return plan.service;
  }
  if (direction == "INBOUND") {
    return absl::StrCat(plan.service, "_INBOUND");
  }
  return absl::StrCat(plan.service, "_OUTBOUND_", destination);
}

}  // namespace

// Kuma's IdentifyingName: the first of the Dataplane's `kuma.io/service` values, sorted.
std::string identifyingName(const mesh::v1alpha1::Dataplane* dp) {
  std::set<std::string> services;
  if (dp != nullptr) {
    for (const auto& inbound : dp->networking().inbound()) {
      if (auto it = inbound.tags().find(kServiceTag); it != inbound.tags().end()) {
        services.insert(it->second);
      }
    }
    if (dp->networking().has_gateway()) {
      if (auto it = dp->networking().gateway().tags().find(kServiceTag);
          it != dp->networking().gateway().tags().end()) {
        services.insert(it->second);
      }
    }
  }
  return services.empty() ? std::string("unknown") : *services.begin();
}

std::string_view XdsConfigurer::policyType() const {
  return "MeshTrace";
}

int XdsConfigurer::order() const {
  return 700;  // Kuma's MeshTrace order
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const nlohmann::json*>& specs,
                                  xds::ResourceSet& resources) const {
  if (specs.empty() || proxy.dataplane == nullptr || proxy.mesh == nullptr) {
    return absl::OkStatus();
  }
  const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane);
  const json conf = mergedDefault(specs);
  const json* backends = member(conf, "backends");
  if (backends == nullptr || !backends->is_array() || backends->empty()) {
    return absl::OkStatus();  // Kuma leaves the listeners alone without a backend
  }
  Plan plan;
  plan.conf = &conf;
  plan.backend = &(*backends)[0];
  plan.backendType = stringMember(*plan.backend, "type");
  plan.service = identifyingName(dp);
  plan.mesh = proxy.dataplane->meta.mesh;
  plan.zone = proxy.options != nullptr ? proxy.options->zone : std::string("default");
  const auto& labels = proxy.dataplane->meta.labels;
  if (auto it = labels.find("kuma.io/workload"); it != labels.end() && !it->second.empty()) {
    auto ns = labels.find("k8s.kuma.io/namespace");
    plan.workloadKri = absl::StrCat("kri_wl_", plan.mesh, "_", plan.zone, "_",
                                    ns == labels.end() ? "" : ns->second, "_", it->second, "_");
  }
  if (plan.backendType == "OpenTelemetry") {
    const json* otel = member(*plan.backend, "openTelemetry");
    if (otel == nullptr) {
      return absl::OkStatus();
    }
    plan.otel = resolveOtelBackend(*proxy.mesh, *otel);
  }

  // Inbound listeners: the proxy's conf, less the Dataplane policies of another section.
  if (proxy.inbounds != nullptr) {
    for (const xds::InboundTarget& inbound : *proxy.inbounds) {
      auto* listener = resources.find<envoy::config::listener::v3::Listener>(inbound.listenerName);
      if (listener == nullptr) {
        continue;
      }
      std::string section;
      if (dp != nullptr && inbound.index >= 0 && inbound.index < dp->networking().inbound_size()) {
        section = dp->networking().inbound(inbound.index).name();
      }
      std::vector<const json*> mine;
      for (const json* spec : specs) {
        const json* ref = member(*spec, "targetRef");
        if (ref != nullptr && stringMember(*ref, "kind") == "Dataplane") {
          const std::string sn = stringMember(*ref, "sectionName");
          if (!sn.empty() && sn != section && sn != std::to_string(inbound.port)) {
            continue;
          }
        }
        mine.push_back(spec);
      }
      if (mine.empty()) {
        continue;
      }
      const json inboundConf = mine.size() == specs.size() ? conf : mergedDefault(mine);
      const json* ib = member(inboundConf, "backends");
      if (ib == nullptr || !ib->is_array() || ib->empty()) {
        continue;
      }
      Plan p = plan;
      p.conf = &inboundConf;
      p.backend = &(*ib)[0];
      if (absl::Status s = configureListener(p, datadogName(p, "INBOUND", ""), *listener);
          !s.ok()) {
        return s;
      }
    }
  }

  // Outbound listeners, with their destination service (the listener's `kuma.io/service` tag).
  const std::string listenerType =
      xds::ResourceSet::typeUrlOf<envoy::config::listener::v3::Listener>();
  for (const std::string& name : resources.names(listenerType)) {
    if (!absl::StartsWith(name, "outbound:")) {
      continue;
    }
    auto* listener = resources.find<envoy::config::listener::v3::Listener>(name);
    if (listener == nullptr) {
      continue;
    }
    std::string destination;
    const auto& fm = listener->metadata().filter_metadata();
    if (auto it = fm.find("io.kuma.tags"); it != fm.end()) {
      if (auto f = it->second.fields().find(kServiceTag); f != it->second.fields().end()) {
        destination = f->second.string_value();
      }
    }
    if (absl::Status s =
            configureListener(plan, datadogName(plan, "OUTBOUND", destination), *listener);
        !s.ok()) {
      return s;
    }
  }

  // The collector cluster.
  const bool ipv6Proxy = dp != nullptr && xds::isIPv6(dp->networking().address());
  if (plan.backendType == "Zipkin") {
    std::optional<RequestUri> url =
        parseRequestUri(stringMember(*member(*plan.backend, "zipkin"), "url"));
    if (url) {
      uint32_t port = url->port.empty() ? 0 : static_cast<uint32_t>(std::stoul(url->port));
      resources.add(
          policies::collectorCluster("meshtrace:zipkin", url->hostname, port, false, ipv6Proxy));
    }
  } else if (plan.backendType == "Datadog") {
    std::optional<RequestUri> url =
        parseRequestUri(stringMember(*member(*plan.backend, "datadog"), "url"));
    if (url) {
      uint32_t port = url->port.empty() ? 0 : static_cast<uint32_t>(std::stoul(url->port));
      resources.add(
          policies::collectorCluster("meshtrace:datadog", url->hostname, port, false, ipv6Proxy));
    }
  } else if (plan.backendType == "OpenTelemetry" && plan.otel) {
    resources.add(policies::collectorCluster("meshtrace:opentelemetry", plan.otel->collector.host,
                                             plan.otel->collector.port, !plan.otel->http,
                                             ipv6Proxy));
  }
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshtrace
