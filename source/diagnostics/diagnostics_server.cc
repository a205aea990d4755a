#include "source/diagnostics/diagnostics_server.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "source/common/http/bounded_server.h"
#include "source/common/http/http_listener.h"
#include "source/common/json_yaml.h"
#include "source/common/logging.h"
#include "source/diagnostics/profiler.h"

namespace kuma::diagnostics {
namespace {

constexpr size_t kMaxLoggingBody = 4096;
constexpr int kDefaultProfileSeconds = 30;
constexpr int kMaxProfileSeconds = 300;
constexpr char kPprofPrefix[] = "/debug/pprof/";
constexpr char kLoggingPrefix[] = "/logging/";

/** Go's http.Error: the message plus a newline as plain text. */
void textError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(message + "\n", "text/plain; charset=utf-8");
}

void notFound(httplib::Response& res) {
  textError(res, 404, "404 page not found");
}

void componentsJson(httplib::Response& res, const std::map<std::string, std::string>& levels) {
  nlohmann::json components = nlohmann::json::object();
  for (const auto& [component, level] : levels) {
    components[component] = level;
  }
  res.status = 200;
  res.set_content(nlohmann::json{{"components", components}}.dump() + "\n", "application/json");
}

int httpStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kFailedPrecondition:
      return 503;
    default:
      return 500;
  }
}

std::optional<int> tlsVersion(const std::string& name) {
  if (name == "TLSv1_0") {
    return TLS1_VERSION;
  }
  if (name == "TLSv1_1") {
    return TLS1_1_VERSION;
  }
  if (name == "TLSv1_2") {
    return TLS1_2_VERSION;
  }
  if (name == "TLSv1_3") {
    return TLS1_3_VERSION;
  }
  return std::nullopt;
}

constexpr char kPprofIndex[] = R"(<html>
<head><title>/debug/pprof/</title></head>
<body>
<p>kuma-cp profiles (gperftools formats, readable by <code>pprof</code>):</p>
<ul>
<li><a href="profile?seconds=30">profile</a>: CPU profile of the whole process; <code>seconds</code> 1-300, default 30; one at a time</li>
<li><a href="heap">heap</a>: live heap objects sampled by tcmalloc</li>
</ul>
</body>
</html>
)";

}  // namespace

DiagnosticsServer::DiagnosticsServer(DiagnosticsOptions options) : options_(std::move(options)) {}

DiagnosticsServer::~DiagnosticsServer() {
  stop();
}

absl::Status DiagnosticsServer::start() {
  if (options_.tlsEnabled) {
    const std::optional<int> minVersion = tlsVersion(options_.tlsMinVersion);
    std::optional<int> maxVersion = 0;
    if (!options_.tlsMaxVersion.empty()) {
      maxVersion = tlsVersion(options_.tlsMaxVersion);
    }
    if (!minVersion || !maxVersion) {
      return absl::InvalidArgumentError(absl::StrCat("diagnostics: unsupported TLS version (min \"",
                                                     options_.tlsMinVersion, "\", max \"",
                                                     options_.tlsMaxVersion, "\")"));
    }
    const std::string certFile = options_.tlsCertFile;
    const std::string keyFile = options_.tlsKeyFile;
    auto ssl = std::make_unique<httplib::SSLServer>([=](SSL_CTX& ctx) {
      if (SSL_CTX_use_certificate_chain_file(&ctx, certFile.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(&ctx, keyFile.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(&ctx) != 1) {
        return false;
      }
      SSL_CTX_set_min_proto_version(&ctx, *minVersion);
      SSL_CTX_set_max_proto_version(&ctx, *maxVersion);
      SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
      return true;
    });
    if (!ssl->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "diagnostics: could not use the TLS certificate ", certFile, " and key ", keyFile));
    }
    server_ = std::move(ssl);
  } else {
    server_ = std::make_unique<http::BoundedServer>();  // bounded request head (64 KiB, 10 s)
  }
  listener_ = std::make_unique<http::HttpListener>(*server_, "diagnostics");

  const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    route(req, res);
  };
  for (auto method :
       {&httplib::Server::Get, &httplib::Server::Post, &httplib::Server::Put,
        &httplib::Server::Delete, &httplib::Server::Patch, &httplib::Server::Options}) {
    (server_.get()->*method)(".*", handler);
  }
  // Bodies matter only to PUT /logging, which takes at most 4 KiB; a larger one is refused before
  // it is read and reported as Kuma does.
  server_->set_payload_max_length(kMaxLoggingBody);
  server_->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (res.status == 413 && req.path == "/logging") {
          textError(res, 400, "invalid request body");
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      }));
  // The request line is logged before the response is written (httplib's post-routing hook), not
  // after it (its logger): a client that has its answer knows the line is already out, so a
  // level change it makes next cannot decide whether that line is written.
  auto log = logging::logger("diagnostics");
  server_->set_post_routing_handler([log](const httplib::Request& req, httplib::Response& res) {
    log->debug("{} {} {}", req.method, req.target, res.status);
  });
  server_->set_read_timeout(1, 0);
  return listener_->start(options_.interface, options_.port);
}

void DiagnosticsServer::stop() {
  if (!stopping_.HasBeenNotified()) {
    stopping_.Notify();
  }
  if (listener_) {
    listener_->stop();
  }
}

uint16_t DiagnosticsServer::port() const {
  return listener_ ? listener_->port() : 0;
}

void DiagnosticsServer::route(const httplib::Request& req, httplib::Response& res) {
  const std::string& path = req.path;
  if (path == "/ready") {
    res.status = options_.ready && options_.ready() ? 200 : 503;
    if (res.status == 200 && options_.unreadyReason) {
      if (std::string reason = options_.unreadyReason(); !reason.empty()) {
        res.status = 503;
        res.set_content(reason + "\n", "text/plain; charset=utf-8");
      }
    }
  } else if (path == "/healthy") {
    res.status = 200;
  } else if (path == "/metrics" && options_.metrics) {
    res.status = 200;
    res.set_content(options_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  } else if (path == "/logging") {
    handleLogging(req, res);
  } else if (absl::StartsWith(path, kLoggingPrefix)) {
    handleLoggingComponent(path.substr(sizeof(kLoggingPrefix) - 1), req, res);
  } else if (options_.debugEndpoints &&
             (path == "/debug/pprof" || absl::StartsWith(path, kPprofPrefix))) {
    handlePprof(path.size() > sizeof(kPprofPrefix) - 1 ? path.substr(sizeof(kPprofPrefix) - 1) : "",
                req, res);
  } else {
    notFound(res);
  }
}

void DiagnosticsServer::handleLogging(const httplib::Request& req, httplib::Response& res) {
  if (req.method == "GET") {
    componentsJson(res, logging::componentLevels());
  } else if (req.method == "DELETE") {
    componentsJson(res, logging::clearComponentLevels());
  } else if (req.method == "PUT") {
    if (req.body.empty() || req.body.size() > kMaxLoggingBody) {
      textError(res, 400, "invalid request body");
      return;
    }
    auto document = common::parseJson(req.body);
    const nlohmann::json body =
        document.ok() ? std::move(*document) : nlohmann::json(nlohmann::json::value_t::discarded);
    std::string component, level;
    const auto field = [&body](const char* name, std::string& out) {
      if (!body.is_object() || !body.contains(name) || body[name].is_null()) {
        return true;  // absent: the zero value, as Go's decoder leaves it
      }
      if (!body[name].is_string()) {
        return false;
      }
      out = body[name].get<std::string>();
      return true;
    };
    if (body.is_discarded() || !(body.is_object() || body.is_null()) ||
        !field("component", component) || !field("level", level)) {
      textError(res, 400, "invalid request body");
      return;
    }
    if (absl::Status s = logging::validateComponentName(component); !s.ok()) {
      textError(res, 400, std::string(s.message()));
      return;
    }
    absl::StatusOr<logging::Level> parsed = logging::parseLevel(level);
    if (!parsed.ok()) {
      textError(res, 400, absl::StrCat("invalid log level: ", parsed.status().message()));
      return;
    }
    if (absl::Status s = logging::setComponentLevel(component, *parsed); !s.ok()) {
      textError(res, httpStatus(s), std::string(s.message()));
      return;
    }
    res.status = 200;
  } else {
    textError(res, 405, "method not allowed");
  }
}

void DiagnosticsServer::handleLoggingComponent(const std::string& component,
                                               const httplib::Request& req,
                                               httplib::Response& res) {
  // Go's mux pattern `/logging/{component}` matches exactly one non-empty path segment.
  if (component.empty() || component.find('/') != std::string::npos) {
    notFound(res);
    return;
  }
  if (req.method != "DELETE") {
    res.set_header("Allow", "DELETE");
    textError(res, 405, "Method Not Allowed");
    return;
  }
  if (absl::Status s = logging::removeComponentLevel(component); !s.ok()) {
    textError(res, 400, std::string(s.message()));
    return;
  }
  res.status = 200;
}

void DiagnosticsServer::handlePprof(const std::string& name, const httplib::Request& req,
                                    httplib::Response& res) {
  if (name.empty()) {
    res.status = 200;
    res.set_content(kPprofIndex, "text/html; charset=utf-8");
  } else if (name == "profile") {
    handleCpuProfile(req, res);
  } else if (name == "heap") {
    absl::StatusOr<std::string> heap = heapProfile();
    if (!heap.ok()) {
      textError(res, httpStatus(heap.status()), std::string(heap.status().message()));
      return;
    }
    res.status = 200;
    res.set_header("Content-Disposition", "attachment; filename=\"heap\"");
    res.set_content(std::move(*heap), "application/octet-stream");
  } else {
    notFound(res);  // Go runtime profiles (goroutine, mutex, …) have no C++ counterpart
  }
}

void DiagnosticsServer::handleCpuProfile(const httplib::Request& req, httplib::Response& res) {
  int seconds = kDefaultProfileSeconds;
  if (req.has_param("seconds")) {
    const std::string value = req.get_param_value("seconds");
    if (!absl::SimpleAtoi(value, &seconds) || seconds < 1 || seconds > kMaxProfileSeconds) {
      textError(res, 400,
                absl::StrCat("invalid seconds \"", value, "\": must be an integer from 1 to ",
                             kMaxProfileSeconds));
      return;
    }
  }
  if (!profilerAvailable()) {
    absl::Notification unused;
    const absl::Status s = collectCpuProfile(absl::Seconds(seconds), unused).status();
    textError(res, httpStatus(s), std::string(s.message()));
    return;
  }
  bool expected = false;
  if (!profiling_.compare_exchange_strong(expected, true)) {
    textError(res, 429, "a CPU profile is already being collected; retry when it is done");
    return;
  }
  // Only this flag is held while sampling: the pool's other threads keep serving requests.
  absl::StatusOr<std::string> profile = collectCpuProfile(absl::Seconds(seconds), stopping_);
  profiling_.store(false);
  if (!profile.ok()) {
    textError(res, httpStatus(profile.status()), std::string(profile.status().message()));
    return;
  }
  res.status = 200;
  res.set_header("Content-Disposition", "attachment; filename=\"profile\"");
  res.set_content(std::move(*profile), "application/octet-stream");
}

}  // namespace kuma::diagnostics
