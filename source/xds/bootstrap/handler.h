#pragma once

// File: handler.h
// `POST /bootstrap` of the DP server (pkg/xds/bootstrap/handler.go + generator.go), independent
// of the HTTP library: checks in Kuma's order with Kuma's status codes and texts
// (docs/dp-server.md), then the Envoy bootstrap and kuma-dp's sidecar configuration.
//
//   BootstrapHandler handler(options, manager, registry);
//   HttpResponse r = handler.handle({.body = body, .host = req.get_header_value("Host"),
//                                    .accept = req.get_header_value("accept")});

#include <string>

#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"
#include "source/xds/bootstrap/generator.h"

namespace kuma::xds::bootstrap {

inline constexpr char kDpTokenRequired[] =
    "Dataplane Token is required. Generate token using 'kumactl generate dataplane-token > "
    "/path/file' and provide it via --dataplane-token-file=/path/file argument to Kuma DP";

inline constexpr char kNotCa[] =
    "A data plane proxy is trying to verify the control plane using the certificate which is not "
    "a certificate authority (basic constraint 'CA' is set to 'false').\nProvide CA that was used "
    "to sign a certificate used in the control plane by using 'kuma-dp run --ca-cert-file=file' "
    "or via KUMA_CONTROL_PLANE_CA_CERT_FILE";

inline constexpr char kTransparentProxyOutbound[] =
    "outbound: should be empty since dataplane is in Transparent Proxying mode";

struct HandlerOptions {
  /** dpServer.authn.dpProxy.type ("none" disables the token requirement). */
  std::string dpProxyAuthnType = "dpToken";
  /** dpServer.authn.zoneProxy.type, for ingress/egress requests. */
  std::string zoneProxyAuthnType = "zoneToken";
  /** bootstrapServer.params.xdsHost; empty: the request's Host (and the SAN check applies). */
  std::string xdsHost;
  /** bootstrapServer.params.xdsPort, or dpServer.port when 0. */
  uint32_t xdsPort = 5678;
  /** PEM of the DP server certificate (SAN check; the CA for Envoy when the request has none). */
  std::string serverCertPem;
  /** Content of bootstrapServer.params.corefileTemplatePath; empty: none. */
  std::string corefileTemplate;
  BootstrapParams params;
};

struct HttpRequest {
  std::string body;
  /** The Host header (may carry a port). */
  std::string host;
  /** The Accept header. */
  std::string accept;
};

struct HttpResponse {
  int status = 500;
  /** Empty: no content-type header. */
  std::string contentType;
  std::string body;
};

/** Thread-safety: handle() may run concurrently on any number of threads. */
class BootstrapHandler {
 public:
  /** `manager` and `registry` must outlive the handler. */
  BootstrapHandler(HandlerOptions options, manager::ResourceManager& manager,
                   const model::TypeRegistry& registry);

  HttpResponse handle(const HttpRequest& request) const;

  /** Kuma's SAN-mismatch text for `host` and the certificate's `sans`. */
  static std::string sanMismatchMessage(const std::string& host,
                                        const std::vector<std::string>& sans);

  /** The Host header without its port (`[::1]:5678` → `::1`, `cp:5678` → `cp`). */
  static std::string stripPort(const std::string& host);

 private:
  HandlerOptions options_;
  manager::ResourceManager& manager_;
  const model::TypeRegistry& registry_;
};

}  // namespace kuma::xds::bootstrap
