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

absl::StatusOr<model::SpecConstSharedPtr> SchemaSpec::parse(const Schema& schema,
                                                            const nlohmann::json& object) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError("resource must be a JSON object");
  }
  nlohmann::json input = nlohmann::json::object();
  if (auto it = object.find("spec"); it != object.end() && !it->is_null()) {
    input = *it;
  }
  validators::ValidationError errors;
  nlohmann::ordered_json normalized =
      normalize(schema, input, validators::PathBuilder("spec"), errors);
  if (!errors.empty()) {
    return errors.toStatus();
  }
  return std::make_shared<const SchemaSpec>(std::move(normalized));
}

absl::StatusOr<model::SpecConstSharedPtr> SchemaSpec::parseWithStatus(
    const Schema& schema, const Schema& statusSchema, const nlohmann::json& object) {
  auto parsed = parse(schema, object);
  if (!parsed.ok()) {
    return parsed.status();
  }
  const auto& spec = static_cast<const SchemaSpec&>(**parsed);
  nlohmann::json input = nlohmann::json::object();
  if (auto it = object.find("status"); it != object.end() && !it->is_null()) {
    input = *it;
  }
  validators::ValidationError errors;
  nlohmann::ordered_json status =
      normalize(statusSchema, input, validators::PathBuilder("status"), errors);
  if (!errors.empty()) {
    return errors.toStatus();
  }
  return std::make_shared<const SchemaSpec>(spec.orderedSpec(), std::move(status));
}

model::SpecConstSharedPtr SchemaSpec::empty() {
  return std::make_shared<const SchemaSpec>(nlohmann::ordered_json::object());
}

const SchemaSpec* schemaSpecOf(const model::Resource& resource) {
  return dynamic_cast<const SchemaSpec*>(resource.spec.get());
}

}  // namespace kuma::policies
