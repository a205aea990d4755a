// The admin resources (Kuma 2.14 `pkg/xds/generator/admin_proxy_generator.go`, goldens
// `testdata/admin/*`): `kuma:envoy:admin` and `kuma:readiness` clusters, and the
// `kuma:envoy:admin` listener on the Dataplane's address with a plaintext chain that only reaches
// `/ready` and an mTLS chain (client certificate of the Envoy Admin CA with DNS SAN `kuma-cp`)
// that reaches the whole admin API.

#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::FilterChain;
using envoy::config::listener::v3::Listener;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tls_v3 = envoy::extensions::transport_sockets::tls::v3;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

EnvoyAdminTlsCertsConstSharedPtr fakeAdminTls() {
  auto certs = std::make_shared<EnvoyAdminTlsCerts>();
  certs->certPem = "<admin server certificate PEM>";
  certs->keyPem = "<admin server key PEM>";
  certs->caPem = "<envoy admin CA PEM>";
  return certs;
}

absl::StatusOr<GeneratedResources> generateCaseA(const ProxyOptions& options) {
  auto ctx = MeshContext::build(testing::caseResources(testing::caseADataplane()));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(options));
}

hcm_v3::HttpConnectionManager hcmOf(const FilterChain& chain) {
  hcm_v3::HttpConnectionManager hcm;
  EXPECT_EQ(chain.filters_size(), 1);
  if (chain.filters_size() == 1) {
    EXPECT_EQ(chain.filters(0).name(), "envoy.filters.network.http_connection_manager");
    EXPECT_TRUE(chain.filters(0).typed_config().UnpackTo(&hcm));
  }
  return hcm;
}

// "prefix → cluster (rewrite)" of every route of the HCM's one virtual host.
std::vector<std::string> routesOf(const hcm_v3::HttpConnectionManager& hcm) {
  std::vector<std::string> routes;
  EXPECT_EQ(hcm.route_config().virtual_hosts_size(), 1);
  const auto& vh = hcm.route_config().virtual_hosts(0);
  EXPECT_EQ(vh.name(), "kuma:envoy:admin");
  EXPECT_THAT(vh.domains(), ElementsAre("*"));
  for (const auto& r : vh.routes()) {
    routes.push_back(r.match().prefix() + " -> " + r.route().cluster() + " (" +
                     r.route().prefix_rewrite() + ")");
  }
  return routes;
}

void expectAdminHcm(const hcm_v3::HttpConnectionManager& hcm) {
  EXPECT_EQ(hcm.stat_prefix(), "kuma_envoy_admin");
  EXPECT_FALSE(hcm.route_config().validate_clusters().value());
  EXPECT_TRUE(hcm.route_config().has_validate_clusters());
  std::vector<std::string> internal;
  for (const auto& range : hcm.internal_address_config().cidr_ranges()) {
    internal.push_back(range.address_prefix() + "/" + std::to_string(range.prefix_len().value()));
  }
  EXPECT_THAT(internal, ElementsAre("127.0.0.1/32", "::1/128"));
  ASSERT_EQ(hcm.http_filters_size(), 1);
  EXPECT_EQ(hcm.http_filters(0).name(), "envoy.filters.http.router");
}

TEST(XdsAdmin, ListenerServesReadyInPlaintextAndTheAdminApiOverMtls) {
  ProxyOptions options;
  options.adminPort = 9901;
  options.adminTls = fakeAdminTls();
  auto out = generateCaseA(options);
  ASSERT_TRUE(out.ok()) << out.status();
  auto l = testing::decode<Listener>(*out, kListenerType, "kuma:envoy:admin");
  EXPECT_EQ(l.address().socket_address().address(), "10.0.0.1");
  EXPECT_EQ(l.address().socket_address().port_value(), 9901u);
  EXPECT_EQ(l.traffic_direction(), envoy::config::core::v3::INBOUND);
  ASSERT_EQ(l.listener_filters_size(), 1);
  EXPECT_EQ(l.listener_filters(0).name(), "envoy.filters.listener.tls_inspector");
  EXPECT_EQ(l.listener_filters(0).typed_config().type_url(),
            "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector");
  ASSERT_EQ(l.filter_chains_size(), 2);

  // Plaintext: readiness only, for probes.
  const FilterChain& plain = l.filter_chains(0);
  EXPECT_FALSE(plain.has_filter_chain_match());
  EXPECT_FALSE(plain.has_transport_socket());
  expectAdminHcm(hcmOf(plain));
  EXPECT_THAT(routesOf(hcmOf(plain)), ElementsAre("/ready -> kuma:readiness (/ready)"));

  // TLS: the whole admin API, for the control plane's client certificate only.
  const FilterChain& mtls = l.filter_chains(1);
  EXPECT_EQ(mtls.filter_chain_match().transport_protocol(), "tls");
  expectAdminHcm(hcmOf(mtls));
  EXPECT_THAT(routesOf(hcmOf(mtls)),
              ElementsAre("/ready -> kuma:readiness (/ready)", "/ -> kuma:envoy:admin (/)"));
  EXPECT_EQ(mtls.transport_socket().name(), "envoy.transport_sockets.tls");
  tls_v3::DownstreamTlsContext context;
  ASSERT_TRUE(mtls.transport_socket().typed_config().UnpackTo(&context));
  EXPECT_TRUE(context.require_client_certificate().value());
  const auto& common = context.common_tls_context();
  ASSERT_EQ(common.tls_certificates_size(), 1);
  EXPECT_EQ(common.tls_certificates(0).certificate_chain().inline_bytes(),
            "<admin server certificate PEM>");
  EXPECT_EQ(common.tls_certificates(0).private_key().inline_bytes(), "<admin server key PEM>");
  ASSERT_TRUE(common.has_validation_context());
  EXPECT_EQ(common.validation_context().trusted_ca().inline_bytes(), "<envoy admin CA PEM>");
  ASSERT_EQ(common.validation_context().match_typed_subject_alt_names_size(), 1);
  const auto& san = common.validation_context().match_typed_subject_alt_names(0);
  EXPECT_EQ(san.san_type(), tls_v3::SubjectAltNameMatcher::DNS);
  EXPECT_EQ(san.matcher().exact(), "kuma-cp");
  EXPECT_EQ(common.tls_certificate_sds_secret_configs_size(), 0);
}

TEST(XdsAdmin, WithoutCertificatesOnlyThePlaintextChain) {
  auto out = generateCaseA(ProxyOptions{.adminPort = 9901});
  ASSERT_TRUE(out.ok()) << out.status();
  auto l = testing::decode<Listener>(*out, kListenerType, "kuma:envoy:admin");
  ASSERT_EQ(l.filter_chains_size(), 1);
  EXPECT_THAT(routesOf(hcmOf(l.filter_chains(0))),
              ElementsAre("/ready -> kuma:readiness (/ready)"));
}

TEST(XdsAdmin, AdminClusterPointsAtTheUnixSocketWhenTheBootstrapPutAdminThere) {
  ProxyOptions options;
  options.adminPort = 9901;
  options.adminSocketPath = "/tmp/kuma-dp-1/kuma-envoy-admin.sock";
  auto out = generateCaseA(options);
  ASSERT_TRUE(out.ok()) << out.status();
  auto admin = testing::decode<Cluster>(*out, kClusterType, "kuma:envoy:admin");
  EXPECT_EQ(admin.type(), Cluster::STATIC);
  EXPECT_EQ(admin.connect_timeout().seconds(), 5);
  EXPECT_EQ(admin.alt_stat_name(), "kuma_envoy_admin");
  EXPECT_EQ(admin.load_assignment().cluster_name(), "kuma:envoy:admin");
  const auto& address = admin.load_assignment().endpoints(0).lb_endpoints(0).endpoint().address();
  EXPECT_EQ(address.pipe().path(), "/tmp/kuma-dp-1/kuma-envoy-admin.sock");
  EXPECT_FALSE(address.has_socket_address());
  // Readiness stays kuma-dp's TCP port; the listener stays on the Dataplane's address.
  auto readiness = testing::decode<Cluster>(*out, kClusterType, "kuma:readiness");
  EXPECT_EQ(readiness.alt_stat_name(), "kuma_readiness");
  const auto& ready = readiness.load_assignment().endpoints(0).lb_endpoints(0).endpoint().address();
  EXPECT_EQ(ready.socket_address().address(), "127.0.0.1");
  EXPECT_EQ(ready.socket_address().port_value(), 9902u);
  auto l = testing::decode<Listener>(*out, kListenerType, "kuma:envoy:admin");
  EXPECT_EQ(l.address().socket_address().address(), "10.0.0.1");
}

TEST(XdsAdmin, AdminAndReadinessClustersUseTheLoopbackOfTheAdminAddress) {
  for (const auto& [given, expected] :
       std::vector<std::pair<std::string, std::string>>{{"", "127.0.0.1"},
                                                        {"0.0.0.0", "127.0.0.1"},
                                                        {"127.0.0.1", "127.0.0.1"},
                                                        {"::", "::1"},
                                                        {"::1", "::1"}}) {
    auto out = generateCaseA(ProxyOptions{.adminPort = 9911, .adminAddress = given});
    ASSERT_TRUE(out.ok()) << given << ": " << out.status();
    for (const char* name : {"kuma:envoy:admin", "kuma:readiness"}) {
      auto c = testing::decode<Cluster>(*out, kClusterType, name);
      const auto& sa = c.load_assignment().endpoints(0).lb_endpoints(0).endpoint().address();
      EXPECT_EQ(sa.socket_address().address(), expected) << given << " " << name;
    }
  }
}

TEST(XdsAdmin, RefusesAnAdminAddressThatIsNotLoopbackOrUnspecified) {
  for (const std::string address : {"10.0.0.7", "example.com", "127.0.0.2"}) {
    auto out = generateCaseA(ProxyOptions{.adminPort = 9901, .adminAddress = address});
    ASSERT_FALSE(out.ok()) << address;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(out.status().message()),
                HasSubstr("envoy admin cluster is not allowed to have addresses other than \"\", "
                          "\"0.0.0.0\", \"127.0.0.1\", \"::\", \"::1\""));
  }
}

TEST(XdsAdmin, NeedsEnvoyAdminTlsExactlyWhenTheListenerIsGenerated) {
  auto ctx = MeshContext::build(
      testing::meshResources({testing::dataplaneYaml("remote", "10.0.0.1", R"(  inbound:
  - {port: 80, servicePort: 81, tags: {kuma.io/service: s}}
)"),
                              testing::dataplaneYaml("local", "127.0.0.1", R"(  inbound:
  - {port: 80, servicePort: 81, tags: {kuma.io/service: s}}
)")}));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  const auto remote = testing::dataplaneOf(**ctx, "remote");
  const auto local = testing::dataplaneOf(**ctx, "local");
  for (const auto& [dp, options, expected] :
       std::vector<std::tuple<model::ResourceConstSharedPtr, ProxyOptions, bool>>{
           {remote, ProxyOptions{}, true},
           {remote, ProxyOptions{.adminPort = 0}, false},
           {remote, ProxyOptions{.adminPort = std::nullopt, .adminAddress = "10.9.9.9"}, false},
           {local, ProxyOptions{}, false},
           {local, ProxyOptions{.adminPort = std::nullopt, .adminAddress = "::"}, true}}) {
    EXPECT_EQ(needsEnvoyAdminTls(*dp, options), expected)
        << dp->meta.name << " " << options.adminAddress;
    auto out = generate(**ctx, *dp, testing::withPlugins(options));
    if (out.ok()) {
      EXPECT_EQ(out->find(kListenerType, "kuma:envoy:admin") != nullptr, expected)
          << dp->meta.name << " " << options.adminAddress;
    }
  }
}

}  // namespace
}  // namespace kuma::xds
