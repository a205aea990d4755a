// End to end, Envoy's admin (spec §7.4; Kuma 2.14 admin_proxy_generator.go, pkg/envoy/admin):
// with kuma-cp's default envoyAdminUnixSocket, kuma-dp's Envoy has its admin on
// `<workdir>/kuma-envoy-admin.sock` and nothing on TCP; the `kuma:envoy:admin` listener on the
// Dataplane's address answers `/ready` in plaintext and the whole admin API only over mTLS with
// a client certificate of the Envoy Admin CA whose DNS SAN is `kuma-cp`; kuma-cp's inspect
// endpoints `/meshes/{mesh}/dataplanes/{name}/xds|stats|clusters` reach it that way.

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "source/common/crypto/openssl_util.h"
#include "source/common/crypto/pki.h"
#include "source/common/json_yaml.h"
#include "test/integration/kuma_dp_start.h"
#include "test/integration/pem_scan.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The address of the Dataplane: not the admin's 127.0.0.1, so that kuma-cp generates the
// listener there (127.0.0.0/8 is all loopback).
constexpr char kDataplaneAddress[] = "127.0.0.2";

struct Pem {
  crypto::X509Ptr cert;
  crypto::PkeyPtr key;
};

Pem parse(const crypto::CertAndKey& pair) {
  crypto::BioPtr certBio(
      BIO_new_mem_buf(pair.certPem.data(), static_cast<int>(pair.certPem.size())));
  crypto::BioPtr keyBio(BIO_new_mem_buf(pair.keyPem.data(), static_cast<int>(pair.keyPem.size())));
  return {crypto::X509Ptr(PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr)),
          crypto::PkeyPtr(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr))};
}

X509_STORE* trustStoreOf(const std::string& caPem) {
  crypto::BioPtr bio(BIO_new_mem_buf(caPem.data(), static_cast<int>(caPem.size())));
  X509_STORE* store = X509_STORE_new();
  crypto::X509Ptr ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  X509_STORE_add_cert(store, ca.get());
  return store;
}

struct Answer {
  bool connected = false;  // an HTTP answer came back
  int status = 0;
  std::string body;
  std::string error;
};

// GET over TLS to the admin listener, verifying its certificate against `caPem` for the IP,
// presenting `client` when given.
Answer tlsGet(uint16_t port, const std::string& path, const std::string& caPem,
              const std::optional<crypto::CertAndKey>& client) {
  std::unique_ptr<httplib::SSLClient> c;
  if (client.has_value()) {
    Pem pem = parse(*client);
    c = std::make_unique<httplib::SSLClient>(kDataplaneAddress, port, pem.cert.get(),
                                             pem.key.get());
  } else {
    c = std::make_unique<httplib::SSLClient>(kDataplaneAddress, port);
  }
  c->set_ca_cert_store(trustStoreOf(caPem));
  c->enable_server_certificate_verification(true);
  c->set_connection_timeout(std::chrono::seconds(2));
  c->set_read_timeout(std::chrono::seconds(3));
  auto res = c->Get(path);
  Answer a;
  if (!res) {
    a.error = httplib::to_string(res.error());
    return a;
  }
  a.connected = true;
  a.status = res->status;
  a.body = res->body;
  return a;
}

Answer plainGet(uint16_t port, const std::string& path) {
  httplib::Client c(kDataplaneAddress, port);
  c.set_connection_timeout(std::chrono::seconds(2));
  c.set_read_timeout(std::chrono::seconds(3));
  auto res = c.Get(path);
  Answer a;
  if (res) {
    a.connected = true;
    a.status = res->status;
    a.body = res->body;
  } else {
    a.error = httplib::to_string(res.error());
  }
  return a;
}

bool tcpListening(const std::string& ip, uint16_t port) {
  return tcpExchange(ip, port, "").has_value();
}

class EnvoyAdminMtlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    envoy_ = std::getenv("KUMA_ENVOY_BINARY") != nullptr ? std::getenv("KUMA_ENVOY_BINARY") : "";
    ASSERT_FALSE(envoy_.empty()) << "KUMA_ENVOY_BINARY is not set";
    dir_ = makeTempDir("envoy-admin-mtls");
    KumaCp::Options options;
    // envoyAdminUnixSocket is left at its default (true).
    options.env = {{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "none"}};
    auto cp = KumaCp::start(options);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
  }
  void TearDown() override {
    if (dp_.process) {
      EXPECT_EQ(dp_.process->stop(SIGTERM, std::chrono::seconds(15)), 0) << dp_.process->output();
    }
  }

  std::string dataplaneYaml(uint16_t adminPort, uint16_t appPort) const {
    return "type: Dataplane\nmesh: default\nname: web-1\nnetworking:\n  address: " +
           std::string(kDataplaneAddress) + "\n  admin:\n    port: " + std::to_string(adminPort) +
           "\n  inbound:\n  - port: " + std::to_string(freePort()) +
           "\n    servicePort: " + std::to_string(appPort) +
           "\n    serviceAddress: 127.0.0.1\n    tags:\n      kuma.io/service: web\n";
  }

  // The Envoy Admin CA kuma-cp created (GlobalSecret envoy-admin-ca: certificate then key).
  crypto::CertAndKey envoyAdminCa() const {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res = api.Get("/global-secrets/envoy-admin-ca");
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    if (!res || res->status != 200) {
      return {};
    }
    std::string data;
    EXPECT_TRUE(absl::Base64Unescape(json::parse(res->body).value("data", ""), &data));
    const auto end = data.find("-----END CERTIFICATE-----");
    EXPECT_NE(end, std::string::npos);
    const std::string cert = data.substr(0, end + 25) + "\n";
    return {cert, data};
  }

  static crypto::CertAndKey clientCert(const crypto::CertAndKey& ca, const std::string& san) {
    crypto::LeafCertSpec spec;
    spec.hosts = {san};
    spec.server = false;
    spec.key = crypto::LeafKey::EcdsaP256;
    auto issued = crypto::issueLeafCert(ca, spec);
    EXPECT_TRUE(issued.ok()) << issued.status();
    return issued.ok() ? *issued : crypto::CertAndKey{};
  }

  std::string envoy_;
  std::string dir_;
  std::unique_ptr<KumaCp> cp_;
  KumaDpProcess dp_;
};

TEST_F(EnvoyAdminMtlsTest, AdminOnTheUnixSocketAndBehindMtlsOnTheDataplaneAddress) {
  App app("web");
  const uint16_t adminPort = freePort();
  dp_ = startKumaDp(*cp_, envoy_, dir_, "web-1", dataplaneYaml(adminPort, app.port()));
  ASSERT_NO_FATAL_FAILURE(expectKumaDpReady(dp_, *cp_));

  // Envoy's admin is the Unix socket of the bootstrap, not a TCP port.
  std::ifstream bootstrapFile(dp_.workDir + "/bootstrap.yaml");
  std::stringstream bootstrapText;
  bootstrapText << bootstrapFile.rdbuf();
  auto bootstrap = common::parseYaml(bootstrapText.str());
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  EXPECT_EQ((*bootstrap)["admin"]["address"]["pipe"]["path"], dp_.adminSocket());
  EXPECT_EQ((*bootstrap)["admin"]["address"]["pipe"]["mode"], 384);
  EXPECT_FALSE((*bootstrap)["admin"]["address"].contains("socketAddress"));
  auto live = unixHttpGet(dp_.adminSocket(), "/ready");
  ASSERT_TRUE(live.has_value()) << "nothing on " << dp_.adminSocket();
  EXPECT_EQ(live->first, 200);
  EXPECT_THAT(live->second, HasSubstr("LIVE"));
  EXPECT_FALSE(tcpListening("127.0.0.1", adminPort)) << "Envoy's admin must not be on TCP";

  // Plaintext on the Dataplane's address: readiness only (kuma-dp's, for probes).
  Answer ready;
  ASSERT_TRUE(eventually(
      [&] {
        ready = plainGet(adminPort, "/ready");
        return ready.status == 200;
      },
      std::chrono::seconds(15)))
      << ready.status << " " << ready.error;
  EXPECT_EQ(ready.body, "READY");
  const Answer plainStats = plainGet(adminPort, "/stats");
  EXPECT_TRUE(plainStats.connected);
  EXPECT_EQ(plainStats.status, 404) << "no route to the admin API in plaintext";
  EXPECT_THAT(plainGet(adminPort, "/config_dump").body, Not(HasSubstr("configs")));

  // mTLS with the control plane's kind of client certificate: the whole admin API. The server
  // certificate verifies against the Envoy Admin CA for the Dataplane's IP.
  const crypto::CertAndKey ca = envoyAdminCa();
  ASSERT_FALSE(ca.certPem.empty());
  const crypto::CertAndKey kumaCp = clientCert(ca, "kuma-cp");
  const Answer stats = tlsGet(adminPort, "/stats?filter=^server.live$", ca.certPem, kumaCp);
  ASSERT_TRUE(stats.connected) << stats.error;
  EXPECT_EQ(stats.status, 200);
  EXPECT_THAT(stats.body, HasSubstr("server.live: 1"));
  EXPECT_EQ(tlsGet(adminPort, "/ready", ca.certPem, kumaCp).body, "READY");
  EXPECT_EQ(tlsGet(adminPort, "/config_dump", ca.certPem, kumaCp).status, 200);

  // Refused: no client certificate, another SAN, another CA.
  const Answer anonymous = tlsGet(adminPort, "/stats", ca.certPem, std::nullopt);
  EXPECT_FALSE(anonymous.connected) << anonymous.status << " " << anonymous.body;
  const Answer otherSan = tlsGet(adminPort, "/stats", ca.certPem, clientCert(ca, "not-kuma-cp"));
  EXPECT_FALSE(otherSan.connected) << otherSan.status;
  const auto otherCa =
      crypto::generateSelfSignedCa("Kuma", "Mesh", "Envoy Admin CA", absl::Hours(1));
  ASSERT_TRUE(otherCa.ok());
  const Answer foreign = tlsGet(adminPort, "/stats", ca.certPem, clientCert(*otherCa, "kuma-cp"));
  EXPECT_FALSE(foreign.connected) << foreign.status;
  // ... and a server that is not the Dataplane's (verified against another CA) is not trusted.
  EXPECT_FALSE(tlsGet(adminPort, "/ready", otherCa->certPem, kumaCp).connected);

  // kuma-cp's inspect endpoints go the same way, with its own client certificate.
  httplib::Client api("127.0.0.1", cp_->apiPort());
  auto inspectStats = api.Get("/meshes/default/dataplanes/web-1/stats");
  ASSERT_TRUE(inspectStats);
  EXPECT_EQ(inspectStats->status, 200) << inspectStats->body << "\n" << cp_->output();
  EXPECT_EQ(inspectStats->get_header_value("content-type"), "text/plain");
  EXPECT_THAT(inspectStats->body, HasSubstr("server.live: 1"));
  auto clusters = api.Get("/meshes/default/dataplanes/web-1/clusters?format=json");
  ASSERT_TRUE(clusters);
  EXPECT_EQ(clusters->status, 200) << clusters->body;
  EXPECT_EQ(clusters->get_header_value("content-type"), "application/json");
  const json clustersJson = json::parse(clusters->body, nullptr, false);
  ASSERT_TRUE(clustersJson.is_object()) << clusters->body.substr(0, 200);
  EXPECT_TRUE(clustersJson.contains("cluster_statuses"));
  auto xds = api.Get("/meshes/default/dataplanes/web-1/xds");
  ASSERT_TRUE(xds);
  EXPECT_EQ(xds->status, 200) << xds->body.substr(0, 300);
  EXPECT_EQ(xds->get_header_value("content-type"), "application/json");
  const json dump = json::parse(xds->body, nullptr, false);
  ASSERT_TRUE(dump.is_object());
  EXPECT_TRUE(dump.contains("configs"));
  EXPECT_THAT(xds->body, HasSubstr("kuma:envoy:admin"));
  // No key or certificate in any encoding: the admin listener's own certificate and key (inline
  // in the dump: Envoy redacts the key, not the certificate) get Kuma's stand-ins.
  EXPECT_EQ(findPem(xds->body), "") << "the config dump shows a PEM block";
  EXPECT_THAT(xds->body, HasSubstr(absl::Base64Escape("CERT")));
  auto xdsWithEds = api.Get("/meshes/default/dataplanes/web-1/xds?include_eds=true");
  ASSERT_TRUE(xdsWithEds);
  EXPECT_EQ(findPem(xdsWithEds->body), "");
  auto missing = api.Get("/meshes/default/dataplanes/nope/stats");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(missing->body, HasSubstr("Could not get dataplane resource"));
}

}  // namespace
}  // namespace kuma::test
