#include "source/plugins/policies/traffictrace/xds_configurer.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/trace/v3/datadog.pb.h"
#include "envoy/config/trace/v3/zipkin.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/policies/core/otel_backend.h"
#include "source/plugins/policies/meshtrace/meshtrace.h"
#include "source/plugins/policies/meshtrace/xds_configurer.h"
#include "source/plugins/policies/trafficroute/xds_configurer.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::traffictrace {
namespace {

namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace trace_v3 = envoy::config::trace::v3;
using mesh::v1alpha1::TracingBackend;
using mesh::v1alpha1::TrafficTrace;

const google::protobuf::Value* field(const TracingBackend& backend, const std::string& name) {
  auto it = backend.conf().fields().find(name);
  return it == backend.conf().fields().end() ? nullptr : &it->second;
}

std::string stringField(const TracingBackend& backend, const std::string& name) {
  const auto* v = field(backend, name);
  return v != nullptr && v->has_string_value() ? v->string_value() : "";
}

bool boolField(const TracingBackend& backend, const std::string& name) {
  const auto* v = field(backend, name);
  return v != nullptr && v->has_bool_value() && v->bool_value();
}

std::string clusterName(const TracingBackend& backend) {
  return absl::StrCat("tracing:", backend.name());
}

// The proxy's backend: its TrafficTrace's, when both resolve.
const TracingBackend* proxyBackend(const xds::ProxyContext* proxy) {
  if (proxy == nullptr || proxy->mesh == nullptr || proxy->dataplane == nullptr) {
    return nullptr;
  }
  const auto& traces = proxy->mesh->legacyPolicies(resources::kTrafficTraceType);
  if (traces.empty()) {
    return nullptr;
  }
  const model::Resource* trace =
      selectTrafficTrace(traces, trafficroute::inboundTagsOf(*proxy->dataplane));
  if (trace == nullptr) {
    return nullptr;
  }
  return tracingBackend(proxy->mesh->mesh(),
                        model::protoSpecOf<TrafficTrace>(*trace)->conf().backend());
}

bool splitService(const TracingBackend& backend) {
  return backend.type() == "datadog" && boolField(backend, "splitService");
}

}  // namespace

const model::Resource* selectTrafficTrace(
    const std::vector<model::ResourceConstSharedPtr>& traces,
    const std::vector<std::map<std::string, std::string>>& inboundTags) {
  return trafficroute::selectDataplanePolicy<TrafficTrace>(traces, inboundTags);
}

const TracingBackend* tracingBackend(const mesh::v1alpha1::Mesh& mesh, const std::string& name) {
  const std::string& wanted = name.empty() ? mesh.tracing().default_backend() : name;
  const TracingBackend* found = nullptr;
  for (const auto& b : mesh.tracing().backends()) {
    if (b.name() == wanted) {
      found = &b;  // the last of a name, as Kuma's map
    }
  }
  return found;
}

absl::Status configureTracing(const TracingBackend& backend, const std::string& datadogServiceName,
                              hcm_v3::HttpConnectionManager& hcm) {
  auto* tracing = hcm.mutable_tracing();
  tracing->Clear();
  tracing->mutable_spawn_upstream_span()->set_value(false);
  if (backend.has_sampling()) {
    tracing->mutable_overall_sampling()->set_value(backend.sampling().value());
  }
  if (backend.type() == "zipkin") {
    auto url = meshtrace::parseRequestUri(stringField(backend, "url"));
    if (!url) {
      return absl::InvalidArgumentError("invalid URL of Zipkin");
    }
    trace_v3::ZipkinConfig config;
    config.set_collector_cluster(clusterName(backend));
    config.set_collector_endpoint(url->path);
    config.set_trace_id_128bit(boolField(backend, "traceId128bit"));
    const std::string apiVersion = stringField(backend, "apiVersion");
    config.set_collector_endpoint_version(apiVersion == "httpProto"
                                              ? trace_v3::ZipkinConfig::HTTP_PROTO
                                              : trace_v3::ZipkinConfig::HTTP_JSON);
    if (const auto* shared = field(backend, "sharedSpanContext");
        shared != nullptr && shared->has_bool_value()) {
      config.mutable_shared_span_context()->set_value(shared->bool_value());
    }
    config.set_collector_hostname(url->host);
    tracing->mutable_provider()->set_name("envoy.tracers.zipkin");
    *tracing->mutable_provider()->mutable_typed_config() = xds::packAny(config);
  } else if (backend.type() == "datadog") {
    trace_v3::DatadogConfig config;
    config.set_collector_cluster(clusterName(backend));
    config.set_service_name(datadogServiceName);
    tracing->mutable_provider()->set_name("envoy.tracers.datadog");
    *tracing->mutable_provider()->mutable_typed_config() = xds::packAny(config);
  }
  return absl::OkStatus();
}

std::string_view XdsConfigurer::policyType() const {
  return "TrafficTrace";
}

int XdsConfigurer::order() const {
  return 5;
}

absl::Status XdsConfigurer::configureInboundHcm(const nlohmann::json&,
                                                const xds::InboundTarget& target,
                                                hcm_v3::HttpConnectionManager& hcm) const {
  const TracingBackend* backend = proxyBackend(target.proxy);
  if (backend == nullptr) {
    return absl::OkStatus();
  }
  const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*target.proxy->dataplane);
  std::string service;
  if (dp != nullptr && target.index >= 0 && target.index < dp->networking().inbound_size()) {
    const auto& tags = dp->networking().inbound(target.index).tags();
    if (auto it = tags.find("kuma.io/service"); it != tags.end()) {
      service = it->second;
    }
  }
  return configureTracing(*backend, splitService(*backend) ? service + "_INBOUND" : service, hcm);
}

absl::Status XdsConfigurer::configureOutboundHcm(const nlohmann::json&,
                                                 const xds::OutboundTarget& target,
                                                 hcm_v3::HttpConnectionManager& hcm) const {
  if (!trafficroute::legacyPath(target.proxy)) {
    return absl::OkStatus();  // Kuma's outbound generator only runs there
  }
  const TracingBackend* backend = proxyBackend(target.proxy);
  if (backend == nullptr) {
    return absl::OkStatus();
  }
  const std::string source = meshtrace::identifyingName(
      model::protoSpecOf<mesh::v1alpha1::Dataplane>(*target.proxy->dataplane));
  return configureTracing(
      *backend,
      splitService(*backend) ? absl::StrCat(source, "_OUTBOUND_", target.service) : source, hcm);
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const nlohmann::json*>&,
                                  xds::ResourceSet& resources) const {
  const TracingBackend* backend = proxyBackend(&proxy);
  if (backend == nullptr) {
    return absl::OkStatus();
  }
  const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane);
  const bool ipv6 = dp != nullptr && xds::isIPv6(dp->networking().address());
  std::string host;
  uint32_t port = 0;
  if (backend->type() == "zipkin") {
    auto url = meshtrace::parseRequestUri(stringField(*backend, "url"));
    if (!url) {
      return absl::InvalidArgumentError("could not generate zipkin cluster: invalid URL of Zipkin");
    }
    if (!absl::SimpleAtoi(url->port, &port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("could not generate zipkin cluster: invalid port \"", url->port, "\""));
    }
    host = url->hostname;
  } else if (backend->type() == "datadog") {
    const auto* p = field(*backend, "port");
    const double value = p != nullptr && p->has_number_value() ? p->number_value() : 0;
    if (value < 1 || value > 0xFFFF) {
      return absl::InvalidArgumentError(
          absl::StrCat("could not generate datadog cluster: invalid Datadog port number ",
                       static_cast<int64_t>(value), ". Must be in range 1-65535"));
    }
    host = stringField(*backend, "address");
    port = static_cast<uint32_t>(value);
  } else {
    return absl::OkStatus();
  }
  resources.add(collectorCluster(clusterName(*backend), host, port, false, ipv6));
  return absl::OkStatus();
}

void XdsConfigurer::attachments(const xds::ProxyContext& proxy,
                                std::vector<xds::PolicyAttachment>& out) const {
  // Kuma's SelectTrafficTrace: one for the whole Dataplane.
  const auto& traces = proxy.mesh->legacyPolicies(resources::kTrafficTraceType);
  if (traces.empty()) {
    return;
  }
  if (const model::Resource* trace =
          selectTrafficTrace(traces, trafficroute::inboundTagsOf(*proxy.dataplane))) {
    out.push_back({xds::PolicyAttachment::Kind::Dataplane, "", "", trace});
  }
}

}  // namespace kuma::policies::traffictrace
