#include "source/xds/bootstrap/handler.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/json_yaml.h"
#include "source/common/tls/cert.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/server/all_types.h"

namespace kuma::xds::bootstrap {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;

/** A self-signed certificate with BasicConstraints CA:false. */
std::string leafCertPem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "CA:FALSE");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(cert, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return pem;
}

const char kValidDp[] = R"({"type":"Dataplane","mesh":"default","name":"dp-1",
  "networking":{"address":"10.0.0.7","inbound":[{"port":8080,"tags":{"kuma.io/service":"web"}}]}})";

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cert = tls::generateSelfSignedServerCert({"localhost", "127.0.0.1"});
    ASSERT_TRUE(cert.ok());
    certPem_ = cert->certPem;
    const model::TypeRegistry& registry = server::allTypes();
    manager_ = std::make_unique<manager::ResourceManager>(*store_, registry);
    model::Resource mesh;
    mesh.descriptor = registry.byName("Mesh");
    mesh.meta.name = "default";
    mesh.spec = mesh.descriptor->emptySpec();
    ASSERT_TRUE(manager_->create(std::move(mesh)).ok());
    options_.serverCertPem = certPem_;
    options_.params.resolvesOnlyToIpv4 = [](const std::string&) { return false; };
  }

  HttpResponse post(const Json& body, const std::string& host = "localhost:5678",
                    const std::string& accept = "application/json") {
    BootstrapHandler handler(options_, *manager_, server::allTypes());
    return handler.handle({body.dump(), host, accept});
  }

  static Json request(const std::string& dataplane = kValidDp) {
    Json r = {{"mesh", "default"},       {"name", "dp-1"}, {"proxyType", "dataplane"},
              {"dataplaneToken", "tok"}, {"caCert", ""},   {"workdir", "/tmp/w"}};
    if (!dataplane.empty()) {
      r["dataplaneResource"] = dataplane;
    }
    return r;
  }

  store::ResourceStorePtr store_ = memory::newMemoryStore();
  std::unique_ptr<manager::ResourceManager> manager_;
  std::string certPem_;
  HandlerOptions options_;
};

TEST_F(HandlerTest, ValidDataplaneResourceAsJson) {
  HttpResponse r = post(request());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.contentType, "application/json");
  Json body = Json::parse(r.body);
  std::string yaml;
  ASSERT_TRUE(absl::Base64Unescape(body["bootstrap"].get<std::string>(), &yaml));
  auto bootstrap = common::parseYaml(yaml);
  ASSERT_TRUE(bootstrap.ok());
  EXPECT_EQ((*bootstrap)["node"]["id"], "default.dp-1");
  EXPECT_EQ((*bootstrap)["node"]["cluster"], "web");
  EXPECT_EQ((*bootstrap)["staticResources"]["secrets"][0]["validationContext"]
                        ["matchTypedSubjectAltNames"][0]["matcher"]["exact"],
            "localhost");
  std::string ca;
  ASSERT_TRUE(absl::Base64Unescape(
      (*bootstrap)["staticResources"]["secrets"][0]["validationContext"]["trustedCa"]["inlineBytes"]
          .get<std::string>(),
      &ca));
  EXPECT_EQ(ca, certPem_);  // no caCert in the request → the server certificate
  const Json& sidecar = body["kumaSidecarConfiguration"];
  EXPECT_EQ(sidecar["networking"]["address"], "10.0.0.7");
  EXPECT_TRUE(sidecar["networking"]["corefileTemplate"].is_null());
  EXPECT_EQ(sidecar["metrics"]["aggregate"], Json::array());
}

TEST_F(HandlerTest, LegacyYamlAndCorefile) {
  options_.corefileTemplate = "template";
  HttpResponse r = post(request(), "localhost", "*/*");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "text/x-yaml");
  auto parsed = common::parseYaml(r.body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)["node"]["id"], "default.dp-1");

  r = post(request());
  EXPECT_EQ(Json::parse(r.body)["kumaSidecarConfiguration"]["networking"]["corefileTemplate"],
            absl::Base64Escape("template"));
}

TEST_F(HandlerTest, BadJsonIs400Empty) {
  BootstrapHandler handler(options_, *manager_, server::allTypes());
  for (const char* body : {"", "{", "not json", R"({"mesh":5})", "[1]"}) {
    HttpResponse r = handler.handle({body, "localhost", "application/json"});
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.body, "") << body;
  }
}

TEST_F(HandlerTest, TokenRequired) {
  Json req = request();
  req.erase("dataplaneToken");
  HttpResponse r = post(req);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body, kDpTokenRequired);
  // Token required comes before the SAN check.
  EXPECT_EQ(post(req, "evil.example").status, 422);
  req["dataplaneTokenPath"] = "/path/token";
  EXPECT_EQ(post(req).status, 200);
  req.erase("dataplaneTokenPath");
  options_.dpProxyAuthnType = "none";
  EXPECT_EQ(post(req).status, 200);
}

TEST_F(HandlerTest, SanMismatch) {
  HttpResponse r = post(request(), "evil.example:5678");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, StartsWith("A data plane proxy is trying to connect to the control plane "
                                 "using \"evil.example\" address, but the certificate in the "
                                 "control plane has the following SANs [\"localhost\" "
                                 "\"127.0.0.1\"]"));
  EXPECT_EQ(post(request(), "127.0.0.1:5678").status, 200);
  EXPECT_EQ(post(request(), "[::1]:5678").status, 400);
  // SAN check comes before the Dataplane validation.
  EXPECT_EQ(post(request(R"({"type":"Dataplane","mesh":"default","name":"x"})"), "evil").status,
            400);
  // With a configured xdsHost there is no SAN check, and it is what Envoy dials.
  options_.xdsHost = "cp.internal";
  r = post(request(), "evil.example:5678");
  ASSERT_EQ(r.status, 200);
  std::string yaml;
  ASSERT_TRUE(absl::Base64Unescape(Json::parse(r.body)["bootstrap"].get<std::string>(), &yaml));
  EXPECT_THAT(yaml, HasSubstr("sni: cp.internal"));
}

TEST_F(HandlerTest, InvalidDataplaneIs422WithViolations) {
  HttpResponse r = post(request(R"({"type":"Dataplane","mesh":"default","name":"dp-1",
      "networking":{"address":"10.0.0.7","inbound":[{"port":0,"tags":{}}]}})"));
  EXPECT_EQ(r.status, 422);
  EXPECT_THAT(r.body, HasSubstr("networking.inbound[0]"));
}

TEST_F(HandlerTest, TransparentProxyWithOutbounds) {
  Json req = request(R"({"type":"Dataplane","mesh":"default","name":"dp-1",
    "networking":{"address":"10.0.0.7","inbound":[{"port":8080,"tags":{"kuma.io/service":"web"}}],
    "outbound":[{"port":10001,"tags":{"kuma.io/service":"db"}}]}})");
  EXPECT_EQ(post(req).status, 200);
  req["dataplaneConfig"] = {{"redirect", {{"outbound", {{"enabled", true}, {"port", 15001}}}}}};
  HttpResponse r = post(req);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body, kTransparentProxyOutbound);
}

TEST_F(HandlerTest, MissingMeshIs422) {
  HttpResponse r = post(request(R"({"type":"Dataplane","mesh":"nope","name":"dp-1",
    "networking":{"address":"10.0.0.7","inbound":[{"port":8080,"tags":{"kuma.io/service":"web"}}]}})"));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body, "mesh: mesh \"nope\" does not exist");
}

// Kuma answers 500 here; unreadable input is the client's error (400 with the reason).
TEST_F(HandlerTest, NotADataplaneIs400) {
  HttpResponse mesh = post(request(R"({"type":"Mesh","name":"x"})"));
  EXPECT_EQ(mesh.status, 400);
  EXPECT_EQ(mesh.body, "could not parse dataplaneResource: not a Dataplane");
  HttpResponse syntax = post(request("{not json"));
  EXPECT_EQ(syntax.status, 400);
  EXPECT_THAT(syntax.body, HasSubstr("could not parse dataplaneResource"));
  HttpResponse deep = post(request(std::string(10000, '[') + std::string(10000, ']')));
  EXPECT_EQ(deep.status, 400);
  EXPECT_THAT(deep.body, HasSubstr("nesting depth"));
}

// Found by test/fuzz/bootstrap_request_fuzz.cc: a dataplaneResource whose "type" is not a string
// made the handler throw (nlohmann's value() on a mistyped key) instead of answering. Not a
// Dataplane: 400 like any unreadable dataplaneResource (Kuma: 500).
TEST_F(HandlerTest, DataplaneResourceWithMistypedTypeIs400) {
  for (const char* resource : {R"({"type":{"a":1},"mesh":"default","name":"dp-1"})",
                               R"({"type":["Dataplane"],"mesh":"default","name":"dp-1"})",
                               "type: 7\nmesh: default\nname: dp-1\n"}) {
    EXPECT_EQ(post(request(resource)).status, 400) << resource;
  }
}

TEST_F(HandlerTest, StoredDataplane) {
  HttpResponse r = post(request(""));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "");
  auto doc = common::parseJson(kValidDp);
  const model::ResourceTypeDescriptor* dpType = server::allTypes().byName("Dataplane");
  auto body = model::fromRestJson(*dpType, *doc);
  ASSERT_TRUE(body.ok());
  ASSERT_TRUE(manager_->create(body->resource).ok());
  r = post(request(""));
  ASSERT_EQ(r.status, 200) << r.body;
  std::string yaml;
  ASSERT_TRUE(absl::Base64Unescape(Json::parse(r.body)["bootstrap"].get<std::string>(), &yaml));
  EXPECT_THAT(yaml, HasSubstr("default.dp-1"));
  EXPECT_THAT(yaml, ::testing::Not(HasSubstr("dataplane.resource")));
}

TEST_F(HandlerTest, CaCertChecks) {
  Json req = request();
  req["caCert"] = leafCertPem();
  HttpResponse r = post(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, kNotCa);
  req["caCert"] = "garbage";
  r = post(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("could not parse caCert"));
  auto other = tls::generateSelfSignedServerCert({"x"});
  req["caCert"] = other->certPem;
  r = post(req);
  ASSERT_EQ(r.status, 200);
  std::string yaml;
  ASSERT_TRUE(absl::Base64Unescape(Json::parse(r.body)["bootstrap"].get<std::string>(), &yaml));
  EXPECT_THAT(yaml, HasSubstr(absl::Base64Escape(other->certPem)));
}

TEST_F(HandlerTest, MetricsAggregateFromMeshAndDataplane) {
  const model::ResourceTypeDescriptor* meshType = server::allTypes().byName("Mesh");
  auto meshDoc = common::parseJson(R"({"type":"Mesh","name":"metrics","metrics":{
    "enabledBackend":"prom","backends":[{"name":"prom","type":"prometheus","conf":{
      "aggregate":[{"name":"app","port":8000,"path":"/m"},{"name":"off","port":1,"enabled":false}]}}]}})");
  auto mesh = model::fromRestJson(*meshType, *meshDoc);
  ASSERT_TRUE(mesh.ok()) << mesh.status();
  ASSERT_TRUE(manager_->create(mesh->resource).ok());
  HttpResponse r = post(request(R"({"type":"Dataplane","mesh":"metrics","name":"dp-1",
    "networking":{"address":"10.0.0.7","inbound":[{"port":8080,"tags":{"kuma.io/service":"web"}}]}})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["kumaSidecarConfiguration"]["metrics"]["aggregate"],
            Json::parse(R"([{"name":"app","address":"","port":8000,"path":"/m"}])"));
}

// Found with bootstrap_request_fuzz: the aggregate entries are a free-form Struct (the Mesh's and
// the Dataplane's), and a member of another JSON type made json::value() throw.
TEST_F(HandlerTest, MetricsAggregateWithMistypedMembers) {
  const model::ResourceTypeDescriptor* meshType = server::allTypes().byName("Mesh");
  auto meshDoc = common::parseJson(R"({"type":"Mesh","name":"metrics","metrics":{
    "enabledBackend":"prom","backends":[{"name":"prom","type":"prometheus","conf":{
      "aggregate":[{"name":"app","port":"8000","path":7,"address":["x"]}]}}]}})");
  auto mesh = model::fromRestJson(*meshType, *meshDoc);
  ASSERT_TRUE(mesh.ok()) << mesh.status();
  ASSERT_TRUE(manager_->create(mesh->resource).ok());
  HttpResponse r = post(request(R"({"type":"Dataplane","mesh":"metrics","name":"dp-1",
    "networking":{"address":"10.0.0.7","inbound":[{"port":8080,"tags":{"kuma.io/service":"web"}}]},
    "metrics":{"name":"prom","type":"prometheus","conf":{"aggregate":[{"name":1,"port":1.5e300}]}}})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["kumaSidecarConfiguration"]["metrics"]["aggregate"],
            Json::parse(R"([{"name":"app","address":"","port":0,"path":""},
                            {"name":"","address":"","port":0,"path":""}])"));
}

TEST(HandlerStaticTest, StripPort) {
  EXPECT_EQ(BootstrapHandler::stripPort("cp:5678"), "cp");
  EXPECT_EQ(BootstrapHandler::stripPort("cp"), "cp");
  EXPECT_EQ(BootstrapHandler::stripPort("[::1]:5678"), "::1");
  EXPECT_EQ(BootstrapHandler::stripPort("::1"), "::1");
  EXPECT_EQ(BootstrapHandler::stripPort(""), "");
}

}  // namespace
}  // namespace kuma::xds::bootstrap
