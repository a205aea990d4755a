#include "source/xds/bootstrap/generator.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "source/common/json_yaml.h"

namespace kuma::xds::bootstrap {
namespace {

// Envoy's admin port: the Dataplane's `networking.admin.port`, else bootstrapServer.params.
uint32_t adminPortOf(const BootstrapInput& in, const BootstrapParams& params) {
  const nlohmann::json& spec = in.dataplaneSpec;
  if (spec.is_object() && spec.contains("networking") && spec["networking"].is_object()) {
    const nlohmann::json& networking = spec["networking"];
    if (networking.contains("admin") && networking["admin"].is_object() &&
        networking["admin"].contains("port") && networking["admin"]["port"].is_number_unsigned() &&
        networking["admin"]["port"].get<uint32_t>() != 0) {
      return networking["admin"]["port"].get<uint32_t>();
    }
  }
  return params.adminPort;
}

using OJson = nlohmann::ordered_json;

constexpr char kAdsCluster[] = "ads_cluster";
constexpr char kAccessLogSink[] = "access_log_sink";
constexpr char kCpValidationCtx[] = "cp_validation_ctx";
constexpr char kHttpProtocolOptionsType[] =
    "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

std::string durationJson(absl::Duration d) {
  // proto-JSON Duration: seconds with an "s" suffix ("1s", "0.500s").
  const int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms % 1000 == 0) {
    return absl::StrCat(ms / 1000, "s");
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%lld.%03llds", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return buf;
}

bool defaultResolvesOnlyToIpv4(const std::string& host) {
  struct addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* result = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &result) != 0) {
    return false;
  }
  bool any = false;
  bool onlyV4 = true;
  for (struct addrinfo* a = result; a != nullptr; a = a->ai_next) {
    any = true;
    onlyV4 = onlyV4 && a->ai_family == AF_INET;
  }
  freeaddrinfo(result);
  return any && onlyV4;
}

OJson explicitHttp2() {
  return OJson{{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                OJson{{"@type", kHttpProtocolOptionsType},
                      {"explicitHttpConfig", OJson{{"http2ProtocolOptions", OJson::object()}}}}}};
}

OJson tcpKeepalive() {
  return OJson{{"tcpKeepalive",
                OJson{{"keepaliveProbes", 3}, {"keepaliveTime", 10}, {"keepaliveInterval", 10}}}};
}

OJson endpointAddress(const OJson& address) {
  return OJson::array(
      {OJson{{"lbEndpoints", OJson::array({OJson{{"endpoint", OJson{{"address", address}}}}})}}});
}

OJson statsConfig() {
  auto tag = [](const char* name, const char* regex) {
    return OJson{{"tagName", name}, {"regex", regex}};
  };
  return OJson{{"statsTags", OJson::array({
                                 tag("name", "^grpc\\.((.+)\\.)"),
                                 tag("status", "^grpc.*streams_closed(_([0-9]+))"),
                                 tag("kafka_name", "^kafka(\\.(\\S*[0-9]))\\."),
                                 tag("kafka_type", "^kafka\\..*\\.(.*?(?=_duration|$))"),
                                 tag("worker", "(worker_([0-9]+)\\.)"),
                                 tag("listener", "((.+?)\\.)rbac\\."),
                             })}};
}

OJson grpcServices(const BootstrapInput& in, const BootstrapParams& params) {
  const BootstrapRequest& req = *in.request;
  OJson service;
  if (params.enableReloadableTokens && !req.dataplaneTokenPath.empty()) {
    // Reloadable tokens: Google gRPC reads the token file on every call, no ads_cluster.
    service["googleGrpc"] = OJson{
        {"targetUri", absl::StrCat(in.xdsHost, ":", in.xdsPort)},
        {"channelCredentials",
         OJson{{"sslCredentials",
                OJson{{"rootCerts", OJson{{"inlineBytes", absl::Base64Escape(in.caPem)}}}}}}},
        {"callCredentials",
         OJson::array({OJson{
             {"fromPlugin",
              OJson{{"name", "envoy.grpc_credentials.file_based_metadata"},
                    {"typedConfig",
                     OJson{{"@type",
                            "type.googleapis.com/"
                            "envoy.config.grpc_credential.v3.FileBasedMetadataConfig"},
                           {"secretData", OJson{{"filename", req.dataplaneTokenPath}}}}}}}}})},
        {"statPrefix", "ads"},
        // Without it Envoy builds default channel credentials and drops the call credentials:
        // the token never reaches the control plane.
        {"credentialsFactoryName", "envoy.grpc_credentials.file_based_metadata"},
        {"channelArgs",
         OJson{{"args", OJson{{"grpc.keepalive_time_ms", OJson{{"intValue", "10000"}}},
                              {"grpc.keepalive_timeout_ms", OJson{{"intValue", "30000"}}},
                              {"grpc.http2.max_pings_without_data", OJson{{"intValue", "0"}}},
                              {"grpc.max_receive_message_length",
                               OJson{{"intValue",
                                      std::to_string(params.xdsGrpcMaxReceiveMessageBytes)}}}}}}},
    };
  } else {
    service["envoyGrpc"] = OJson{{"clusterName", kAdsCluster}};
    if (!req.dataplaneToken.empty()) {
      service["initialMetadata"] =
          OJson::array({OJson{{"key", "authorization"}, {"value", req.dataplaneToken}}});
    }
  }
  return OJson::array({service});
}

OJson nodeMetadata(const BootstrapInput& in, const BootstrapParams& params,
                   const std::string& adminSocket) {
  const BootstrapRequest& req = *in.request;
  OJson md = OJson::object();
  if (!req.version.is_null()) {
    md["version"] = OJson::parse(req.version.dump());
  }
  md["features"] = req.features;
  md["workdir"] = req.workdir;
  md["metricsCertPath"] = req.metricsCertPath;
  md["metricsKeyPath"] = req.metricsKeyPath;
  md["systemCaPath"] = req.systemCaPath;
  md["ipv6Enabled"] = req.ipv6Enabled;
  md["spireAgent.socketPath"] = req.spireSocketPath;
  if (!req.dataplaneResource.empty()) {
    md["dataplane.resource"] = req.dataplaneResource;
  }
  const uint32_t adminPort = adminPortOf(in, params);
  md["dataplane.admin.port"] = std::to_string(adminPort);
  md["dataplane.admin.address"] = params.adminAddress;
  if (!adminSocket.empty()) {
    md["dataplane.admin.socketPath"] = adminSocket;
  }
  if (req.dnsPort != 0) {
    md["dataplane.dns.port"] = std::to_string(req.dnsPort);
  }
  md["dataplane.readinessReporter.port"] =
      std::to_string(req.readinessPort != 0 ? req.readinessPort : params.readinessPort);
  if (req.appProbeProxyEnabled) {
    md["dataplane.appProbeProxy.enabled"] = "true";
  }
  md["dataplane.proxyType"] = req.proxyType;
  if (req.dynamicMetadata.is_object() && !req.dynamicMetadata.empty()) {
    md["dynamicMetadata"] = OJson::parse(req.dynamicMetadata.dump());
  }
  if (req.dataplaneConfig.is_object()) {
    md["transparentProxy"] = OJson::parse(req.dataplaneConfig.dump());
  }
  if (req.otelEnv.is_object() && !req.otelEnv.empty()) {
    md["otelEnvInventory"] = OJson::parse(req.otelEnv.dump());
  }
  return md;
}

}  // namespace

bool isIpAddress(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string socketPath(const std::string& dir, const std::string& base) {
  std::string path = absl::StrCat(dir, "/", base);
  if (path.size() > 98) {
    path.resize(98);
  }
  return path + ".sock";
}

std::string serviceClusterOf(const nlohmann::json& spec) {
  std::set<std::string> services;
  auto collect = [&services](const nlohmann::json& tags) {
    if (tags.is_object()) {
      auto it = tags.find("kuma.io/service");
      if (it != tags.end() && it->is_string()) {
        services.insert(it->get<std::string>());
      }
    }
  };
  if (spec.is_object() && spec.contains("networking") && spec["networking"].is_object()) {
    const nlohmann::json& net = spec["networking"];
    if (auto in = net.find("inbound"); in != net.end() && in->is_array()) {
      for (const auto& inbound : *in) {
        if (inbound.is_object() && inbound.contains("tags")) {
          collect(inbound["tags"]);
        }
      }
    }
    if (auto gw = net.find("gateway"); gw != net.end() && gw->is_object() && gw->contains("tags")) {
      collect((*gw)["tags"]);
    }
  }
  return services.empty() ? "unknown" : *services.begin();
}

nlohmann::ordered_json generateBootstrap(const BootstrapInput& in, const BootstrapParams& params) {
  const BootstrapRequest& req = *in.request;
  const std::string adminSocket = params.envoyAdminUnixSocket && !req.workdir.empty()
                                      ? socketPath(req.workdir, "kuma-envoy-admin")
                                      : "";
  OJson bootstrap;
  bootstrap["node"] = OJson{{"id", absl::StrCat(in.mesh, ".", in.name)},
                            {"cluster", serviceClusterOf(in.dataplaneSpec)},
                            {"metadata", nodeMetadata(in, params, adminSocket)}};

  OJson adminAddress;
  if (!adminSocket.empty()) {
    adminAddress["pipe"] = OJson{{"path", adminSocket}, {"mode", 384}};
  } else {
    adminAddress["socketAddress"] =
        OJson{{"address", params.adminAddress}, {"portValue", adminPortOf(in, params)}};
  }
  bootstrap["admin"] = OJson{
      {"address", adminAddress},
      {"accessLog",
       OJson::array({OJson{
           {"name", "envoy.access_loggers.file"},
           {"typedConfig",
            OJson{{"@type",
                   "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"},
                  {"path", params.adminAccessLogPath}}}}})}};
  bootstrap["layeredRuntime"] = OJson{
      {"layers", OJson::array({OJson{
                     {"name", "kuma"},
                     {"staticLayer", OJson{{"re2.max_program_size.error_level", 4294967295ULL},
                                           {"re2.max_program_size.warn_level", 1000}}}}})}};
  bootstrap["defaultRegexEngine"] =
      OJson{{"name", "envoy.regex_engines.google_re2"},
            {"typedConfig",
             OJson{{"@type", "type.googleapis.com/envoy.extensions.regex_engines.v3.GoogleRE2"}}}};
  bootstrap["statsConfig"] = statsConfig();

  const OJson services = grpcServices(in, params);
  const bool delta = req.hasFeature(kFeatureDeltaGrpc);
  auto adsSource = [] {
    return OJson{
        {"ads", OJson::object()}, {"initialFetchTimeout", "0s"}, {"resourceApiVersion", "V3"}};
  };
  bootstrap["dynamicResources"] =
      OJson{{"adsConfig", OJson{{"apiType", delta ? "DELTA_GRPC" : "GRPC"},
                                {"transportApiVersion", "V3"},
                                {"setNodeOnFirstMessageOnly", true},
                                {"grpcServices", services}}},
            {"cdsConfig", adsSource()},
            {"ldsConfig", adsSource()}};
  if (params.hdsEnabled) {
    bootstrap["hdsConfig"] = OJson{{"apiType", "GRPC"},
                                   {"transportApiVersion", "V3"},
                                   {"setNodeOnFirstMessageOnly", true},
                                   {"grpcServices", services}};
  }

  OJson clusters = OJson::array();
  const std::string alSocket = socketPath(req.workdir.empty() ? "/tmp" : req.workdir,
                                          absl::StrCat("kuma-al-", in.name, "-", in.mesh));
  clusters.push_back(OJson{
      {"name", kAccessLogSink},
      {"type", "STATIC"},
      {"connectTimeout", durationJson(params.xdsConnectTimeout)},
      {"lbPolicy", "ROUND_ROBIN"},
      {"loadAssignment",
       OJson{{"clusterName", kAccessLogSink},
             {"endpoints", endpointAddress(OJson{{"pipe", OJson{{"path", alSocket}}}})}}},
      {"typedExtensionProtocolOptions", explicitHttp2()},
      {"upstreamConnectionOptions", tcpKeepalive()},
  });
  if (services[0].contains("envoyGrpc")) {
    const bool ip = isIpAddress(in.xdsHost);
    OJson ads{{"name", kAdsCluster}, {"type", ip ? "STATIC" : "STRICT_DNS"}};
    if (!ip) {
      auto resolver = params.resolvesOnlyToIpv4
                          ? params.resolvesOnlyToIpv4
                          : std::function<bool(const std::string&)>(defaultResolvesOnlyToIpv4);
      if (resolver(in.xdsHost)) {
        ads["dnsLookupFamily"] = "V4_ONLY";
      }
    }
    OJson commonTls{{"tlsParams", OJson{{"tlsMinimumProtocolVersion", "TLSv1_2"}}},
                    {"validationContextSdsSecretConfig", OJson{{"name", kCpValidationCtx}}}};
    if (params.adsAlpnH2) {
      commonTls["alpnProtocols"] = OJson::array({"h2"});
    }
    ads["connectTimeout"] = durationJson(params.xdsConnectTimeout);
    ads["lbPolicy"] = "ROUND_ROBIN";
    ads["loadAssignment"] = OJson{
        {"clusterName", kAdsCluster},
        {"endpoints", endpointAddress(OJson{{"socketAddress", OJson{{"address", in.xdsHost},
                                                                    {"portValue", in.xdsPort}}}})}};
    ads["typedExtensionProtocolOptions"] = explicitHttp2();
    ads["upstreamConnectionOptions"] = tcpKeepalive();
    ads["transportSocket"] = OJson{
        {"name", "envoy.transport_sockets.tls"},
        {"typedConfig",
         OJson{{"@type",
                "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"},
               {"sni", in.xdsHost},
               {"commonTlsContext", commonTls}}}};
    clusters.push_back(std::move(ads));
  }
  OJson secrets = OJson::array({OJson{
      {"name", kCpValidationCtx},
      {"validationContext",
       OJson{{"trustedCa", OJson{{"inlineBytes", absl::Base64Escape(in.caPem)}}},
             {"matchTypedSubjectAltNames",
              OJson::array({OJson{{"sanType", "DNS"}, {"matcher", OJson{{"exact", in.xdsHost}}}},
                            OJson{{"sanType", "IP_ADDRESS"},
                                  {"matcher", OJson{{"exact", in.xdsHost}}}}})}}}}});
  bootstrap["staticResources"] = OJson{{"clusters", clusters}, {"secrets", secrets}};
  return bootstrap;
}

std::string bootstrapYaml(const nlohmann::ordered_json& bootstrap) {
  return common::toYaml(bootstrap);
}

}  // namespace kuma::xds::bootstrap
