#include "source/xds/envoy/redaction.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace kuma::xds {
namespace {

using json = nlohmann::ordered_json;

constexpr char kPem[] =
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n";

TEST(Redaction, SecretsGetKumasStandIns) {
  json cfg = {{"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
               {{"identity_cert:secret:default",
                 {{"name", "identity_cert:secret:default"},
                  {"tlsCertificate",
                   {{"certificateChain", {{"inlineBytes", absl::Base64Escape(kPem)}}},
                    {"privateKey", {{"inlineBytes", absl::Base64Escape(kPem)}}}}}}},
                {"mesh_ca:secret:default",
                 {{"name", "mesh_ca:secret:default"},
                  {"validationContext", {{"trustedCa", {{"inlineString", kPem}}}}}}}}}};
  redactSecretMaterial(cfg);
  const json& secrets = cfg["type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"];
  const json& identity = secrets["identity_cert:secret:default"]["tlsCertificate"];
  EXPECT_EQ(identity["certificateChain"]["inlineBytes"], absl::Base64Escape("CERT"));
  EXPECT_EQ(identity["privateKey"]["inlineBytes"], absl::Base64Escape("KEY"));
  EXPECT_EQ(secrets["mesh_ca:secret:default"]["validationContext"]["trustedCa"]["inlineString"],
            "CA");
  EXPECT_EQ(secrets["mesh_ca:secret:default"]["name"], "mesh_ca:secret:default");
}

TEST(Redaction, ProtoFieldNamesAndFilePathsToo) {
  json cluster = json::parse(R"({"transport_socket": {"typed_config": {"common_tls_context": {
      "tls_certificates": [{"certificate_chain": {"filename": "/etc/cert.pem"},
                            "private_key": {"inline_bytes": ""}}],
      "validation_context": {"trusted_ca": {"inline_string": ""}}}}}})");
  json& tls = cluster["transport_socket"]["typed_config"]["common_tls_context"];
  tls["tls_certificates"][0]["private_key"]["inline_bytes"] = absl::Base64Escape(kPem);
  tls["validation_context"]["trusted_ca"]["inline_string"] = kPem;
  redactSecretMaterial(cluster);
  const json& ctx = cluster["transport_socket"]["typed_config"]["common_tls_context"];
  EXPECT_EQ(ctx["tls_certificates"][0]["certificate_chain"]["filename"], "/etc/cert.pem");
  EXPECT_EQ(ctx["tls_certificates"][0]["private_key"]["inline_bytes"], absl::Base64Escape("KEY"));
  EXPECT_EQ(ctx["validation_context"]["trusted_ca"]["inline_string"], "CA");
}

TEST(Redaction, AnyOtherPemIsRedacted) {
  // Wherever a PEM block hides (an unknown field, base64 at any offset, URL-safe base64).
  json v = {{"somewhere", {{"else", kPem}}},
            {"list", {std::string("x") + kPem, absl::Base64Escape(std::string("ab") + kPem)}},
            {"websafe", absl::WebSafeBase64Escape(std::string("a") + kPem)},
            {"keep", "kuma://kuma.io/service/web"},
            {"short", "Q0E="}};
  redactSecretMaterial(v);
  EXPECT_EQ(v["somewhere"]["else"], "[redacted]");
  EXPECT_EQ(v["list"][0], "[redacted]");
  EXPECT_EQ(v["list"][1], "[redacted]");
  EXPECT_EQ(v["websafe"], "[redacted]");
  EXPECT_EQ(v["keep"], "kuma://kuma.io/service/web");
  EXPECT_EQ(v["short"], "Q0E=");
  EXPECT_FALSE(containsPem(v.dump()));
}

TEST(Redaction, ConfigDumpHidesTheTokenAndKeys) {
  // Envoy's config dump: the bootstrap's ADS initial metadata carries the dataplane token (Kuma's
  // sanitize.go replaces it), the listeners and secrets carry inline certificates.
  const std::string dump = R"({"configs": [{"@type": "BootstrapConfigDump", "bootstrap": {
    "dynamic_resources": {"ads_config": {"grpc_services": [{"initial_metadata": [
      {"key": "authorization", "value": "eyJhbGciOiJSUzI1NiJ9.secret.token"}]}]}}}},
    {"dynamic_active_secrets": [{"secret": {"tls_certificate": {
      "certificate_chain": {"inline_bytes": ")" +
                           absl::Base64Escape(kPem) + R"("},
      "private_key": {"inline_bytes": "W3JlZGFjdGVkXQ=="}}}}]}]})";
  auto redacted = redactConfigDump(dump);
  ASSERT_TRUE(redacted.ok()) << redacted.status();
  EXPECT_EQ(redacted->find("secret.token"), std::string::npos) << *redacted;
  EXPECT_NE(redacted->find("\"[redacted]\""), std::string::npos);
  EXPECT_FALSE(containsPem(*redacted));
  // Keys keep Envoy's order.
  EXPECT_LT(redacted->find("configs"), redacted->find("dynamic_active_secrets"));
  EXPECT_FALSE(redactConfigDump("{not json").ok());
  EXPECT_FALSE(redactConfigDump(std::string(100000, '[')).ok());
}

TEST(Redaction, ContainsPem) {
  EXPECT_TRUE(containsPem(kPem));
  EXPECT_TRUE(containsPem(absl::Base64Escape(kPem)));
  EXPECT_TRUE(containsPem(absl::Base64Escape(std::string("1") + kPem)));
  EXPECT_TRUE(containsPem(absl::Base64Escape(std::string("12") + kPem)));
  EXPECT_FALSE(containsPem("-----END"));
  EXPECT_FALSE(containsPem(absl::Base64Escape("no pem here, just text of some length")));
  EXPECT_FALSE(containsPem(""));
}

}  // namespace
}  // namespace kuma::xds
