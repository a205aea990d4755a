// mTLS in generated configs, asserted by hand from spec §7.2 case (a) and §8.3: inbound
// DownstreamTlsContext (STRICT one chain; PERMISSIVE tls_inspector + three chains), outbound
// UpstreamTlsContext (SNI, ALPN, exact SPIFFE SAN), SDS over ADS, and the two Secrets.

#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::FilterChain;
using envoy::config::listener::v3::Listener;
namespace tls_v3 = envoy::extensions::transport_sockets::tls::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
using ::testing::ElementsAre;

struct Generated {
  MeshContextConstSharedPtr context;
  GeneratedResources out;
};

Generated generateCaseA(const std::string& mode, bool withSecrets = true) {
  auto resources = mode.empty() ? testing::caseResources(testing::caseADataplane())
                                : testing::caseMtlsResources(testing::caseADataplane(), mode);
  auto ctx = MeshContext::build(std::move(resources));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  ProxyOptions options;
  if (withSecrets) {
    options.tls = testing::fakeTlsSecrets();
  }
  auto out = generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(options));
  EXPECT_TRUE(out.ok()) << out.status();
  return {*ctx, out.ok() ? *std::move(out) : GeneratedResources{}};
}

void expectAdsSds(const tls_v3::SdsSecretConfig& config, const std::string& name) {
  EXPECT_EQ(config.name(), name);
  EXPECT_TRUE(config.sds_config().has_ads());
  EXPECT_EQ(config.sds_config().resource_api_version(), envoy::config::core::v3::V3);
}

tls_v3::DownstreamTlsContext downstreamOf(const FilterChain& chain) {
  EXPECT_EQ(chain.transport_socket().name(), "envoy.transport_sockets.tls");
  tls_v3::DownstreamTlsContext context;
  EXPECT_TRUE(chain.transport_socket().typed_config().UnpackTo(&context));
  return context;
}

void expectInboundMtls(const FilterChain& chain) {
  const tls_v3::DownstreamTlsContext context = downstreamOf(chain);
  EXPECT_TRUE(context.require_client_certificate().value());
  const auto& common = context.common_tls_context();
  ASSERT_EQ(common.tls_certificate_sds_secret_configs_size(), 1);
  expectAdsSds(common.tls_certificate_sds_secret_configs(0), "identity_cert:secret:default");
  const auto& combined = common.combined_validation_context();
  ASSERT_EQ(combined.default_validation_context().match_typed_subject_alt_names_size(), 1);
  const auto& san = combined.default_validation_context().match_typed_subject_alt_names(0);
  EXPECT_EQ(san.san_type(), tls_v3::SubjectAltNameMatcher::URI);
  EXPECT_EQ(san.matcher().prefix(), "spiffe://default/");
  expectAdsSds(combined.validation_context_sds_secret_config(), "mesh_ca:secret:default");
  EXPECT_EQ(common.alpn_protocols_size(), 0);  // no ALPN on the server side
  EXPECT_FALSE(common.has_tls_params());
}

TEST(XdsMtls, StrictInboundRequiresMeshClientCertificates) {
  Generated g = generateCaseA("STRICT");
  Listener l = testing::decode<Listener>(g.out, kListenerType, "inbound:10.0.0.1:8080");
  ASSERT_EQ(l.filter_chains_size(), 1);
  EXPECT_EQ(l.listener_filters_size(), 0);
  EXPECT_FALSE(l.filter_chains(0).has_filter_chain_match());
  expectInboundMtls(l.filter_chains(0));
  // The HCM stays the chain's filter and forwards the caller's SPIFFE ID.
  ASSERT_EQ(l.filter_chains(0).filters_size(), 1);
  hcm_v3::HttpConnectionManager hcm;
  ASSERT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&hcm));
  EXPECT_EQ(hcm.forward_client_cert_details(), hcm_v3::HttpConnectionManager::SANITIZE_SET);
  EXPECT_TRUE(hcm.set_current_client_cert_details().uri());
}

TEST(XdsMtls, PermissiveInboundAcceptsPlaintextAndMtls) {
  Generated g = generateCaseA("PERMISSIVE");
  Listener l = testing::decode<Listener>(g.out, kListenerType, "inbound:10.0.0.1:8080");
  ASSERT_EQ(l.listener_filters_size(), 1);
  EXPECT_EQ(l.listener_filters(0).name(), "envoy.filters.listener.tls_inspector");
  EXPECT_EQ(l.listener_filters(0).typed_config().type_url(),
            "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector");
  ASSERT_EQ(l.filter_chains_size(), 3);
  EXPECT_EQ(l.filter_chains(0).filter_chain_match().transport_protocol(), "raw_buffer");
  EXPECT_FALSE(l.filter_chains(0).has_transport_socket());
  EXPECT_EQ(l.filter_chains(1).filter_chain_match().transport_protocol(), "tls");
  EXPECT_EQ(l.filter_chains(1).filter_chain_match().application_protocols_size(), 0);
  EXPECT_FALSE(l.filter_chains(1).has_transport_socket());
  EXPECT_EQ(l.filter_chains(2).filter_chain_match().transport_protocol(), "tls");
  EXPECT_THAT(l.filter_chains(2).filter_chain_match().application_protocols(), ElementsAre("kuma"));
  expectInboundMtls(l.filter_chains(2));
  // Same filters on every chain, except the traffic permissions' RBAC, which only the mTLS
  // chain gets (first HTTP filter of its HCM; no permission in this mesh: deny all).
  EXPECT_EQ(l.filter_chains(1).filters(0).SerializeAsString(),
            l.filter_chains(0).filters(0).SerializeAsString());
  hcm_v3::HttpConnectionManager plain;
  hcm_v3::HttpConnectionManager mtls;
  ASSERT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&plain));
  ASSERT_TRUE(l.filter_chains(2).filters(0).typed_config().UnpackTo(&mtls));
  ASSERT_EQ(mtls.http_filters_size(), plain.http_filters_size() + 1);
  EXPECT_EQ(mtls.http_filters(0).name(), "envoy.filters.http.rbac");
  mtls.mutable_http_filters()->erase(mtls.mutable_http_filters()->begin());
  EXPECT_EQ(mtls.SerializeAsString(), plain.SerializeAsString());
}

TEST(XdsMtls, OutboundClustersPresentIdentityAndVerifyDestination) {
  for (const std::string mode : {"STRICT", "PERMISSIVE"}) {
    Generated g = generateCaseA(mode);
    for (const std::string service : {"api", "redis"}) {
      Cluster c = testing::decode<Cluster>(g.out, kClusterType, service);
      EXPECT_EQ(c.transport_socket().name(), "envoy.transport_sockets.tls");
      tls_v3::UpstreamTlsContext context;
      ASSERT_TRUE(c.transport_socket().typed_config().UnpackTo(&context));
      EXPECT_EQ(context.sni(), service + "{mesh=default}");
      const auto& common = context.common_tls_context();
      EXPECT_THAT(common.alpn_protocols(), ElementsAre("kuma"));
      ASSERT_EQ(common.tls_certificate_sds_secret_configs_size(), 1);
      expectAdsSds(common.tls_certificate_sds_secret_configs(0), "identity_cert:secret:default");
      const auto& combined = common.combined_validation_context();
      ASSERT_EQ(combined.default_validation_context().match_typed_subject_alt_names_size(), 1);
      const auto& san = combined.default_validation_context().match_typed_subject_alt_names(0);
      EXPECT_EQ(san.san_type(), tls_v3::SubjectAltNameMatcher::URI);
      EXPECT_EQ(san.matcher().exact(), "spiffe://default/" + service);
      expectAdsSds(combined.validation_context_sds_secret_config(), "mesh_ca:secret:default");
    }
    // The inbound (local) cluster is plaintext to the workload.
    EXPECT_FALSE(
        testing::decode<Cluster>(g.out, kClusterType, "localhost:18080").has_transport_socket());
  }
}

TEST(XdsMtls, SniCarriesExtraTagsSortedWithMesh) {
  auto resources =
      testing::caseMtlsResources(testing::dataplaneYaml("web-1", "10.0.0.1", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: web}}
  outbound:
  - {port: 10003, tags: {kuma.io/service: api, version: v1, zone: z}}
)"),
                                 "STRICT");
  auto ctx = MeshContext::build(std::move(resources));
  ASSERT_TRUE(ctx.ok());
  auto out =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(ProxyOptions{}));
  ASSERT_TRUE(out.ok());
  const auto names = testing::namesOf(*out, kClusterType);
  std::string cluster;
  for (const auto& n : names) {
    if (n.rfind("api-", 0) == 0) {
      cluster = n;
    }
  }
  ASSERT_FALSE(cluster.empty());
  Cluster c = testing::decode<Cluster>(*out, kClusterType, cluster);
  tls_v3::UpstreamTlsContext context;
  ASSERT_TRUE(c.transport_socket().typed_config().UnpackTo(&context));
  EXPECT_EQ(context.sni(), "api{mesh=default,version=v1,zone=z}");
}

TEST(XdsMtls, SecretsDeliveredWhenIssued) {
  Generated g = generateCaseA("STRICT");
  EXPECT_THAT(testing::namesOf(g.out, kSecretType),
              ElementsAre("identity_cert:secret:default", "mesh_ca:secret:default"));
  auto identity =
      testing::decode<tls_v3::Secret>(g.out, kSecretType, "identity_cert:secret:default");
  EXPECT_EQ(identity.tls_certificate().certificate_chain().inline_bytes(),
            "<identity certificate PEM>");
  EXPECT_EQ(identity.tls_certificate().private_key().inline_bytes(), "<identity key PEM>");
  auto ca = testing::decode<tls_v3::Secret>(g.out, kSecretType, "mesh_ca:secret:default");
  EXPECT_EQ(ca.validation_context().trusted_ca().inline_bytes(), "<mesh CA PEM>");

  Generated without = generateCaseA("STRICT", /*withSecrets=*/false);
  EXPECT_TRUE(testing::namesOf(without.out, kSecretType).empty());
}

TEST(XdsMtls, NothingWhenMtlsIsOff) {
  Generated g = generateCaseA("", /*withSecrets=*/true);
  EXPECT_TRUE(testing::namesOf(g.out, kSecretType).empty());
  Listener l = testing::decode<Listener>(g.out, kListenerType, "inbound:10.0.0.1:8080");
  ASSERT_EQ(l.filter_chains_size(), 1);
  EXPECT_FALSE(l.filter_chains(0).has_transport_socket());
  EXPECT_FALSE(testing::decode<Cluster>(g.out, kClusterType, "api").has_transport_socket());
}

TEST(XdsMtls, OutboundClustersStaySharedAcrossProxies) {
  auto resources = testing::caseMtlsResources(testing::caseADataplane(), "STRICT");
  resources.dataplanes.push_back(
      testing::parse(testing::dataplaneYaml("web-2", "10.0.0.9", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  outbound:
  - {port: 10002, tags: {kuma.io/service: api}}
)")));
  auto ctx = MeshContext::build(std::move(resources));
  ASSERT_TRUE(ctx.ok());
  ProxyOptions a;
  a.tls = testing::fakeTlsSecrets();
  ProxyOptions b;
  b.tls = std::make_shared<ProxyTlsSecrets>(ProxyTlsSecrets{"other", "key", "<mesh CA PEM>"});
  auto first = generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(a));
  auto second = generate(**ctx, *testing::dataplaneOf(**ctx, "web-2"), testing::withPlugins(b));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->find(kClusterType, "api"), second->find(kClusterType, "api"));
  EXPECT_NE(first->find(kSecretType, "identity_cert:secret:default")->serialized,
            second->find(kSecretType, "identity_cert:secret:default")->serialized);
}

}  // namespace
}  // namespace kuma::xds
