#pragma once

// File: schema.h
// A small declarative schema for Mesh* policy specs, the C++ counterpart of the structural
// OpenAPI schema Kuma generates from its Go types. Walking a JSON value with a schema
// normalizes it (unknown fields pruned, nulls dropped, defaults filled, Go durations re-printed
// in Go's String() form) and reports every type/enum/bound violation with its field path.
//
//   SchemaPtr conf = object({field("idleTimeout", duration()), required("kind", enumOf({"A"}))});
//   ValidationError errors;
//   nlohmann::ordered_json out = normalize(*conf, input, PathBuilder("spec"), errors);

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "source/core/validators/validation_error.h"

namespace kuma::policies {

enum class SchemaType {
  String,
  Enum,  // string restricted to enumValues
  Int,   // integer with optional bounds / enum
  Bool,
  Duration,     // Go duration string (k8s metav1.Duration)
  IntOrString,  // k8s intstr.IntOrString (percentages, decimals)
  Object,       // fixed fields; unknown ones are pruned
  Array,
  Map,  // string keys -> `items`
  Any,  // kept verbatim (x-kubernetes-preserve-unknown-fields)
};

struct Schema;
using SchemaPtr = std::shared_ptr<const Schema>;

struct SchemaField {
  std::string name;
  SchemaPtr schema;
  bool required = false;
};

/** A string predicate standing in for an OpenAPI `pattern` (the text is used in messages). */
struct StringPattern {
  std::string text;
  std::function<bool(std::string_view)> matches;
};

struct Schema {
  SchemaType type = SchemaType::Any;
  std::vector<std::string> enumValues;         // Enum
  std::vector<int64_t> intEnum;                // Int (empty: any value)
  std::optional<int64_t> minimum;              // Int
  std::optional<int64_t> maximum;              // Int
  std::optional<size_t> minLength;             // String
  std::optional<size_t> maxLength;             // String
  std::optional<StringPattern> pattern;        // String
  std::optional<size_t> minItems;              // Array
  std::optional<size_t> maxItems;              // Array
  std::vector<SchemaField> fields;             // Object, in output order
  SchemaPtr items;                             // Array elements / Map values
  std::optional<nlohmann::json> defaultValue;  // filled in when the field is missing
};

// Builders. Each returns a fresh immutable node; the `with*` helpers copy and adjust one.
SchemaPtr string();
SchemaPtr enumOf(std::vector<std::string> values);
/** A Go int32 (bounds default to the int32 range). */
SchemaPtr int32(std::optional<int64_t> minimum = std::nullopt,
                std::optional<int64_t> maximum = std::nullopt);
SchemaPtr int64();
SchemaPtr boolean();
SchemaPtr duration();
SchemaPtr intOrString();
SchemaPtr object(std::vector<SchemaField> fields);
SchemaPtr arrayOf(SchemaPtr items, std::optional<size_t> minItems = std::nullopt,
                  std::optional<size_t> maxItems = std::nullopt);
SchemaPtr mapOf(SchemaPtr values);
SchemaPtr any();

SchemaPtr withDefault(SchemaPtr schema, nlohmann::json value);
SchemaPtr withLength(SchemaPtr schema, std::optional<size_t> minLength,
                     std::optional<size_t> maxLength);
SchemaPtr withPattern(SchemaPtr schema, StringPattern pattern);
SchemaPtr withIntEnum(SchemaPtr schema, std::vector<int64_t> values);

SchemaField field(std::string name, SchemaPtr schema);
SchemaField required(std::string name, SchemaPtr schema);

/**
 * Walks `value` with `schema`, appending violations at `path` (messages follow the wording of
 * the OpenAPI validator Kuma runs: "<path> in body should be one of [..]", ...).
 * @return the normalized value; null when the value is absent/null or unusable.
 */
nlohmann::ordered_json normalize(const Schema& schema, const nlohmann::json& value,
                                 const validators::PathBuilder& path,
                                 validators::ValidationError& errors);

}  // namespace kuma::policies
