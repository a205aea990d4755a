#include "source/diagnostics/diagnostics_server.h"

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "source/common/http/http_listener.h"

namespace kuma::diagnostics {

DiagnosticsServer::DiagnosticsServer(DiagnosticsOptions options)
    : options_(std::move(options)),
      server_(std::make_unique<httplib::Server>()),
      listener_(std::make_unique<http::HttpListener>(*server_, "diagnostics")) {}

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
  return listener_->start(options_.interface, options_.port);
}

void DiagnosticsServer::stop() {
  listener_->stop();
}

uint16_t DiagnosticsServer::port() const {
  return listener_->port();
}

}  // namespace kuma::diagnostics
