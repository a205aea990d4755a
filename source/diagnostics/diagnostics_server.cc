#include "source/diagnostics/diagnostics_server.h"

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "source/common/logging.h"

namespace kuma::diagnostics {

DiagnosticsServer::DiagnosticsServer(DiagnosticsOptions options)
    : options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {}

DiagnosticsServer::~DiagnosticsServer() {
  stop();
}

absl::Status DiagnosticsServer::start() {
  const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/ready") {
      res.status = options_.ready && options_.ready() ? 200 : 503;
    } else if (req.path == "/healthy") {
      res.status = 200;
    } else {
      res.status = 404;
      res.set_content("404 page not found\n", "text/plain; charset=utf-8");
    }
  };
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Delete(".*", handler);
  server_->set_read_timeout(1, 0);
  // Only SO_REUSEADDR: httplib's default also sets SO_REUSEPORT, which would let a second
  // control plane silently share our port instead of failing to start.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  int port = options_.port;
  if (port == 0) {
    port = server_->bind_to_any_port(options_.interface);
    if (port < 0) {
      return absl::UnavailableError("diagnostics: cannot bind to any port");
    }
  } else if (!server_->bind_to_port(options_.interface, port)) {
    return absl::UnavailableError(
        absl::StrCat("diagnostics: cannot bind to ", options_.interface, ":", options_.port));
  }
  boundPort_ = static_cast<uint16_t>(port);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  logging::logger("diagnostics")->info("listening on {}:{}", options_.interface, boundPort_);
  return absl::OkStatus();
}

void DiagnosticsServer::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace kuma::diagnostics
