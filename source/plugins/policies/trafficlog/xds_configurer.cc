#include "source/plugins/policies/trafficlog/xds_configurer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "api/mesh/v1alpha1/traffic_log.pb.h"
#include "envoy/config/accesslog/v3/accesslog.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/policies/trafficroute/xds_configurer.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/resource_set.h"
#include "source/xds/generator/generator.h"

namespace kuma::policies::trafficlog {
namespace {

namespace accesslog_v3 = envoy::config::accesslog::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;
using mesh::v1alpha1::LoggingBackend;
using mesh::v1alpha1::TrafficLog;

constexpr char kPassThroughService[] = "pass_through";
constexpr const char* kPassThroughListeners[] = {"outbound:passthrough:ipv4",
                                                 "outbound:passthrough:ipv6"};

std::string stringField(const LoggingBackend& backend, const std::string& name) {
  auto it = backend.conf().fields().find(name);
  return it != backend.conf().fields().end() && it->second.has_string_value()
             ? it->second.string_value()
             : "";
}

// The access log of the proxy's TrafficLog towards `service`; nullopt when none applies.
std::optional<accesslog_v3::AccessLog> proxyAccessLog(const xds::ProxyContext& proxy,
                                                      const std::string& service,
                                                      const std::string& destination,
                                                      const char* direction,
                                                      const std::string& defaultFormat) {
  if (proxy.mesh == nullptr || proxy.dataplane == nullptr) {
    return std::nullopt;
  }
  const auto& logs = proxy.mesh->legacyPolicies(resources::kTrafficLogType);
  if (logs.empty()) {
    return std::nullopt;
  }
  const model::Resource* log = trafficroute::selectConnectionPolicy<TrafficLog>(
      logs, trafficroute::inboundTagsOf(*proxy.dataplane), service);
  if (log == nullptr) {
    return std::nullopt;
  }
  const LoggingBackend* backend =
      loggingBackend(proxy.mesh->mesh(), model::protoSpecOf<TrafficLog>(*log)->conf().backend());
  if (backend == nullptr) {
    return std::nullopt;  // Kuma: "Logging backend is not found. Ignoring."
  }
  const meshaccesslog::ProxyValues pv = meshaccesslog::proxyValuesOf(*proxy.dataplane);
  meshaccesslog::KumaValues values;
  values.sourceService = pv.identifyingName;
  values.sourceIp = pv.ip;
  values.destinationService = destination;
  values.mesh = pv.mesh;
  values.trafficDirection = direction;
  const std::string workdir = proxy.options != nullptr ? proxy.options->workdir : std::string();
  return accessLogOf(*backend, defaultFormat, values,
                     meshaccesslog::accessLogSocketPath(workdir, pv.name, pv.mesh));
}

}  // namespace

const LoggingBackend* loggingBackend(const mesh::v1alpha1::Mesh& mesh, const std::string& name) {
  const std::string& wanted = name.empty() ? mesh.logging().default_backend() : name;
  const LoggingBackend* found = nullptr;
  for (const auto& b : mesh.logging().backends()) {
    if (b.name() == wanted) {
      found = &b;  // the last of a name, as Kuma's map
    }
  }
  return found;
}

std::optional<accesslog_v3::AccessLog> accessLogOf(const LoggingBackend& backend,
                                                   const std::string& format,
                                                   const meshaccesslog::KumaValues& values,
                                                   const std::string& socketPath) {
  const std::string line =
      absl::StrCat(meshaccesslog::interpolateKumaValues(
                       backend.format().empty() ? format : backend.format(), values),
                   "\n");
  envoy::extensions::access_loggers::file::v3::FileAccessLog file;
  if (backend.type() == "file") {
    file.set_path(stringField(backend, "path"));
    file.mutable_log_format()->mutable_text_format_source()->set_inline_string(line);
  } else if (backend.type() == "tcp") {
    file.set_path(socketPath);
    file.mutable_log_format()->mutable_text_format_source()->set_inline_string(
        absl::StrCat(stringField(backend, "address"), ";", line));
  } else {
    return std::nullopt;
  }
  accesslog_v3::AccessLog log;
  log.set_name("envoy.access_loggers.file");
  *log.mutable_typed_config() = xds::packAny(file);
  return log;
}

std::string_view XdsConfigurer::policyType() const {
  return resources::kTrafficLogType;
}

int XdsConfigurer::order() const {
  return 7;
}

absl::Status XdsConfigurer::configureOutboundHcm(const nlohmann::json&,
                                                 const xds::OutboundTarget& target,
                                                 hcm_v3::HttpConnectionManager& hcm) const {
  if (!trafficroute::legacyPath(target.proxy)) {
    return absl::OkStatus();  // Kuma's outbound generator only runs there
  }
  if (auto log = proxyAccessLog(*target.proxy, target.service, target.service, "OUTBOUND",
                                meshaccesslog::kDefaultHttpFormat)) {
    *hcm.add_access_log() = *std::move(log);
  }
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureOutboundTcpProxy(const nlohmann::json&,
                                                      const xds::OutboundTarget& target,
                                                      tcp_v3::TcpProxy& proxy) const {
  if (!trafficroute::legacyPath(target.proxy)) {
    return absl::OkStatus();
  }
  if (auto log = proxyAccessLog(*target.proxy, target.service, target.service, "OUTBOUND",
                                meshaccesslog::kDefaultNetworkFormat)) {
    *proxy.add_access_log() = *std::move(log);
  }
  return absl::OkStatus();
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const nlohmann::json*>&,
                                  xds::ResourceSet& resources) const {
  for (const char* name : kPassThroughListeners) {
    auto* listener = resources.find<envoy::config::listener::v3::Listener>(name);
    if (listener == nullptr) {
      continue;
    }
    auto log = proxyAccessLog(proxy, kPassThroughService, "external", "UNSPECIFIED",
                              meshaccesslog::kDefaultNetworkFormat);
    if (!log) {
      return absl::OkStatus();  // the same selection for both listeners
    }
    if (absl::Status s = meshaccesslog::appendAccessLogs(*listener, {*log}); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

void XdsConfigurer::attachments(const xds::ProxyContext& proxy,
                                std::vector<xds::PolicyAttachment>& out) const {
  // Kuma's BuildTrafficLogMap: per declared outbound service, plus the implicit `pass_through`.
  std::vector<std::string> services;
  for (const auto& outbound : trafficroute::inspectedOutbounds(*proxy.dataplane)) {
    if (std::find(services.begin(), services.end(), outbound.service) == services.end()) {
      services.push_back(outbound.service);
    }
  }
  if (std::find(services.begin(), services.end(), "pass_through") == services.end()) {
    services.push_back("pass_through");
  }
  trafficroute::attachPerService<TrafficLog>(proxy.mesh->legacyPolicies(resources::kTrafficLogType),
                                             *proxy.dataplane, services, out);
}

}  // namespace kuma::policies::trafficlog
