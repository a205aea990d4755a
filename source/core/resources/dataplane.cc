#include "source/core/resources/dataplane.h"

#include <cctype>
#include <regex>
#include <string>

#include "absl/strings/str_cat.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/validation_helpers.h"

namespace kuma::resources {
namespace {

using mesh::v1alpha1::Dataplane;
using Networking = mesh::v1alpha1::Dataplane::Networking;
using Inbound = mesh::v1alpha1::Dataplane::Networking::Inbound;
using Outbound = mesh::v1alpha1::Dataplane::Networking::Outbound;
using Gateway = mesh::v1alpha1::Dataplane::Networking::Gateway;

constexpr std::string_view kLoopback = "127.0.0.1";
constexpr std::string_view kBackendKindsHint =
    "invalid value. Available values are: MeshExternalService,MeshMultiZoneService,MeshService";

bool isUnspecified(std::string_view ip) {
  return ip == "0.0.0.0" || ip == "::";
}

// Kuma's `overlap`: an unspecified address overlaps with everything.
bool overlap(std::string_view a, std::string_view b) {
  return isUnspecified(a) || isUnspecified(b) || a == b;
}

bool isBackendKind(std::string_view kind) {
  return kind == "MeshService" || kind == "MeshExternalService" || kind == "MeshMultiZoneService";
}

// Go's url.ParseRequestURI accepts absolute paths and absolute URLs.
bool isRequestUri(const std::string& text) {
  if (text.empty()) {
    return false;
  }
  if (text.front() == '/') {
    return true;
  }
  static const std::regex absolute("^[a-zA-Z][a-zA-Z0-9+.\\-]*:.+$");
  return std::regex_match(text, absolute);
}

// Kuma's UsesInboundInterface: the dataplane or the workload side of an inbound uses the port.
bool usesInboundInterface(const Networking& networking, std::string_view address, uint32_t port) {
  for (const auto& inbound : networking.inbound()) {
    const std::string& dataplaneIp =
        inbound.address().empty() ? networking.address() : inbound.address();
    const std::string& workloadIp =
        inbound.service_address().empty() ? dataplaneIp : inbound.service_address();
    const uint32_t workloadPort =
        inbound.service_port() == 0 ? inbound.port() : inbound.service_port();
    if (port == inbound.port() && overlap(address, dataplaneIp)) {
      return true;
    }
    if (port == workloadPort && overlap(address, workloadIp)) {
      return true;
    }
  }
  return false;
}

bool usesOutboundInterface(const Networking& networking, std::string_view address, uint32_t port) {
  for (const auto& outbound : networking.outbound()) {
    const std::string_view ip = outbound.address().empty() ? kLoopback : outbound.address();
    if (port == outbound.port() && overlap(address, ip)) {
      return true;
    }
  }
  return false;
}

void validateAddress(const PathBuilder& path, const std::string& address, ValidationError& errors) {
  if (address.empty()) {
    errors.addViolationAt(path, "address can't be empty");
    return;
  }
  if (address == "0.0.0.0" || address == "::") {
    errors.addViolationAt(path, "must not be 0.0.0.0 or ::");
  }
  if (!isIp(address) && !isDnsName(address)) {
    errors.addViolationAt(path, "address has to be valid IP address or domain name");
  }
}

void validateServiceProbe(const PathBuilder& path, const Inbound::ServiceProbe& probe,
                          ValidationError& errors) {
  if (probe.has_interval()) {
    validateDuration(path.field("interval"), probe.interval(), errors);
  }
  if (probe.has_timeout()) {
    validateDuration(path.field("timeout"), probe.timeout(), errors);
  }
  if (probe.has_unhealthy_threshold() && probe.unhealthy_threshold().value() == 0) {
    errors.addViolationAt(path.field("unhealthyThreshold"), "must have a positive value");
  }
  if (probe.has_healthy_threshold() && probe.healthy_threshold().value() == 0) {
    errors.addViolationAt(path.field("healthyThreshold"), "must have a positive value");
  }
}

void validateInbound(const PathBuilder& path, const Inbound& inbound,
                     const std::string& dataplaneAddress, ValidationError& errors) {
  validatePort(path.field("port"), inbound.port(), errors);
  if (inbound.service_port() != 0) {
    validatePort(path.field("servicePort"), inbound.service_port(), errors);
  }
  const bool samePort = inbound.service_port() == 0 || inbound.service_port() == inbound.port();
  if (!inbound.service_address().empty()) {
    if (!isIp(inbound.service_address())) {
      errors.addViolationAt(path.field("serviceAddress"),
                            "serviceAddress has to be valid IP address");
    }
    if (inbound.service_address() == dataplaneAddress && samePort) {
      errors.addViolationAt(path.field("serviceAddress"),
                            "serviceAddress and servicePort has to differ from address and port");
    }
  }
  if (!inbound.address().empty()) {
    if (!isIp(inbound.address())) {
      errors.addViolationAt(path.field("address"), "address has to be valid IP address");
    }
    if (inbound.address() == inbound.service_address() && samePort) {
      errors.addViolationAt(path.field("serviceAddress"),
                            "serviceAddress and servicePort has to differ from address and port");
    }
  }
  if (!inbound.protocol().empty() && !isKnownProtocol(inbound.protocol())) {
    errors.addViolationAt(path.field("protocol"),
                          absl::StrCat("has an invalid value \"", inbound.protocol(), "\". ",
                                       protocolAllowedValuesHint()));
  }

  TagsOptions options;
  options.extra.push_back(
      [](const PathBuilder& tagsPath, const TagMap& tags, ValidationError& errs) {
        auto it = tags.find(std::string(kProtocolTag));
        if (it != tags.end() && !isKnownProtocol(it->second)) {
          errs.addViolationAt(
              tagsPath.key(kProtocolTag),
              absl::StrCat("tag \"", std::string(kProtocolTag), "\" has an invalid value \"",
                           it->second, "\". ", protocolAllowedValuesHint()));
        }
      });
  validateTags(path.field("tags"), inbound.tags(), options, errors);

  if (inbound.has_service_probe()) {
    validateServiceProbe(path.field("serviceProbe"), inbound.service_probe(), errors);
  }
}

void validateOutbound(const PathBuilder& path, const Outbound& outbound, ValidationError& errors) {
  validatePort(path.field("port"), outbound.port(), errors);
  if (!outbound.address().empty() && !isIp(outbound.address())) {
    errors.addViolationAt(path.field("address"), "address has to be valid IP address");
  }
  if (outbound.has_backend_ref()) {
    const auto& ref = outbound.backend_ref();
    if (!isBackendKind(ref.kind())) {
      errors.addViolationAt(path.field("backendRef").field("kind"), kBackendKindsHint);
    }
    if (ref.name().empty() && ref.labels().empty()) {
      errors.addViolationAt(path.field("backendRef"),
                            "either 'name' or 'labels' should be specified");
    }
    // For MeshExternalService the port comes from its endpoints.
    if (ref.kind() != "MeshExternalService") {
      validatePort(path.field("backendRef").field("port"), ref.port(), errors);
    }
  } else if (outbound.tags().empty()) {
    errors.addViolationAt(path.field("tags"), "mandatory tag \"kuma.io/service\" is missing");
  } else {
    TagsOptions options;
    options.requireService = true;
    validateTags(path.field("tags"), outbound.tags(), options, errors);
  }
  if (outbound.has_backend_ref() && !outbound.tags().empty()) {
    errors.addViolationAt(path.field("backendRef"),
                          "both backendRef and tags/service cannot be defined");
  }
}

void validateTransparentProxying(const PathBuilder& path, const Networking::TransparentProxying& tp,
                                 ValidationError& errors) {
  if (!tp.has_reachable_backends()) {
    return;
  }
  const PathBuilder refs = path.field("reachableBackends").field("refs");
  for (int i = 0; i < tp.reachable_backends().refs_size(); ++i) {
    const auto& ref = tp.reachable_backends().refs(i);
    const PathBuilder at = refs.index(i);
    if (!isBackendKind(ref.kind())) {
      errors.addViolationAt(at.field("kind"), kBackendKindsHint);
    }
    if (ref.name().empty() && ref.namespace_().empty() && ref.labels().empty()) {
      errors.addViolationAt(at.field("name"), "name or labels are required");
    }
    if (ref.name().empty() && !ref.namespace_().empty()) {
      errors.addViolationAt(at.field("name"), "name is required, when namespace is defined");
    }
    if ((!ref.name().empty() || !ref.namespace_().empty()) && !ref.labels().empty()) {
      errors.addViolationAt(at.field("labels"), "labels cannot be defined when name is specified");
    }
  }
}

void validateGateway(const PathBuilder& path, const Gateway& gateway, ValidationError& errors) {
  TagsOptions options;
  options.requireService = !gateway.tags().empty();
  options.extra.push_back([](const PathBuilder& tagsPath, const TagMap& tags,
                             ValidationError& errs) {
    auto it = tags.find(std::string(kProtocolTag));
    if (it != tags.end() && it->second != "tcp") {
      errs.addViolationAt(tagsPath.key(kProtocolTag),
                          absl::StrCat("other values than tcp are not allowed, provided value \"",
                                       it->second, "\""));
    }
  });
  validateTags(path.field("tags"), gateway.tags(), options, errors);
}

void validateNetworking(const PathBuilder& path, const Networking& networking,
                        ValidationError& errors) {
  validateAddress(path.field("address"), networking.address(), errors);
  for (int i = 0; i < networking.inbound_size(); ++i) {
    const auto& inbound = networking.inbound(i);
    const PathBuilder at = path.field("inbound").index(i);
    validateInbound(at, inbound, networking.address(), errors);
    // Tag-less inbounds are allowed (MeshServices Exclusive mode); tagged ones need a service.
    if (!inbound.tags().empty() &&
        inbound.tags().find(std::string(kServiceTag)) == inbound.tags().end()) {
      errors.addViolationAt(at.field("tags").key(kServiceTag), "tag has to exist");
    }
  }
  for (int i = 0; i < networking.outbound_size(); ++i) {
    validateOutbound(path.field("outbound").index(i), networking.outbound(i), errors);
  }
  // Kuma's path really says "transparentProxing".
  validateTransparentProxying(path.field("transparentProxing"), networking.transparent_proxying(),
                              errors);
}

void validateProbes(const Dataplane& dataplane, ValidationError& errors) {
  if (!dataplane.has_probes()) {
    return;
  }
  const PathBuilder path("probes");
  const auto& probes = dataplane.probes();
  validatePort(path.field("port"), probes.port(), errors);
  for (int i = 0; i < probes.endpoints_size(); ++i) {
    const auto& endpoint = probes.endpoints(i);
    const PathBuilder at = path.field("endpoints").index(i);
    validatePort(at.field("inboundPort"), endpoint.inbound_port(), errors);
    if (!isRequestUri(endpoint.inbound_path())) {
      errors.addViolationAt(at.field("inboundPath"), "should be a valid URL Path");
    }
    if (!isRequestUri(endpoint.path())) {
      errors.addViolationAt(at.field("path"), "should be a valid URL Path");
    }
  }
}

void validateMetrics(const Dataplane& dataplane, ValidationError& errors) {
  if (!dataplane.has_metrics()) {
    return;
  }
  if (dataplane.metrics().type() != "prometheus") {
    errors.addViolation("metrics.type", "unknown backend type. Available backends: \"prometheus\"");
  }
}

}  // namespace

bool dataplaneIsBuiltinGateway(const Dataplane& dataplane) {
  return dataplane.networking().has_gateway() &&
         dataplane.networking().gateway().type() == Gateway::BUILTIN;
}

void validateDataplane(const Dataplane& dataplane, ValidationError& errors) {
  const PathBuilder net("networking");
  if (!dataplane.has_networking()) {
    errors.addViolationAt(net, "must be defined");
    return;
  }
  const Networking& networking = dataplane.networking();

  if (networking.has_admin()) {
    const PathBuilder adminPort = net.field("admin").field("port");
    const uint32_t port = networking.admin().port();
    if (usesInboundInterface(networking, kLoopback, port)) {
      errors.addViolationAt(adminPort, "must differ from inbound");
    }
    if (usesOutboundInterface(networking, kLoopback, port)) {
      errors.addViolationAt(adminPort, "must differ from outbound");
    }
  }

  if (networking.has_gateway() && networking.gateway().type() == Gateway::DELEGATED) {
    if (networking.inbound_size() > 0) {
      errors.addViolationAt(net.field("inbound"),
                            "inbound cannot be defined for delegated gateways");
    }
    validateGateway(net.field("gateway"), networking.gateway(), errors);
    validateNetworking(net, networking, errors);
    validateProbes(dataplane, errors);
  } else if (networking.has_gateway()) {
    if (networking.inbound_size() > 0) {
      errors.addViolationAt(net.field("inbound"), "inbound cannot be defined for builtin gateways");
    }
    if (networking.outbound_size() > 0) {
      errors.addViolationAt(net.field("outbound"),
                            "outbound cannot be defined for builtin gateways");
    }
    if (dataplane.has_probes()) {
      errors.addViolationAt(net.field("probes"), "probes cannot be defined for builtin gateways");
    }
    validateGateway(net.field("gateway"), networking.gateway(), errors);
    validateNetworking(net, networking, errors);
  } else {
    if (networking.inbound_size() == 0) {
      errors.addViolationAt(net, "has to contain at least one inbound interface or gateway");
    }
    validateNetworking(net, networking, errors);
    validateProbes(dataplane, errors);
    validateMetrics(dataplane, errors);
  }
}

std::optional<Dataplane> dataplaneWithZoneTags(const Dataplane& dataplane, std::string_view zone) {
  Dataplane out = dataplane;
  bool changed = false;
  const std::string zoneTag(kZoneTag);
  auto apply = [&](TagMap& tags) {
    if (tags.empty()) {
      return;
    }
    auto it = tags.find(zoneTag);
    if (it == tags.end() || it->second != zone) {
      tags[zoneTag] = std::string(zone);
      changed = true;
    }
  };
  if (out.has_networking()) {
    for (auto& inbound : *out.mutable_networking()->mutable_inbound()) {
      apply(*inbound.mutable_tags());
    }
    if (out.networking().has_gateway()) {
      apply(*out.mutable_networking()->mutable_gateway()->mutable_tags());
    }
  }
  if (!changed) {
    return std::nullopt;
  }
  return out;
}

std::optional<Dataplane> dataplaneWithProbedInboundsNotReady(const Dataplane& dataplane) {
  Dataplane out = dataplane;
  bool changed = false;
  if (out.has_networking()) {
    for (auto& inbound : *out.mutable_networking()->mutable_inbound()) {
      if (!inbound.has_service_probe()) {
        continue;
      }
      if (inbound.state() != Inbound::NotReady || !inbound.has_health() ||
          inbound.health().ready()) {
        inbound.set_state(Inbound::NotReady);
        inbound.mutable_health()->set_ready(false);
        changed = true;
      }
    }
  }
  if (!changed) {
    return std::nullopt;
  }
  return out;
}

bool dataplaneMatchesTag(const model::Resource& resource, std::string_view key,
                         std::string_view valueSubstring) {
  const Dataplane* dataplane = model::protoSpecOf<Dataplane>(resource);
  if (dataplane == nullptr) {
    return false;
  }
  const std::string k(key);
  auto matches = [&](const TagMap& tags) {
    auto it = tags.find(k);
    if (it == tags.end()) {
      return false;
    }
    return valueSubstring == "*" || it->second.find(valueSubstring) != std::string::npos;
  };
  for (const auto& inbound : dataplane->networking().inbound()) {
    if (matches(inbound.tags())) {
      return true;
    }
  }
  return dataplane->networking().has_gateway() && matches(dataplane->networking().gateway().tags());
}

std::optional<bool> dataplaneIsGateway(const model::Resource& resource) {
  const Dataplane* dataplane = model::protoSpecOf<Dataplane>(resource);
  if (dataplane == nullptr) {
    return std::nullopt;
  }
  return dataplane->networking().has_gateway();
}

}  // namespace kuma::resources
