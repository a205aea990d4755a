#include "source/core/resources/mesh.h"
#include "source/xds/generator/generator.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/protocol.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "source/xds/envoy/http_filters.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "google/protobuf/util/time_util.h"
#include "source/common/logging.h"
#include "source/core/model/proto_spec.h"
#include "source/xds/envoy/destination.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/inbound_tls.h"
#include "source/xds/envoy/resource_set.h"
#include "source/xds/generator/dns_generator.h"
#include "source/xds/generator/external_service.h"
#include "source/xds/generator/meshservice_outbounds.h"
#include "source/xds/generator/proxy_policies.h"

namespace kuma::xds {
namespace {

namespace cluster_v3 = envoy::config::cluster::v3;
namespace core_v3 = envoy::config::core::v3;
namespace endpoint_v3 = envoy::config::endpoint::v3;
namespace listener_v3 = envoy::config::listener::v3;
namespace route_v3 = envoy::config::route::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;
namespace tls_v3 = envoy::extensions::transport_sockets::tls::v3;
using mesh::v1alpha1::CertificateAuthorityBackend;
using mesh::v1alpha1::Dataplane;
using Tags = std::map<std::string, std::string>;

constexpr char kAdminName[] = "kuma:envoy:admin";
constexpr char kReadinessName[] = "kuma:readiness";
constexpr char kPrometheusListenerName[] = "kuma:metrics:prometheus";
constexpr char kMetricsHijackerName[] = "kuma:metrics:hijacker";
// The only SAN a client of the admin listener's mTLS chain may present (the control plane).
constexpr char kEnvoyAdminClientSan[] = "kuma-cp";
constexpr char kTagsMetadataKey[] = "io.kuma.tags";
// base64(sha256(`[{"path":{"value":"/","type":"PathPrefix"}}]`)): the catch-all route's name.
constexpr char kUnifiedNameTag[] = "kuma.io/unified-name";
constexpr char kDefaultRouteName[] = "9Zuf5Tg79OuZcQITwBbQykxAk2u4fRKrwYn3//AL4Yo=";

google::protobuf::Duration toDuration(std::chrono::nanoseconds d) {
  return google::protobuf::util::TimeUtil::NanosecondsToDuration(d.count());
}

void setSocketAddress(core_v3::Address& address, const std::string& ip, uint32_t port) {
  auto* sa = address.mutable_socket_address();
  sa->set_address(ip);
  sa->set_port_value(port);
}

// Connections to the workload come from 127.0.0.6 (::6) so that iptables does not redirect them.
void setBindSource(envoy::config::cluster::v3::Cluster& c, const std::string& ip) {
  auto* sa = c.mutable_upstream_bind_config()->mutable_source_address();
  sa->set_address(ip);
  sa->set_port_value(0);
}

bool isLoopback(const std::string& ip) {
  return ip == "::1" || ip.rfind("127.", 0) == 0;
}

// ---- filters ----

tcp_v3::TcpProxy tcpProxy(const std::string& statPrefix, const std::string& cluster) {
  tcp_v3::TcpProxy proxy;
  proxy.set_stat_prefix(statPrefix);
  proxy.set_cluster(cluster);
  return proxy;
}

listener_v3::Filter tcpProxyFilter(const tcp_v3::TcpProxy& proxy) {
  listener_v3::Filter filter;
  filter.set_name("envoy.filters.network.tcp_proxy");
  *filter.mutable_typed_config() = packAny(proxy);
  return filter;
}

listener_v3::Filter hcmFilter(const hcm_v3::HttpConnectionManager& hcm) {
  listener_v3::Filter filter;
  filter.set_name("envoy.filters.network.http_connection_manager");
  *filter.mutable_typed_config() = packAny(hcm);
  return filter;
}

// ---- clusters ----

// `connectTimeout` nullopt: left to the policy plugins (MeshTimeout).
cluster_v3::Cluster staticCluster(const std::string& name, const std::string& ip, uint32_t port,
                                  std::optional<std::chrono::nanoseconds> connectTimeout) {
  cluster_v3::Cluster c;
  c.set_name(name);
  c.set_type(cluster_v3::Cluster::STATIC);
  if (connectTimeout) {
    *c.mutable_connect_timeout() = toDuration(*connectTimeout);
  }
  auto* cla = c.mutable_load_assignment();
  cla->set_cluster_name(name);
  auto* lb = cla->add_endpoints()->add_lb_endpoints();
  setSocketAddress(*lb->mutable_endpoint()->mutable_address(), ip, port);
  return c;
}

// A STATIC cluster whose one endpoint is the Unix socket `path`.
cluster_v3::Cluster staticPipeCluster(const std::string& name, const std::string& path,
                                      std::chrono::nanoseconds connectTimeout) {
  cluster_v3::Cluster c;
  c.set_name(name);
  c.set_type(cluster_v3::Cluster::STATIC);
  *c.mutable_connect_timeout() = toDuration(connectTimeout);
  auto* cla = c.mutable_load_assignment();
  cla->set_cluster_name(name);
  auto* lb = cla->add_endpoints()->add_lb_endpoints();
  lb->mutable_endpoint()->mutable_address()->mutable_pipe()->set_path(path);
  return c;
}

// ---- admin (spec §7.4) ----

// Where the admin and readiness clusters point: Envoy's admin must be on a loopback interface.
// The address comes from node metadata, which a proxy controls; any other value would turn these
// clusters into a gateway to another host.
absl::StatusOr<std::string> adminClusterAddress(const std::string& adminAddress) {
  if (adminAddress.empty() || adminAddress == "0.0.0.0" || adminAddress == "127.0.0.1") {
    return "127.0.0.1";
  }
  if (adminAddress == "::" || adminAddress == "::1") {
    return "::1";
  }
  return absl::InvalidArgumentError(
      "envoy admin cluster is not allowed to have addresses other than \"\", \"0.0.0.0\", "
      "\"127.0.0.1\", \"::\", \"::1\"");
}

// The admin port: metadata, else the Dataplane's `networking.admin.port`, else kuma-dp's default.
uint32_t adminPortOf(const Dataplane& spec, const ProxyOptions& options) {
  if (options.adminPort.has_value()) {
    return *options.adminPort;
  }
  const uint32_t port = spec.networking().admin().port();
  return port != 0 ? port : 9901;
}

// ---- mTLS (spec §7.2, §8.3) ----

enum class MtlsMode { kOff, kStrict, kPermissive };

MtlsMode mtlsMode(const mesh::v1alpha1::Mesh& mesh) {
  // (Validation makes `enabledBackend` name a backend.)
  const CertificateAuthorityBackend* backend = resources::enabledCaBackend(mesh);
  if (backend == nullptr) {
    return MtlsMode::kOff;
  }
  return backend->mode() == CertificateAuthorityBackend::PERMISSIVE ? MtlsMode::kPermissive
                                                                    : MtlsMode::kStrict;
}

// SDS over the ADS stream.
void setAdsSdsConfig(core_v3::ConfigSource& config) {
  config.mutable_ads();
  config.set_resource_api_version(core_v3::V3);
}

// The identity certificate and the mesh CA over SDS, with one URI SAN matcher.
// One URI SAN matcher: an exact SPIFFE ID, or (exact false) a prefix.
struct SanMatch {
  bool exact = true;
  std::string san;
};

tls_v3::CommonTlsContext meshTlsContext(const std::string& mesh,
                                        const std::vector<SanMatch>& sans) {
  tls_v3::CommonTlsContext common;
  auto* identity = common.add_tls_certificate_sds_secret_configs();
  identity->set_name(identitySecretName(mesh));
  setAdsSdsConfig(*identity->mutable_sds_config());
  auto* combined = common.mutable_combined_validation_context();
  for (const SanMatch& san : sans) {
    auto* matcher =
        combined->mutable_default_validation_context()->add_match_typed_subject_alt_names();
    matcher->set_san_type(tls_v3::SubjectAltNameMatcher::URI);
    if (san.exact) {
      matcher->mutable_matcher()->set_exact(san.san);
    } else {
      matcher->mutable_matcher()->set_prefix(san.san);
    }
  }
  auto* ca = combined->mutable_validation_context_sds_secret_config();
  ca->set_name(meshCaSecretName(mesh));
  setAdsSdsConfig(*ca->mutable_sds_config());
  return common;
}

// Server side of an inbound: client certificates of the mesh required.
void setDownstreamMtls(listener_v3::FilterChain& chain, const std::string& mesh) {
  tls_v3::DownstreamTlsContext context;
  context.mutable_require_client_certificate()->set_value(true);
  *context.mutable_common_tls_context() =
      meshTlsContext(mesh, {{false, absl::StrCat("spiffe://", mesh, "/")}});
  auto* socket = chain.mutable_transport_socket();
  socket->set_name(kTlsTransportSocket);
  *socket->mutable_typed_config() = packAny(context);
}

// Client side of an outbound cluster: present the proxy's identity, verify the destination's.
// `meshService`: a MeshService-family port, with its SNI (meshServiceSni) and identities (none:
// any identity of the mesh, as Kuma's CreateUpstreamTlsContext); null: the legacy tag-based
// SNI and the service's SPIFFE ID.
void setUpstreamMtls(cluster_v3::Cluster& c, const std::string& mesh, const Tags& clusterTags,
                     const MeshServiceOutbound* meshService) {
  tls_v3::UpstreamTlsContext context;
  std::vector<SanMatch> sans;
  if (meshService == nullptr) {
    const std::string service = clusterTags.at(kServiceTag);
    context.set_sni(meshSni(mesh, service, clusterTags));
    sans.push_back({true, absl::StrCat("spiffe://", mesh, "/", service)});
  } else {
    context.set_sni(meshService->sni);
    for (const std::string& identity : meshService->identities) {
      sans.push_back({true, absl::StartsWith(identity, "spiffe://")
                                ? identity
                                : absl::StrCat("spiffe://", mesh, "/", identity)});
    }
    if (sans.empty()) {
      sans.push_back({false, absl::StrCat("spiffe://", mesh, "/")});
    }
  }
  *context.mutable_common_tls_context() = meshTlsContext(mesh, sans);
  context.mutable_common_tls_context()->add_alpn_protocols(kMeshAlpn);
  auto* socket = c.mutable_transport_socket();
  socket->set_name(kTlsTransportSocket);
  *socket->mutable_typed_config() = packAny(context);
}

// ---- the proxy being generated ----

struct OutboundSpec {
  std::string address;
  uint32_t port = 0;
  Tags tags;
  bool bindToPort = true;
  /** Set for a MeshService port (meshservice_outbounds.h): its names, protocol, endpoints. */
  std::optional<MeshServiceOutbound> meshService;
};

class ProxyGenerator {
 public:
  ProxyGenerator(const MeshContext& context, const model::Resource& dataplane,
                 const Dataplane& spec, const ProxyOptions& options,
                 const PolicyPluginList& plugins)
      : context_(context),
        dataplane_(dataplane),
        spec_(spec),
        options_(options),
        proxy_(makeProxyContext(context, dataplane, spec, options)),
        policies_(context, dataplane, spec, plugins, proxy_) {
    transparent_ = proxy_.transparentProxy;
    proxy_.inbounds = &inboundTargets_;
    proxy_.outboundListeners = &outboundListeners_;
  }

  static ProxyContext makeProxyContext(const MeshContext& context, const model::Resource& dataplane,
                                       const Dataplane& spec, const ProxyOptions& options) {
    ProxyContext proxy;
    proxy.mesh = &context;
    proxy.dataplane = &dataplane;
    proxy.options = &options;
    const auto& tp = spec.networking().transparent_proxying();
    proxy.transparentProxy = tp.redirect_port_inbound() != 0 || tp.redirect_port_outbound() != 0;
    if (tp.ip_family_mode() == Dataplane::Networking::TransparentProxying::IPv4 &&
        isIPv6(spec.networking().address())) {
      proxy.transparentProxy = false;
    }
    return proxy;
  }

  absl::Status run() {
    if (absl::Status s = generateAdmin(); !s.ok()) {
      return s;
    }
    generatePrometheusEndpoint();
    if (absl::Status s = generateInbounds(); !s.ok()) {
      return s;
    }
    if (absl::Status s = generateOutbounds(); !s.ok()) {
      return s;
    }
    if (transparent_) {
      generatePassthrough();
      generateDns();
    }
    generateSecrets();
    // Every plugin's whole-proxy step, in plugin order, over everything generated so far.
    for (const PluginSpecs& p : policies_.selected()) {
      if (absl::Status s = p.plugin->apply(proxy_, p.specs, resources_); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  GeneratedResources take() {
    // Services whose endpoints plugins added (route backends) count as read, as the outbounds'.
    std::vector<std::string>& services = out_.dependencies.services;
    services.insert(services.end(), resources_.dependencies().begin(),
                    resources_.dependencies().end());
    std::sort(services.begin(), services.end());
    services.erase(std::unique(services.begin(), services.end()), services.end());
    out_.types = resources_.finalize();
    return std::move(out_);
  }

 private:
  void addShared(const char* typeUrl, ResourceConstSharedPtr resource) {
    resources_.addShared(typeUrl, std::move(resource));
  }
  void addListener(listener_v3::Listener l) { resources_.add(std::move(l)); }
  void addCluster(cluster_v3::Cluster c) { resources_.add(std::move(c)); }

  // §7.4: admin cluster, readiness cluster and the admin listener on the DP address: plaintext
  // only reaches kuma-dp's readiness (`/ready`, for probes); the whole admin API is behind mTLS
  // with the control plane's client certificate (Envoy Admin CA, SAN `kuma-cp`).
  absl::Status generateAdmin() {
    const uint32_t port = adminPortOf(spec_, options_);
    if (port == 0) {
      return absl::OkStatus();
    }
    absl::StatusOr<std::string> adminIp = adminClusterAddress(options_.adminAddress);
    if (!adminIp.ok()) {
      return adminIp.status();
    }
    cluster_v3::Cluster admin =
        options_.adminSocketPath.empty()
            ? staticCluster(kAdminName, *adminIp, port, std::chrono::seconds(5))
            : staticPipeCluster(kAdminName, options_.adminSocketPath, std::chrono::seconds(5));
    admin.set_alt_stat_name(sanitizeMetric(kAdminName));
    // As Kuma: circuit-breaker stats with remaining capacity on both local clusters.
    admin.mutable_circuit_breakers()->add_thresholds()->set_track_remaining(true);
    addCluster(std::move(admin));
    cluster_v3::Cluster readiness =
        staticCluster(kReadinessName, *adminIp, options_.readinessPort, std::chrono::seconds(5));
    readiness.set_alt_stat_name(sanitizeMetric(kReadinessName));
    readiness.mutable_circuit_breakers()->add_thresholds()->set_track_remaining(true);
    addCluster(std::move(readiness));

    const std::string& dpAddress = spec_.networking().address();
    if (dpAddress.empty() || dpAddress == *adminIp) {
      return absl::OkStatus();  // the admin itself is there: another listener could not bind
    }
    listener_v3::Listener l;
    l.set_name(kAdminName);
    setSocketAddress(*l.mutable_address(), dpAddress, port);
    l.set_traffic_direction(core_v3::INBOUND);
    l.mutable_enable_reuse_port()->set_value(options_.reusePort);
    auto* inspector = l.add_listener_filters();
    inspector->set_name(kTlsInspectorName);
    inspector->mutable_typed_config()->set_type_url(kTlsInspectorType);
    *l.add_filter_chains()->add_filters() = adminHcmFilter(/*wholeAdmin=*/false);
    if (options_.adminTls != nullptr) {
      auto* mtls = l.add_filter_chains();
      mtls->mutable_filter_chain_match()->set_transport_protocol("tls");
      *mtls->add_filters() = adminHcmFilter(/*wholeAdmin=*/true);
      tls_v3::DownstreamTlsContext context;
      context.mutable_require_client_certificate()->set_value(true);
      auto* common = context.mutable_common_tls_context();
      auto* cert = common->add_tls_certificates();
      cert->mutable_certificate_chain()->set_inline_bytes(options_.adminTls->certPem);
      cert->mutable_private_key()->set_inline_bytes(options_.adminTls->keyPem);
      auto* validation = common->mutable_validation_context();
      validation->mutable_trusted_ca()->set_inline_bytes(options_.adminTls->caPem);
      auto* san = validation->add_match_typed_subject_alt_names();
      san->set_san_type(tls_v3::SubjectAltNameMatcher::DNS);
      san->mutable_matcher()->set_exact(kEnvoyAdminClientSan);
      auto* socket = mtls->mutable_transport_socket();
      socket->set_name(kTlsTransportSocket);
      *socket->mutable_typed_config() = packAny(context);
    }
    addListener(std::move(l));
    return absl::OkStatus();
  }

  // Kuma's PrometheusEndpointGenerator: the legacy Mesh `metrics` (the enabled prometheus
  // backend's conf, the Dataplane's `metrics` merged over it) as the listener
  // `kuma:metrics:prometheus` on the Dataplane's address and the conf's port, routing the conf's
  // path to kuma-dp's metrics hijacker (cluster `kuma:metrics:hijacker`, the socket
  // `<workdir>/kuma-mh-<name>-<mesh>.sock`) rewritten to `/?filter=<regex>&usedonly` (Envoy's
  // stats filter). With tls mode activeMTLSBackend on an mTLS mesh: a plaintext chain for the
  // proxy's own address and an mTLS chain for everyone else. Nothing without admin port, or when
  // the port is one of the Dataplane's interfaces (as Kuma).
  void generatePrometheusEndpoint() {
    const std::optional<google::protobuf::Struct> conf = prometheusConf();
    const uint32_t adminPort = adminPortOf(spec_, options_);
    if (!conf || adminPort == 0) {
      return;
    }
    const auto field = [&conf](const char* name) -> const google::protobuf::Value* {
      auto it = conf->fields().find(name);
      return it == conf->fields().end() ? nullptr : &it->second;
    };
    const google::protobuf::Value* portValue = field("port");
    const uint32_t port = portValue != nullptr && portValue->has_number_value()
                              ? static_cast<uint32_t>(portValue->number_value())
                              : 0;
    const google::protobuf::Value* pathValue = field("path");
    const std::string path = pathValue != nullptr ? pathValue->string_value() : std::string();
    const std::string& address = spec_.networking().address();
    if (usesInterface(address, port)) {
      return;
    }
    // Kuma's buildEnvoyMetricsFilter (not url.Values: Envoy wants a bare `usedonly`).
    std::string query;
    if (const auto* envoy = field("envoy"); envoy != nullptr && envoy->has_struct_value()) {
      const auto& e = envoy->struct_value().fields();
      if (auto f = e.find("filterRegex"); f != e.end() && !f->second.string_value().empty()) {
        query = absl::StrCat("filter=", f->second.string_value());
      }
      if (auto u = e.find("usedOnly"); u != e.end() && u->second.bool_value()) {
        absl::StrAppend(&query, query.empty() ? "" : "&", "usedonly");
      }
    }
    std::string tlsMode;
    if (const auto* tls = field("tls"); tls != nullptr && tls->has_struct_value()) {
      auto m = tls->struct_value().fields().find("mode");
      tlsMode = m == tls->struct_value().fields().end() ? "" : m->second.string_value();
    }
    const google::protobuf::Value* skip = field("skipMTLS");
    const bool meshMtls = mtlsMode(context_.mesh()) != MtlsMode::kOff;
    const bool secure = meshMtls && ((tlsMode == "activeMTLSBackend") ||
                                     (tlsMode.empty() && (skip == nullptr || !skip->bool_value())));

    cluster_v3::Cluster hijacker = staticPipeCluster(
        kMetricsHijackerName,
        kumaDpSocketPath(options_.workdir,
                         absl::StrCat("kuma-mh-", dataplane_.meta.name, "-", dataplane_.meta.mesh)),
        std::chrono::seconds(5));
    hijacker.set_alt_stat_name(sanitizeMetric(kMetricsHijackerName));
    hijacker.mutable_circuit_breakers()->add_thresholds()->set_track_remaining(true);
    addCluster(std::move(hijacker));

    hcm_v3::HttpConnectionManager hcm;
    hcm.set_stat_prefix(sanitizeMetric(kPrometheusListenerName));
    addInternalAddresses(hcm, {"127.0.0.1/32", "::1/128"}, options_.ipv6Enabled);
    addRouter(hcm);
    auto* rc = hcm.mutable_route_config();
    rc->mutable_validate_clusters()->set_value(false);
    auto* vh = rc->add_virtual_hosts();
    vh->set_name(kPrometheusListenerName);
    vh->add_domains("*");
    auto* route = vh->add_routes();
    route->mutable_match()->set_prefix(path);
    route->mutable_route()->set_cluster(kMetricsHijackerName);
    route->mutable_route()->set_prefix_rewrite(absl::StrCat("/", query.empty() ? "" : "?", query));
    const listener_v3::Filter filter = hcmFilter(hcm);

    listener_v3::Listener l;
    l.set_name(kPrometheusListenerName);
    setSocketAddress(*l.mutable_address(), address, port);
    l.set_traffic_direction(core_v3::INBOUND);
    l.mutable_enable_reuse_port()->set_value(options_.reusePort);
    auto* chain = l.add_filter_chains();
    *chain->add_filters() = filter;
    if (secure) {
      // The proxy scraping itself (Prometheus next to it) needs no mTLS.
      auto* range = chain->mutable_filter_chain_match()->add_source_prefix_ranges();
      range->set_address_prefix(address);
      range->mutable_prefix_len()->set_value(isIPv6(address) ? 128 : 32);
      auto* mtls = l.add_filter_chains();
      *mtls->add_filters() = filter;
      setDownstreamMtls(*mtls, context_.meshName());
    }
    addListener(std::move(l));
  }

  // Kuma's GetPrometheusConfig: the Mesh's enabled prometheus backend's conf with the
  // Dataplane's prometheus `metrics` conf merged over it (proto.Merge: set scalars replace,
  // objects merge, `aggregate` entries replace by name); nullopt without an enabled backend.
  std::optional<google::protobuf::Struct> prometheusConf() const {
    const auto& metrics = context_.mesh().metrics();
    const mesh::v1alpha1::MetricsBackend* enabled = nullptr;
    for (const auto& b : metrics.backends()) {
      if (!metrics.enabled_backend().empty() && b.name() == metrics.enabled_backend()) {
        enabled = &b;
      }
    }
    if (enabled == nullptr || enabled->type() != "prometheus") {
      return std::nullopt;
    }
    google::protobuf::Struct conf = enabled->conf();
    if (spec_.has_metrics() && spec_.metrics().type() == "prometheus") {
      mergeStruct(conf, spec_.metrics().conf());
    }
    return conf;
  }

  static void mergeStruct(google::protobuf::Struct& into, const google::protobuf::Struct& from) {
    for (const auto& [key, value] : from.fields()) {
      google::protobuf::Value& target = (*into.mutable_fields())[key];
      if (key == "aggregate" && value.has_list_value()) {
        google::protobuf::ListValue merged = target.list_value();
        for (const auto& entry : value.list_value().values()) {
          const auto& name = entry.struct_value().fields();
          auto n = name.find("name");
          bool replaced = false;
          for (auto& existing : *merged.mutable_values()) {
            const auto& en = existing.struct_value().fields();
            auto e = en.find("name");
            if (n != name.end() && e != en.end() &&
                e->second.string_value() == n->second.string_value()) {
              existing = entry;
              replaced = true;
            }
          }
          if (!replaced) {
            *merged.add_values() = entry;
          }
        }
        *target.mutable_list_value() = std::move(merged);
      } else if (value.has_struct_value() && target.has_struct_value()) {
        mergeStruct(*target.mutable_struct_value(), value.struct_value());
      } else if ((value.has_number_value() && value.number_value() == 0) ||
                 (value.has_string_value() && value.string_value().empty())) {
        continue;  // proto3 zero values do not replace
      } else {
        target = value;
      }
    }
  }

  // Kuma's Dataplane.UsesInterface: an inbound's (DP or workload) or outbound's address and port.
  bool usesInterface(const std::string& address, uint32_t port) const {
    const auto overlap = [](const std::string& a, const std::string& b) {
      return a == "0.0.0.0" || a == "::" || b == "0.0.0.0" || b == "::" || a == b;
    };
    const auto& net = spec_.networking();
    for (const auto& in : net.inbound()) {
      const std::string dpIp = in.address().empty() ? net.address() : in.address();
      const std::string workloadIp =
          in.service_address().empty() ? std::string("127.0.0.1") : in.service_address();
      const uint32_t workloadPort = in.service_port() == 0 ? in.port() : in.service_port();
      if ((port == in.port() && overlap(address, dpIp)) ||
          (port == workloadPort && overlap(address, workloadIp))) {
        return true;
      }
    }
    for (const auto& out : net.outbound()) {
      const std::string ip = out.address().empty() ? std::string("127.0.0.1") : out.address();
      if (port == out.port() && overlap(address, ip)) {
        return true;
      }
    }
    return false;
  }

  // The admin listener's HCM: `/ready` → kuma-dp's readiness; with `wholeAdmin` also `/` → the
  // admin API.
  listener_v3::Filter adminHcmFilter(bool wholeAdmin) const {
    hcm_v3::HttpConnectionManager hcm;
    hcm.set_stat_prefix(sanitizeMetric(kAdminName));
    addInternalAddresses(hcm, {"127.0.0.1/32", "::1/128"}, options_.ipv6Enabled);
    addRouter(hcm);
    auto* rc = hcm.mutable_route_config();
    rc->mutable_validate_clusters()->set_value(false);
    auto* vh = rc->add_virtual_hosts();
    vh->set_name(kAdminName);
    vh->add_domains("*");
    const auto addRoute = [vh](const char* prefix, const char* cluster) {
      auto* route = vh->add_routes();
      route->mutable_match()->set_prefix(prefix);
      route->mutable_route()->set_cluster(cluster);
      route->mutable_route()->set_prefix_rewrite(prefix);
    };
    addRoute("/ready", kReadinessName);
    if (wholeAdmin) {
      addRoute("/", kAdminName);
    }
    return hcmFilter(hcm);
  }

  Protocol inboundProtocol(const Dataplane::Networking::Inbound& inbound) const {
    if (!inbound.protocol().empty()) {
      return parseProtocol(inbound.protocol());
    }
    auto it = inbound.tags().find(kProtocolTag);
    return it == inbound.tags().end() ? Protocol::Unknown : parseProtocol(it->second);
  }

  // Inbound listener `inbound:<ip>:<port>` + cluster `localhost:<servicePort>` per inbound.
  absl::Status generateInbounds() {
    const PluginConfs confs = policies_.inbound();
    const auto& net = spec_.networking();
    for (int index = 0; index < net.inbound_size(); ++index) {
      const auto& inbound = net.inbound(index);
      if (inbound.state() == Dataplane::Networking::Inbound::Ignored) {
        continue;
      }
      const std::string listenIp = inbound.address().empty() ? net.address() : inbound.address();
      const uint32_t servicePort =
          inbound.service_port() != 0 ? inbound.service_port() : inbound.port();
      const std::string workloadIp =
          inbound.service_address().empty() ? listenIp : inbound.service_address();
      const std::string clusterName = absl::StrCat("localhost:", servicePort);
      const std::string listenerName = absl::StrCat("inbound:", hostPort(listenIp, inbound.port()));
      const Protocol protocol = inboundProtocol(inbound);
      InboundTarget& target = inboundTargets_.emplace_back();
      target.proxy = &proxy_;
      target.index = index;
      target.port = inbound.port();
      target.protocol = protocol;
      target.listenerName = listenerName;
      target.clusterName = clusterName;

      cluster_v3::Cluster c = staticCluster(clusterName, workloadIp, servicePort, std::nullopt);
      c.set_alt_stat_name(sanitizeMetric(clusterName));
      c.mutable_circuit_breakers()->add_thresholds()->set_track_remaining(true);
      if (isHttpProtocol(protocol)) {
        (*c.mutable_typed_extension_protocol_options())[kHttpProtocolOptionsKey] =
            httpProtocolOptionsAny(protocol != Protocol::Http, nullptr);
      }
      if (transparent_ && !isLoopback(workloadIp)) {
        setBindSource(c, isIPv6(workloadIp) ? "::6" : "127.0.0.6");
      }
      if (absl::Status s = applyPlugins(confs,
                                        [&](const PolicyPlugin& p, const nlohmann::json& conf) {
                                          return p.configureInboundCluster(conf, target, c);
                                        });
          !s.ok()) {
        return s;
      }
      addCluster(std::move(c));

      Tags tags(inbound.tags().begin(), inbound.tags().end());
      listener_v3::Listener l;
      l.set_name(listenerName);
      setSocketAddress(*l.mutable_address(), listenIp, inbound.port());
      l.mutable_enable_reuse_port()->set_value(options_.reusePort);
      l.set_traffic_direction(core_v3::INBOUND);
      if (transparent_) {
        l.mutable_bind_to_port()->set_value(false);
      }
      setTagsMetadata(*l.mutable_metadata(), kTagsMetadataKey,
                      tags.empty() ? Tags{{kUnifiedNameTag, listenerName}} : tags);
      // The chain's filters, copied below into one (off, STRICT) or three (PERMISSIVE) chains.
      listener_v3::FilterChain base;
      auto* chain = &base;
      const std::string statPrefix = sanitizeMetric(clusterName);
      if (isHttpProtocol(protocol)) {
        auto svc = tags.find(kServiceTag);
        const std::string vhostName = svc == tags.end() ? listenerName : svc->second;
        hcm_v3::HttpConnectionManager hcm;
        hcm.set_stat_prefix(statPrefix);
        hcm.set_codec_type(hcm_v3::HttpConnectionManager::AUTO);
        // The caller's SPIFFE ID (mTLS) reaches the application in x-forwarded-client-cert.
        hcm.set_forward_client_cert_details(hcm_v3::HttpConnectionManager::SANITIZE_SET);
        hcm.mutable_set_current_client_cert_details()->set_uri(true);
        addInternalAddresses(hcm, options_.internalCidrs, options_.ipv6Enabled);
        *hcm.mutable_common_http_protocol_options()->mutable_idle_timeout() =
            toDuration(std::chrono::nanoseconds(0));
        addRouter(hcm);
        auto* rc = hcm.mutable_route_config();
        rc->set_name(svc == tags.end() ? listenerName : absl::StrCat("inbound:", svc->second));
        rc->mutable_validate_clusters()->set_value(false);
        rc->add_request_headers_to_remove("x-kuma-tags");
        auto* vh = rc->add_virtual_hosts();
        vh->set_name(vhostName);
        vh->add_domains("*");
        auto* route = vh->add_routes();
        route->mutable_match()->set_prefix("/");
        route->mutable_route()->set_cluster(clusterName);
        // Every plugin's route hook, then every plugin's HCM hook (which may restructure the
        // route config the route lives in).
        if (absl::Status s = applyPlugins(confs,
                                          [&](const PolicyPlugin& p, const nlohmann::json& conf) {
                                            return p.configureInboundRoute(conf, target, *route);
                                          });
            !s.ok()) {
          return s;
        }
        if (absl::Status s = applyPlugins(confs,
                                          [&](const PolicyPlugin& p, const nlohmann::json& conf) {
                                            return p.configureInboundHcm(conf, target, hcm);
                                          });
            !s.ok()) {
          return s;
        }
        *chain->add_filters() = hcmFilter(hcm);
      } else {
        tcp_v3::TcpProxy proxy = tcpProxy(statPrefix, clusterName);
        if (absl::Status s = applyPlugins(confs,
                                          [&](const PolicyPlugin& p, const nlohmann::json& conf) {
                                            return p.configureInboundTcpProxy(conf, target, proxy);
                                          });
            !s.ok()) {
          return s;
        }
        *chain->add_filters() = tcpProxyFilter(proxy);
      }
      addInboundChains(l, base);
      if (absl::Status s = applyPlugins(confs,
                                        [&](const PolicyPlugin& p, const nlohmann::json& conf) {
                                          return p.configureInboundListener(conf, target, l);
                                        });
          !s.ok()) {
        return s;
      }
      addListener(std::move(l));
    }
    return absl::OkStatus();
  }

  // The inbound's filter chains for the mesh's mTLS mode (spec §7.2): off → `base` as is;
  // STRICT → `base` with the mTLS transport socket; PERMISSIVE → TLS inspector plus plaintext,
  // application-TLS and mesh-mTLS (ALPN `kuma`) chains.
  void addInboundChains(listener_v3::Listener& l, const listener_v3::FilterChain& base) {
    const MtlsMode mode = mtlsMode(context_.mesh());
    auto* chain = l.add_filter_chains();
    *chain = base;
    if (mode == MtlsMode::kOff) {
      return;
    }
    setDownstreamMtls(*chain, context_.meshName());
    if (mode == MtlsMode::kPermissive) {
      makeInboundPermissive(l);
    }
  }

  // §7.2 Secrets: the identity (chain + key) and the mesh CA, when the mesh has mTLS and the
  // proxy's identity was issued.
  void generateSecrets() {
    if (mtlsMode(context_.mesh()) == MtlsMode::kOff || options_.tls == nullptr) {
      return;
    }
    const std::string& mesh = context_.meshName();
    tls_v3::Secret identity;
    identity.set_name(identitySecretName(mesh));
    identity.mutable_tls_certificate()->mutable_certificate_chain()->set_inline_bytes(
        options_.tls->certChainPem);
    identity.mutable_tls_certificate()->mutable_private_key()->set_inline_bytes(
        options_.tls->keyPem);
    resources_.add(std::move(identity));
    tls_v3::Secret ca;
    ca.set_name(meshCaSecretName(mesh));
    ca.mutable_validation_context()->mutable_trusted_ca()->set_inline_bytes(options_.tls->caPem);
    resources_.add(std::move(ca));
  }

  // Also records, in out_.dependencies, what of the context the outbounds depend on.
  std::vector<OutboundSpec> outbounds() {
    std::vector<OutboundSpec> out;
    const auto& net = spec_.networking();
    std::set<std::string> dependsOn;
    const auto recordDependencies = [&] {
      out_.dependencies.services.assign(dependsOn.begin(), dependsOn.end());
    };
    if (!transparent_) {
      for (const auto& o : net.outbound()) {
        auto service = o.tags().find(kServiceTag);
        if (service == o.tags().end()) {
          continue;  // backendRef outbounds (MeshService & co.) are not generated yet
        }
        dependsOn.insert(service->second);
        OutboundSpec s;
        s.address = o.address().empty() ? "127.0.0.1" : o.address();
        s.port = o.port();
        s.tags = Tags(o.tags().begin(), o.tags().end());
        out.push_back(std::move(s));
      }
      addMeshServiceOutbounds(out, /*transparent=*/false);
      recordDependencies();
      return out;
    }
    const auto& reachable = net.transparent_proxying().reachable_services();
    const std::set<std::string> keep(reachable.begin(), reachable.end());
    // Services named in reachableServices matter even before they exist (they may appear).
    dependsOn = keep;
    out_.dependencies.allVips = keep.empty();
    std::set<std::pair<std::string, uint32_t>> own;
    for (const auto& inbound : net.inbound()) {
      own.emplace(inbound.address().empty() ? net.address() : inbound.address(), inbound.port());
    }
    // Kuma's resolveVIPOutbounds: the mesh's VIP outbounds (services, ExternalService hosts,
    // VirtualOutbounds) to the reachable services, except on an inbound's address and port.
    const auto& vipOutbounds = context_.vipOutbounds();
    const auto addVip = [&](const VipOutbound& v) {
      if (v.service.empty() || own.count({v.address, v.port}) != 0) {
        return;
      }
      OutboundSpec s;
      s.address = v.address;
      s.port = v.port;
      s.tags = v.tags;
      s.bindToPort = false;
      out.push_back(std::move(s));
      dependsOn.insert(v.service);
    };
    if (context_.mesh().mesh_services().mode() ==
        mesh::v1alpha1::Mesh_MeshServices_Mode_Exclusive) {
      // Kuma: no legacy VIP outbounds in a MeshService-only mesh.
    } else if (keep.empty()) {
      for (const VipOutbound& v : vipOutbounds) {
        addVip(v);
      }
    } else {
      // Look the few reachable services up instead of walking every VIP of the mesh, then put
      // their outbounds back in the mesh's order.
      std::vector<size_t> picked;
      for (const std::string& service : keep) {
        if (const std::vector<size_t>* positions = context_.vipOutboundsOf(service)) {
          picked.insert(picked.end(), positions->begin(), positions->end());
        }
      }
      std::sort(picked.begin(), picked.end());
      for (size_t i : picked) {
        addVip(vipOutbounds[i]);
      }
    }
    addMeshServiceOutbounds(out, /*transparent=*/true);
    recordDependencies();
    return out;
  }

  void addMeshServiceOutbounds(std::vector<OutboundSpec>& out, bool transparent) {
    for (MeshServiceOutbound& o : meshServiceOutbounds(context_, spec_, transparent)) {
      OutboundSpec s;
      s.address = o.address;
      s.port = o.port;
      s.bindToPort = o.bindToPort;
      s.tags = {{kServiceTag, o.service}};
      s.meshService = std::move(o);
      out.push_back(std::move(s));
    }
  }

  // What a destination's OutboundResources become: serialized once, shared by the proxies.
  static std::shared_ptr<const MeshContext::SharedGroup> sharedGroupOf(
      const OutboundResources& res) {
    auto out = std::make_shared<MeshContext::SharedGroup>();
    for (const auto& cluster : res.clusters) {
      out->resources.emplace_back(kClusterType, makeResource(cluster->name(), *cluster));
    }
    for (const auto& cla : res.endpoints) {
      out->resources.emplace_back(kEndpointType, makeResource(cla->cluster_name(), *cla));
    }
    out->services.assign(res.services.begin(), res.services.end());
    return out;
  }

  // The shared resources of one destination: its EDS cluster and ClusterLoadAssignment plus
  // whatever the plugins add (configureOutboundResources), built and serialized once per
  // (context, policy signature, cluster) and handed to every proxy with that signature. The
  // plugins' shared hooks run inside the build: equal signatures give equal confs. mTLS depends
  // only on the mesh (one per context) and the destination, so it stays shared.
  absl::StatusOr<std::shared_ptr<const MeshContext::SharedGroup>> outboundResources(
      const std::string& name, const Tags& tags, const OutboundTarget& proxyTarget,
      const PluginConfs& confs, const MeshServiceOutbound* meshService,
      const model::Resource* external) {
    absl::Status status;
    auto group = context_.sharedGroup(
        policies_.signature(), name, [&]() -> std::shared_ptr<const MeshContext::SharedGroup> {
          OutboundTarget target = proxyTarget;  // without the proxy: shared
          target.proxy = nullptr;
          target.listenerName.clear();
          OutboundResources res;
          auto& c = *res.clusters.emplace_back(std::make_unique<cluster_v3::Cluster>());
          c.set_name(name);
          if (external != nullptr) {
            // A legacy ExternalService: its own endpoint, no EDS, no mesh mTLS.
            status = buildExternalServiceCluster(context_, *external, c);
            if (status.ok()) {
              status = applyPlugins(confs, [&](const PolicyPlugin& p, const nlohmann::json& conf) {
                return p.configureOutboundCluster(conf, target, c);
              });
            }
            if (status.ok()) {
              status = applyPlugins(confs, [&](const PolicyPlugin& p, const nlohmann::json& conf) {
                return p.configureOutboundResources(conf, target, res);
              });
            }
            if (!status.ok()) {
              return nullptr;
            }
            return sharedGroupOf(res);
          }
          c.set_type(cluster_v3::Cluster::EDS);
          auto* eds = c.mutable_eds_cluster_config()->mutable_eds_config();
          eds->mutable_ads();
          eds->set_resource_api_version(core_v3::V3);
          // The sidecar-to-sidecar hop is always HTTP/2 (harmless for TCP services).
          (*c.mutable_typed_extension_protocol_options())[kHttpProtocolOptionsKey] =
              httpProtocolOptionsAny(true, nullptr);
          if (mtlsMode(context_.mesh()) != MtlsMode::kOff) {
            setUpstreamMtls(c, context_.meshName(), tags, meshService);
          }
          status = applyPlugins(confs, [&](const PolicyPlugin& p, const nlohmann::json& conf) {
            return p.configureOutboundCluster(conf, target, c);
          });
          if (!status.ok()) {
            return nullptr;
          }
          if (meshService != nullptr) {
            // The Dataplanes the MeshService selects, on its port's targetPort.
            std::vector<std::string> read;
            res.endpoints.push_back(std::make_unique<endpoint_v3::ClusterLoadAssignment>(
                loadAssignment(meshServiceEndpoints(context_, *meshService->meshService,
                                                    meshService->servicePort, read),
                               name, {})));
            res.services.insert(read.begin(), read.end());
          } else {
            res.endpoints.push_back(std::make_unique<endpoint_v3::ClusterLoadAssignment>(
                loadAssignment(context_.endpoints(tags.at(kServiceTag)), name, tags)));
          }
          status = applyPlugins(confs, [&](const PolicyPlugin& p, const nlohmann::json& conf) {
            return p.configureOutboundResources(conf, target, res);
          });
          if (!status.ok()) {
            return nullptr;
          }
          return sharedGroupOf(res);
        });
    if (!status.ok()) {
      return status;
    }
    if (group == nullptr) {
      // Another proxy's build of this shared group failed; its error was returned there.
      return absl::InternalError(absl::StrCat("outbound cluster ", name, " failed to build"));
    }
    return group;
  }

  // §7.3 DNS (Kuma's DNSGenerator): the VIP names of this proxy's outbounds, for kuma-dp's
  // embedded DNS proxy through `_kuma:dynamicconfig` /dns, else as the `kuma:dns` UDP listener.
  void generateDns() {
    if (options_.dnsPort == 0 || options_.bindOutbounds) {
      return;
    }
    const auto& tp = spec_.networking().transparent_proxying();
    const bool ipv6 = tp.ip_family_mode() != Dataplane::Networking::TransparentProxying::IPv4;
    std::vector<DnsRecord> records =
        dnsRecords(context_.vipDomains(), outboundAddresses_, options_.dnsDomain, ipv6);
    mergeDnsRecords(records, meshServiceDnsRecords(context_, outboundAddresses_, ipv6));
    if (options_.embeddedDns) {
      const std::string body =
          dnsProxyConfigJson(records, dnsExtraLabels(context_.meshName(), dataplane_.meta.labels));
      addListener(dynamicConfigListener(options_.workDir, {{"/dns", "/dns", body}},
                                        options_.metadataIpv6Enabled));
      return;
    }
    addListener(dnsListener(records, options_.dnsPort, options_.reusePort));
  }

  absl::Status generateOutbounds() {
    std::set<std::string> clustersDone;
    for (const OutboundSpec& o : outbounds()) {
      outboundAddresses_.insert(o.address);
      const std::string service = o.tags.at(kServiceTag);
      const PluginConfs confs = policies_.outbound(service);
      const MeshServiceOutbound* ms = o.meshService.has_value() ? &*o.meshService : nullptr;
      const model::Resource* external =
          ms == nullptr ? externalServiceFor(context_, service) : nullptr;
      const Protocol protocol = ms != nullptr         ? ms->protocol
                                : external != nullptr ? externalServiceProtocol(*external)
                                                      : context_.protocol(service);
      OutboundTarget target;
      target.proxy = &proxy_;
      target.mesh = &context_;
      target.service = service;
      target.protocol = protocol;
      target.clusterName = ms != nullptr ? ms->clusterName : destinationClusterName(o.tags);
      // Kuma's legacy names of a MeshService port: the cluster name is also the stat prefix and
      // virtual host, the port's KRI names the route configuration and tags the listener.
      const std::string statPrefix = ms != nullptr ? ms->clusterName : sanitizeMetric(service);
      target.listenerName = absl::StrCat("outbound:", hostPort(o.address, o.port));
      outboundListeners_.push_back(target.listenerName);
      target.localZone = options_.zone;
      const std::string& clusterName = target.clusterName;
      if (clustersDone.insert(clusterName).second) {
        // Kuma configures a cluster with the protocol its endpoints give (GetServiceProtocol);
        // a MeshExternalService has none without a ZoneEgress, so its cluster is configured as
        // one of unknown protocol (no HTTP options from the policies), its listener as `match`.
        OutboundTarget clusterTarget = target;
        if (ms != nullptr && ms->external) {
          clusterTarget.protocol = Protocol::Unknown;
        }
        auto group = outboundResources(clusterName, o.tags, clusterTarget, confs, ms, external);
        if (!group.ok()) {
          return group.status();
        }
        for (const auto& [typeUrl, resource] : (*group)->resources) {
          resources_.addShared(typeUrl, resource);
        }
        for (const std::string& other : (*group)->services) {
          resources_.dependOn(other);
        }
      }

      listener_v3::Listener l;
      l.set_name(target.listenerName);
      setSocketAddress(*l.mutable_address(), o.address, o.port);
      l.set_traffic_direction(core_v3::OUTBOUND);
      if (!o.bindToPort) {
        l.mutable_bind_to_port()->set_value(false);
      }
      setTagsMetadata(*l.mutable_metadata(), kTagsMetadataKey,
                      ms != nullptr ? Tags{{kUnifiedNameTag, ms->kri}} : o.tags);
      auto* chain = l.add_filter_chains();
      if (isHttpProtocol(protocol)) {
        hcm_v3::HttpConnectionManager hcm;
        hcm.set_stat_prefix(statPrefix);
        hcm.mutable_normalize_path()->set_value(true);
        addInternalAddresses(hcm, options_.internalCidrs, options_.ipv6Enabled);
        *hcm.mutable_common_http_protocol_options()->mutable_idle_timeout() =
            toDuration(std::chrono::nanoseconds(0));
        addRouter(hcm);
        auto* rc = hcm.mutable_route_config();
        rc->set_name(ms != nullptr ? ms->kri : absl::StrCat("outbound:", service));
        rc->mutable_validate_clusters()->set_value(false);
        auto* vh = rc->add_virtual_hosts();
        vh->set_name(ms != nullptr ? ms->clusterName : service);
        vh->add_domains("*");
        auto* route = vh->add_routes();
        route->set_name(kDefaultRouteName);
        route->mutable_match()->set_prefix("/");
        route->mutable_route()->set_cluster(clusterName);
        if (external != nullptr || (ms != nullptr && ms->external)) {
          route->mutable_route()->mutable_auto_host_rewrite()->set_value(true);
        }
        if (absl::Status s = applyPlugins(confs,
                                          [&](const PolicyPlugin& p, const nlohmann::json& conf) {
                                            return p.configureOutboundRoute(conf, target, *route);
                                          });
            !s.ok()) {
          return s;
        }
        if (absl::Status s = applyPlugins(confs,
                                          [&](const PolicyPlugin& p, const nlohmann::json& conf) {
                                            return p.configureOutboundHcm(conf, target, hcm);
                                          });
            !s.ok()) {
          return s;
        }
        *chain->add_filters() = hcmFilter(hcm);
      } else {
        tcp_v3::TcpProxy proxy = tcpProxy(statPrefix, clusterName);
        if (absl::Status s = applyPlugins(confs,
                                          [&](const PolicyPlugin& p, const nlohmann::json& conf) {
                                            return p.configureOutboundTcpProxy(conf, target, proxy);
                                          });
            !s.ok()) {
          return s;
        }
        *chain->add_filters() = tcpProxyFilter(proxy);
      }
      addListener(std::move(l));
    }
    return absl::OkStatus();
  }

  // §7.3: outbound:passthrough:* (the redirectPortOutbound original-dst listener),
  // inbound:passthrough:* and self_transparentproxy_no_destination_inbound.
  void generatePassthrough() {
    const auto& tp = spec_.networking().transparent_proxying();
    const bool ipv6 = tp.ip_family_mode() != Dataplane::Networking::TransparentProxying::IPv4;
    const bool outboundPassthrough = !context_.mesh().networking().outbound().has_passthrough() ||
                                     context_.mesh().networking().outbound().passthrough().value();
    if (tp.redirect_port_outbound() != 0) {
      // As in Kuma, present whenever outbound traffic is redirected; used only by strict
      // inbound ports.
      cluster_v3::Cluster c;
      c.set_name(kNoDestinationInbound);
      c.set_alt_stat_name(kNoDestinationInbound);
      c.set_type(cluster_v3::Cluster::STATIC);
      *c.mutable_connect_timeout() = toDuration(std::chrono::seconds(5));
      addCluster(std::move(c));
    }
    struct Family {
      const char* suffix;
      const char* any;
      const char* self;
    };
    std::vector<Family> families = {{"ipv4", "0.0.0.0", "127.0.0.6"}};
    if (ipv6) {
      families.push_back({"ipv6", "::", "::6"});
    }
    for (const Family& f : families) {
      if (tp.redirect_port_outbound() != 0) {
        const std::string name = absl::StrCat("outbound:passthrough:", f.suffix);
        if (outboundPassthrough) {
          cluster_v3::Cluster c;
          c.set_name(name);
          c.set_alt_stat_name(sanitizeMetric(name));
          c.set_type(cluster_v3::Cluster::ORIGINAL_DST);
          c.set_lb_policy(cluster_v3::Cluster::CLUSTER_PROVIDED);
          *c.mutable_connect_timeout() = toDuration(std::chrono::seconds(5));
          addCluster(std::move(c));
        }
        listener_v3::Listener l;
        l.set_name(name);
        setSocketAddress(*l.mutable_address(), f.any, tp.redirect_port_outbound());
        l.mutable_use_original_dst()->set_value(true);
        l.set_traffic_direction(core_v3::OUTBOUND);
        setPassthroughChains(l, name, {}, false);
        addListener(std::move(l));
      }
      if (tp.redirect_port_inbound() != 0) {
        const std::string name = absl::StrCat("inbound:passthrough:", f.suffix);
        cluster_v3::Cluster c;
        c.set_name(name);
        c.set_alt_stat_name(sanitizeMetric(name));
        c.set_type(cluster_v3::Cluster::ORIGINAL_DST);
        c.set_lb_policy(cluster_v3::Cluster::CLUSTER_PROVIDED);
        *c.mutable_connect_timeout() = toDuration(std::chrono::seconds(5));
        setBindSource(c, f.self);
        addCluster(std::move(c));
        listener_v3::Listener l;
        l.set_name(name);
        setSocketAddress(*l.mutable_address(), f.any, tp.redirect_port_inbound());
        l.mutable_use_original_dst()->set_value(true);
        l.mutable_enable_reuse_port()->set_value(options_.reusePort);
        l.set_traffic_direction(core_v3::INBOUND);
        addInboundPassthroughChains(l, name);
        addListener(std::move(l));
      }
    }
  }

  // Strict inbound ports (Kuma 2.14, `feature-strict-inbound-ports`): on an mTLS STRICT mesh the
  // inbound passthrough gets one chain per distinct inbound port (matched on the original
  // destination port), so traffic redirected to any other port finds no chain and is closed
  // instead of reaching the workload in plaintext around mTLS. Otherwise one catch-all chain.
  void addInboundPassthroughChains(listener_v3::Listener& l, const std::string& name) {
    std::vector<uint32_t> ports;
    for (const auto& inbound : spec_.networking().inbound()) {
      ports.push_back(inbound.port());
    }
    setPassthroughChains(
        l, name, ports,
        options_.strictInboundPorts && mtlsMode(context_.mesh()) == MtlsMode::kStrict);
  }

  const MeshContext& context_;
  const model::Resource& dataplane_;
  const Dataplane& spec_;
  const ProxyOptions& options_;
  ProxyContext proxy_;
  ProxyPolicies policies_;
  std::vector<InboundTarget> inboundTargets_;
  std::vector<std::string> outboundListeners_;
  bool transparent_ = false;
  std::set<std::string> outboundAddresses_;  // every outbound's address (DNS answers only these)
  ResourceSet resources_;
  GeneratedResources out_;
};

}  // namespace

bool needsEnvoyAdminTls(const model::Resource& dataplane, const ProxyOptions& options) {
  const auto* spec = model::protoSpecOf<Dataplane>(dataplane);
  if (spec == nullptr || adminPortOf(*spec, options) == 0) {
    return false;
  }
  absl::StatusOr<std::string> adminIp = adminClusterAddress(options.adminAddress);
  const std::string& address = spec->networking().address();
  return adminIp.ok() && !address.empty() && address != *adminIp;
}

std::string identitySecretName(const std::string& mesh) {
  return absl::StrCat("identity_cert:secret:", mesh);
}

std::string meshCaSecretName(const std::string& mesh) {
  return absl::StrCat("mesh_ca:secret:", mesh);
}

ResourceConstSharedPtr GeneratedResources::find(const std::string& typeUrl,
                                                const std::string& name) const {
  auto t = types.find(typeUrl);
  if (t == types.end()) {
    return nullptr;
  }
  auto r = t->second.find(name);
  return r == t->second.end() ? nullptr : r->second;
}

size_t GeneratedResources::size() const {
  size_t n = 0;
  for (const auto& [type, resources] : types) {
    n += resources.size();
  }
  return n;
}

absl::StatusOr<GeneratedResources> generate(const MeshContext& context,
                                            const model::Resource& dataplane,
                                            const ProxyOptions& options) {
  const auto* spec = model::protoSpecOf<Dataplane>(dataplane);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource ", dataplane.meta.name, " is not a Dataplane"));
  }
  if (dataplane.meta.mesh != context.meshName()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Dataplane ", dataplane.meta.name, " of mesh ", dataplane.meta.mesh,
                     " given with the context of mesh ", context.meshName()));
  }
  if (spec->networking().has_gateway()) {
    return absl::UnimplementedError(
        absl::StrCat("Dataplane ", dataplane.meta.name, ": gateway proxies are not generated yet"));
  }
  if (spec->networking().address().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Dataplane ", dataplane.meta.name, " has no networking.address"));
  }
  static const PolicyPluginList kNoPlugins;
  ProxyGenerator generator(context, dataplane, *spec, options,
                           options.plugins != nullptr ? *options.plugins : kNoPlugins);
  if (absl::Status s = generator.run(); !s.ok()) {
    return s;
  }
  return generator.take();
}

}  // namespace kuma::xds
