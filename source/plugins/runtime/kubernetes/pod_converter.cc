#include "source/plugins/runtime/kubernetes/pod_converter.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/json_yaml.h"
#include "source/common/status_macros.h"
#include "source/plugins/runtime/kubernetes/annotations.h"

namespace kuma::k8s::runtime {
namespace {

namespace mesh = ::kuma::mesh::v1alpha1;
using Inbound = mesh::Dataplane::Networking::Inbound;

// Kuma's annotation keys (pkg/plugins/runtime/k8s/metadata/annotations.go).
constexpr char kMeshAnnotation[] = "kuma.io/mesh";
constexpr char kTransparentProxying[] = "kuma.io/transparent-proxying";
constexpr char kTransparentProxyConfig[] = "traffic.kuma.io/transparent-proxy-config";
constexpr char kInboundPort[] = "kuma.io/transparent-proxying-inbound-port";
constexpr char kOutboundPort[] = "kuma.io/transparent-proxying-outbound-port";
constexpr char kIpFamilyMode[] = "kuma.io/transparent-proxying-ip-family-mode";
constexpr char kReachableServices[] = "kuma.io/transparent-proxying-reachable-services";
constexpr char kReachableBackends[] = "kuma.io/reachable-backends";
constexpr char kDirectAccess[] = "kuma.io/direct-access-services";
constexpr char kGateway[] = "kuma.io/gateway";
constexpr char kIgnore[] = "kuma.io/ignore";
constexpr char kEnvoyAdminPort[] = "kuma.io/envoy-admin-port";
constexpr char kVirtualProbes[] = "kuma.io/virtual-probes";
constexpr char kVirtualProbesPort[] = "kuma.io/virtual-probes-port";
constexpr char kApplicationProbeProxyPort[] = "kuma.io/application-probe-proxy-port";
constexpr char kMetricsPort[] = "prometheus.metrics.kuma.io/port";
constexpr char kMetricsPath[] = "prometheus.metrics.kuma.io/path";
constexpr absl::string_view kAggregatePrefix = "prometheus.metrics.kuma.io/aggregate-";
constexpr char kZoneProxyTypeLabel[] = "k8s.kuma.io/zone-proxy-type";

// Tags and labels.
constexpr char kServiceTag[] = "kuma.io/service";
constexpr char kProtocolTag[] = "kuma.io/protocol";
constexpr char kZoneTag[] = "kuma.io/zone";
constexpr char kInstanceTag[] = "kuma.io/instance";
constexpr char kKubeNamespaceTag[] = "k8s.kuma.io/namespace";
constexpr char kKubeServiceTag[] = "k8s.kuma.io/service-name";
constexpr char kKubePortTag[] = "k8s.kuma.io/service-port";
constexpr char kOriginLabel[] = "kuma.io/origin";
constexpr char kEnvLabel[] = "kuma.io/env";
constexpr char kProxyTypeLabel[] = "kuma.io/proxy-type";
constexpr char kServiceAccountLabel[] = "k8s.kuma.io/service-account";
constexpr char kWorkloadLabel[] = "kuma.io/workload";

const Json& metadataOf(const Json& object) {
  return common::jsonMember(object, "metadata");
}

/** Kubernetes' protocol of a port: empty means TCP. */
std::string protocolOrTcp(const Json& port) {
  std::string protocol = common::jsonString(port, "protocol");
  return protocol.empty() ? "TCP" : protocol;
}

struct FoundPort {
  uint32_t port = 0;
  std::string name;
  const Json* container = nullptr;
};

/** Kuma's util_k8s.FindPort: the container port a Service port targets. */
std::optional<FoundPort> findPort(const Json& pod, const Json& servicePort) {
  const Json& target = common::jsonMember(servicePort, "targetPort");
  const std::string svcProtocol = protocolOrTcp(servicePort);
  const Json& containers = common::jsonMember(common::jsonMember(pod, "spec"), "containers");
  auto each = [&](auto&& match) -> std::optional<FoundPort> {
    if (!containers.is_array()) {
      return std::nullopt;
    }
    for (const Json& container : containers) {
      const Json& ports = common::jsonMember(container, "ports");
      if (!ports.is_array()) {
        continue;
      }
      for (const Json& port : ports) {
        if (match(port) && protocolOrTcp(port) == svcProtocol) {
          const Json& number = common::jsonMember(port, "containerPort");
          return FoundPort{number.is_number_integer() ? number.get<uint32_t>() : 0u,
                           common::jsonString(port, "name"), &container};
        }
      }
    }
    return std::nullopt;
  };
  if (target.is_string()) {
    const std::string name = target.get<std::string>();
    return each([&](const Json& port) { return common::jsonString(port, "name") == name; });
  }
  // An int target (or none: Kubernetes defaults it to `port`).
  int64_t number = 0;
  if (target.is_number_integer()) {
    number = target.get<int64_t>();
  } else if (common::jsonMember(servicePort, "port").is_number_integer()) {
    number = common::jsonMember(servicePort, "port").get<int64_t>();
  }
  if (auto found = each([&](const Json& port) {
        const Json& cp = common::jsonMember(port, "containerPort");
        return cp.is_number_integer() && cp.get<int64_t>() == number;
      })) {
    return found;
  }
  // A container need not declare the ports it listens on: the number is taken as is.
  return FoundPort{static_cast<uint32_t>(number), "", nullptr};
}

const Json* containerStatus(const Json& pod, const std::string& name, bool withInit) {
  const Json& status = common::jsonMember(pod, "status");
  for (const char* list : {"containerStatuses", "initContainerStatuses"}) {
    if (std::string_view(list) == "initContainerStatuses" && !withInit) {
      break;
    }
    const Json& statuses = common::jsonMember(status, list);
    if (!statuses.is_array()) {
      continue;
    }
    for (const Json& s : statuses) {
      if (common::jsonString(s, "name") == name) {
        return &s;
      }
    }
  }
  return nullptr;
}

bool statusNotReady(const Json* status) {
  return status != nullptr &&
         !(common::jsonMember(*status, "ready").is_boolean() && (*status)["ready"]);
}

/** Kuma's podReady: the container (when known) and kuma-sidecar ready, not terminating. */
bool podReady(const Json& pod, const Json* container) {
  if (container != nullptr &&
      statusNotReady(containerStatus(pod, common::jsonString(*container, "name"), false))) {
    return false;
  }
  if (statusNotReady(containerStatus(pod, kSidecarContainerName, true))) {
    return false;
  }
  return common::jsonMember(metadataOf(pod), "deletionTimestamp").is_null();
}

bool knownProtocol(const std::string& lower) {
  static const std::set<std::string, std::less<>> kKnown = {"http", "http2", "tcp",  "tls",
                                                            "grpc", "kafka", "mysql"};
  return kKnown.contains(lower);
}

/** Kuma's ProtocolTagFor: appProtocol when Kuma knows it, else the annotation, else tcp. */
std::string protocolFor(const Json& service, const Json& servicePort) {
  std::string value;
  if (const Json& app = common::jsonMember(servicePort, "appProtocol"); app.is_string()) {
    value = app.get<std::string>();
    if (!knownProtocol(absl::AsciiStrToLower(value))) {
      value.clear();
    }
  }
  const Json& portNumber = common::jsonMember(servicePort, "port");
  const std::string annotation = absl::StrCat(
      portNumber.is_number_integer() ? portNumber.get<int64_t>() : 0, ".service.kuma.io/protocol");
  const auto annotations = stringMap(common::jsonMember(metadataOf(service), "annotations"));
  if (auto it = annotations.find(annotation); it != annotations.end() && value.empty()) {
    value = it->second;
  }
  if (value.empty()) {
    value = "tcp";
  }
  return absl::AsciiStrToLower(value);
}

/** Pod labels as tags: empty values and keys containing `kuma.io/` left out. */
std::map<std::string, std::string> podLabelTags(const Json& pod, bool dropKumaKeys) {
  std::map<std::string, std::string> tags;
  for (const auto& [key, value] : stringMap(common::jsonMember(metadataOf(pod), "labels"))) {
    if (value.empty() || (dropKumaKeys && absl::StrContains(key, "kuma.io/"))) {
      continue;
    }
    tags[key] = value;
  }
  return tags;
}

/** Kuma's NameExtractor: the Deployment of a ReplicaSet, the CronJob of a Job, the owner. */
absl::StatusOr<std::string> workloadNameOf(const Json& pod, const PodConverterLookups& lookups) {
  const std::string ns = common::jsonString(metadataOf(pod), "namespace");
  const Json& owners = common::jsonMember(metadataOf(pod), "ownerReferences");
  if (owners.is_array()) {
    for (const Json& owner : owners) {
      const std::string kind = common::jsonString(owner, "kind");
      const std::string name = common::jsonString(owner, "name");
      if (kind != "ReplicaSet" && kind != "Job") {
        return name;
      }
      if (!lookups.getOwner) {
        return absl::FailedPreconditionError("no owner lookup");
      }
      KUMA_ASSIGN_OR_RETURN(Json object, lookups.getOwner(kind, ns, name));
      const Json& itsOwners = common::jsonMember(metadataOf(object), "ownerReferences");
      if (!itsOwners.is_array() || itsOwners.empty()) {
        return common::jsonString(metadataOf(object), "name");
      }
      const std::string parentKind = kind == "ReplicaSet" ? "Deployment" : "CronJob";
      for (const Json& parent : itsOwners) {
        if (common::jsonString(parent, "kind") == parentKind) {
          return common::jsonString(parent, "name");
        }
      }
    }
  }
  return common::jsonString(metadataOf(pod), "name");
}

class Converter {
 public:
  Converter(const PodConversionInput& input, const PodConverterOptions& options,
            const PodConverterLookups& lookups)
      : in_(input),
        options_(options),
        lookups_(lookups),
        annotations_(stringMap(common::jsonMember(metadataOf(input.pod), "annotations"))),
        podName_(common::jsonString(metadataOf(input.pod), "name")),
        namespace_(common::jsonString(metadataOf(input.pod), "namespace")) {}

  absl::StatusOr<ConvertedDataplane> run() {
    ConvertedDataplane out;
    auto& networking = *out.spec.mutable_networking();
    KUMA_RETURN_IF_ERROR(transparentProxying(networking));
    networking.set_address(common::jsonString(common::jsonMember(in_.pod, "status"), "podIP"));
    if (annotations_.find(kGateway) != nullptr) {
      return absl::UnimplementedError(
          "delegated and builtin gateways (kuma.io/gateway) are not supported yet");
    }
    std::vector<const Json*> regular;
    size_t zoneProxyServices = 0;
    for (const Json& service : in_.services) {
      if (stringMap(common::jsonMember(metadataOf(service), "labels"))
              .contains(kZoneProxyTypeLabel)) {
        zoneProxyServices++;
      } else {
        regular.push_back(&service);
      }
    }
    if (!regular.empty() || zoneProxyServices == 0) {
      KUMA_ASSIGN_OR_RETURN(auto inbounds, inboundsFor(regular));
      if (in_.meshServicesMode == MeshServicesMode::kExclusive && options_.inboundTagsDisabled) {
        inbounds = deduplicated(std::move(inbounds));
      }
      for (auto& inbound : inbounds) {
        *networking.add_inbound() = std::move(inbound);
      }
    }
    KUMA_RETURN_IF_ERROR(metrics(out.spec));
    KUMA_RETURN_IF_ERROR(probes(out.spec));
    KUMA_ASSIGN_OR_RETURN(auto adminPort, annotations_.uint32(kEnvoyAdminPort));
    if (adminPort.has_value()) {
      networking.mutable_admin()->set_port(*adminPort);
    }
    KUMA_ASSIGN_OR_RETURN(out.labels, labels());
    return out;
  }

 private:
  absl::Status transparentProxying(mesh::Dataplane::Networking& networking) {
    mesh::Dataplane::Networking::TransparentProxying tp;
    const std::string* config = annotations_.find(kTransparentProxyConfig);
    KUMA_ASSIGN_OR_RETURN(auto enabled, annotations_.enabled(kTransparentProxying));
    const bool tpEnabled = enabled.second && enabled.first;
    bool any = false;
    if ((config != nullptr && !config->empty()) || tpEnabled) {
      if (auto direct = annotations_.list(kDirectAccess)) {
        for (auto& s : *direct) {
          tp.add_direct_access_services(s);
        }
        any = true;
      }
      if (auto reachable = annotations_.list(kReachableServices)) {
        for (auto& s : *reachable) {
          tp.add_reachable_services(s);
        }
        any = true;
      }
      if (const std::string* backends = annotations_.find(kReachableBackends)) {
        KUMA_RETURN_IF_ERROR(reachableBackends(*backends, *tp.mutable_reachable_backends()));
        any = true;
      }
    }
    if (tpEnabled) {
      KUMA_ASSIGN_OR_RETURN(auto inbound, annotations_.uint32(kInboundPort));
      if (!inbound.has_value()) {
        return absl::InvalidArgumentError(
            "transparent proxying inbound port has to be set in transparent mode");
      }
      tp.set_redirect_port_inbound(*inbound);
      KUMA_ASSIGN_OR_RETURN(auto outbound, annotations_.uint32(kOutboundPort));
      if (!outbound.has_value()) {
        return absl::InvalidArgumentError(
            "transparent proxying outbound port has to be set in transparent mode");
      }
      tp.set_redirect_port_outbound(*outbound);
      const std::string* mode = annotations_.find(kIpFamilyMode);
      const std::string value = mode == nullptr ? "dualstack" : *mode;
      if (value == "dualstack") {
        tp.set_ip_family_mode(mesh::Dataplane::Networking::TransparentProxying::DualStack);
      } else if (value == "ipv4") {
        tp.set_ip_family_mode(mesh::Dataplane::Networking::TransparentProxying::IPv4);
      } else if (!value.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("invalid ip family mode '", value, "'"));
      }
      any = true;
    }
    if (any) {
      *networking.mutable_transparent_proxying() = std::move(tp);
    }
    return absl::OkStatus();
  }

  static absl::Status reachableBackends(
      const std::string& text,
      mesh::Dataplane::Networking::TransparentProxying::ReachableBackends& out) {
    const absl::Status refused = absl::InvalidArgumentError(
        absl::StrCat("cannot parse, ", kReachableBackends, " has invalid format"));
    absl::StatusOr<Json> parsed = common::parseJsonOrYaml(text);
    if (!parsed.ok() || !(parsed->is_object() || parsed->is_null())) {
      return refused;
    }
    const Json& refs = common::jsonMember(*parsed, "refs");
    if (refs.is_null()) {
      return absl::OkStatus();
    }
    if (!refs.is_array()) {
      return refused;
    }
    for (const Json& ref : refs) {
      if (!ref.is_object()) {
        return refused;
      }
      auto& r = *out.add_refs();
      for (const char* key : {"kind", "name", "namespace"}) {
        const Json& value = common::jsonMember(ref, key);
        if (!value.is_null() && !value.is_string()) {
          return refused;
        }
      }
      r.set_kind(common::jsonString(ref, "kind"));
      r.set_name(common::jsonString(ref, "name"));
      r.set_namespace_(common::jsonString(ref, "namespace"));
      if (const Json& port = common::jsonMember(ref, "port"); !port.is_null()) {
        if (!port.is_number_unsigned() || port.get<uint64_t>() > UINT32_MAX) {
          return refused;
        }
        r.mutable_port()->set_value(port.get<uint32_t>());
      }
      if (const Json& labels = common::jsonMember(ref, "labels"); !labels.is_null()) {
        if (!labels.is_object()) {
          return refused;
        }
        for (const auto& [k, v] : labels.items()) {
          if (!v.is_string()) {
            return refused;
          }
          (*r.mutable_labels())[k] = v.get<std::string>();
        }
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::map<std::string, std::string>> nodeLabels() {
    std::map<std::string, std::string> out;
    const std::string node = common::jsonString(common::jsonMember(in_.pod, "spec"), "nodeName");
    if (options_.nodeLabelsToCopy.empty() || node.empty() || !lookups_.nodeLabels) {
      return out;
    }
    auto labels = lookups_.nodeLabels(node);
    if (!labels.ok()) {
      return absl::Status(labels.status().code(), absl::StrCat("unable to get Node ", node, ": ",
                                                               labels.status().message()));
    }
    for (const std::string& key : options_.nodeLabelsToCopy) {
      if (auto it = labels->find(key); it != labels->end()) {
        out[key] = it->second;
      }
    }
    return out;
  }

  absl::StatusOr<std::vector<Inbound>> inboundsFor(const std::vector<const Json*>& services) {
    std::map<std::string, std::string> node;
    if (!options_.inboundTagsDisabled) {
      KUMA_ASSIGN_OR_RETURN(node, nodeLabels());
    }
    std::vector<Inbound> out;
    for (const Json* service : services) {
      if (common::jsonString(common::jsonMember(*service, "spec"), "type") == "ExternalName") {
        continue;
      }
      const Json& ports = common::jsonMember(common::jsonMember(*service, "spec"), "ports");
      if (!ports.is_array()) {
        continue;
      }
      for (const Json& port : ports) {
        if (protocolOrTcp(port) != "TCP") {
          continue;  // Kuma ignores non-TCP ports
        }
        std::optional<FoundPort> found = findPort(in_.pod, port);
        if (!found.has_value()) {
          continue;  // the Pod does not have every port of the Service
        }
        Inbound inbound;
        inbound.set_port(found->port);
        inbound.set_name(found->name);
        if (!options_.inboundTagsDisabled) {
          auto tags = serviceTags(*service, port, node);
          inbound.mutable_tags()->insert(tags.begin(), tags.end());
        }
        bool ready = podReady(in_.pod, found->container);
        auto state = ready ? Inbound::Ready : Inbound::NotReady;
        if (!serviceSelectsPod(*service, in_.pod, {})) {
          state = Inbound::Ignored;
          ready = false;
        }
        inbound.set_state(state);
        inbound.mutable_health()->set_ready(ready);
        inbound.set_protocol(protocolFor(*service, port));
        out.push_back(std::move(inbound));
      }
    }
    if (out.empty()) {
      KUMA_ASSIGN_OR_RETURN(std::string name, workloadNameOf(in_.pod, lookups_));
      out.push_back(servicelessInbound(name, node));
    }
    return out;
  }

  std::map<std::string, std::string> serviceTags(const Json& service, const Json& port,
                                                 const std::map<std::string, std::string>& node) {
    auto tags = podLabelTags(in_.pod, true);
    const std::string serviceName = common::jsonString(metadataOf(service), "name");
    const Json& number = common::jsonMember(port, "port");
    const std::string portText =
        absl::StrCat(number.is_number_integer() ? number.get<int64_t>() : 0);
    tags[kKubeNamespaceTag] = namespace_;
    tags[kKubeServiceTag] = serviceName;
    tags[kKubePortTag] = portText;
    tags[kServiceTag] = absl::StrCat(
        serviceName, "_", common::jsonString(metadataOf(service), "namespace"), "_svc_", portText);
    if (!options_.zone.empty()) {
      tags[kZoneTag] = options_.zone;
    }
    for (const auto& [k, v] : node) {
      tags[k] = v;
    }
    tags[kProtocolTag] = protocolFor(service, port);
    if (common::jsonString(common::jsonMember(service, "spec"), "clusterIP") == "None") {
      tags[kInstanceTag] = podName_;
    }
    return tags;
  }

  Inbound servicelessInbound(const std::string& name,
                             const std::map<std::string, std::string>& node) {
    Inbound inbound;
    inbound.set_port(kServicelessInboundPort);
    if (!options_.inboundTagsDisabled) {
      auto tags = podLabelTags(in_.pod, false);
      tags[kKubeNamespaceTag] = namespace_;
      tags[kServiceTag] = absl::StrCat(name, "_", namespace_, "_svc");
      if (!options_.zone.empty()) {
        tags[kZoneTag] = options_.zone;
      }
      tags[kProtocolTag] = "tcp";
      tags[kInstanceTag] = podName_;
      for (const auto& [k, v] : node) {
        tags[k] = v;
      }
      inbound.mutable_tags()->insert(tags.begin(), tags.end());
    }
    bool ready = true;
    const Json& containers = common::jsonMember(common::jsonMember(in_.pod, "spec"), "containers");
    if (containers.is_array()) {
      for (const Json& container : containers) {
        const std::string name = common::jsonString(container, "name");
        if (name != kSidecarContainerName &&
            statusNotReady(containerStatus(in_.pod, name, false))) {
          ready = false;
        }
      }
    }
    if (statusNotReady(containerStatus(in_.pod, kSidecarContainerName, true))) {
      ready = false;
    }
    inbound.set_state(ready ? Inbound::Ready : Inbound::NotReady);
    inbound.mutable_health()->set_ready(ready);
    inbound.set_protocol("tcp");
    return inbound;
  }

  static std::vector<Inbound> deduplicated(std::vector<Inbound> inbounds) {
    std::vector<Inbound> out;
    std::set<std::pair<std::string, uint32_t>> seen;
    for (auto& inbound : inbounds) {
      if (seen.emplace(inbound.address(), inbound.port()).second) {
        out.push_back(std::move(inbound));
      }
    }
    return out;
  }

  absl::Status metrics(mesh::Dataplane& spec) {
    const std::string* path = annotations_.find(kMetricsPath);
    KUMA_ASSIGN_OR_RETURN(auto port, annotations_.uint32(kMetricsPort));
    // prometheus.metrics.kuma.io/aggregate-<app>-(port|path|enabled)
    std::set<std::string> apps;
    for (const auto& [key, value] : annotations_.all()) {
      if (!absl::StartsWith(key, kAggregatePrefix)) {
        continue;
      }
      absl::string_view rest = absl::string_view(key).substr(kAggregatePrefix.size());
      for (absl::string_view suffix : {"-port", "-path", "-enabled"}) {
        if (absl::EndsWith(rest, suffix) && rest.size() > suffix.size()) {
          absl::string_view app = rest.substr(0, rest.size() - suffix.size());
          if (std::all_of(app.begin(), app.end(), [](char c) {
                return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-';
              })) {
            apps.emplace(app);
          }
        }
      }
    }
    if ((path == nullptr || path->empty()) && !port.has_value() && apps.empty()) {
      return absl::OkStatus();
    }
    Json conf = Json::object();
    if (path != nullptr && !path->empty()) {
      conf["path"] = *path;
    }
    if (port.has_value() && *port != 0) {
      conf["port"] = *port;
    }
    if (!apps.empty()) {
      Json aggregate = Json::array();
      for (const std::string& app : apps) {
        const std::string base = absl::StrCat(kAggregatePrefix, app);
        KUMA_ASSIGN_OR_RETURN(auto enabled, annotations_.enabled(base + "-enabled"));
        const bool on = !(enabled.second && !enabled.first);
        const std::string* appPath = annotations_.find(base + "-path");
        const std::string* address = annotations_.find(base + "-address");
        KUMA_ASSIGN_OR_RETURN(auto appPort, annotations_.uint32(base + "-port"));
        if (!appPort.has_value() && on) {
          return absl::InvalidArgumentError("port needs to be specified for metrics scraping");
        }
        Json item = {{"name", app}, {"path", appPath == nullptr ? "/metrics" : *appPath}};
        if (appPort.has_value() && *appPort != 0) {
          item["port"] = *appPort;
        }
        if (address != nullptr && !address->empty()) {
          item["address"] = *address;
        }
        item["enabled"] = on;
        aggregate.push_back(std::move(item));
      }
      conf["aggregate"] = std::move(aggregate);
    }
    auto& backend = *spec.mutable_metrics();
    backend.set_type("prometheus");
    google::protobuf::util::JsonParseOptions parse;
    if (!google::protobuf::util::JsonStringToMessage(conf.dump(), backend.mutable_conf(), parse)
             .ok()) {
      return absl::InternalError("cannot encode the metrics backend");
    }
    return absl::OkStatus();
  }

  absl::Status probes(mesh::Dataplane& spec) {
    KUMA_ASSIGN_OR_RETURN(auto enabled, annotations_.enabled(kVirtualProbes));
    if (!enabled.second || !enabled.first) {
      return absl::OkStatus();
    }
    KUMA_ASSIGN_OR_RETURN(auto port, annotations_.uint32(kVirtualProbesPort));
    if (!port.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kVirtualProbesPort, " annotation doesn't exist"));
    }
    KUMA_ASSIGN_OR_RETURN(auto proxyPort, annotations_.uint32(kApplicationProbeProxyPort));
    auto& probes = *spec.mutable_probes();
    probes.set_port(*port);
    std::vector<const Json*> containers;
    const Json& spec_ = common::jsonMember(in_.pod, "spec");
    bool afterSidecar = false;
    if (const Json& inits = common::jsonMember(spec_, "initContainers"); inits.is_array()) {
      for (const Json& c : inits) {
        if (common::jsonString(c, "name") == kSidecarContainerName) {
          afterSidecar = true;
          continue;
        }
        if (afterSidecar && common::jsonString(c, "restartPolicy") == "Always") {
          containers.push_back(&c);
        }
      }
    }
    if (const Json& regular = common::jsonMember(spec_, "containers"); regular.is_array()) {
      for (const Json& c : regular) {
        if (common::jsonString(c, "name") != kSidecarContainerName) {
          containers.push_back(&c);
        }
      }
    }
    for (const Json* c : containers) {
      for (const char* kind : {"livenessProbe", "readinessProbe", "startupProbe"}) {
        const Json& httpGet = common::jsonMember(common::jsonMember(*c, kind), "httpGet");
        if (!httpGet.is_object()) {
          continue;
        }
        KUMA_RETURN_IF_ERROR(probeEndpoint(httpGet, *port, proxyPort.value_or(0), probes));
      }
    }
    return absl::OkStatus();
  }

  /** Kuma's probeFor with KumaProbe.ToReal: /<port>/<path> on the virtual port. */
  static absl::Status probeEndpoint(const Json& httpGet, uint32_t virtualPort, uint32_t proxyPort,
                                    mesh::Dataplane::Probes& probes) {
    const Json& portJson = common::jsonMember(httpGet, "port");
    int64_t port = 0;  // intstr.IntValue(): a named port is 0
    if (portJson.is_number_integer()) {
      port = portJson.get<int64_t>();
    } else if (portJson.is_string()) {
      (void)absl::SimpleAtoi(portJson.get<std::string>(), &port);
    }
    if (proxyPort > 0 && port == proxyPort) {
      port = virtualPort;
    }
    const std::string path = common::jsonString(httpGet, "path");
    const std::string prefix = "unable to convert virtual probe to real: ";
    if (port != virtualPort) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "probe's port ", static_cast<uint32_t>(port),
                       " should be equal to virtual port ", virtualPort));
    }
    std::vector<std::string> segments = absl::StrSplit(path, '/');
    if (segments.size() < 2 || !segments[0].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "not enough segments in probe's path"));
    }
    if (segments[1] == "tcp" || segments[1] == "grpc") {
      return absl::OkStatus();
    }
    int32_t realPort = 0;
    if (!absl::SimpleAtoi(segments[1], &realPort)) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, "invalid port value ", segments[1]));
    }
    auto& endpoint = *probes.add_endpoints();
    endpoint.set_inbound_port(static_cast<uint32_t>(realPort));
    endpoint.set_inbound_path(absl::StrCat(
        "/", absl::StrJoin(std::vector<std::string>(segments.begin() + 2, segments.end()), "/")));
    endpoint.set_path(path);
    return absl::OkStatus();
  }

  /** Kuma's resource_labels.Compute for a Dataplane of a Pod on a zone control plane. */
  absl::StatusOr<std::map<std::string, std::string>> labels() {
    std::map<std::string, std::string> labels = in_.existingLabels;
    for (const auto& [k, v] : stringMap(common::jsonMember(metadataOf(in_.pod), "labels"))) {
      labels[k] = v;
    }
    if (options_.inboundTagsDisabled) {
      KUMA_ASSIGN_OR_RETURN(auto node, nodeLabels());
      for (const auto& [k, v] : node) {
        labels[k] = v;
      }
    }
    labels.try_emplace(kMeshLabel, in_.mesh.empty() ? "default" : in_.mesh);
    labels.try_emplace(kOriginLabel, "zone");
    if (labels[kOriginLabel] != "global") {
      labels.try_emplace(kZoneTag, options_.zone);
      labels.try_emplace(kEnvLabel, "kubernetes");
    }
    if (labels[kOriginLabel] == "zone") {
      labels.try_emplace(kKubeNamespaceTag, namespace_);
    }
    labels[kProxyTypeLabel] = "sidecar";
    const std::string serviceAccount =
        common::jsonString(common::jsonMember(in_.pod, "spec"), "serviceAccountName");
    if (!serviceAccount.empty()) {
      labels[kServiceAccountLabel] = serviceAccount;
    }
    std::string workload = serviceAccount;
    const auto podLabels = stringMap(common::jsonMember(metadataOf(in_.pod), "labels"));
    for (const std::string& key : options_.workloadLabels) {
      if (auto it = podLabels.find(key); it != podLabels.end() && !it->second.empty()) {
        workload = it->second;
        break;
      }
    }
    if (!workload.empty()) {
      labels[kWorkloadLabel] = workload;
    }
    return labels;
  }

  const PodConversionInput& in_;
  const PodConverterOptions& options_;
  const PodConverterLookups& lookups_;
  const Annotations annotations_;
  const std::string podName_;
  const std::string namespace_;
};

}  // namespace

std::map<std::string, std::string> stringMap(const Json& object) {
  std::map<std::string, std::string> out;
  if (!object.is_object()) {
    return out;
  }
  for (const auto& [key, value] : object.items()) {
    if (value.is_string()) {
      out[key] = value.get<std::string>();
    }
  }
  return out;
}

absl::StatusOr<bool> annotationEnabled(const std::map<std::string, std::string>& values,
                                       const std::string& key) {
  KUMA_ASSIGN_OR_RETURN(auto enabled, Annotations(values).enabled(key));
  return enabled.second && enabled.first;
}

absl::StatusOr<bool> sidecarInjected(const Json& pod) {
  Annotations annotations(stringMap(common::jsonMember(metadataOf(pod), "annotations")));
  KUMA_ASSIGN_OR_RETURN(auto injected, annotations.enabled(kSidecarInjectedAnnotation));
  return injected.second && injected.first;
}

std::string meshOfPod(const Json& pod, const Json& ns) {
  for (const Json* object : {&pod, &ns}) {
    for (const char* where : {"labels", "annotations"}) {
      const std::string mesh =
          common::jsonString(common::jsonMember(metadataOf(*object), where), kMeshAnnotation);
      if (!mesh.empty()) {
        return mesh;
      }
    }
  }
  return "default";
}

bool serviceSelectsPod(const Json& service, const Json& pod,
                       const std::vector<std::string>& ignoredSelectorLabels) {
  auto selector = stringMap(common::jsonMember(common::jsonMember(service, "spec"), "selector"));
  for (const std::string& ignored : ignoredSelectorLabels) {
    selector.erase(ignored);
  }
  const auto labels = stringMap(common::jsonMember(metadataOf(pod), "labels"));
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) {
      return false;
    }
  }
  return true;
}

std::vector<Json> selectingServices(const Json& pod,
                                    const std::vector<const Json*>& servicesOfNamespace,
                                    const std::vector<std::string>& ignoredSelectorLabels) {
  std::map<std::string, const Json*> byName;
  for (const Json* servicePointer : servicesOfNamespace) {
    const Json& service = *servicePointer;
    Annotations annotations(stringMap(common::jsonMember(metadataOf(service), "annotations")));
    auto ignore = annotations.enabled(kIgnore);
    if (ignore.ok() && ignore->first) {
      continue;
    }
    if (stringMap(common::jsonMember(common::jsonMember(service, "spec"), "selector")).empty()) {
      continue;  // matched by EndpointSlices in Kuma (not watched here)
    }
    if (serviceSelectsPod(service, pod, ignoredSelectorLabels)) {
      byName[common::jsonString(metadataOf(service), "name")] = &service;
    }
  }
  std::vector<Json> out;
  out.reserve(byName.size());
  for (const auto& [name, service] : byName) {
    out.push_back(*service);
  }
  return out;
}

std::vector<Json> selectingServices(const Json& pod, const std::vector<Json>& servicesOfNamespace,
                                    const std::vector<std::string>& ignoredSelectorLabels) {
  std::vector<const Json*> pointers;
  pointers.reserve(servicesOfNamespace.size());
  for (const Json& service : servicesOfNamespace) {
    pointers.push_back(&service);
  }
  return selectingServices(pod, pointers, ignoredSelectorLabels);
}

absl::StatusOr<ConvertedDataplane> convertPod(const PodConversionInput& input,
                                              const PodConverterOptions& options,
                                              const PodConverterLookups& lookups) {
  return Converter(input, options, lookups).run();
}

}  // namespace kuma::k8s::runtime
