// MeshTLS's xDS plugin, through the generator with the registered plugin table, on the shapes of
// tools/conformance/cases/meshtls-* (checked there against Kuma 2.14.3's config dumps): the
// inbound chains for the policy's mode against the mesh's, the TLS parameters of the inbound mTLS
// chain (Kuma's quirk: ciphers only with a version) and of every mTLS cluster, per-inbound
// selection, the transparent proxy's inbound passthrough, and nothing without mTLS or policy.

#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "gtest/gtest.h"
#include "source/plugins/policies/meshtls/xds_configurer.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::Listener;
namespace tls_v3 = envoy::extensions::transport_sockets::tls::v3;

constexpr char kHttpInbound[] = "inbound:127.0.0.1:8080";
constexpr char kTcpInbound[] = "inbound:127.0.0.1:5432";

const char kMeshWide[] = R"(type: MeshTLS
mesh: default
name: mesh-tls
spec:
  targetRef: {kind: Mesh}
  rules:
  - default:
      mode: Permissive
      tlsVersion: {min: TLS12, max: TLS13}
      tlsCiphers: [ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-RSA-AES256-GCM-SHA384]
)";
const char kTcpStrict[] = R"(type: MeshTLS
mesh: default
name: web-tcp-strict
spec:
  targetRef: {kind: MeshSubset, tags: {kuma.io/service: web-tcp}}
  from:
  - targetRef: {kind: Mesh}
    default: {mode: Strict}
)";

std::string webDataplane(bool transparent) {
  std::string extra = R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  - {port: 5432, servicePort: 15432, tags: {kuma.io/service: web-tcp, kuma.io/protocol: tcp}}
)";
  extra += transparent ? R"(  transparentProxying:
    redirectPortInbound: 15006
    redirectPortOutbound: 15001
    reachableServices: [backend]
)"
                       : R"(  outbound:
  - {port: 10001, tags: {kuma.io/service: backend}}
)";
  return testing::dataplaneYaml("web", "127.0.0.1", extra);
}

GeneratedResources generateFor(const std::string& meshYaml,
                               const std::vector<std::string>& policies, bool transparent = false) {
  std::vector<std::string> yamls = {meshYaml, webDataplane(transparent),
                                    testing::dataplaneYaml("backend-1", "127.0.0.2", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http}}
)")};
  yamls.insert(yamls.end(), policies.begin(), policies.end());
  ProxyOptions options;
  options.tls = testing::fakeTlsSecrets();
  return testing::generateFromYamls(yamls, "web", options);
}

// "raw_buffer", "tls", "tls+kuma" (the mTLS chain) or "mtls" (STRICT) per chain.
std::vector<std::string> chainKinds(const Listener& l) {
  std::vector<std::string> out;
  for (const auto& c : l.filter_chains()) {
    std::string kind = c.filter_chain_match().transport_protocol();
    if (c.has_transport_socket()) {
      kind = kind.empty() ? "mtls" : kind + "+" + c.filter_chain_match().application_protocols(0);
    }
    out.push_back(kind);
  }
  return out;
}

bool hasTlsInspector(const Listener& l) {
  for (const auto& f : l.listener_filters()) {
    if (f.name() == "envoy.filters.listener.tls_inspector") {
      return true;
    }
  }
  return false;
}

tls_v3::TlsParameters downstreamParams(const Listener& l) {
  for (const auto& c : l.filter_chains()) {
    if (c.has_transport_socket()) {
      tls_v3::DownstreamTlsContext ctx;
      EXPECT_TRUE(c.transport_socket().typed_config().UnpackTo(&ctx));
      return ctx.common_tls_context().tls_params();
    }
  }
  ADD_FAILURE() << "no mTLS chain in " << l.name();
  return {};
}

tls_v3::TlsParameters upstreamParams(const Cluster& c) {
  tls_v3::UpstreamTlsContext ctx;
  EXPECT_TRUE(c.transport_socket().typed_config().UnpackTo(&ctx)) << c.name();
  return ctx.common_tls_context().tls_params();
}

const std::vector<std::string> kPermissive = {"raw_buffer", "tls", "tls+kuma"};
const std::vector<std::string> kStrict = {"mtls"};

TEST(MeshTlsXds, MeshWidePermissiveWithVersionsAndCiphers) {
  const GeneratedResources out = generateFor(testing::mtlsMeshYaml("STRICT"), {kMeshWide});
  for (const char* name : {kHttpInbound, kTcpInbound}) {
    SCOPED_TRACE(name);
    const Listener l = testing::decode<Listener>(out, kListenerType, name);
    EXPECT_EQ(chainKinds(l), kPermissive);
    EXPECT_TRUE(hasTlsInspector(l));
    const tls_v3::TlsParameters p = downstreamParams(l);
    EXPECT_EQ(p.tls_minimum_protocol_version(), tls_v3::TlsParameters::TLSv1_2);
    EXPECT_EQ(p.tls_maximum_protocol_version(), tls_v3::TlsParameters::TLSv1_3);
    ASSERT_EQ(p.cipher_suites_size(), 2);
    EXPECT_EQ(p.cipher_suites(0), "ECDHE-ECDSA-AES128-GCM-SHA256");
    EXPECT_EQ(p.cipher_suites(1), "ECDHE-RSA-AES256-GCM-SHA384");
  }
  const tls_v3::TlsParameters up =
      upstreamParams(testing::decode<Cluster>(out, kClusterType, "backend"));
  EXPECT_EQ(up.tls_minimum_protocol_version(), tls_v3::TlsParameters::TLSv1_2);
  EXPECT_EQ(up.tls_maximum_protocol_version(), tls_v3::TlsParameters::TLSv1_3);
  EXPECT_EQ(up.cipher_suites_size(), 2);
}

TEST(MeshTlsXds, StrictForOneInboundOfAPermissiveMesh) {
  const GeneratedResources out =
      generateFor(testing::mtlsMeshYaml("PERMISSIVE"), {kTcpStrict}, /*transparent=*/true);
  const Listener tcp = testing::decode<Listener>(out, kListenerType, kTcpInbound);
  EXPECT_EQ(chainKinds(tcp), kStrict);
  EXPECT_FALSE(hasTlsInspector(tcp));
  EXPECT_EQ(downstreamParams(tcp).ByteSizeLong(), 0u);
  // Not selected: as the mesh says.
  const Listener http = testing::decode<Listener>(out, kListenerType, kHttpInbound);
  EXPECT_EQ(chainKinds(http), kPermissive);
  // The last inbound is STRICT: per-port passthrough chains, even without strict inbound ports.
  const Listener passthrough =
      testing::decode<Listener>(out, kListenerType, "inbound:passthrough:ipv4");
  ASSERT_EQ(passthrough.filter_chains_size(), 2);
  EXPECT_EQ(passthrough.filter_chains(0).filter_chain_match().destination_port().value(), 8080u);
  EXPECT_EQ(passthrough.filter_chains(1).filter_chain_match().destination_port().value(), 5432u);
  // No versions or ciphers: the clusters keep Envoy's defaults.
  EXPECT_EQ(upstreamParams(testing::decode<Cluster>(out, kClusterType, "backend")).ByteSizeLong(),
            0u);
}

TEST(MeshTlsXds, NothingWithoutMtlsOrPolicy) {
  const GeneratedResources plain = generateFor(testing::meshYaml(), {kMeshWide});
  const GeneratedResources none = generateFor(testing::meshYaml(), {});
  EXPECT_EQ(testing::toJson(plain), testing::toJson(none));
  const GeneratedResources strict = generateFor(testing::mtlsMeshYaml("STRICT"), {});
  EXPECT_EQ(chainKinds(testing::decode<Listener>(strict, kListenerType, kHttpInbound)), kStrict);
}

TEST(MeshTlsParams, DownstreamCiphersOnlyWithAVersionUpstreamAlways) {
  const nlohmann::json ciphersOnly = {{"tlsCiphers", {"ECDHE-RSA-AES128-GCM-SHA256"}}};
  tls_v3::CommonTlsContext down;
  EXPECT_FALSE(policies::meshtls::setDownstreamTlsParams(ciphersOnly, down));
  EXPECT_FALSE(down.has_tls_params());
  tls_v3::CommonTlsContext up;
  EXPECT_TRUE(policies::meshtls::setUpstreamTlsParams(ciphersOnly, up));
  ASSERT_EQ(up.tls_params().cipher_suites_size(), 1);
  EXPECT_EQ(up.tls_params().tls_minimum_protocol_version(), tls_v3::TlsParameters::TLS_AUTO);
  const nlohmann::json maxOnly = {{"tlsVersion", {{"max", "TLS12"}}},
                                  {"tlsCiphers", {"ECDHE-RSA-AES128-GCM-SHA256"}}};
  EXPECT_TRUE(policies::meshtls::setDownstreamTlsParams(maxOnly, down));
  EXPECT_EQ(down.tls_params().tls_maximum_protocol_version(), tls_v3::TlsParameters::TLSv1_2);
  EXPECT_EQ(down.tls_params().cipher_suites_size(), 1);
}

}  // namespace
}  // namespace kuma::xds
