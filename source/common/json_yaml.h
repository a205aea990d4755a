#pragma once

// File: json_yaml.h
// YAML <-> JSON conversion. Resources and config are YAML or JSON on the outside and
// nlohmann::json inside. Plain YAML scalars are typed the way YAML 1.2's core schema (and Go's
// sigs.k8s.io/yaml) does: ints, floats, true/false, null; quoted scalars stay strings.
//
// Every parser here takes hostile input (REST bodies, the config file, kuma-dp templates, bootstrap
// requests, token parts, ADS node metadata) and is bounded (docs/rest-api.md, "Input limits"):
//   - nesting depth of objects and arrays: kMaxNestingDepth (JSON and YAML);
//   - YAML aliases: at most kMaxYamlAliases per document; an alias to a node that is still open
//     (a recursive alias) is an error; what aliases copy in is bounded in nodes and bytes;
//   - strings must be valid UTF-8; the error names the field (`spec.networking.address`).
// Each limit is an InvalidArgument error, never a crash or unbounded memory.
//
//   auto doc = parseJson(body);            // InvalidArgument on syntax, depth or UTF-8
//   if (!doc.ok()) return badRequest(doc.status().message());

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace kuma::common {

/** Deepest nesting of objects/arrays accepted. Real resources stay below 20. */
inline constexpr size_t kMaxNestingDepth = 256;
/** Alias nodes (`*name`) accepted in one YAML document. */
inline constexpr size_t kMaxYamlAliases = 1000;
/** Nodes that aliases may copy into one YAML document (the "billion laughs" bound). */
inline constexpr size_t kMaxYamlAliasNodes = 100000;
/** String bytes that aliases may copy into one YAML document. */
inline constexpr size_t kMaxYamlAliasBytes = 4u << 20;

/** Parses a YAML (or JSON, a YAML subset) document. Errors: InvalidArgument with the reason and
 *  position. An empty document yields null. */
absl::StatusOr<nlohmann::json> parseYaml(std::string_view text);

/** Parses JSON. Errors: InvalidArgument with the reason (and field, for invalid UTF-8). */
absl::StatusOr<nlohmann::json> parseJson(std::string_view text);

/** Parses a document that may be JSON or YAML: JSON when it starts with '{' or '[', otherwise
 *  YAML. For inputs without a content type (node metadata, the bootstrap's dataplane). */
absl::StatusOr<nlohmann::json> parseJsonOrYaml(std::string_view text);

/** How a request body of the given Content-Type is parsed. */
enum class BodyFormat { Json, Yaml, Unsupported };
/** application/json (and +json types) → Json; application/yaml, application/x-yaml, text/yaml,
 *  text/x-yaml → Yaml; anything else, or no type at all, → Unsupported (Kuma answers 415).
 *  Parameters such as `; charset=utf-8` are ignored; the match is case-insensitive. */
BodyFormat bodyFormatFor(std::string_view contentType);

/** True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
bool isValidUtf8(std::string_view s);

/** `object[key]` when `object` is an object that has it, else a null value (never throws). */
const nlohmann::json& jsonMember(const nlohmann::json& object, std::string_view key);

/** `object[key]` when it is a string, else "" (never throws). */
std::string jsonString(const nlohmann::json& object, std::string_view key);

/** Emits a JSON value as block-style YAML. */
std::string toYaml(const nlohmann::json& value);
std::string toYaml(const nlohmann::ordered_json& value);

}  // namespace kuma::common
