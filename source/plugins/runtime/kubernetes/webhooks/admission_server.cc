#include "source/plugins/runtime/kubernetes/webhooks/admission_server.h"

#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "source/common/http/http_listener.h"
#include "source/common/json_yaml.h"
#include "source/common/logging.h"
#include "source/common/status_macros.h"
#include "source/core/metrics/metrics.h"
#include "source/core/validators/validation_error.h"

namespace kuma::k8s::webhooks {
namespace {

constexpr size_t kMaxReviewBytes = 8 * 1024 * 1024;

Json reviewEnvelope(Json response) {
  return Json{{"apiVersion", "admission.k8s.io/v1"},
              {"kind", "AdmissionReview"},
              {"response", std::move(response)}};
}

std::string uidOf(const Json& review) {
  return common::jsonString(common::jsonMember(review, "request"), "uid");
}

/** controller-runtime's admission.Errored(code, err). */
Json errored(const Json& review, int code, const std::string& message) {
  return reviewEnvelope(Json{{"uid", uidOf(review)},
                             {"allowed", false},
                             {"status", Json{{"code", code}, {"message", message}}}});
}

Json allowed(const Json& review) {
  return reviewEnvelope(Json{{"uid", uidOf(review)},
                             {"allowed", true},
                             {"status", Json{{"metadata", Json::object()}, {"code", 200}}}});
}

/** The request's object, or an error answer when the review is not one. */
const Json* requestObject(const Json& review, const char* member) {
  const Json& request = common::jsonMember(review, "request");
  if (!request.is_object()) {
    return nullptr;
  }
  const Json& object = common::jsonMember(request, member);
  return object.is_object() ? &object : nullptr;
}

}  // namespace

Json injectionReview(const Json& review, const AdmissionServerOptions& options,
                     std::string* outcome) {
  const auto set = [outcome](const char* value) {
    if (outcome != nullptr) {
      *outcome = value;
    }
  };
  const Json* object = requestObject(review, "object");
  if (object == nullptr) {
    set("bad_request");
    return errored(review, 400, "there is no content to decode");
  }
  const Json& request = review["request"];
  Json pod = *object;
  const std::string ns = common::jsonString(request, "namespace");
  if (!pod.contains("metadata") || !pod["metadata"].is_object()) {
    pod["metadata"] = Json::object();
  }
  pod["metadata"]["namespace"] = ns;
  absl::StatusOr<Json> namespaceObject = options.getNamespace(ns.empty() ? "default" : ns);
  if (!namespaceObject.ok()) {
    set("config_error");
    return errored(review, 500,
                   absl::StrCat("could not retrieve namespace for pod: ",
                                std::string(namespaceObject.status().message())));
  }
  absl::StatusOr<InjectionResult> result =
      injectSidecar(pod, *namespaceObject, options.injector, options.injectorLookups);
  if (!result.ok()) {
    set(absl::IsNotFound(result.status()) ? "mesh_not_found" : "config_error");
    return errored(review, 500, std::string(result.status().message()));
  }
  if (!result->injected) {
    set("skipped");
    return allowed(review);
  }
  set("success");
  // The patch turns what the API server sent into the mutated Pod (the namespace we set is
  // part of neither: it is taken from the original object).
  Json mutated = result->pod;
  if (object->contains("metadata") && (*object)["metadata"].is_object() &&
      !(*object)["metadata"].contains("namespace")) {
    mutated["metadata"].erase("namespace");
  }
  const Json patch = jsonPatch(*object, mutated);
  Json response = allowed(review)["response"];
  if (!patch.empty()) {
    response["patchType"] = "JSONPatch";
    response["patch"] = absl::Base64Escape(patch.dump());
  }
  return reviewEnvelope(std::move(response));
}

Json validationReview(const Json& review, const AdmissionServerOptions& options) {
  const Json& request = common::jsonMember(review, "request");
  if (!request.is_object()) {
    return errored(review, 400, "there is no content to decode");
  }
  const std::string kind = common::jsonString(common::jsonMember(request, "kind"), "kind");
  const model::ResourceTypeDescriptor* type = options.typeOfKind(kind);
  if (type == nullptr) {
    return allowed(review);
  }
  const std::string operation = common::jsonString(request, "operation");
  if (operation == "DELETE") {
    return allowed(review);
  }
  const Json* object = requestObject(review, "object");
  if (object == nullptr) {
    return errored(review, 400, "there is no content to decode");
  }
  absl::StatusOr<model::ResourceConstSharedPtr> resource = options.decode(*type, *object);
  validators::ValidationError errors;
  if (!resource.ok()) {
    // A spec the parser refuses with paths is answered as a validation failure, as Kuma's
    // validator does after decoding; anything else cannot be decoded at all.
    std::optional<validators::ValidationError> violations =
        validators::ValidationError::fromStatus(resource.status());
    if (!violations.has_value() || violations->empty()) {
      return errored(review, 400, std::string(resource.status().message()));
    }
    errors = *violations;
  } else if (type->validate) {
    type->validate(**resource, errors);
  }
  if (!errors.empty()) {
    // Kuma prefixes the violations of the legacy (flat) types with `spec`; the new policies'
    // paths already start there.
    validators::ValidationError verr;
    if (type->format == model::SpecFormat::Flat) {
      verr.addAt(validators::PathBuilder("spec"), errors);
    } else {
      verr = errors;
    }
    Json causes = Json::array();
    for (const validators::Violation& v : verr.violations()) {
      causes.push_back(
          Json{{"reason", "FieldValueInvalid"}, {"message", v.message}, {"field", v.field}});
    }
    const Json& meta = common::jsonMember(*object, "metadata");
    return reviewEnvelope(
        Json{{"uid", uidOf(review)},
             {"allowed", false},
             {"status", Json{{"metadata", Json::object()},
                             {"status", "Failure"},
                             {"message", verr.toString()},
                             {"reason", "Invalid"},
                             {"details", Json{{"name", common::jsonString(meta, "name")},
                                              {"kind", kind},
                                              {"causes", std::move(causes)}}},
                             {"code", 422}}}});
  }
  Json answer = allowed(review);
  if (type->deprecations && resource.ok()) {
    std::vector<std::string> warnings = type->deprecations(**resource);
    if (!warnings.empty()) {
      answer["response"]["warnings"] = warnings;
    }
  }
  return answer;
}

AdmissionServer::AdmissionServer(AdmissionServerOptions options) : options_(std::move(options)) {}

AdmissionServer::~AdmissionServer() {
  stop();
}

absl::Status AdmissionServer::start() {
  auto log = logging::logger("admission-server");
  const std::string dir = options_.certDir.empty() ? kDefaultCertDir : options_.certDir;
  const std::string certFile = dir + "/tls.crt";
  const std::string keyFile = dir + "/tls.key";
  std::error_code ec;
  if (!std::filesystem::exists(certFile, ec) || !std::filesystem::exists(keyFile, ec)) {
    log->error(
        "admission webhooks are not served: {} and {} do not exist "
        "(runtime.kubernetes.admissionServer.certDir)",
        certFile, keyFile);
    return absl::OkStatus();
  }
  auto ssl = std::make_unique<httplib::SSLServer>([=](SSL_CTX& ctx) {
    if (SSL_CTX_use_certificate_chain_file(&ctx, certFile.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(&ctx, keyFile.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(&ctx) != 1) {
      return false;
    }
    // controller-runtime's webhook server: TLS 1.2 or later.
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    return true;
  });
  if (!ssl->is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "admission server: could not use the TLS certificate ", certFile, " and key ", keyFile));
  }
  ssl->set_payload_max_length(kMaxReviewBytes);
  ssl->set_read_timeout(std::chrono::seconds(10));
  ssl->set_write_timeout(std::chrono::seconds(10));
  const auto handle = [this, log](const httplib::Request& req, httplib::Response& res,
                                  bool inject) {
    Json review;
    try {
      review = Json::parse(req.body);
    } catch (const std::exception& e) {
      review = Json::object();
      res.set_content(errored(review, 400, e.what()).dump(), "application/json");
      return;
    }
    if (!review.is_object()) {
      res.set_content(errored(Json::object(), 400, "the body is not an AdmissionReview").dump(),
                      "application/json");
      return;
    }
    Json answer;
    try {
      if (inject) {
        std::string outcome;
        answer = injectionReview(review, options_, &outcome);
        count(outcome);
      } else {
        answer = validationReview(review, options_);
      }
    } catch (const std::exception& e) {  // a member of an unexpected JSON type
      log->warn("{} {}: {}", req.method, req.path, e.what());
      answer = errored(review, 400, e.what());
    }
    res.set_content(answer.dump(), "application/json");
  };
  ssl->Post("/inject-sidecar", [handle](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, true);
  });
  ssl->Post(
      "/validate-kuma-io-v1alpha1",
      [handle](const httplib::Request& req, httplib::Response& res) { handle(req, res, false); });
  server_ = std::move(ssl);
  listener_ = std::make_unique<http::HttpListener>(*server_, "admission-server");
  KUMA_RETURN_IF_ERROR(listener_->start(options_.address, options_.port));
  log->info("admission webhooks served on {}:{}",
            options_.address.empty() ? "[::]" : options_.address, listener_->port());
  return absl::OkStatus();
}

void AdmissionServer::stop() {
  if (listener_) {
    listener_->stop();
  }
}

uint16_t AdmissionServer::port() const {
  return listener_ ? listener_->port() : 0;
}

void AdmissionServer::count(const std::string& outcome) {
  if (outcome == "success") {
    ++injected_;
  } else if (outcome == "skipped") {
    ++skipped_;
  } else if (outcome == "mesh_not_found") {
    ++meshNotFound_;
  } else {
    ++configError_;
  }
}

void AdmissionServer::collect(std::vector<prometheus::MetricFamily>& out) const {
  out.push_back(metrics::makeFamily(
      "sidecar_injection_total",
      "Total sidecar injection decisions by result (success/skipped/failed) and reason.",
      prometheus::MetricType::Counter,
      {{{{"result", "success"}, {"reason", ""}}, static_cast<double>(injected_.load())},
       {{{"result", "skipped"}, {"reason", "not_needed"}}, static_cast<double>(skipped_.load())},
       {{{"result", "failed"}, {"reason", "mesh_not_found"}},
        static_cast<double>(meshNotFound_.load())},
       {{{"result", "failed"}, {"reason", "config_error"}},
        static_cast<double>(configError_.load())}}));
}

}  // namespace kuma::k8s::webhooks
