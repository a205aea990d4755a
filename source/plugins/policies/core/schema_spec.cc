#include "source/plugins/policies/core/schema_spec.h"

#include "source/core/validators/validation_error.h"

namespace kuma::policies {
namespace {

nlohmann::json toUnordered(const nlohmann::ordered_json& v) {
  if (v.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, child] : v.items()) {
      out[k] = toUnordered(child);
    }
    return out;
  }
  if (v.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& child : v) {
      out.push_back(toUnordered(child));
    }
    return out;
  }
  return nlohmann::json::parse(v.dump());
}

}  // namespace

SchemaSpec::SchemaSpec(nlohmann::ordered_json spec)
    : ordered_(spec.is_object() ? std::move(spec) : nlohmann::ordered_json::object()),
      spec_(toUnordered(ordered_)) {}

SchemaSpec::SchemaSpec(nlohmann::ordered_json spec, nlohmann::ordered_json status)
    : ordered_(spec.is_object() ? std::move(spec) : nlohmann::ordered_json::object()),
      spec_(toUnordered(ordered_)),
      status_(status.is_object() ? std::move(status) : nlohmann::ordered_json::object()) {}

nlohmann::ordered_json SchemaSpec::toJson() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["spec"] = ordered_;
  if (status_.has_value()) {
    out["status"] = *status_;
  }
  return out;
}

bool SchemaSpec::equals(const model::Spec& other) const {
  const auto* o = dynamic_cast<const SchemaSpec*>(&other);
  return o != nullptr && o->spec_ == spec_ && o->status_ == status_;
}

namespace {

// The member `key` of a REST or stored object (missing or null: an empty object) normalized
// with `schema`; violations are rooted at `key`.
nlohmann::ordered_json normalizeMember(const Schema& schema, const nlohmann::json& object,
                                       const char* key, validators::ValidationError& errors) {
  nlohmann::json input = nlohmann::json::object();
  if (auto it = object.find(key); it != object.end() && !it->is_null()) {
    input = *it;
  }
  return normalize(schema, input, validators::PathBuilder(key), errors);
}

}  // namespace

absl::StatusOr<model::SpecConstSharedPtr> SchemaSpec::parse(const Schema& schema,
                                                            const nlohmann::json& object) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError("resource must be a JSON object");
  }
  validators::ValidationError errors;
  nlohmann::ordered_json spec = normalizeMember(schema, object, "spec", errors);
  if (!errors.empty()) {
    return errors.toStatus();
  }
  return std::make_shared<const SchemaSpec>(std::move(spec));
}

absl::StatusOr<model::SpecConstSharedPtr> SchemaSpec::parseWithStatus(
    const Schema& schema, const Schema& statusSchema, const nlohmann::json& object) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError("resource must be a JSON object");
  }
  validators::ValidationError errors;
  nlohmann::ordered_json spec = normalizeMember(schema, object, "spec", errors);
  if (!errors.empty()) {
    return errors.toStatus();
  }
  nlohmann::ordered_json status = normalizeMember(statusSchema, object, "status", errors);
  if (!errors.empty()) {
    return errors.toStatus();
  }
  return std::make_shared<const SchemaSpec>(std::move(spec), std::move(status));
}

model::SpecConstSharedPtr SchemaSpec::empty() {
  return std::make_shared<const SchemaSpec>(nlohmann::ordered_json::object());
}

const SchemaSpec* schemaSpecOf(const model::Resource& resource) {
  return dynamic_cast<const SchemaSpec*>(resource.spec.get());
}

}  // namespace kuma::policies
