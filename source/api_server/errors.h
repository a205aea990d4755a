#pragma once

// File: errors.h
// Kuma's REST error body (Kong AIP-193, spec §4.1):
//   {"type":"/std-errors","status":400,"title":"...","detail":"...",
//    "invalid_parameters":[{"field":"...","reason":"..."}],"details":"...","causes":[...]}

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "source/core/validators/validation_error.h"

namespace kuma::api_server {

struct ErrorResponse {
  int status = 500;
  nlohmann::ordered_json body;
};

/** A Kuma error body with explicit parts. */
ErrorResponse makeError(int status, std::string title, std::string detail,
                        const std::vector<validators::Violation>& violations = {});

/**
 * Maps a status from the manager/store to Kuma's answer: validation → 400 `title` with
 * invalid_parameters; NotFound → 404 "Not found"; AlreadyExists/Aborted → 409; other
 * InvalidArgument → 400 "Bad Request"; PermissionDenied → 403; Unavailable → 503; else 500.
 */
ErrorResponse errorFromStatus(const absl::Status& status, const std::string& title);

}  // namespace kuma::api_server
