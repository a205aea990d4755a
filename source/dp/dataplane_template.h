#pragma once

// File: dataplane_template.h
// The Dataplane definition kuma-dp sends with /bootstrap (spec §9): a YAML or JSON template,
// inline or from a file, whose `{{ key }}` placeholders are filled from -v/--dataplane-var.

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace kuma::dp {

/**
 * Mustache-style variable substitution: `{{ key }}` (spaces optional) becomes vars[key]; a key
 * with no value renders as the empty string, as mustache does. Values are inserted verbatim (no
 * HTML escaping: the output is YAML, not HTML). An unterminated `{{` is an error.
 */
absl::StatusOr<std::string> renderTemplate(std::string_view text,
                                           const std::map<std::string, std::string>& vars);

/**
 * Renders and parses a Dataplane definition. It must be an object with non-empty string `type`,
 * `mesh` and `name`; `type` must match the proxy type (Dataplane, ZoneIngress, ZoneEgress).
 * Spec validation is left to the control plane (its 422 answer is reported verbatim).
 */
absl::StatusOr<nlohmann::json> parseDataplaneTemplate(
    std::string_view text, const std::map<std::string, std::string>& vars,
    std::string_view proxyType);

}  // namespace kuma::dp
