#include "bench/xds_load/proxy_spec.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"

namespace kuma::bench::load {
namespace {

// Envoy 1.38.2 as kuma-dp 2.14 reports it in the bootstrap request.
constexpr char kEnvoyVersion[] = "1.38.2";
constexpr char kKumaDpVersion[] = "2.14.3";

std::string addressOf(size_t index) {
  const size_t n = index + 1;
  return absl::StrCat("10.", (n >> 16) & 0xff, ".", (n >> 8) & 0xff, ".", n & 0xff);
}

}  // namespace

std::string serviceName(size_t index, size_t services) {
  size_t width = 4;
  for (size_t n = services > 0 ? services - 1 : 0; n >= 10000; n /= 10) {
    ++width;
  }
  return absl::StrFormat("svc-%0*d", static_cast<int>(width), index);
}

ProxySpec makeProxySpec(const LoadOptions& options, size_t index) {
  ProxySpec spec;
  spec.index = index;
  spec.name = absl::StrCat(options.namePrefix, "-", index);
  spec.nodeId = absl::StrCat(options.mesh, ".", spec.name);

  const std::string address = addressOf(index);
  nlohmann::json inbounds = nlohmann::json::array();
  for (size_t j = 0; j < options.inbounds; ++j) {
    const size_t service = (index * options.inbounds + j) % options.services;
    spec.inboundServices.push_back(serviceName(service, options.services));
    inbounds.push_back(
        {{"port", 8080 + j},
         {"servicePort", 18080 + j},
         {"tags",
          {{"kuma.io/service", spec.inboundServices.back()}, {"kuma.io/protocol", "http"}}}});
  }
  const size_t own = (index * options.inbounds) % options.services;
  const size_t destinations = std::max(options.outbounds, options.reachableServices);
  for (size_t k = 1; k <= destinations; ++k) {
    spec.destinations.push_back(serviceName((own + k) % options.services, options.services));
  }

  nlohmann::json networking = {
      {"address", address}, {"admin", {{"port", 9901}}}, {"inbound", std::move(inbounds)}};
  if (options.outbounds > 0) {
    nlohmann::json outbound = nlohmann::json::array();
    for (size_t k = 0; k < spec.destinations.size(); ++k) {
      outbound.push_back(
          {{"port", 10001 + k}, {"tags", {{"kuma.io/service", spec.destinations[k]}}}});
    }
    networking["outbound"] = std::move(outbound);
  }
  if (options.reachableServices > 0 || options.transparentProxy) {
    nlohmann::json tp = {{"redirectPortInbound", 15006}, {"redirectPortOutbound", 15001}};
    if (options.reachableServices > 0) {
      tp["reachableServices"] = spec.destinations;
    }
    networking["transparentProxying"] = std::move(tp);
  }
  spec.dataplane = {{"type", "Dataplane"},
                    {"mesh", options.mesh},
                    {"name", spec.name},
                    {"networking", std::move(networking)}};
  return spec;
}

nlohmann::json nodeMetadataJson(const LoadOptions& options, const ProxySpec& spec) {
  // kuma-dp 2.14's default feature set (spec §5.2), plus delta when asked for; the transparent
  // proxy settings travel in the Dataplane (networking.transparentProxying), not in metadata.
  nlohmann::json features = {"feature-tcp-accesslog-via-named-pipe", "feature-otel-via-kuma-dp",
                             "feature-strict-inbound-ports", "feature-reuse-port"};
  if (options.protocol == Protocol::Delta) {
    features.push_back("feature-delta-grpc");
  }
  const std::string workdir = absl::StrCat("/tmp/kuma-dp-", spec.index);
  return {
      {"version",
       {{"kumaDp",
         {{"version", kKumaDpVersion},
          {"gitTag", absl::StrCat(kKumaDpVersion)},
          {"gitCommit", "kuma-xds-load"},
          {"buildDate", "2026-01-01T00:00:00Z"}}},
        {"envoy",
         {{"version", kEnvoyVersion},
          {"build", absl::StrCat("kuma-xds-load/", kEnvoyVersion, "/Clean/RELEASE/BoringSSL")},
          {"kumaDpCompatible", true}}}}},
      {"features", std::move(features)},
      {"workdir", workdir},
      {"metricsCertPath", ""},
      {"metricsKeyPath", ""},
      {"systemCaPath", "/etc/ssl/certs/ca-certificates.crt"},
      {"ipv6Enabled", false},
      {"spireAgent.socketPath", ""},
      {"dataplane.resource", spec.dataplane.dump()},
      {"dataplane.admin.port", "9901"},
      {"dataplane.admin.address", "127.0.0.1"},
      {"dataplane.admin.socketPath", absl::StrCat(workdir, "/kuma-envoy-admin.sock")},
      {"dataplane.dns.port", "15054"},
      {"dataplane.readinessReporter.port", "9902"},
      {"dataplane.proxyType", "dataplane"},
  };
}

envoy::config::core::v3::Node makeNode(const LoadOptions& options, const ProxySpec& spec) {
  envoy::config::core::v3::Node node;
  node.set_id(spec.nodeId);
  std::vector<std::string> sorted = spec.inboundServices;
  std::sort(sorted.begin(), sorted.end());
  node.set_cluster(sorted.empty() ? "unknown" : sorted.front());
  // The metadata is built as JSON and converted, exactly as the bootstrap YAML becomes Envoy's
  // Struct; a failure here would be a bug in nodeMetadataJson (plain strings, numbers, lists).
  auto status = google::protobuf::util::JsonStringToMessage(nodeMetadataJson(options, spec).dump(),
                                                            node.mutable_metadata());
  (void)status;
  node.set_user_agent_name("envoy");
  auto* version = node.mutable_user_agent_build_version()->mutable_version();
  version->set_major_number(1);
  version->set_minor_number(38);
  version->set_patch(2);
  node.add_client_features("envoy.lb.does_not_support_overprovisioning");
  node.add_client_features("envoy.lrs.supports_send_all_clusters");
  node.add_client_features("envoy.config.require-any-fields-contain-struct");
  return node;
}

}  // namespace kuma::bench::load
