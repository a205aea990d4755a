#include "source/dp/readiness.h"

#include <sys/socket.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "source/common/logging.h"

namespace kuma::dp {

ReadinessReporter::ReadinessReporter(EnvoyAdminAddress admin, std::string bindAddress,
                                     uint16_t port)
    : admin_(std::move(admin)), bindAddress_(std::move(bindAddress)), port_(port) {}

ReadinessReporter::~ReadinessReporter() {
  stop();
}

void ReadinessReporter::setDnsGate(std::function<bool()> ready, std::chrono::milliseconds timeout) {
  dnsReady_ = std::move(ready);
  dnsDeadline_ = std::chrono::steady_clock::now() + timeout;
}

absl::Status ReadinessReporter::start() {
  server_ = std::make_unique<httplib::Server>();
  // The kubelet/CP probe rarely: two workers are plenty and bound the thread count.
  server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  // httplib's default sets SO_REUSEPORT, which would let a second kuma-dp silently share this
  // port; SO_REUSEADDR alone makes a clash an error.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    if (terminating_) {
      res.status = 503;
      res.set_content("terminating", "text/plain");
      return;
    }
    if (dnsReady_ && !dnsBypassed_ && !dnsReady_()) {
      if (std::chrono::steady_clock::now() < dnsDeadline_) {
        res.status = 503;
        res.set_content("not ready", "text/plain");
        return;
      }
      if (!dnsBypassed_.exchange(true)) {
        logging::logger("kuma-dp")->warn(
            "DNS proxy config not received within timeout, bypassing readiness gate");
      }
    }
    auto answer = adminRequest(admin_, "GET", "/ready", std::chrono::seconds(2));
    const std::string state =
        answer.ok() ? std::string(absl::StripAsciiWhitespace(answer->body)) : "not ready";
    if (answer.ok() && answer->status == 200 && state == "LIVE") {
      res.status = 200;
      res.set_content("READY", "text/plain");
      return;
    }
    res.status = 503;
    res.set_content(state.empty() ? std::string("not ready") : state, "text/plain");
  });
  if (!server_->bind_to_port(bindAddress_.c_str(), port_)) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", bindAddress_, ":", port_,
        " for the readiness endpoint (KUMA_READINESS_PORT): is another kuma-dp using it?"));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs: wait for it so stop() never hangs.
  for (int i = 0; i < 1000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return absl::OkStatus();
}

void ReadinessReporter::stop() {
  if (server_) {
    server_->stop();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

}  // namespace kuma::dp
