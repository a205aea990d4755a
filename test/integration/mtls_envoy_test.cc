// End to end with real Envoys and mesh mTLS (spec §8, issue 8 part 1+2): kuma-cp issues SPIFFE
// identities over SDS (ADS), the two sidecars talk mTLS, plaintext clients are refused by STRICT
// and accepted by PERMISSIVE inbounds, identities rotate before expiry without dropping a
// connection, and a provided CA (user Secrets) issues the identities instead of the builtin one.
//
// An allow-all MeshTrafficPermission is applied up front: with mTLS on and no permission Kuma
// denies traffic (spec §10), which the RBAC generation will enforce.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"

#include "test/integration/pem_scan.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

struct CertDetails {
  std::string serial;
  std::set<std::string> uris;
};

struct EnvoyCerts {
  std::vector<CertDetails> chain;  // every identity certificate in use
  std::vector<CertDetails> cas;    // every trusted CA
};

std::vector<CertDetails> details(const json& list) {
  std::vector<CertDetails> out;
  if (!list.is_array()) {
    return out;
  }
  for (const json& c : list) {
    CertDetails d;
    d.serial = c.value("serial_number", "");
    for (const json& san : c.value("subject_alt_names", json::array())) {
      if (san.contains("uri")) {
        d.uris.insert(san["uri"].get<std::string>());
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

// Envoy's admin /certs: the certificates of every TLS context (listeners and clusters).
EnvoyCerts envoyCerts(uint16_t adminPort) {
  EnvoyCerts out;
  httplib::Client admin("127.0.0.1", adminPort);
  auto res = admin.Get("/certs");
  if (!res || res->status != 200) {
    return out;
  }
  const json body = json::parse(res->body, nullptr, false);
  for (const json& ctx : body.value("certificates", json::array())) {
    // Contexts without an identity are not the mesh's (e.g. the ADS cluster trusting kuma-cp).
    if (ctx.value("cert_chain", json::array()).empty()) {
      continue;
    }
    for (auto& d : details(ctx.value("cert_chain", json::array()))) {
      out.chain.push_back(std::move(d));
    }
    for (auto& d : details(ctx.value("ca_cert", json::array()))) {
      out.cas.push_back(std::move(d));
    }
  }
  return out;
}

// The serials of the identities in use; empty until every TLS context has one.
std::set<std::string> identitySerials(uint16_t adminPort, const std::string& spiffeId) {
  std::set<std::string> serials;
  const EnvoyCerts certs = envoyCerts(adminPort);
  for (const CertDetails& c : certs.chain) {
    if (c.uris.count(spiffeId) == 0) {
      return {};
    }
    serials.insert(c.serial);
  }
  return serials;
}

class MtlsEnvoyTest : public XdsEnvoyTest {
 protected:
  static int put(httplib::Client& api, const std::string& path, const json& body) {
    auto res = api.Put(path, body.dump(), "application/json");
    EXPECT_TRUE(res) << path;
    if (res && res->status >= 300) {
      ADD_FAILURE() << path << ": " << res->status << " " << res->body;
    }
    return res ? res->status : 0;
  }

  static json builtinMesh(const std::string& mode, const std::string& expiration = "") {
    json backend = {{"name", "ca-1"}, {"type", "builtin"}, {"mode", mode}};
    if (!expiration.empty()) {
      backend["dpCert"] = {{"rotation", {{"expiration", expiration}}}};
    }
    return {{"type", "Mesh"},
            {"name", "default"},
            {"mtls", {{"enabledBackend", "ca-1"}, {"backends", {backend}}}}};
  }

  void allowAll(httplib::Client& api) {
    put(api, "/meshes/default/meshtrafficpermissions/allow-all",
        {{"type", "MeshTrafficPermission"},
         {"mesh", "default"},
         {"name", "allow-all"},
         {"spec",
          {{"targetRef", {{"kind", "Mesh"}}},
           {"from", {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"action", "Allow"}}}}}}}}});
  }

  // Starts backend and web (web → backend outbound) and waits until web reaches backend.
  void startPair(int baseId) {
    backendApp_ = std::make_unique<App>("backend");
    webApp_ = std::make_unique<App>("web");
    backendInbound_ = freePort();
    webOutbound_ = freePort();
    backend_ = startSidecar(
        dataplane("backend-1", freePort(), backendInbound_, backendApp_->port(), "backend"), false,
        baseId);
    web_ = startSidecar(
        dataplane("web-1", freePort(), freePort(), webApp_->port(), "web", webOutbound_), true,
        baseId + 1);
    ASSERT_TRUE(backend_.envoy && web_.envoy);
    const bool reached =
        eventually([&] { return httpGet(webOutbound_, "/") == "hello from backend"; }, 40s);
    ASSERT_TRUE(reached) << diagnostics({&web_, &backend_});
  }

  void expectNothingRejected() {
    for (const Sidecar* s : {&backend_, &web_}) {
      EXPECT_EQ(envoyStat(s->adminPort, "listener_manager.lds.update_rejected"), 0) << s->name;
      EXPECT_EQ(envoyStat(s->adminPort, "cluster_manager.cds.update_rejected"), 0) << s->name;
    }
  }

  std::unique_ptr<App> backendApp_;
  std::unique_ptr<App> webApp_;
  uint16_t backendInbound_ = 0;
  uint16_t webOutbound_ = 0;
  Sidecar backend_;
  Sidecar web_;
};

const std::string kPlainRequest = "GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n";

TEST_F(MtlsEnvoyTest, BuiltinStrictThenPermissive) {
  httplib::Client api("127.0.0.1", cp_->apiPort());
  ASSERT_EQ(put(api, "/meshes/default", builtinMesh("STRICT")), 200);
  // The builtin CA's Secrets are there right after the Mesh write.
  for (const char* name : {"default.ca-builtin-cert-ca-1", "default.ca-builtin-key-ca-1"}) {
    auto res = api.Get(std::string("/meshes/default/secrets/") + name);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << name;
  }
  allowAll(api);
  startPair(161);

  // Every TLS context carries the proxy's SPIFFE identity and trusts the mesh CA.
  ASSERT_TRUE(eventually(
      [&] { return !identitySerials(web_.adminPort, "spiffe://default/web").empty(); }, 10s));
  ASSERT_TRUE(eventually(
      [&] { return !identitySerials(backend_.adminPort, "spiffe://default/backend").empty(); },
      10s));
  const EnvoyCerts webCerts = envoyCerts(web_.adminPort);
  ASSERT_FALSE(webCerts.chain.empty());
  EXPECT_THAT(webCerts.chain[0].uris, Contains("kuma://kuma.io/service/web"));
  EXPECT_THAT(webCerts.chain[0].uris, Contains("kuma://kuma.io/protocol/http"));
  ASSERT_FALSE(webCerts.cas.empty());
  for (const CertDetails& ca : webCerts.cas) {
    EXPECT_THAT(ca.uris, Contains("spiffe://default")) << *httpGet(web_.adminPort, "/certs");
    EXPECT_EQ(ca.serial, "0");  // the builtin root's serial
  }

  // The hop web → backend is mTLS: handshakes on both sides.
  EXPECT_GE(envoyStat(web_.adminPort, "cluster.backend.ssl.handshake"), 1)
      << diagnostics({&web_, &backend_});
  EXPECT_GE(envoyStat(backend_.adminPort,
                      "listener.127.0.0.1_" + std::to_string(backendInbound_) + ".ssl.handshake"),
            1);
  expectNothingRejected();

  // STRICT: a client outside the mesh (plain TCP) gets no answer from backend's inbound.
  auto refused = plainTcpExchange(backendInbound_, kPlainRequest);
  EXPECT_TRUE(!refused.has_value() || refused->find("hello from backend") == std::string::npos)
      << *refused;
  EXPECT_FALSE(httpGet(backendInbound_, "/").has_value());

  // PERMISSIVE: plaintext accepted, mesh traffic still mTLS.
  ASSERT_EQ(put(api, "/meshes/default", builtinMesh("PERMISSIVE")), 200);
  const bool plaintextAccepted =
      eventually([&] { return httpGet(backendInbound_, "/") == "hello from backend"; }, 20s);
  EXPECT_TRUE(plaintextAccepted) << diagnostics({&web_, &backend_});
  const long handshakes =
      envoyStat(backend_.adminPort,
                "listener.127.0.0.1_" + std::to_string(backendInbound_) + ".ssl.handshake");
  const bool meshStillMtls = eventually(
      [&] {
        httplib::Client c("127.0.0.1", webOutbound_);
        c.set_keep_alive(false);
        auto res = c.Get("/", {{"connection", "close"}});
        // A new upstream connection (the listener changed) is a new handshake.
        return res && res->body == "hello from backend" &&
               envoyStat(backend_.adminPort, "listener.127.0.0.1_" +
                                                 std::to_string(backendInbound_) +
                                                 ".ssl.handshake") > handshakes;
      },
      20s);
  EXPECT_TRUE(meshStillMtls) << diagnostics({&web_, &backend_});
  expectNothingRejected();
}

// Issue "hostile input", part 2: the inspect API never shows key or certificate material. Kuma
// renders a proxy's config with stand-ins ("CERT", "KEY", "CA"); so does kuma-cp.
TEST_F(MtlsEnvoyTest, InspectResponsesCarryNoKeyMaterial) {
  httplib::Client api("127.0.0.1", cp_->apiPort());
  ASSERT_EQ(put(api, "/meshes/default", builtinMesh("STRICT")), 200);
  allowAll(api);
  startPair(171);
  ASSERT_TRUE(eventually(
      [&] { return !identitySerials(web_.adminPort, "spiffe://default/web").empty(); }, 10s));

  const std::vector<std::string> paths = {
      "/meshes/default/dataplanes/web-1/_config",
      "/meshes/default/dataplanes/web-1/_config?include=diff",
      "/meshes/default/dataplanes/web-1/_config?shadow=true&include=diff",
      "/meshes/default/dataplanes/backend-1/_config",
      "/meshes/default/dataplanes/web-1/_overview",
      "/meshes/default/dataplanes/_overview",
      "/meshes/default/dataplanes+insights",
      "/dataplanes/_overview",
      "/meshes/default/dataplanes/web-1",
      "/meshes/default/dataplane-insights/web-1",
      "/meshes/default",
      "/config",
  };
  bool sawStandIns = false;
  for (const std::string& path : paths) {
    auto res = api.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_LT(res->status, 500) << path << ": " << res->body;
    EXPECT_EQ(findPem(res->body), "") << path << " shows a PEM block";
    if (absl::StrContains(path, "_config")) {
      ASSERT_EQ(res->status, 200) << path << ": " << res->body;
      const json body = json::parse(res->body);
      const json& secrets = body["xds"].value(
          "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret", json::object());
      for (const auto& [name, secret] : secrets.items()) {
        if (secret.contains("tlsCertificate")) {
          EXPECT_EQ(secret["tlsCertificate"]["certificateChain"]["inlineBytes"],
                    absl::Base64Escape("CERT"))
              << name;
          EXPECT_EQ(secret["tlsCertificate"]["privateKey"]["inlineBytes"],
                    absl::Base64Escape("KEY"))
              << name;
          sawStandIns = true;
        }
        if (secret.contains("validationContext")) {
          EXPECT_EQ(secret["validationContext"]["trustedCa"]["inlineBytes"],
                    absl::Base64Escape("CA"))
              << name;
        }
      }
    }
  }
  EXPECT_TRUE(sawStandIns) << "no identity Secret in the inspected config";
}

// dpCert.rotation.expiration 20s: reissued after 16 s (4/5), well inside the test budget; 1m
// would take ~50 s more for the same assertions.
TEST_F(MtlsEnvoyTest, IdentityRotatesWithoutDroppingConnections) {
  const auto started = std::chrono::steady_clock::now();
  httplib::Client api("127.0.0.1", cp_->apiPort());
  ASSERT_EQ(put(api, "/meshes/default", builtinMesh("STRICT", "20s")), 200);
  allowAll(api);
  startPair(163);
  std::set<std::string> first;
  ASSERT_TRUE(eventually(
      [&] {
        first = identitySerials(web_.adminPort, "spiffe://default/web");
        return first.size() == 1;
      },
      10s));

  // A long-lived connection through web's outbound, opened before the rotation.
  httplib::Client client("127.0.0.1", webOutbound_);
  client.set_keep_alive(true);
  client.set_read_timeout(5s);
  auto before = client.Get("/");
  ASSERT_TRUE(before && before->body == "hello from backend");
  const long upstreamConnections = envoyStat(web_.adminPort, "cluster.backend.upstream_cx_total");
  const long downstreamConnections =
      envoyStat(web_.adminPort,
                "listener.127.0.0.1_" + std::to_string(webOutbound_) + ".downstream_cx_total");

  std::set<std::string> rotated;
  ASSERT_TRUE(eventually(
      [&] {
        rotated = identitySerials(web_.adminPort, "spiffe://default/web");
        return rotated.size() == 1 && rotated != first;
      },
      30s))
      << diagnostics({&web_, &backend_});

  // The same connections still carry traffic after the new identity is in place.
  auto after = client.Get("/");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, "hello from backend");
  EXPECT_EQ(envoyStat(web_.adminPort, "cluster.backend.upstream_cx_total"), upstreamConnections);
  EXPECT_EQ(envoyStat(web_.adminPort, "listener.127.0.0.1_" + std::to_string(webOutbound_) +
                                          ".downstream_cx_total"),
            downstreamConnections);
  // New connections handshake with the new identity.
  EXPECT_EQ(httpGet(webOutbound_, "/"), "hello from backend");
  expectNothingRejected();

  // The insight shows the identity as Kuma's does (`kumactl inspect dataplanes`: generation
  // time, expiry, rotation count, backend), and the overview its kri and kuma-dp compatibility.
  json overview;
  const bool counted = eventually(
      [&] {
        auto res = api.Get("/meshes/default/dataplanes/web-1/_overview");
        if (!res || res->status != 200) {
          return false;
        }
        overview = json::parse(res->body, nullptr, false);
        const json& mtls = overview["dataplaneInsight"].value("mTLS", json::object());
        return mtls.value("certificateRegenerations", 0) >= 2;
      },
      15s);
  ASSERT_TRUE(counted) << overview.dump();
  const json& mtls = overview["dataplaneInsight"]["mTLS"];
  EXPECT_EQ(mtls["issuedBackend"], "ca-1");
  EXPECT_EQ(mtls["supportedBackends"], json::array({"ca-1"}));
  absl::Time generated;
  absl::Time expires;
  std::string err;
  ASSERT_TRUE(absl::ParseTime(
      absl::RFC3339_full, mtls["lastCertificateRegeneration"].get<std::string>(), &generated, &err))
      << err;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full,
                              mtls["certificateExpirationTime"].get<std::string>(), &expires, &err))
      << err;
  // dpCert.rotation.expiration 20s; the expiry is the certificate's notAfter (whole seconds).
  EXPECT_GE(expires - generated, absl::Seconds(18));
  EXPECT_LE(expires - generated, absl::Seconds(21));
  EXPECT_LE(absl::Now() - generated, absl::Seconds(25));
  EXPECT_EQ(overview["kri"], "kri_dp_default_default__web-1_");
  const json& subscription = overview["dataplaneInsight"]["subscriptions"].back();
  EXPECT_EQ(subscription["version"]["kumaDp"]["kumaCpCompatible"], true);
  const json& metadata = overview["dataplaneInsight"]["metadata"];
  EXPECT_EQ(metadata["version"]["kumaDp"]["version"], "2.14.3") << metadata.dump();
  EXPECT_EQ(metadata["dataplane.proxyType"], "dataplane") << metadata.dump();
  // Written by the control plane itself: no computed labels, as in Kuma.
  auto insight = api.Get("/meshes/default/dataplane-insights/web-1");
  ASSERT_TRUE(insight && insight->status == 200);
  EXPECT_FALSE(json::parse(insight->body).contains("labels")) << insight->body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 90s);
}

TEST_F(MtlsEnvoyTest, ProvidedCaIssuesIdentities) {
  // A user CA made by the openssl CLI, with a SAN that tells it apart from a builtin one.
  const std::string dir = makeTempDir("kuma-provided-ca");
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir + "/ca.key -out " + dir +
      "/ca.crt -days 2 -subj /CN=custom-ca -addext basicConstraints=critical,CA:TRUE -addext "
      "keyUsage=critical,keyCertSign,cRLSign -addext subjectAltName=URI:spiffe://custom-ca "
      ">/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  httplib::Client api("127.0.0.1", cp_->apiPort());
  put(api, "/meshes/default/secrets/custom-ca-cert",
      {{"type", "Secret"},
       {"mesh", "default"},
       {"name", "custom-ca-cert"},
       {"data", absl::Base64Escape(slurp(dir + "/ca.crt"))}});
  put(api, "/meshes/default/secrets/custom-ca-key",
      {{"type", "Secret"},
       {"mesh", "default"},
       {"name", "custom-ca-key"},
       {"data", absl::Base64Escape(slurp(dir + "/ca.key"))}});
  const json mesh = {{"type", "Mesh"},
                     {"name", "default"},
                     {"mtls",
                      {{"enabledBackend", "ca-1"},
                       {"backends",
                        {{{"name", "ca-1"},
                          {"type", "provided"},
                          {"conf",
                           {{"cert", {{"secret", "custom-ca-cert"}}},
                            {"key", {{"secret", "custom-ca-key"}}}}}}}}}}};
  // A provided CA whose key Secret is missing is refused with a 400 naming the field.
  json broken = mesh;
  broken["mtls"]["backends"][0]["conf"]["key"] = {{"secret", "nope"}};
  auto res = api.Put("/meshes/default", broken.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  // As Kuma, a CA that does not load is reported on `cert` and `key`, naming the Secret.
  EXPECT_THAT(res->body, HasSubstr("mtls.backends[0].conf.cert"));
  EXPECT_THAT(res->body, HasSubstr("mtls.backends[0].conf.key"));
  EXPECT_THAT(
      res->body,
      HasSubstr(R"(could not load data: resource not found: type=\"Secret\" name=\"nope\")"));

  ASSERT_EQ(put(api, "/meshes/default", mesh), 200);
  // No builtin CA Secrets for a provided backend.
  EXPECT_EQ(api.Get("/meshes/default/secrets/default.ca-builtin-cert-ca-1")->status, 404);
  allowAll(api);
  startPair(165);
  ASSERT_TRUE(eventually(
      [&] { return !identitySerials(web_.adminPort, "spiffe://default/web").empty(); }, 10s));
  const EnvoyCerts certs = envoyCerts(web_.adminPort);
  ASSERT_FALSE(certs.cas.empty());
  for (const CertDetails& ca : certs.cas) {
    EXPECT_THAT(ca.uris, Contains("spiffe://custom-ca"));
  }
  EXPECT_GE(envoyStat(web_.adminPort, "cluster.backend.ssl.handshake"), 1);
  expectNothingRejected();
}

}  // namespace
}  // namespace kuma::test
