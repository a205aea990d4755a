#include "source/plugins/policies/core/schema_openapi.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace kuma::policies {

nlohmann::ordered_json toOpenApi(const Schema& schema) {
  constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  switch (schema.type) {
    case SchemaType::String:
    case SchemaType::Duration:
      out["type"] = "string";
      if (schema.minLength) {
        out["minLength"] = *schema.minLength;
      }
      if (schema.maxLength) {
        out["maxLength"] = *schema.maxLength;
      }
      if (schema.pattern) {
        out["pattern"] = schema.pattern->text;
      }
      break;
    case SchemaType::Enum:
      out["type"] = "string";
      out["enum"] = schema.enumValues;
      break;
    case SchemaType::Int: {
      out["type"] = "integer";
      const bool int32Range = schema.minimum && schema.maximum && *schema.minimum >= kInt32Min &&
                              *schema.maximum <= kInt32Max;
      if (int32Range) {
        out["format"] = "int32";
      }
      if (schema.minimum && *schema.minimum != kInt32Min) {
        out["minimum"] = *schema.minimum;
      }
      if (schema.maximum && *schema.maximum != kInt32Max) {
        out["maximum"] = *schema.maximum;
      }
      if (!schema.intEnum.empty()) {
        out["enum"] = schema.intEnum;
      }
      break;
    }
    case SchemaType::Bool:
      out["type"] = "boolean";
      break;
    case SchemaType::IntOrString:
      out["anyOf"] = nlohmann::ordered_json::array({{{"type", "integer"}}, {{"type", "string"}}});
      out["x-kubernetes-int-or-string"] = true;
      break;
    case SchemaType::Object: {
      out["type"] = "object";
      nlohmann::ordered_json properties = nlohmann::ordered_json::object();
      std::vector<std::string> requiredFields;
      for (const SchemaField& f : schema.fields) {
        properties[f.name] = toOpenApi(*f.schema);
        if (f.required) {
          requiredFields.push_back(f.name);
        }
      }
      if (!properties.empty()) {  // no fields: every member is pruned, as Kuma's `{type: object}`
        out["properties"] = std::move(properties);
      }
      if (!requiredFields.empty()) {
        std::sort(requiredFields.begin(), requiredFields.end());  // as controller-gen lists them
        out["required"] = requiredFields;
      }
      break;
    }
    case SchemaType::Array:
      out["type"] = "array";
      out["items"] = schema.items
                         ? toOpenApi(*schema.items)
                         : nlohmann::ordered_json{{"x-kubernetes-preserve-unknown-fields", true}};
      if (schema.minItems) {
        out["minItems"] = *schema.minItems;
      }
      if (schema.maxItems) {
        out["maxItems"] = *schema.maxItems;
      }
      break;
    case SchemaType::Map:
      out["type"] = "object";
      out["additionalProperties"] =
          schema.items ? toOpenApi(*schema.items)
                       : nlohmann::ordered_json{{"x-kubernetes-preserve-unknown-fields", true}};
      break;
    case SchemaType::Any:
      out["x-kubernetes-preserve-unknown-fields"] = true;
      break;
  }
  if (schema.defaultValue) {
    out["default"] = nlohmann::ordered_json::parse(schema.defaultValue->dump());
  }
  return out;
}

}  // namespace kuma::policies
