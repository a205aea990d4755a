#pragma once

// File: api_server.h
// Kuma's REST API (spec §4) on apiServer.http (5681): index, /config, /_resources, /policies,
// resource CRUD for every registered type, dataplane overviews. Runs on cpp-httplib's bounded
// thread pool; every handler reads and writes through the ResourceManager.

#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kuma/runtime/component.h"
#include "nlohmann/json.hpp"
#include "source/core/manager/resource_manager.h"
#include "source/api_server/insights.h"
#include "source/core/model/kri.h"
#include "source/core/model/registry.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace kuma::http {
class HttpListener;
}

namespace kuma::api_server {

/** One of Kuma's per-Dataplane policy views of an Exclusive mesh, its KRIs parsed. */
struct DataplanePolicyView {
  enum class Kind { kProxy, kInbound, kOutbound, kOutboundRoutes, kRoute };
  Kind kind = Kind::kProxy;
  /** kInbound: the inbound's KRI; kOutbound, kOutboundRoutes and kRoute: the outbound's. */
  model::Kri target;
  /** The resource type `target`'s short name names. */
  std::string targetType;
  /** kRoute: the route's KRI. */
  model::Kri route;
};

struct ApiServerOptions {
  std::string interface = "0.0.0.0";
  uint16_t port = 5681;  // 0: any free port (tests)
  bool readOnly = false;
  bool localhostIsAdmin = true;
  bool guiEnabled = true;
  std::string guiBasePath = "/gui";
  /** GET / fields. */
  std::string product = "Kuma";
  std::string version;
  std::string hostname;
  std::string instanceId;
  std::string clusterId;
  /** Our own build, sent as the `x-kuma-cpp-version` header. */
  std::string buildVersion;
  /** Largest accepted request body; bigger ones get 413. */
  size_t maxBodyBytes = 5 * 1024 * 1024;
  /** The effective configuration for GET /config (sanitized). */
  std::function<nlohmann::ordered_json()> configJson;
  /**
   * GET /meshes/{mesh}/dataplanes/{name}/_config: the xDS config the control plane computes for
   * that Dataplane now, as `{"<typeUrl>": {"<name>": <Envoy JSON>}}`. NotFound when the Dataplane
   * does not exist; other errors answer 500. Unset: the path answers 404.
   */
  std::function<absl::StatusOr<nlohmann::ordered_json>(const std::string& mesh,
                                                       const std::string& name)>
      dataplaneConfig;
  /**
   * For `_config?include=diff`: the config currently served to the connected proxy of that
   * Dataplane, same shape; NotFound when none is connected (the diff is then against nothing).
   */
  std::function<absl::StatusOr<nlohmann::ordered_json>(const std::string& mesh,
                                                       const std::string& name)>
      servedDataplaneConfig;
  /**
   * GET /meshes/{mesh}/dataplanes/{name}/xds|stats|clusters (inspect through the proxy's Envoy
   * admin, spec §4): GET `path` (`config_dump`, `stats` or `clusters`) with `query` (e.g.
   * `format=json`, empty for none) on that Dataplane's Envoy admin API, returning the body.
   * NotFound when the Dataplane does not exist (404); other errors answer 500. Unset: the paths
   * answer 404.
   */
  std::function<absl::StatusOr<std::string>(const std::string& mesh, const std::string& name,
                                            const std::string& path, const std::string& query)>
      envoyAdmin;
  /**
   * GET /meshes/{mesh}/dataplanes/{name}/_rules (Kuma's InspectRulesResponse) for `dataplane`,
   * a Dataplane of mesh `mesh` the server already read. Errors answer 500. Unset: 404.
   */
  std::function<absl::StatusOr<nlohmann::ordered_json>(const std::string& mesh,
                                                       const model::Resource& dataplane)>
      dataplaneRules;
  /**
   * GET /meshes/{mesh}/dataplanes/{name}/rules (Kuma's legacy RuleInspectResponse) for
   * `dataplane` of mesh `mesh`. NotFound: the mesh does not exist. Unset: 404.
   */
  std::function<absl::StatusOr<nlohmann::ordered_json>(const std::string& mesh,
                                                       const model::Resource& dataplane)>
      dataplaneLegacyRules;
  /**
   * GET /meshes/{mesh}/dataplanes/{name}/policies (Kuma's DataplaneInspectResponse) for
   * `dataplane` of mesh `mesh`. NotFound: the mesh does not exist. Unset: 404.
   */
  std::function<absl::StatusOr<nlohmann::ordered_json>(const std::string& mesh,
                                                       const model::Resource& dataplane)>
      dataplanePolicies;
  /**
   * GET /meshes/{mesh}/dataplanes/{name}/_layout (Kuma's DataplaneNetworkingLayout) for
   * `dataplane` of mesh `mesh`, asked only when the mesh's MeshServices are Exclusive. Unset: the
   * endpoint answers 400 as for other meshes' views it does not implement.
   */
  std::function<absl::StatusOr<nlohmann::ordered_json>(const std::string& mesh,
                                                       const model::Resource& dataplane)>
      dataplaneLayout;
  /**
   * The policy views of an Exclusive mesh's Dataplane (DataplanePolicyView): GET .../_policies,
   * .../_inbounds/{kri}/_policies, .../_outbounds/{kri}/_policies, .../_outbounds/{kri}/_routes
   * and .../_outbounds/{kri}/_routes/{kri}/_policies. NotFound: no such inbound. Unset: 400 as
   * the views it does not implement.
   */
  std::function<absl::StatusOr<nlohmann::ordered_json>(
      const std::string& mesh, const model::Resource& dataplane, const DataplanePolicyView& view)>
      dataplanePolicyViews;
  /**
   * GET /meshes/{mesh}/{policyType}/{name}/_resources/dataplanes: does the targeted `policy`
   * select `dataplane`? Unset: only legacy (selector based) policies select anything.
   */
  std::function<bool(const model::Resource& policy, const model::Resource& dataplane)>
      policySelects;
  /**
   * GET /meshes/{mesh}/{legacyPolicyType}/{name}/dataplanes (`kumactl inspect <policy> NAME`):
   * Kuma's answer for the legacy `policy` of mesh `mesh` the server already read. NotFound: the
   * mesh does not exist. Unset: 404.
   */
  std::function<absl::StatusOr<nlohmann::ordered_json>(const std::string& mesh,
                                                       const model::Resource& policy)>
      legacyPolicyDataplanes;
  /**
   * GET /meshes/{mesh}/{serviceType}/{name}/_hostnames: the hostnames every HostnameGenerator
   * gives `service` (a MeshService, MeshExternalService or MeshMultiZoneService the server
   * already read), without the DNS check, as Kuma's inspect view. Unset: 404.
   */
  std::function<absl::StatusOr<std::vector<std::string>>(const model::Resource& service)>
      serviceHostnames;
  /**
   * GET /meshes/{mesh}/meshservices/{name}/_dataplanes (and `_resources/dataplanes`): does the
   * MeshService `service` select `dataplane`? Unset: 404.
   */
  std::function<bool(const model::Resource& service, const model::Resource& dataplane)>
      meshServiceSelects;
  /** MeshInsight / ServiceInsight computation (`metrics.mesh`, `dnsServer`). */
  InsightOptions insights;
  /** This control plane's zone (`multizone.zone.name`): KRIs of this zone name local resources. */
  std::string zone = "default";
  /**
   * POST /tokens/dataplane (spec §4.5), called with the request body and a check of the caller's
   * rights that the implementation runs once the body is valid (Kuma answers 400 before 403).
   * @return the raw JWT (200 text/plain). Errors: InvalidArgument with an empty message → 400
   *         with an empty body; a validation status → 400 "Invalid request"; NotFound → 404
   *         "Signing Key not found"; FailedPrecondition (issuer disabled) → 400; the check's
   *         PermissionDenied/Unauthenticated → 403/401. Unset: the path answers 404.
   */
  std::function<absl::StatusOr<std::string>(const std::string& body,
                                            const std::function<absl::Status()>& authorize)>
      issueDataplaneToken;
};

class ApiServer : public runtime::Component {
 public:
  ApiServer(ApiServerOptions options, manager::ResourceManager& manager,
            const model::TypeRegistry& registry);
  ~ApiServer() override;

  /** The bound port (after start()). */
  uint16_t port() const;

  // kuma::runtime::Component
  std::string name() const override { return "api-server"; }
  absl::Status start() override;
  void stop() override;
  bool reportsReadiness() const override { return true; }
  bool ready() const override;

 private:
  class Handlers;

  const ApiServerOptions options_;
  std::unique_ptr<Handlers> handlers_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<http::HttpListener> listener_;
};

}  // namespace kuma::api_server
