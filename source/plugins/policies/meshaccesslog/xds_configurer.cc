#include "source/plugins/policies/meshaccesslog/xds_configurer.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "envoy/config/accesslog/v3/accesslog.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb.h"
#include "envoy/extensions/access_loggers/filters/cel/v3/cel.pb.h"
#include "envoy/extensions/access_loggers/open_telemetry/v3/logs_service.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "google/protobuf/util/json_util.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/common/go_json.h"
#include "source/common/go_quote.h"
#include "source/plugins/policies/core/inbound_policies.h"
#include "source/plugins/policies/core/otel_backend.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/rules.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/http_filters.h"
#include "source/xds/envoy/resource_set.h"
#include "source/xds/generator/generator.h"

namespace kuma::policies::meshaccesslog {

const char kDefaultNetworkFormat[] =
    "[%START_TIME%] %RESPONSE_FLAGS% %KUMA_MESH% "
    "%KUMA_SOURCE_ADDRESS_WITHOUT_PORT%(%KUMA_SOURCE_SERVICE%)->%UPSTREAM_HOST%(%KUMA_DESTINATION_"
    "SERVICE%) took %DURATION%ms, sent %BYTES_SENT% bytes, received: %BYTES_RECEIVED% bytes";
const char kDefaultHttpFormat[] =
    "[%START_TIME%] %KUMA_MESH% \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
    "\"%REQ(X-B3-TRACEID?X-DATADOG-TRACEID)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" "
    "\"%KUMA_SOURCE_SERVICE%\" \"%KUMA_DESTINATION_SERVICE%\" "
    "\"%KUMA_SOURCE_ADDRESS_WITHOUT_PORT%\" \"%UPSTREAM_HOST%\"";

namespace {

using nlohmann::json;
namespace accesslog_v3 = envoy::config::accesslog::v3;
namespace file_v3 = envoy::extensions::access_loggers::file::v3;
namespace otel_v3 = envoy::extensions::access_loggers::open_telemetry::v3;
namespace otlp = opentelemetry::proto::common::v1;
namespace listener_v3 = envoy::config::listener::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;

constexpr char kFileAccessLog[] = "envoy.access_loggers.file";
constexpr char kOtelAccessLog[] = "envoy.access_loggers.open_telemetry";
constexpr char kCelFilter[] = "envoy.access_loggers.extension_filters.cel";
constexpr char kTagsMetadataKey[] = "io.kuma.tags";
constexpr char kServiceUnknown[] = "unknown";
constexpr char kPassThroughService[] = "pass_through";
constexpr char kTlsInspectorName[] = "envoy.filters.listener.tls_inspector";
constexpr char kTlsInspectorType[] =
    "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector";

// Kuma's MatchToCEL: the conjunction of a rule match's spiffeID and SNI terms ("" for none).
std::string matchToCel(const json* match) {
  if (match == nullptr || !match->is_object()) {
    return "";
  }
  std::vector<std::string> parts;
  if (const json* spiffe = member(*match, "spiffeID"); spiffe != nullptr && spiffe->is_object()) {
    const std::string type = spiffe->value("type", "");
    const std::string value = spiffe->value("value", "");
    if (type == "Exact") {
      parts.push_back(
          absl::StrCat("connection.uri_san_peer_certificate == ", common::goQuote(value)));
    } else if (type == "Prefix") {
      parts.push_back(absl::StrCat("connection.uri_san_peer_certificate.startsWith(",
                                   common::goQuote(value), ")"));
    }
  }
  if (const json* sni = member(*match, "sni"); sni != nullptr && sni->is_object()) {
    if (sni->value("type", "") == "Exact") {
      parts.push_back(absl::StrCat("connection.requested_server_name == ",
                                   common::goQuote(sni->value("value", ""))));
    }
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : " && ", parts[i]);
  }
  return out;
}

// Kuma's CompareMatch rank: spiffeID Exact, Prefix, other; with SNI before without.
std::pair<int, int> matchRank(const json* match) {
  int spiffe = 3;
  int sni = 1;
  if (match != nullptr && match->is_object()) {
    if (const json* s = member(*match, "spiffeID"); s != nullptr) {
      const std::string type = s->value("type", "");
      spiffe = type == "Exact" ? 0 : (type == "Prefix" ? 1 : 2);
    }
    if (member(*match, "sni") != nullptr) {
      sni = 0;
    }
  }
  return {spiffe, sni};
}

std::string stringMember(const json& obj, const char* key) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

google::protobuf::Struct jsonFormatStruct(const json& entries, const KumaValues& values) {
  google::protobuf::Struct out;
  if (!entries.is_array()) {
    return out;
  }
  for (const json& kv : entries) {
    if (!kv.is_object()) {
      continue;
    }
    (*out.mutable_fields())[stringMember(kv, "key")].set_string_value(
        interpolateKumaValues(stringMember(kv, "value"), values));
  }
  return out;
}

// Kuma's interpolateKumaVariablesInAnyValue: placeholders in every string value and every key
// of a structured OpenTelemetry body.
void interpolateAnyValue(otlp::AnyValue& value, const KumaValues& values) {
  switch (value.value_case()) {
    case otlp::AnyValue::kStringValue:
      value.set_string_value(interpolateKumaValues(value.string_value(), values));
      break;
    case otlp::AnyValue::kArrayValue:
      for (auto& v : *value.mutable_array_value()->mutable_values()) {
        interpolateAnyValue(v, values);
      }
      break;
    case otlp::AnyValue::kKvlistValue:
      for (auto& kv : *value.mutable_kvlist_value()->mutable_values()) {
        interpolateAnyValue(*kv.mutable_value(), values);
        kv.set_key(interpolateKumaValues(kv.key(), values));
      }
      break;
    default:
      break;
  }
}

void addStringAttribute(otlp::KeyValueList& list, const std::string& key,
                        const std::string& value) {
  auto* kv = list.add_values();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

// Kuma's OtelBody, OtelAttributes, OtelResourceAttributes and CommonConfig.
otel_v3::OpenTelemetryAccessLogConfig otelConfigOf(const json& otel,
                                                   const std::string& defaultFormat,
                                                   const KumaValues& values,
                                                   const std::string& cluster) {
  otel_v3::OpenTelemetryAccessLogConfig config;
  otlp::AnyValue& body = *config.mutable_body();
  body.set_string_value(interpolateKumaValues(defaultFormat, values));
  if (const json* b = member(otel, "body"); b != nullptr && !b->is_null()) {
    // Kuma reads the body's JSON as an AnyValue (unknown fields ignored); JSON that is no
    // AnyValue (a string, say) becomes the string value of its JSON text.
    const std::string raw = common::goJsonDump(*b);  // Go's json.Marshal of the body
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    otlp::AnyValue parsed;
    if (google::protobuf::util::JsonStringToMessage(raw, &parsed, options).ok()) {
      body = std::move(parsed);
      interpolateAnyValue(body, values);
    } else {
      body.Clear();
      body.set_string_value(interpolateKumaValues(raw, values));
    }
  }
  otlp::KeyValueList& attributes = *config.mutable_attributes();
  if (const json* attrs = member(otel, "attributes"); attrs != nullptr && attrs->is_array()) {
    for (const json& kv : *attrs) {
      if (kv.is_object()) {
        addStringAttribute(attributes, interpolateKumaValues(stringMember(kv, "key"), values),
                           interpolateKumaValues(stringMember(kv, "value"), values));
      }
    }
  }
  otlp::KeyValueList& resource = *config.mutable_resource_attributes();
  addStringAttribute(resource, "kuma.mesh", values.mesh);
  if (!values.zone.empty()) {
    addStringAttribute(resource, "kuma.zone", values.zone);
  }
  if (!values.workloadKri.empty()) {
    addStringAttribute(resource, "kuma.workload", values.workloadKri);
  }
  config.set_log_name("MeshAccessLog");
  config.mutable_grpc_service()->mutable_envoy_grpc()->set_cluster_name(cluster);
  return config;
}

// Kuma's EndpointAccumulator: the collectors the proxy's OpenTelemetry backends send to, each
// one cluster `meshaccesslog:opentelemetry:<n>` numbered in order of first use.
class OtelCollectors {
 public:
  explicit OtelCollectors(const xds::MeshContext& mesh) : mesh_(mesh) {}

  // The cluster of an `openTelemetry` backend; nullopt when it resolves to no collector (a
  // backendRef that matches no MeshOpenTelemetryBackend, neither backendRef nor endpoint).
  std::optional<std::string> clusterFor(const json& otel) {
    const std::optional<OtelBackend> backend = resolveOtelBackend(mesh_, otel);
    if (!backend) {
      return std::nullopt;
    }
    // Kuma's UseHTTP2 is "protocol is not http": the logger speaks gRPC either way.
    const Key key{backend->collector.host, backend->collector.port, !backend->http};
    auto [it, added] = index_.try_emplace(key, static_cast<int>(index_.size()));
    return absl::StrCat("meshaccesslog:opentelemetry:", it->second);
  }

  // Kuma's AddLogBackendConf: one cluster per collector.
  void addClusters(xds::ResourceSet& resources, bool ipv6Proxy) const {
    for (const auto& [key, index] : index_) {
      resources.add(collectorCluster(absl::StrCat("meshaccesslog:opentelemetry:", index),
                                     std::get<0>(key), std::get<1>(key), std::get<2>(key),
                                     ipv6Proxy));
    }
  }

 private:
  using Key = std::tuple<std::string, uint32_t, bool>;  // host, port, HTTP/2
  const xds::MeshContext& mesh_;
  std::map<Key, int> index_;
};

// One backend's access log (nullopt: an OpenTelemetry backend without a collector, an unknown
// type).
std::optional<accesslog_v3::AccessLog> accessLogOf(const json& backend,
                                                   const std::string& defaultFormat,
                                                   const KumaValues& values,
                                                   const std::string& socketPath,
                                                   OtelCollectors& collectors) {
  const std::string type = stringMember(backend, "type");
  if (type == "OpenTelemetry") {
    const json* otel = member(backend, "openTelemetry");
    if (otel == nullptr || !otel->is_object()) {
      return std::nullopt;
    }
    std::optional<std::string> cluster = collectors.clusterFor(*otel);
    if (!cluster) {
      return std::nullopt;
    }
    accesslog_v3::AccessLog log;
    log.set_name(kOtelAccessLog);
    *log.mutable_typed_config() =
        xds::packAny(otelConfigOf(*otel, defaultFormat, values, *cluster));
    return log;
  }
  const bool tcp = type == "Tcp";
  if (!tcp && type != "File") {
    return std::nullopt;
  }
  const json* conf = member(backend, tcp ? "tcp" : "file");
  const json empty = json::object();
  if (conf == nullptr || !conf->is_object()) {
    conf = &empty;
  }
  const json* format = member(*conf, "format");
  if (format != nullptr && !format->is_object()) {
    format = nullptr;
  }
  const json* plain = format != nullptr ? member(*format, "plain") : nullptr;
  const json* jsonFields = format != nullptr ? member(*format, "json") : nullptr;
  const bool omitEmpty = format != nullptr && format->value("omitEmptyValues", false) == true;

  file_v3::FileAccessLog file;
  auto* sfs = file.mutable_log_format();
  if (tcp) {
    file.set_path(socketPath);
    auto& fields = *sfs->mutable_json_format()->mutable_fields();
    fields["address"].set_string_value(stringMember(*conf, "address"));
    if (format == nullptr || (plain == nullptr && jsonFields == nullptr)) {
      fields["message"].set_string_value(
          interpolateKumaValues(absl::StrCat(defaultFormat, "\n"), values));
    } else if (plain != nullptr && plain->is_string()) {
      fields["message"].set_string_value(
          interpolateKumaValues(absl::StrCat(plain->get<std::string>(), "\n"), values));
      sfs->set_omit_empty_values(omitEmpty);
    } else {
      *fields["message"].mutable_struct_value() = jsonFormatStruct(*jsonFields, values);
      sfs->set_omit_empty_values(omitEmpty);
    }
  } else {
    file.set_path(stringMember(*conf, "path"));
    if (format == nullptr || (plain == nullptr && jsonFields == nullptr)) {
      sfs->mutable_text_format_source()->set_inline_string(
          interpolateKumaValues(absl::StrCat(defaultFormat, "\n"), values));
    } else if (plain != nullptr && plain->is_string()) {
      sfs->mutable_text_format_source()->set_inline_string(
          interpolateKumaValues(absl::StrCat(plain->get<std::string>(), "\n"), values));
      sfs->set_omit_empty_values(omitEmpty);
    } else {
      *sfs->mutable_json_format() = jsonFormatStruct(*jsonFields, values);
      sfs->set_omit_empty_values(omitEmpty);
    }
  }
  accesslog_v3::AccessLog log;
  log.set_name(kFileAccessLog);
  *log.mutable_typed_config() = xds::packAny(file);
  return log;
}

std::vector<accesslog_v3::AccessLog> accessLogsOf(const json& conf,
                                                  const std::string& defaultFormat,
                                                  const KumaValues& values,
                                                  const std::string& socketPath,
                                                  OtelCollectors& collectors) {
  std::vector<accesslog_v3::AccessLog> out;
  const json* backends = conf.is_object() ? member(conf, "backends") : nullptr;
  if (backends == nullptr || !backends->is_array()) {
    return out;
  }
  for (const json& backend : *backends) {
    if (auto log = accessLogOf(backend, defaultFormat, values, socketPath, collectors)) {
      out.push_back(*std::move(log));
    }
  }
  return out;
}

// Kuma's ensureTLSInspector: SNI matches need the TLS inspector listener filter.
void ensureTlsInspector(listener_v3::Listener& listener) {
  for (const auto& f : listener.listener_filters()) {
    if (f.name() == kTlsInspectorName) {
      return;
    }
  }
  auto* filter = listener.add_listener_filters();
  filter->set_name(kTlsInspectorName);
  filter->mutable_typed_config()->set_type_url(kTlsInspectorType);
}

std::map<std::string, std::string> listenerTags(const listener_v3::Listener& l) {
  std::map<std::string, std::string> tags;
  auto it = l.metadata().filter_metadata().find(kTagsMetadataKey);
  if (it == l.metadata().filter_metadata().end()) {
    return tags;
  }
  for (const auto& [k, v] : it->second.fields()) {
    tags[k] = v.string_value();
  }
  return tags;
}

KumaValues valuesOf(const ProxyValues& p, std::string source, std::string destination,
                    const char* direction) {
  KumaValues v;
  v.sourceService = std::move(source);
  v.sourceIp = p.ip;
  v.destinationService = std::move(destination);
  v.mesh = p.mesh;
  v.zone = p.zone;
  v.workloadKri = p.workloadKri;
  v.trafficDirection = direction;
  return v;
}

// Kuma's inbound rules of a MeshAccessLog (IsFromAsRules): every `rules[]` entry (one per match),
// or every `from[]` entry of a policy without rules, in policy order, matched rules first.
struct InboundRule {
  const json* match = nullptr;
  const json* conf = nullptr;
};

std::vector<InboundRule> inboundRulesOf(const std::vector<const json*>& specs) {
  std::vector<InboundRule> rules;
  for (const json* spec : specs) {
    if (spec == nullptr || !spec->is_object()) {
      continue;
    }
    const json* items = member(*spec, "rules");
    if (items == nullptr || !items->is_array() || items->empty()) {
      items = member(*spec, "from");
    }
    if (items == nullptr || !items->is_array()) {
      continue;
    }
    for (const json& item : *items) {
      const json* conf = member(item, "default");
      const json* matches = member(item, "matches");
      if (matches == nullptr || !matches->is_array() || matches->empty()) {
        rules.push_back({nullptr, conf});
        continue;
      }
      for (const json& m : *matches) {
        rules.push_back({&m, conf});
      }
    }
  }
  std::stable_sort(rules.begin(), rules.end(), [](const InboundRule& a, const InboundRule& b) {
    return matchRank(a.match) < matchRank(b.match);
  });
  return rules;
}

}  // namespace

ProxyValues proxyValuesOf(const model::Resource& dataplane) {
  ProxyValues out;
  out.mesh = dataplane.meta.mesh;
  out.name = dataplane.meta.name;
  const auto& labels = dataplane.meta.labels;
  if (auto z = labels.find("kuma.io/zone"); z != labels.end()) {
    out.zone = z->second;
  }
  if (auto wl = labels.find("kuma.io/workload"); wl != labels.end() && !wl->second.empty()) {
    auto ns = labels.find("k8s.kuma.io/namespace");
    out.workloadKri = absl::StrCat("kri_wl_", out.mesh, "_", out.zone, "_",
                                   ns != labels.end() ? ns->second : "", "_", wl->second, "_");
  }
  if (const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dataplane)) {
    const auto& net = spec->networking();
    out.ip = net.advertised_address().empty() ? net.address() : net.advertised_address();
    // Kuma's IdentifyingName: the first (sorted) kuma.io/service of the Dataplane's tag set.
    std::set<std::string> services;
    for (const auto& inbound : net.inbound()) {
      if (auto s = inbound.tags().find("kuma.io/service"); s != inbound.tags().end()) {
        services.insert(s->second);
      }
    }
    if (net.has_gateway()) {
      if (auto s = net.gateway().tags().find("kuma.io/service"); s != net.gateway().tags().end()) {
        services.insert(s->second);
      }
    }
    if (!services.empty()) {
      out.identifyingName = *services.begin();
    }
  }
  return out;
}

absl::Status appendAccessLogs(listener_v3::Listener& listener,
                              const std::vector<accesslog_v3::AccessLog>& logs) {
  if (logs.empty()) {
    return absl::OkStatus();
  }
  for (auto& chain : *listener.mutable_filter_chains()) {
    absl::Status s =
        xds::updateHttpConnectionManager(chain, [&](hcm_v3::HttpConnectionManager& hcm) {
          for (const auto& log : logs) {
            *hcm.add_access_log() = log;
          }
          return absl::OkStatus();
        });
    if (!s.ok()) {
      return s;
    }
    for (auto& filter : *chain.mutable_filters()) {
      if (!filter.has_typed_config() || filter.typed_config().type_url() != xds::kTcpProxyType) {
        continue;
      }
      tcp_v3::TcpProxy proxy;
      if (!filter.typed_config().UnpackTo(&proxy)) {
        return absl::InvalidArgumentError(
            absl::StrCat("listener ", listener.name(), ": unreadable tcp_proxy"));
      }
      for (const auto& log : logs) {
        *proxy.add_access_log() = log;
      }
      *filter.mutable_typed_config() = xds::packAny(proxy);
    }
  }
  return absl::OkStatus();
}

std::string interpolateKumaValues(std::string format, const KumaValues& values) {
  const std::string sourceAddress = xds::hostPort(values.sourceIp, 0);
  // In Kuma's order: each placeholder replaced in the result of the previous ones.
  const std::pair<const char*, const std::string*> steps[] = {
      {"%KUMA_SOURCE_ADDRESS%", &sourceAddress},
      {"%KUMA_SOURCE_ADDRESS_WITHOUT_PORT%", &values.sourceIp},
      {"%KUMA_SOURCE_SERVICE%", &values.sourceService},
      {"%KUMA_DESTINATION_SERVICE%", &values.destinationService},
      {"%KUMA_MESH%", &values.mesh},
      {"%KUMA_TRAFFIC_DIRECTION%", &values.trafficDirection},
      {"%KUMA_ZONE%", &values.zone},
      {"%KUMA_WORKLOAD%", &values.workloadKri},
  };
  for (const auto& [placeholder, value] : steps) {
    if (format.find(placeholder) != std::string::npos) {
      absl::StrReplaceAll({{placeholder, *value}}, &format);
    }
  }
  return format;
}

std::string accessLogSocketPath(const std::string& dir, const std::string& name,
                                const std::string& mesh) {
  return xds::kumaDpSocketPath(dir, absl::StrCat("kuma-al-", name, "-", mesh));
}

std::string_view XdsConfigurer::policyType() const {
  return "MeshAccessLog";
}

int XdsConfigurer::order() const {
  return 600;  // Kuma's MeshAccessLog order
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const json*>& specs,
                                  xds::ResourceSet& resources) const {
  if (specs.empty() || proxy.dataplane == nullptr || proxy.mesh == nullptr) {
    return absl::OkStatus();
  }
  const ProxyValues pv = proxyValuesOf(*proxy.dataplane);
  const std::string socketPath = accessLogSocketPath(
      proxy.options != nullptr ? proxy.options->workdir : std::string(), pv.name, pv.mesh);
  OtelCollectors collectors(*proxy.mesh);

  // Inbounds: one per listener, Kuma's inbound rules of the policies selecting it.
  if (proxy.inbounds != nullptr) {
    std::set<std::string> done;
    for (const xds::InboundTarget& inbound : *proxy.inbounds) {
      if (!done.insert(inbound.listenerName).second) {
        continue;
      }
      auto* listener = resources.find<listener_v3::Listener>(inbound.listenerName);
      if (listener == nullptr) {
        continue;
      }
      const KumaValues values = valuesOf(pv, kServiceUnknown, pv.identifyingName, "INBOUND");
      const std::string defaultFormat =
          xds::isHttpProtocol(inbound.protocol) ? kDefaultHttpFormat : kDefaultNetworkFormat;
      std::vector<accesslog_v3::AccessLog> logs;
      bool hasSni = false;
      for (const InboundRule& rule :
           inboundRulesOf(specsForInbound(proxy, policyType(), specs, inbound.index))) {
        hasSni = hasSni || (rule.match != nullptr && rule.match->is_object() &&
                            member(*rule.match, "sni") != nullptr);
        const std::string cel = matchToCel(rule.match);
        for (auto& log : accessLogsOf(rule.conf != nullptr ? *rule.conf : json(), defaultFormat,
                                      values, socketPath, collectors)) {
          if (!cel.empty()) {
            envoy::extensions::access_loggers::filters::cel::v3::ExpressionFilter filter;
            filter.set_expression(cel);
            auto* ext = log.mutable_filter()->mutable_extension_filter();
            ext->set_name(kCelFilter);
            *ext->mutable_typed_config() = xds::packAny(filter);
          }
          logs.push_back(std::move(log));
        }
      }
      if (absl::Status s = appendAccessLogs(*listener, logs); !s.ok()) {
        return s;
      }
      if (hasSni) {
        ensureTlsInspector(*listener);
      }
    }
  }

  // Outbounds (Kuma's legacy kuma.io/service outbounds) in the proxy's outbound order (which
  // numbers the collectors as Kuma's does), then the transparent proxy's outbound passthrough.
  std::vector<std::string> outbounds;
  std::vector<std::string> passthrough;
  std::set<std::string> ordered;
  if (proxy.outboundListeners != nullptr) {
    outbounds = *proxy.outboundListeners;
    ordered.insert(outbounds.begin(), outbounds.end());
  }
  for (const std::string& name :
       resources.names(xds::ResourceSet::typeUrlOf<listener_v3::Listener>())) {
    if (absl::StartsWith(name, "outbound:passthrough:")) {
      passthrough.push_back(name);
    } else if (absl::StartsWith(name, "outbound:") && !ordered.contains(name)) {
      outbounds.push_back(name);
    }
  }
  std::set<std::string> done;
  for (const std::string& name : outbounds) {
    auto* listener =
        done.insert(name).second ? resources.find<listener_v3::Listener>(name) : nullptr;
    if (listener == nullptr) {
      continue;
    }
    const std::map<std::string, std::string> tags = listenerTags(*listener);
    auto svc = tags.find(xds::kServiceTag);
    if (svc == tags.end()) {
      continue;
    }
    const json conf = mergeDestinationConf(specs, svc->second);
    if (conf.is_null()) {
      continue;
    }
    const std::string defaultFormat = xds::isHttpProtocol(proxy.mesh->protocol(svc->second))
                                          ? kDefaultHttpFormat
                                          : kDefaultNetworkFormat;
    const KumaValues values = valuesOf(pv, pv.identifyingName, svc->second, "OUTBOUND");
    if (absl::Status s = appendAccessLogs(
            *listener, accessLogsOf(conf, defaultFormat, values, socketPath, collectors));
        !s.ok()) {
      return s;
    }
  }
  const json passthroughConf =
      passthrough.empty() ? json() : mergeDestinationConf(specs, kPassThroughService);
  for (const std::string& name : passthrough) {
    auto* listener =
        passthroughConf.is_null() ? nullptr : resources.find<listener_v3::Listener>(name);
    if (listener == nullptr) {
      continue;
    }
    // Kuma passes the protocol name "tcp" where the default format belongs.
    const KumaValues values = valuesOf(pv, pv.identifyingName, "external", "OUTBOUND");
    if (absl::Status s = appendAccessLogs(
            *listener, accessLogsOf(passthroughConf, "tcp", values, socketPath, collectors));
        !s.ok()) {
      return s;
    }
  }

  const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane);
  collectors.addClusters(resources, dp != nullptr && xds::isIPv6(dp->networking().address()));
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshaccesslog
