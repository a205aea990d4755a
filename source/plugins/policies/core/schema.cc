#include "source/plugins/policies/core/schema.h"

#include <cmath>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/common/absl_compat.h"
#include "source/common/go_duration.h"

namespace kuma::policies {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

std::shared_ptr<Schema> make(SchemaType type) {
  auto s = std::make_shared<Schema>();
  s->type = type;
  return s;
}

std::shared_ptr<Schema> copyOf(const SchemaPtr& schema) {
  return std::make_shared<Schema>(*schema);
}

// The type names the OpenAPI validator prints for a JSON value decoded as Kuma's REST does.
std::string jsonTypeName(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::string:
      return "string";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return "number";  // Kuma's REST decodes every JSON number as a float64
    case nlohmann::json::value_t::boolean:
      return "boolean";
    case nlohmann::json::value_t::object:
      return "object";
    case nlohmann::json::value_t::array:
      return "array";
    default:
      return "null";
  }
}

// Kuma's REST answer names the field and says "in body ..."; a wrong type of the whole `spec` is
// reported without a field, as "spec in body ...".
void typeError(const PathBuilder& path, std::string_view expected, const nlohmann::json& v,
               ValidationError& errors) {
  const std::string message = absl::StrCat("in body must be of type ", std::string(expected),
                                           ": \"", jsonTypeName(v), "\"");
  if (path.str() == "spec") {
    errors.addViolationAt(PathBuilder(), absl::StrCat("spec ", message));
  } else {
    errors.addViolationAt(path, message);
  }
}

size_t utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

std::optional<int64_t> asInteger(const nlohmann::json& v) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() &&
        v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::numeric_limits<int64_t>::max();
    }
    return v.get<int64_t>();
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.2e18) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

nlohmann::ordered_json toOrdered(const nlohmann::json& v) {
  if (v.is_object()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& [k, child] : v.items()) {
      out[k] = toOrdered(child);
    }
    return out;
  }
  if (v.is_array()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& child : v) {
      out.push_back(toOrdered(child));
    }
    return out;
  }
  return nlohmann::ordered_json::parse(v.dump());
}

nlohmann::ordered_json normalizeString(const Schema& schema, const nlohmann::json& value,
                                       const PathBuilder& path, ValidationError& errors) {
  if (!value.is_string()) {
    typeError(path, "string", value, errors);
    return nullptr;
  }
  const auto& s = value.get_ref<const std::string&>();
  size_t before = errors.violations().size();
  if (schema.type == SchemaType::Enum) {
    bool found = false;
    for (const auto& e : schema.enumValues) {
      found = found || e == s;
    }
    if (!found) {
      errors.addViolationAt(path, absl::StrCat("in body should be one of [",
                                               absl::StrJoin(schema.enumValues, " "), "]"));
    }
  }
  size_t len = utf8Length(s);
  if (schema.minLength && len < *schema.minLength) {
    errors.addViolationAt(
        path, absl::StrCat("in body should be at least ", *schema.minLength, " chars long"));
  }
  if (schema.maxLength && len > *schema.maxLength) {
    errors.addViolationAt(
        path, absl::StrCat("in body should be at most ", *schema.maxLength, " chars long"));
  }
  if (schema.pattern && !schema.pattern->matches(s)) {
    errors.addViolationAt(path, absl::StrCat("in body should match '", schema.pattern->text, "'"));
  }
  return errors.violations().size() == before ? nlohmann::ordered_json(s) : nullptr;
}

nlohmann::ordered_json normalizeInt(const Schema& schema, const nlohmann::json& value,
                                    const PathBuilder& path, ValidationError& errors) {
  std::optional<int64_t> n = asInteger(value);
  if (!n) {
    typeError(path, "integer", value, errors);
    return nullptr;
  }
  size_t before = errors.violations().size();
  if (!schema.intEnum.empty()) {
    bool found = false;
    std::vector<std::string> names;
    for (int64_t e : schema.intEnum) {
      found = found || e == *n;
      names.push_back(absl::StrCat(e));
    }
    if (!found) {
      errors.addViolationAt(
          path, absl::StrCat("in body should be one of [", absl::StrJoin(names, " "), "]"));
    }
  }
  if (schema.minimum && *n < *schema.minimum) {
    errors.addViolationAt(
        path, absl::StrCat("in body should be greater than or ", "equal to ", *schema.minimum));
  }
  if (schema.maximum && *n > *schema.maximum) {
    errors.addViolationAt(
        path, absl::StrCat("in body should be less than or ", "equal to ", *schema.maximum));
  }
  return errors.violations().size() == before ? nlohmann::ordered_json(*n) : nullptr;
}

}  // namespace

SchemaPtr string() {
  return make(SchemaType::String);
}

SchemaPtr enumOf(std::vector<std::string> values) {
  auto s = make(SchemaType::Enum);
  s->enumValues = std::move(values);
  return s;
}

SchemaPtr int32(std::optional<int64_t> minimum, std::optional<int64_t> maximum) {
  auto s = make(SchemaType::Int);
  s->minimum = minimum ? minimum : std::optional<int64_t>(std::numeric_limits<int32_t>::min());
  s->maximum = maximum ? maximum : std::optional<int64_t>(std::numeric_limits<int32_t>::max());
  return s;
}

SchemaPtr int64() {
  return make(SchemaType::Int);
}
SchemaPtr boolean() {
  return make(SchemaType::Bool);
}
SchemaPtr duration() {
  return make(SchemaType::Duration);
}
SchemaPtr intOrString() {
  return make(SchemaType::IntOrString);
}

SchemaPtr object(std::vector<SchemaField> fields) {
  auto s = make(SchemaType::Object);
  s->fields = std::move(fields);
  return s;
}

SchemaPtr arrayOf(SchemaPtr items, std::optional<size_t> minItems, std::optional<size_t> maxItems) {
  auto s = make(SchemaType::Array);
  s->items = std::move(items);
  s->minItems = minItems;
  s->maxItems = maxItems;
  return s;
}

SchemaPtr mapOf(SchemaPtr values) {
  auto s = make(SchemaType::Map);
  s->items = std::move(values);
  return s;
}

SchemaPtr any() {
  return make(SchemaType::Any);
}

SchemaPtr withDefault(SchemaPtr schema, nlohmann::json value) {
  auto s = copyOf(schema);
  s->defaultValue = std::move(value);
  return s;
}

SchemaPtr withLength(SchemaPtr schema, std::optional<size_t> minLength,
                     std::optional<size_t> maxLength) {
  auto s = copyOf(schema);
  s->minLength = minLength;
  s->maxLength = maxLength;
  return s;
}

SchemaPtr withPattern(SchemaPtr schema, StringPattern pattern) {
  auto s = copyOf(schema);
  s->pattern = std::move(pattern);
  return s;
}

SchemaPtr withIntEnum(SchemaPtr schema, std::vector<int64_t> values) {
  auto s = copyOf(schema);
  s->intEnum = std::move(values);
  return s;
}

SchemaField field(std::string name, SchemaPtr schema) {
  return SchemaField{std::move(name), std::move(schema), false};
}

SchemaField required(std::string name, SchemaPtr schema) {
  return SchemaField{std::move(name), std::move(schema), true};
}

nlohmann::ordered_json normalize(const Schema& schema, const nlohmann::json& value,
                                 const PathBuilder& path, ValidationError& errors) {
  if (value.is_null()) {
    return nullptr;
  }
  switch (schema.type) {
    case SchemaType::Any:
      return toOrdered(value);
    case SchemaType::String:
    case SchemaType::Enum:
      return normalizeString(schema, value, path, errors);
    case SchemaType::Int:
      return normalizeInt(schema, value, path, errors);
    case SchemaType::Bool:
      if (!value.is_boolean()) {
        typeError(path, "boolean", value, errors);
        return nullptr;
      }
      return value.get<bool>();
    case SchemaType::Duration: {
      if (!value.is_string()) {
        typeError(path, "string", value, errors);
        return nullptr;
      }
      auto parsed = common::parseGoDuration(value.get_ref<const std::string&>());
      if (!parsed.ok()) {
        errors.addViolationAt(path, common::sv(parsed.status().message()));
        return nullptr;
      }
      return common::formatGoDuration(*parsed);
    }
    case SchemaType::IntOrString:
      if (value.is_string()) {
        return value.get<std::string>();
      }
      if (auto n = asInteger(value)) {
        return *n;
      }
      errors.addViolationAt(path,
                            absl::StrCat("in body must validate at least one schema (anyOf)"));
      return nullptr;
    case SchemaType::Object: {
      if (!value.is_object()) {
        typeError(path, "object", value, errors);
        return nullptr;
      }
      nlohmann::ordered_json out = nlohmann::ordered_json::object();
      // Kubernetes' object validator reports the properties' own errors first, then the missing
      // required ones in the CRD's `required` order (alphabetical).
      std::set<std::string> missing;
      for (const auto& f : schema.fields) {
        auto it = value.find(f.name);
        if (it != value.end() && !it->is_null()) {
          nlohmann::ordered_json v = normalize(*f.schema, *it, path.field(f.name), errors);
          if (!v.is_null()) {
            out[f.name] = std::move(v);
          }
        } else if (f.required) {
          missing.insert(f.name);
        } else if (f.schema->defaultValue) {
          out[f.name] = toOrdered(*f.schema->defaultValue);
        }
      }
      for (const std::string& name : missing) {
        errors.addViolationAt(path.field(name), "in body is required");
      }
      return out;
    }
    case SchemaType::Array: {
      if (!value.is_array()) {
        typeError(path, "array", value, errors);
        return nullptr;
      }
      if (schema.minItems && value.size() < *schema.minItems) {
        errors.addViolationAt(
            path, absl::StrCat("in body should have at least ", *schema.minItems, " items"));
      }
      if (schema.maxItems && value.size() > *schema.maxItems) {
        errors.addViolationAt(
            path, absl::StrCat("in body should have at most ", *schema.maxItems, " items"));
      }
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (size_t i = 0; i < value.size(); ++i) {
        out.push_back(normalize(*schema.items, value[i], path.index(i), errors));
      }
      return out;
    }
    case SchemaType::Map: {
      if (!value.is_object()) {
        typeError(path, "object", value, errors);
        return nullptr;
      }
      nlohmann::ordered_json out = nlohmann::ordered_json::object();
      // The Kubernetes validator names a map entry `path.key`, not Kuma's `path["key"]`.
      for (const auto& [k, v] : value.items()) {
        nlohmann::ordered_json nv = normalize(*schema.items, v, path.field(k), errors);
        if (!nv.is_null()) {
          out[k] = std::move(nv);
        }
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace kuma::policies
