#include "source/dp_server/dp_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "httplib.h"
#include "source/common/logging.h"
#include "source/common/tls/cert.h"
#include "source/dp_server/client_hello.h"
#include "source/dp_server/ssl_release_buffers.h"

namespace kuma::dp_server {
namespace {

constexpr size_t kMaxPeek = 16 * 1024 + 5;  // one full TLS record
// /bootstrap over HTTP/1.1: the request body is limited to 5 MiB (413), and one connection may
// carry at most this much from the client (TLS records included): httplib bounds each header
// line but not their number, so the relay bounds the whole.
constexpr size_t kMaxBootstrapBody = 5u << 20;
constexpr size_t kMaxRelayedClientBytes = 8u << 20;

std::optional<int> tlsVersion(const std::string& name) {
  static const std::map<std::string, int> kVersions = {{"TLSv1_0", TLS1_VERSION},
                                                       {"TLSv1_1", TLS1_1_VERSION},
                                                       {"TLSv1_2", TLS1_2_VERSION},
                                                       {"TLSv1_3", TLS1_3_VERSION}};
  auto it = kVersions.find(name);
  if (it == kVersions.end()) {
    return std::nullopt;
  }
  return it->second;
}

/** Go cipher-suite names (crypto/tls) → OpenSSL names, for TLS 1.0–1.2 suites. */
std::optional<std::string> opensslCipher(const std::string& goName) {
  static const std::map<std::string, std::string> kCiphers = {
      {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
      {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
      {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
  };
  auto it = kCiphers.find(goName);
  if (it == kCiphers.end()) {
    return std::nullopt;
  }
  return it->second;
}

bool writeAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    const ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

int connectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace

DpServer::DpServer(DpServerOptions options) : options_(std::move(options)) {}

DpServer::~DpServer() {
  stop();
}

absl::Status DpServer::addGrpcService(grpc::Service* service) {
  if (started_.load()) {
    return absl::FailedPreconditionError("the DP server is already started");
  }
  services_.push_back(service);
  return absl::OkStatus();
}

absl::Status DpServer::addGrpcBuilderHook(std::function<void(grpc::ServerBuilder&)> hook) {
  if (started_.load()) {
    return absl::FailedPreconditionError("the DP server is already started");
  }
  hooks_.push_back(std::move(hook));
  return absl::OkStatus();
}

absl::Status DpServer::start() {
  if (started_.exchange(true)) {
    return absl::FailedPreconditionError("the DP server is already started");
  }
  if (!tlsVersion(options_.tlsMinVersion) ||
      (!options_.tlsMaxVersion.empty() && !tlsVersion(options_.tlsMaxVersion))) {
    return absl::InvalidArgumentError(absl::StrCat("dpServer: unsupported TLS version \"",
                                                   options_.tlsMinVersion, "\"/\"",
                                                   options_.tlsMaxVersion, "\""));
  }
  auto cert = tls::readFile(options_.certFile);
  auto key = tls::readFile(options_.keyFile);
  if (!cert.ok() || !key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dpServer: could not load the TLS certificate: ",
                     (cert.ok() ? key.status() : cert.status()).message()));
  }
  absl::Status s = startGrpc(*cert, *key);
  if (s.ok()) {
    s = startHttp();
  }
  if (s.ok()) {
    s = startListener();
  }
  if (!s.ok()) {
    stop();
    return s;
  }
  logging::logger("dp-server")
      ->info("DP server listening on {}:{} (TLS; HTTP/1.1 /bootstrap and gRPC over h2)",
             options_.address, port());
  if (!sslReleaseBuffersActive()) {
    logging::logger("dp-server")
        ->warn("TLS buffers stay allocated per idle connection (SSL_new is not interposed)");
  }
  return absl::OkStatus();
}

absl::Status DpServer::startGrpc(const std::string& certPem, const std::string& keyPem) {
  // gRPC's health service (grpc.health.v1.Health): useful to probe the port, and a gRPC server
  // refuses to start without any service. The switch is process-wide, read when building.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // Kuma's DP server settings (pkg/dp-server/server/server.go).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1000000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 15000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 15000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 15000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // No GRPC_ARG_TSI_MAX_FRAME_SIZE: gRPC's default TLS frame (16 KiB) stays. With 4 KiB frames,
  // gRPC 1.51 (Debian) sent bytes of one connection's TLS stream on another connection now and
  // then when many connections were set up at once: their Go clients got records they could not
  // parse (alert protocol_version), see test/integration/go_ads_tls_test.cc and
  // docs/benchmarks.md.
  for (grpc::Service* service : services_) {
    builder.RegisterService(service);
  }
  // Answers UNIMPLEMENTED for unknown methods, and lets the server start when no service was
  // registered (gRPC refuses a server without any frequently polled queue).
  genericFallback_ = std::make_unique<grpc::CallbackGenericService>();
  builder.RegisterCallbackGenericService(genericFallback_.get());
  for (const auto& hook : hooks_) {
    hook(builder);
  }
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_key_cert_pairs.push_back({keyPem, certPem});
  acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
      grpc::SslServerCredentials(ssl));
  grpcServer_ = builder.BuildAndStart();
  if (!grpcServer_) {
    return absl::InternalError("dpServer: could not start the gRPC server");
  }
  return absl::OkStatus();
}

absl::Status DpServer::startHttp() {
  const int minVersion = *tlsVersion(options_.tlsMinVersion);
  const int maxVersion = options_.tlsMaxVersion.empty() ? 0 : *tlsVersion(options_.tlsMaxVersion);
  std::vector<std::string> ciphers;
  for (const std::string& name : options_.tlsCipherSuites) {
    if (auto c = opensslCipher(name)) {
      ciphers.push_back(*c);
    } else {
      logging::logger("dp-server")
          ->warn("dpServer.tlsCipherSuites: {} is not supported by this build, ignored", name);
    }
  }
  const std::string certFile = options_.certFile;
  const std::string keyFile = options_.keyFile;
  http_ = std::make_unique<httplib::SSLServer>([=](SSL_CTX& ctx) {
    if (SSL_CTX_use_certificate_chain_file(&ctx, certFile.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(&ctx, keyFile.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(&ctx) != 1) {
      return false;
    }
    SSL_CTX_set_min_proto_version(&ctx, minVersion);
    SSL_CTX_set_max_proto_version(&ctx, maxVersion);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (!ciphers.empty() &&
        SSL_CTX_set_cipher_list(&ctx, absl::StrJoin(ciphers, ":").c_str()) != 1) {
      return false;
    }
    return true;
  });
  if (!http_->is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat("dpServer: could not use the TLS certificate ",
                                                   certFile, " and key ", keyFile));
  }
  const auto timeout = absl::ToChronoMilliseconds(options_.readHeaderTimeout);
  http_->set_read_timeout(timeout);
  http_->set_write_timeout(std::chrono::seconds(10));
  http_->set_payload_max_length(kMaxBootstrapBody);
  BootstrapFn bootstrap = options_.bootstrap;
  auto handle = [bootstrap](const httplib::Request& req, httplib::Response& res) {
    if (!bootstrap) {
      res.status = 404;
      return;
    }
    xds::bootstrap::HttpRequest in;
    in.body = req.body;
    in.host = req.get_header_value("Host");
    in.accept = req.get_header_value("Accept");
    xds::bootstrap::HttpResponse out = bootstrap(in);
    res.status = out.status;
    if (!out.body.empty() || !out.contentType.empty()) {
      res.set_content(out.body, out.contentType.empty() ? "text/plain" : out.contentType.c_str());
    }
  };
  http_->Post("/bootstrap", handle);
  http_->Get("/bootstrap", handle);
  // Go's ServeMux answer for unknown paths (kuma-dp tells "no /bootstrap endpoint" from it).
  http_->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (req.path == "/bootstrap") {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        if (res.status == 404) {
          res.set_content("404 page not found\n", "text/plain; charset=utf-8");
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      }));
  internalPort_ = http_->bind_to_any_port("127.0.0.1");
  if (internalPort_ <= 0) {
    return absl::InternalError("dpServer: could not bind the internal HTTPS listener");
  }
  httpThread_ = std::thread([this] { http_->listen_after_bind(); });
  // stop() is a no-op on an httplib server that is not running yet: wait for it to run.
  for (int i = 0; i < 500 && !http_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::OkStatus();
}

absl::Status DpServer::startListener() {
  sockaddr_storage storage = {};
  socklen_t len = 0;
  int family = AF_INET;
  if (inet_pton(AF_INET, options_.address.c_str(),
                &reinterpret_cast<sockaddr_in*>(&storage)->sin_addr) == 1) {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(options_.port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, options_.address.c_str(),
                       &reinterpret_cast<sockaddr_in6*>(&storage)->sin6_addr) == 1) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(options_.port);
    len = sizeof(sockaddr_in6);
    family = AF_INET6;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("dpServer: invalid listen address \"", options_.address, "\""));
  }
  listenFd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (listenFd_ < 0 || ::bind(listenFd_, reinterpret_cast<sockaddr*>(&storage), len) != 0 ||
      ::listen(listenFd_, 1024) != 0) {
    return absl::UnavailableError(absl::StrCat("dpServer: could not listen on ", options_.address,
                                               ":", options_.port, ": ", std::strerror(errno)));
  }
  sockaddr_storage bound = {};
  socklen_t boundLen = sizeof(bound);
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&bound), &boundLen);
  boundPort_ = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                                 : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  if (::pipe2(wakePipe_, O_CLOEXEC) != 0) {
    return absl::InternalError("dpServer: pipe failed");
  }
  acceptThread_ = std::thread([this] { acceptLoop(); });
  return absl::OkStatus();
}

void DpServer::acceptLoop() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listenFd_, POLLIN, 0}, {wakePipe_[0], POLLIN, 0}};
    const int ready = ::poll(fds, 2, 1000);
    reapWorkers(false);
    if (ready <= 0 || (fds[1].revents & POLLIN) != 0) {
      continue;
    }
    const int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (!track(fd)) {
      ::close(fd);
      continue;
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    absl::MutexLock lock(&mu_);
    workers_.push_back(Worker{std::thread([this, fd, done] {
                                handleConnection(fd);
                                done->store(true);
                              }),
                              done});
  }
}

bool DpServer::track(int fd) {
  absl::MutexLock lock(&mu_);
  if (stopping_.load()) {
    return false;
  }
  activeFds_.push_back(fd);
  return true;
}

void DpServer::untrack(int fd) {
  absl::MutexLock lock(&mu_);
  activeFds_.erase(std::remove(activeFds_.begin(), activeFds_.end(), fd), activeFds_.end());
}

void DpServer::reapWorkers(bool all) {
  std::vector<Worker> finished;
  {
    absl::MutexLock lock(&mu_);
    auto it = std::partition(workers_.begin(), workers_.end(),
                             [all](const Worker& w) { return !all && !w.done->load(); });
    std::move(it, workers_.end(), std::back_inserter(finished));
    workers_.erase(it, workers_.end());
  }
  for (Worker& w : finished) {
    w.thread.join();
  }
}

void DpServer::handleConnection(int fd) {
  // Peek (never consume) until the first TLS record is complete or the header timeout passes.
  std::string buf(kMaxPeek, '\0');
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(options_.readHeaderTimeout);
  ClientHelloVerdict verdict = ClientHelloVerdict::kNeedMore;
  size_t lastSize = 0;
  while (verdict == ClientHelloVerdict::kNeedMore && !stopping_.load()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      break;
    }
    pollfd pfd = {fd, POLLIN, 0};
    const int waitMs = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
    if (::poll(&pfd, 1, std::min(waitMs, 200)) <= 0) {
      continue;
    }
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK);
    if (n <= 0) {
      break;  // closed or failed before sending a full record
    }
    const size_t size = static_cast<size_t>(n);
    verdict = inspectClientHello(std::string_view(buf.data(), size));
    if (verdict == ClientHelloVerdict::kNeedMore && size == lastSize) {
      // Data is pending but incomplete: poll() would return at once, so back off briefly.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    lastSize = size;
  }
  if (verdict == ClientHelloVerdict::kOffersH2) {
    untrack(fd);  // the gRPC server owns the fd from here on
    // gRPC's event engine expects a non-blocking socket (its own accept path sets it too); a
    // blocking fd stalls a poller thread in recvmsg.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters params;
    params.listener_fd = listenFd_;
    params.fd = fd;
    acceptor_->HandleNewConnection(&params);
    return;
  }
  if (verdict == ClientHelloVerdict::kOther) {
    relay(fd);
  }
  untrack(fd);
  ::close(fd);
}

void DpServer::relay(int client) {
  const int upstream = connectLoopback(internalPort_);
  if (upstream < 0) {
    return;
  }
  char buf[16384];
  bool clientOpen = true;
  size_t fromClient = 0;
  while (!stopping_.load()) {
    pollfd fds[2] = {{upstream, POLLIN, 0},
                     {client, static_cast<short>(clientOpen ? POLLIN : 0), 0}};
    if (::poll(fds, 2, 500) <= 0) {
      continue;
    }
    if (fds[0].revents != 0) {
      const ssize_t n = ::recv(upstream, buf, sizeof(buf), 0);
      // The internal server closing ends the connection (it answered, or timed out).
      if (n <= 0 || !writeAll(client, buf, static_cast<size_t>(n))) {
        break;
      }
    }
    if (clientOpen && fds[1].revents != 0) {
      const ssize_t n = ::recv(client, buf, sizeof(buf), 0);
      if (n <= 0) {
        clientOpen = false;
        ::shutdown(upstream, SHUT_WR);
      } else if ((fromClient += static_cast<size_t>(n)) > kMaxRelayedClientBytes ||
                 !writeAll(upstream, buf, static_cast<size_t>(n))) {
        break;  // past the bound: a flood of headers or an endless body is cut off here
      }
    }
  }
  ::close(upstream);
}

void DpServer::stop() {
  if (stopped_ || !started_.load()) {
    return;
  }
  stopped_ = true;
  stopping_ = true;
  if (wakePipe_[1] >= 0) {
    [[maybe_unused]] ssize_t n = ::write(wakePipe_[1], "x", 1);
  }
  if (acceptThread_.joinable()) {
    acceptThread_.join();
  }
  {
    absl::MutexLock lock(&mu_);
    for (int fd : activeFds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  reapWorkers(true);
  if (listenFd_ >= 0) {
    ::close(listenFd_);
    listenFd_ = -1;
  }
  for (int& fd : wakePipe_) {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
  if (http_) {
    http_->stop();
  }
  if (httpThread_.joinable()) {
    httpThread_.join();
  }
  if (grpcServer_) {
    grpcServer_->Shutdown(std::chrono::system_clock::now() +
                          absl::ToChronoMilliseconds(options_.gracefulShutdownTimeout));
    grpcServer_->Wait();
  }
}

}  // namespace kuma::dp_server
