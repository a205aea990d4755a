#include "source/dp_server/dp_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "source/common/tls/cert.h"

namespace kuma::dp_server {
namespace {

using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

/** Answers every request with a response naming the request's type URL. */
class EchoAds final : public AggregatedDiscoveryService::Service {
 public:
  grpc::Status StreamAggregatedResources(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<DiscoveryResponse, DiscoveryRequest>* stream) override {
    DiscoveryRequest request;
    while (stream->Read(&request)) {
      DiscoveryResponse response;
      response.set_type_url(request.type_url());
      response.set_version_info("echo-" + request.node().id());
      if (!stream->Write(response)) {
        break;
      }
    }
    return grpc::Status::OK;
  }
};

class DpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dp-server-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    auto files = tls::ensureSelfSignedCertificate(dir_, {"localhost", "127.0.0.1"});
    ASSERT_TRUE(files.ok()) << files.status();
    certFile_ = files->certFile;
    certPem_ = tls::readFile(certFile_).value();
    DpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.certFile = files->certFile;
    options.keyFile = files->keyFile;
    options.readHeaderTimeout = absl::Milliseconds(500);
    options.gracefulShutdownTimeout = absl::Milliseconds(200);
    options.bootstrap = [this](const xds::bootstrap::HttpRequest& req) {
      calls_++;
      xds::bootstrap::HttpResponse res;
      res.status = req.body == "bad" ? 422 : 200;
      res.contentType = "text/x-yaml";
      res.body = "host=" + req.host + ";accept=" + req.accept + ";body=" + req.body;
      return res;
    };
    server_ = std::make_unique<DpServer>(options);
    ASSERT_TRUE(server_->addGrpcService(&ads_).ok());
    ASSERT_TRUE(server_->start().ok());
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<httplib::SSLClient> httpClient() {
    auto cli = std::make_unique<httplib::SSLClient>("localhost", server_->port());
    cli->set_ca_cert_path(certFile_.c_str());
    cli->enable_server_certificate_verification(true);
    cli->set_connection_timeout(std::chrono::seconds(5));
    cli->set_read_timeout(std::chrono::seconds(5));
    return cli;
  }

  std::shared_ptr<grpc::Channel> grpcChannel() {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = certPem_;
    return grpc::CreateChannel("localhost:" + std::to_string(server_->port()),
                               grpc::SslCredentials(ssl));
  }

  std::string dir_;
  std::string certFile_;
  std::string certPem_;
  EchoAds ads_;
  std::atomic<int> calls_{0};
  std::unique_ptr<DpServer> server_;
};

TEST_F(DpServerTest, BootstrapOverHttp1Tls) {
  auto cli = httpClient();
  httplib::Headers headers = {{"Accept", "application/json"}};
  auto res = cli->Post("/bootstrap", headers, "{\"x\":1}", "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/x-yaml");
  EXPECT_EQ(res->body, "host=localhost:" + std::to_string(server_->port()) +
                           ";accept=application/json;body={\"x\":1}");
  auto bad = cli->Post("/bootstrap", "bad", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 422);
  EXPECT_EQ(calls_.load(), 2);
}

TEST_F(DpServerTest, UnknownPathIsGoStyle404) {
  auto cli = httpClient();
  auto res = cli->Get("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->body, "404 page not found\n");
}

TEST_F(DpServerTest, GrpcAndHttpOnTheSamePortConcurrently) {
  auto stub = AggregatedDiscoveryService::NewStub(grpcChannel());
  grpc::ClientContext ctx;
  auto stream = stub->StreamAggregatedResources(&ctx);
  DiscoveryRequest request;
  request.mutable_node()->set_id("default.dp-1");
  request.set_type_url("type.googleapis.com/envoy.config.cluster.v3.Cluster");
  ASSERT_TRUE(stream->Write(request));
  DiscoveryResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.type_url(), request.type_url());
  EXPECT_EQ(response.version_info(), "echo-default.dp-1");

  // While the stream is open, several HTTP/1.1 clients on the same port.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto cli = httpClient();
      auto res = cli->Post("/bootstrap", "n" + std::to_string(i), "application/json");
      if (res && res->status == 200 &&
          res->body.find("body=n" + std::to_string(i)) != std::string::npos) {
        ok++;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 4);

  // The stream still works afterwards.
  request.set_type_url("type.googleapis.com/envoy.config.listener.v3.Listener");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.type_url(), request.type_url());
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(DpServerTest, GrpcClientMustTrustTheCa) {
  grpc::SslCredentialsOptions ssl;
  auto other = tls::generateSelfSignedServerCert({"localhost"});
  ASSERT_TRUE(other.ok());
  ssl.pem_root_certs = other->certPem;
  auto channel = grpc::CreateChannel("localhost:" + std::to_string(server_->port()),
                                     grpc::SslCredentials(ssl));
  auto stub = AggregatedDiscoveryService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  auto stream = stub->StreamAggregatedResources(&ctx);
  stream->Write(DiscoveryRequest());
  DiscoveryResponse response;
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_FALSE(stream->Finish().ok());
}

TEST_F(DpServerTest, PlainTextAndSilentClientsAreDropped) {
  auto connectRaw = [this] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  };
  // Plain HTTP on the TLS port: no HTTP answer, the connection is closed.
  int fd = connectRaw();
  const std::string plain = "POST /bootstrap HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(::send(fd, plain.data(), plain.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(plain.size()));
  char buf[512];
  ssize_t n = 0;
  std::string received;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) {
    received.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(n, 0) << "connection should be closed, not timed out";
  EXPECT_EQ(received.find("HTTP/1.1 200"), std::string::npos);
  ::close(fd);

  // A client that sends nothing is closed after readHeaderTimeout (500ms here).
  fd = connectRaw();
  const auto start = std::chrono::steady_clock::now();
  n = ::recv(fd, buf, sizeof(buf), 0);
  EXPECT_EQ(n, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  ::close(fd);

  // The server still serves afterwards.
  auto cli = httpClient();
  auto res = cli->Post("/bootstrap", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(DpServerTest, ServicesCannotBeAddedAfterStartAndStopIsPrompt) {
  EchoAds late;
  EXPECT_EQ(server_->addGrpcService(&late).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(server_->addGrpcBuilderHook([](grpc::ServerBuilder&) {}).code(),
            absl::StatusCode::kFailedPrecondition);
  // An open stream does not hold stop() beyond the graceful timeout.
  auto stub = AggregatedDiscoveryService::NewStub(grpcChannel());
  grpc::ClientContext ctx;
  auto stream = stub->StreamAggregatedResources(&ctx);
  ASSERT_TRUE(stream->Write(DiscoveryRequest()));
  DiscoveryResponse response;
  ASSERT_TRUE(stream->Read(&response));
  const auto start = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(stream->Read(&response));
  ctx.TryCancel();
}

TEST(DpServerStartTest, BadCertificateOrPortFails) {
  DpServerOptions options;
  options.port = 0;
  options.certFile = "/nonexistent/cert.pem";
  options.keyFile = "/nonexistent/key.pem";
  DpServer missing(options);
  EXPECT_FALSE(missing.start().ok());

  std::string tmpl = (std::filesystem::temp_directory_path() / "dp-server-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  auto files = tls::ensureSelfSignedCertificate(dir, {"localhost"});
  ASSERT_TRUE(files.ok());
  options.certFile = files->certFile;
  options.keyFile = files->keyFile;
  options.tlsMinVersion = "TLSv9";
  DpServer badVersion(options);
  EXPECT_EQ(badVersion.start().code(), absl::StatusCode::kInvalidArgument);

  options.tlsMinVersion = "TLSv1_2";
  options.address = "127.0.0.1";
  DpServer first(options);
  ASSERT_TRUE(first.start().ok());
  options.port = first.port();
  DpServer second(options);
  EXPECT_FALSE(second.start().ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kuma::dp_server
