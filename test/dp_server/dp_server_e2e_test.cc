// End to end: the real kuma-cp, its autoconfigured certificate, and `POST /bootstrap` over
// HTTPS/1.1 plus gRPC over h2 on the same DP server port.
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/test_common/process.h"

namespace kuma::test {
namespace {

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
  "networking":{"address":"127.0.0.1","inbound":[{"port":8080,"tags":{"kuma.io/service":"web"}}]}})";

class DpServerE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dpPort_ = freePort();
    KumaCp::Options options;
    options.env["KUMA_DP_SERVER_PORT"] = std::to_string(dpPort_);
    auto cp = KumaCp::start(options);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = cp->release();
    // The default Mesh is created at start; wait for it (bounded).
    httplib::Client api("127.0.0.1", cp_->apiPort());
    for (int i = 0; i < 100; ++i) {
      auto res = api.Get("/meshes/default");
      if (res && res->status == 200) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  static void TearDownTestSuite() {
    if (cp_ != nullptr) {
      cp_->stop(SIGTERM, std::chrono::seconds(15));
      delete cp_;
      cp_ = nullptr;
    }
  }

  void SetUp() override { ASSERT_NE(cp_, nullptr) << "kuma-cp did not start"; }

  std::string caFile() const { return cp_->workDir() + "/kuma-cp.crt"; }

  httplib::Result post(const Json& body, const std::string& host = "") {
    httplib::SSLClient cli("localhost", dpPort_);
    cli.set_ca_cert_path(caFile().c_str());
    cli.enable_server_certificate_verification(true);
    cli.set_connection_timeout(std::chrono::seconds(5));
    cli.set_read_timeout(std::chrono::seconds(10));
    httplib::Headers headers = {{"Accept", "application/json"}};
    if (!host.empty()) {
      headers.emplace("Host", host);
    }
    return cli.Post("/bootstrap", headers, body.is_string() ? body.get<std::string>() : body.dump(),
                    "application/json");
  }

  static Json request(const std::string& dataplane = kValidDp) {
    Json r = {{"mesh", "default"},
              {"name", "dp-1"},
              {"proxyType", "dataplane"},
              {"dataplaneToken", "some-token"},
              {"caCert", ""},
              {"workdir", "/tmp/kuma-dp"},
              {"features", {"feature-reuse-port"}}};
    if (!dataplane.empty()) {
      r["dataplaneResource"] = dataplane;
    }
    return r;
  }

  static inline KumaCp* cp_ = nullptr;
  static inline uint16_t dpPort_ = 0;
};

TEST_F(DpServerE2eTest, CertificateIsAutoconfigured) {
  std::ifstream in(caFile());
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(pem.find("BEGIN CERTIFICATE"), std::string::npos);
  std::ifstream key(cp_->workDir() + "/kuma-cp.key");
  EXPECT_TRUE(key.good());
}

TEST_F(DpServerE2eTest, ValidDataplaneResource) {
  auto res = post(request());
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  Json body = Json::parse(res->body);
  std::string yaml;
  ASSERT_TRUE(absl::Base64Unescape(body["bootstrap"].get<std::string>(), &yaml));
  EXPECT_NE(yaml.find("id: default.dp-1"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("ads_cluster"), std::string::npos);
  EXPECT_NE(yaml.find("portValue: " + std::to_string(dpPort_)), std::string::npos);
  EXPECT_NE(yaml.find("value: some-token"), std::string::npos);
  EXPECT_EQ(body["kumaSidecarConfiguration"]["networking"]["address"], "127.0.0.1");
}

TEST_F(DpServerE2eTest, InvalidDataplaneIs422) {
  auto res = post(request(R"({"type":"Dataplane","mesh":"default","name":"dp-1",
      "networking":{"address":"127.0.0.1","inbound":[{"port":0,"tags":{}}]}})"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 422);
  EXPECT_NE(res->body.find("networking.inbound[0]"), std::string::npos) << res->body;
}

TEST_F(DpServerE2eTest, TokenRequired) {
  Json req = request();
  req.erase("dataplaneToken");
  auto res = post(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 422);
  EXPECT_EQ(res->body.rfind("Dataplane Token is required.", 0), 0u) << res->body;
}

TEST_F(DpServerE2eTest, UnknownStoredDataplaneIs404Empty) {
  Json req = request("");
  req["name"] = "not-there";
  auto res = post(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->body, "");
}

TEST_F(DpServerE2eTest, BadJsonIs400) {
  auto res = post(Json("{not json"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->body, "");
}

TEST_F(DpServerE2eTest, NonCaCertIs400) {
  Json req = request();
  req["caCert"] = leafCertPem();
  auto res = post(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->body.rfind("A data plane proxy is trying to verify the control plane using the "
                            "certificate which is not a certificate authority",
                            0),
            0u)
      << res->body;
}

TEST_F(DpServerE2eTest, SanMismatch) {
  auto res = post(request(), "not-in-the-cert.example:" + std::to_string(dpPort_));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->body.rfind("A data plane proxy is trying to connect to the control plane using "
                            "\"not-in-the-cert.example\" address",
                            0),
            0u)
      << res->body;
}

TEST_F(DpServerE2eTest, GrpcReachesTheGrpcServerOnTheSamePort) {
  std::ifstream in(caFile());
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto channel =
      grpc::CreateChannel("localhost:" + std::to_string(dpPort_), grpc::SslCredentials(ssl));
  auto stub = envoy::service::discovery::v3::AggregatedDiscoveryService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto stream = stub->StreamAggregatedResources(&ctx);
  stream->WritesDone();
  envoy::service::discovery::v3::DiscoveryResponse response;
  while (stream->Read(&response)) {
  }
  grpc::Status status = stream->Finish();
  // Whatever the ADS service answers (or UNIMPLEMENTED before it exists), the TLS handshake and
  // HTTP/2 exchange with the gRPC server succeeded: never UNAVAILABLE / DEADLINE_EXCEEDED.
  EXPECT_NE(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  // And HTTP/1.1 still works right after.
  auto res = post(request());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

}  // namespace
}  // namespace kuma::test
