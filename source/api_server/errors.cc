#include "source/api_server/errors.h"

namespace kuma::api_server {

ErrorResponse makeError(int status, std::string title, std::string detail,
                        const std::vector<validators::Violation>& violations) {
  nlohmann::ordered_json body;
  body["type"] = "/std-errors";
  body["status"] = status;
  body["title"] = std::move(title);
  body["detail"] = detail;
  if (!violations.empty()) {
    nlohmann::ordered_json params = nlohmann::ordered_json::array();
    nlohmann::ordered_json causes = nlohmann::ordered_json::array();
    for (const auto& v : violations) {
      params.push_back({{"field", v.field}, {"reason", v.message}});
      causes.push_back({{"field", v.field}, {"message", v.message}});
    }
    body["invalid_parameters"] = std::move(params);
    body["details"] = detail;
    body["causes"] = std::move(causes);
  } else {
    body["details"] = detail;
  }
  return {status, std::move(body)};
}

ErrorResponse errorFromStatus(const absl::Status& status, const std::string& title) {
  const std::string message(status.message());
  if (auto violations = validators::ValidationError::fromStatus(status)) {
    return makeError(400, title, message, violations->violations());
  }
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return makeError(404, title, "Not found");
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return makeError(409, "Conflict", message);
    case absl::StatusCode::kInvalidArgument:
      return makeError(400, "Bad Request", message);
    case absl::StatusCode::kPermissionDenied:
      return makeError(403, "Access Denied", message);
    case absl::StatusCode::kUnauthenticated:
      return makeError(401, "Unauthenticated", message);
    case absl::StatusCode::kUnavailable:
      return makeError(503, "Service Unavailable", message);
    case absl::StatusCode::kCancelled:
      return makeError(499, "Client Closed Request", message);
    default:
      return makeError(500, "Internal Server Error", message);
  }
}

}  // namespace kuma::api_server
