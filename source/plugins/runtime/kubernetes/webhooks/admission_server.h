#pragma once

// File: admission_server.h
// Kuma 2.14's admission webhooks (pkg/plugins/runtime/k8s/plugin.go addMutators/addValidators)
// on Kuma's port and paths: an HTTPS server (runtime.kubernetes.admissionServer: address, port
// 5443, certDir with tls.crt and tls.key) answering AdmissionReview v1 requests:
//
//   POST /inject-sidecar              Pods: sidecar_injector.h, answered with a JSONPatch
//   POST /validate-kuma-io-v1alpha1   Kuma's custom resources: the type's validation, answered
//                                     as Kuma (422 "Invalid" with one cause per violation,
//                                     deprecation warnings)
//
// A malformed review is answered 400 inside an AdmissionReview (as controller-runtime), an
// injection failure 500 with Kuma's message; the API server turns them into the client's error.
// Bodies are bounded (8 MiB, more than any object the API server stores).
//
//   AdmissionServer server(std::move(options));
//   KUMA_RETURN_IF_ERROR(server.start());

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kuma/model/resource.h"
#include "kuma/runtime/component.h"
#include "nlohmann/json.hpp"
#include "prometheus/metric_family.h"
#include "source/plugins/runtime/kubernetes/webhooks/sidecar_injector.h"

namespace httplib {
class Server;
}
namespace kuma::http {
class HttpListener;
}

namespace kuma::k8s::webhooks {

struct AdmissionServerOptions {
  /** runtime.kubernetes.admissionServer. An empty certDir is controller-runtime's default. */
  std::string address;
  uint16_t port = 5443;
  std::string certDir;

  InjectorOptions injector;
  InjectorLookups injectorLookups;
  /** A Namespace object by name (NotFound when missing). */
  std::function<absl::StatusOr<Json>(const std::string& name)> getNamespace;

  /** Finds a Kuma type by its kind ("MeshTimeout"); null for kinds that are not Kuma's. */
  std::function<const model::ResourceTypeDescriptor*(const std::string& kind)> typeOfKind;
  /** Decodes a custom resource as the Kubernetes store reads it. */
  std::function<absl::StatusOr<model::ResourceConstSharedPtr>(
      const model::ResourceTypeDescriptor& type, const Json& object)>
      decode;
};

/** controller-runtime's default certificate directory. */
inline constexpr char kDefaultCertDir[] = "/tmp/k8s-webhook-server/serving-certs";

/** The AdmissionReview answer to a sidecar-injection review (exposed for tests and fuzzing). */
Json injectionReview(const Json& review, const AdmissionServerOptions& options,
                     std::string* outcome = nullptr);

/** The AdmissionReview answer to a validation review of a Kuma custom resource. */
Json validationReview(const Json& review, const AdmissionServerOptions& options);

class AdmissionServer : public kuma::runtime::Component {
 public:
  explicit AdmissionServer(AdmissionServerOptions options);
  ~AdmissionServer() override;

  std::string name() const override { return "admission-server"; }
  /**
   * Serves on address:port. Without the certificate files it logs an error and serves nothing
   * (the rest of the control plane keeps running); an unusable certificate is an error.
   */
  absl::Status start() override;
  void stop() override;

  uint16_t port() const;

  /** Kuma's sidecar_injection_total{result,reason}. */
  void collect(std::vector<prometheus::MetricFamily>& out) const;

 private:
  void count(const std::string& outcome);

  AdmissionServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<http::HttpListener> listener_;
  std::atomic<uint64_t> injected_{0};
  std::atomic<uint64_t> skipped_{0};
  std::atomic<uint64_t> meshNotFound_{0};
  std::atomic<uint64_t> configError_{0};
};

}  // namespace kuma::k8s::webhooks
