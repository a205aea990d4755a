#pragma once

// File: json_yaml.h
// YAML <-> JSON conversion. Resources and config are YAML or JSON on the outside and
// nlohmann::json inside. Plain YAML scalars are typed the way YAML 1.2's core schema (and Go's
// sigs.k8s.io/yaml) does: ints, floats, true/false, null; quoted scalars stay strings.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace kuma::common {

/** Parses a YAML (or JSON, a YAML subset) document. Errors: InvalidArgument with the parser's
 *  message and position. An empty document yields null. */
absl::StatusOr<nlohmann::json> parseYaml(std::string_view text);

/** Parses JSON. Errors: InvalidArgument with the parser's message. */
absl::StatusOr<nlohmann::json> parseJson(std::string_view text);

/** Parses a request body: JSON when it starts with '{' or '[', otherwise YAML. */
absl::StatusOr<nlohmann::json> parseJsonOrYaml(std::string_view text);

/** Emits a JSON value as block-style YAML. */
std::string toYaml(const nlohmann::json& value);
std::string toYaml(const nlohmann::ordered_json& value);

}  // namespace kuma::common
