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
