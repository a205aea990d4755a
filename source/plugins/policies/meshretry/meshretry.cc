#include "source/plugins/policies/meshretry/meshretry.h"

#include <algorithm>
#include <array>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace kuma::policies::meshretry {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

SchemaPtr backOffSchema() {
  return object({field("baseInterval", duration()), field("maxInterval", duration())});
}

SchemaPtr rateLimitedBackOffSchema() {
  return object({
      field("resetHeaders",
            arrayOf(object({required("name", headerNameSchema()),
                            required("format", enumOf({"Seconds", "UnixTimestamp"}))}))),
      field("maxInterval", duration()),
  });
}

SchemaPtr confSchema() {
  return object({
      field("tcp", object({field("maxConnectAttempt", int32())})),
      field("http",
            object({
                field("numRetries", int32()),
                field("perTryTimeout", duration()),
                field("backOff", backOffSchema()),
                field("rateLimitedBackOff", rateLimitedBackOffSchema()),
                field("retryOn", arrayOf(string())),
                field("retriableResponseHeaders", arrayOf(headerMatchSchema())),
                field("retriableRequestHeaders", arrayOf(headerMatchSchema())),
                field("hostSelection",
                      arrayOf(object({
                          required("predicate", enumOf({"OmitPreviousHosts", "OmitHostsWithTags",
                                                        "OmitPreviousPriorities"})),
                          field("tags", mapOf(string())),
                          field("updateFrequency", withDefault(int32(), 2)),
                      }))),
                field("hostSelectionMaxAttempts", int64()),
            })),
      field("grpc", object({
                        field("numRetries", int32()),
                        field("perTryTimeout", duration()),
                        field("backOff", backOffSchema()),
                        field("rateLimitedBackOff", rateLimitedBackOffSchema()),
                        field("retryOn", arrayOf(enumOf({"Canceled", "DeadlineExceeded", "Internal",
                                                         "ResourceExhausted", "Unavailable"}))),
                    })),
  });
}

// Envoy/Go know these status codes (net/http StatusText != "").
bool knownStatusCode(int code) {
  static constexpr std::array<int, 63> kCodes = {
      100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301,
      302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409,
      410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428,
      429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511, 0};
  return code != 0 && std::find(kCodes.begin(), kCodes.end(), code) != kCodes.end();
}

bool knownHttpRetryOn(const std::string& v) {
  static constexpr std::array<std::string_view, 17> kValues = {"5xx",
                                                               "GatewayError",
                                                               "Reset",
                                                               "Retriable4xx",
                                                               "ConnectFailure",
                                                               "EnvoyRatelimited",
                                                               "RefusedStream",
                                                               "Http3PostConnectFailure",
                                                               "HttpMethodConnect",
                                                               "HttpMethodDelete",
                                                               "HttpMethodGet",
                                                               "HttpMethodHead",
                                                               "HttpMethodOptions",
                                                               "HttpMethodPatch",
                                                               "HttpMethodPost",
                                                               "HttpMethodPut",
                                                               "HttpMethodTrace"};
  if (std::find(kValues.begin(), kValues.end(), v) != kValues.end()) {
    return true;
  }
  if (v.empty() || v.size() > 3 || !std::all_of(v.begin(), v.end(), ::isdigit)) {
    return false;
  }
  return knownStatusCode(std::atoi(v.c_str()));
}

void validateBackOffs(const PathBuilder& path, const nlohmann::json& section,
                      ValidationError& errors) {
  if (const nlohmann::json* b = member(section, "backOff")) {
    if (member(*b, "baseInterval") == nullptr && member(*b, "maxInterval") == nullptr) {
      errors.addViolationAt(path.field("backOff"), "must not be empty");
    }
  }
  if (const nlohmann::json* r = member(section, "rateLimitedBackOff")) {
    PathBuilder rp = path.field("rateLimitedBackOff");
    if (member(*r, "maxInterval") != nullptr) {
      validateDurationGreaterThanZero(rp, *r, "maxInterval", errors);
    }
    if (member(*r, "resetHeaders") == nullptr) {
      errors.addViolationAt(rp.field("resetHeaders"), "must be defined");
    }
  }
}

void validateConf(const PathBuilder& defaultPath, const nlohmann::json* conf,
                  std::string_view /*top*/, ValidationError& errors) {
  // Kuma roots these violations at "default.conf" (RootedAt("conf") in its validator).
  PathBuilder path = defaultPath.field("conf");
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& c = conf != nullptr ? *conf : empty;
  const nlohmann::json* tcp = member(c, "tcp");
  const nlohmann::json* http = member(c, "http");
  const nlohmann::json* grpc = member(c, "grpc");
  if (tcp == nullptr && http == nullptr && grpc == nullptr) {
    errors.addViolationAt(path, "at least one of the 'tcp', 'http', 'grpc' must be specified");
  }
  if (tcp != nullptr && member(*tcp, "maxConnectAttempt") == nullptr) {
    errors.addViolationAt(path.field("tcp"), "must not be empty");
  }
  if (http != nullptr) {
    PathBuilder hp = path.field("http");
    if (http->empty()) {
      errors.addViolationAt(hp, "must not be empty");
    }
    validateBackOffs(hp, *http, errors);
    if (const nlohmann::json* retryOn = member(*http, "retryOn")) {
      for (size_t i = 0; i < retryOn->size(); ++i) {
        const std::string v = (*retryOn)[i].get<std::string>();
        if (!knownHttpRetryOn(v)) {
          errors.addViolationAt(hp.field("retryOn").index(i),
                                absl::StrCat("unknown item '", v, "'"));
        }
      }
    }
    if (const nlohmann::json* hs = member(*http, "hostSelection")) {
      bool prioritySet = false;
      for (size_t i = 0; i < hs->size(); ++i) {
        const nlohmann::json& p = (*hs)[i];
        PathBuilder pp = hp.field("hostSelection").index(i);
        std::string predicate = p.value("predicate", "");
        if (predicate == "OmitHostsWithTags" && member(p, "tags") == nullptr) {
          errors.addViolationAt(pp.field("tags"), "must be defined");
        } else if (predicate == "OmitPreviousPriorities") {
          if (prioritySet) {
            errors.addViolationAt(pp.field("predicate"),
                                  "OmitPreviousPriorities must only be specified once");
          }
          if (p.value("updateFrequency", 0) <= 0) {
            errors.addViolationAt(pp.field("updateFrequency"),
                                  "must be defined and greater than zero");
          }
          prioritySet = true;
        }
      }
    }
  }
  if (grpc != nullptr) {
    PathBuilder gp = path.field("grpc");
    if (grpc->empty()) {
      errors.addViolationAt(gp, "must not be empty");
    }
    validateBackOffs(gp, *grpc, errors);
  }
}

}  // namespace

namespace {
// Kuma's MeshRetryResource.Deprecations (api/v1alpha1/deprecated.go).
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  return topLevelTargetRefDeprecations(spec);
}
}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshRetry", "meshretries", "mr", "Mesh Retry", "Mesh Retries"},
      .topKinds = {kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset,
                   kMeshHTTPRoute, kDataplane},
      .to = true,
      .toTargetRefOpts = routeAwareDestinationOpts,
      .conf = confSchema(),
      .validateConf = validateConf,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshretry
