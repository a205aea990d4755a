// Golden files: the JSON of every resource generated for spec §7.2 case (a) (without mTLS, with
// builtin mTLS STRICT and PERMISSIVE) and §7.3 case (b) (transparent proxy with
// reachableServices; also on an mTLS STRICT mesh with strict inbound ports and the admin mTLS
// chain). Regenerate with KUMA_UPDATE_GOLDEN=1.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "test/test_common/golden.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

void expectGolden(const std::string& name, MeshResources resources,
                  const ProxyOptions& options = {}) {
  auto ctx = MeshContext::build(std::move(resources));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  auto out = generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(options));
  ASSERT_TRUE(out.ok()) << out.status();
  const std::string actual = testing::toJson(*out).dump(2) + "\n";
  const auto path = test::sourcePath("test/xds/generator/testdata") / (name + ".golden.json");
  test::expectGoldenText(path, actual);
}

TEST(XdsGolden, CaseASidecarWithoutMtls) {
  expectGolden("case_a_sidecar", testing::caseResources(testing::caseADataplane()));
}

TEST(XdsGolden, CaseBTransparentProxyReachableServices) {
  expectGolden("case_b_transparent_proxy", testing::caseResources(testing::caseBDataplane()));
}

// §7.2 case (a) as written: builtin mTLS STRICT, with the proxy's SDS secrets.
TEST(XdsGolden, CaseASidecarMtlsStrict) {
  ProxyOptions options;
  options.tls = testing::fakeTlsSecrets();
  expectGolden("case_a_sidecar_mtls_strict",
               testing::caseMtlsResources(testing::caseADataplane(), "STRICT"), options);
}

// Case (b) as kuma-dp 2.14 connects by default on an mTLS STRICT mesh: strict inbound ports
// (`feature-strict-inbound-ports`), Envoy admin on its Unix socket, the admin listener's mTLS
// chain.
TEST(XdsGolden, CaseBTransparentProxyMtlsStrictInboundPortsAndAdminMtls) {
  ProxyOptions options;
  options.tls = testing::fakeTlsSecrets();
  options.strictInboundPorts = true;
  options.reusePort = true;
  options.adminSocketPath = "/tmp/kuma-dp-1/kuma-envoy-admin.sock";
  auto admin = std::make_shared<EnvoyAdminTlsCerts>();
  admin->certPem = "<admin server certificate PEM>";
  admin->keyPem = "<admin server key PEM>";
  admin->caPem = "<envoy admin CA PEM>";
  options.adminTls = admin;
  expectGolden("case_b_transparent_proxy_mtls_strict",
               testing::caseMtlsResources(testing::caseBDataplane(), "STRICT"), options);
}

TEST(XdsGolden, CaseASidecarMtlsPermissive) {
  ProxyOptions options;
  options.tls = testing::fakeTlsSecrets();
  expectGolden("case_a_sidecar_mtls_permissive",
               testing::caseMtlsResources(testing::caseADataplane(), "PERMISSIVE"), options);
}

}  // namespace
}  // namespace kuma::xds
