#pragma once

// File: dp_server.h
// The DP server (dpServer.port, 5678): one TLS port for kuma-dp's HTTP/1.1 `POST /bootstrap` and
// Envoy's gRPC (ADS/HDS over HTTP/2). Connections are routed on the ALPN of their TLS ClientHello,
// read with MSG_PEEK before any byte is consumed (docs/adr/0006-dp-server-port.md):
//   - "h2" offered → the fd is handed to the gRPC server (external connection acceptor; gRPC does
//     the TLS handshake itself);
//   - anything else → spliced byte-for-byte to an internal HTTPS/1.1 server on a loopback-only
//     ephemeral port that serves /bootstrap.
//
//   DpServer dp(options);
//   dp.addGrpcService(&adsService);   // before start()
//   KUMA_RETURN_IF_ERROR(dp.start());

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kuma/runtime/component.h"
#include "source/xds/bootstrap/handler.h"

namespace grpc {
class CallbackGenericService;
class Server;
class ServerBuilder;
class Service;
namespace experimental {
class ExternalConnectionAcceptor;
}
}  // namespace grpc

namespace httplib {
class SSLServer;
}

namespace kuma::dp_server {

/** Handles one `POST /bootstrap` (normally xds::bootstrap::BootstrapHandler::handle). */
using BootstrapFn =
    std::function<xds::bootstrap::HttpResponse(const xds::bootstrap::HttpRequest& request)>;

struct DpServerOptions {
  /** Listen address; Kuma listens on every interface. */
  std::string address = "0.0.0.0";
  /** dpServer.port; 0 picks a free port (tests), see DpServer::port(). */
  uint16_t port = 5678;
  /** PEM files (dpServer.tlsCertFile / tlsKeyFile, inherited from general.*). */
  std::string certFile;
  std::string keyFile;
  /** TLSv1_0 | TLSv1_1 | TLSv1_2 | TLSv1_3. The gRPC side always enforces at least TLS 1.2. */
  std::string tlsMinVersion = "TLSv1_2";
  /** Empty: no maximum. HTTP/1.1 side only. */
  std::string tlsMaxVersion;
  /** Go (IANA) cipher suite names; HTTP/1.1 side only. Empty: OpenSSL defaults. */
  std::vector<std::string> tlsCipherSuites;
  /** Bound for receiving the ClientHello and the request headers. */
  absl::Duration readHeaderTimeout = absl::Seconds(5);
  /** Deadline given to open gRPC streams on stop(). */
  absl::Duration gracefulShutdownTimeout = absl::Seconds(10);
  /** Serves `POST /bootstrap`; unset answers 404. */
  BootstrapFn bootstrap;
};

class DpServer : public runtime::Component {
 public:
  explicit DpServer(DpServerOptions options);
  ~DpServer() override;

  /**
   * Registers a gRPC service (sync or callback API, e.g. the ADS server) on the DP server's gRPC
   * server. Not owned; must outlive the server. @return FailedPrecondition after start().
   */
  absl::Status addGrpcService(grpc::Service* service);

  /** Runs `hook` on the gRPC ServerBuilder just before it is built (extra options, services).
   *  @return FailedPrecondition after start(). */
  absl::Status addGrpcBuilderHook(std::function<void(grpc::ServerBuilder& builder)> hook);

  /** The bound port (after start()). */
  uint16_t port() const { return boundPort_.load(); }

  // runtime::Component
  std::string name() const override { return "dp-server"; }
  absl::Status start() override;
  void stop() override;

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  absl::Status startGrpc(const std::string& certPem, const std::string& keyPem);
  absl::Status startHttp();
  absl::Status startListener();
  void acceptLoop();
  void handleConnection(int fd);
  void relay(int client);
  void reapWorkers(bool all);
  bool track(int fd);
  void untrack(int fd);

  const DpServerOptions options_;
  std::vector<grpc::Service*> services_;
  std::vector<std::function<void(grpc::ServerBuilder&)>> hooks_;
  std::unique_ptr<grpc::CallbackGenericService> genericFallback_;
  std::unique_ptr<grpc::Server> grpcServer_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::unique_ptr<httplib::SSLServer> http_;
  std::thread httpThread_;
  int internalPort_ = 0;
  int listenFd_ = -1;
  int wakePipe_[2] = {-1, -1};
  std::thread acceptThread_;
  std::atomic<uint16_t> boundPort_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;

  absl::Mutex mu_;
  std::vector<int> activeFds_ ABSL_GUARDED_BY(mu_);
  std::vector<Worker> workers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuma::dp_server
