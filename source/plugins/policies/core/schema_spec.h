#pragma once

// File: schema_spec.h
// The Spec of every Mesh* policy: the spec JSON after schema normalization (see schema.h).
// Kept as JSON on purpose: policies are merged as JSON merge patches (spec §3.7), so the
// normalized JSON is both the storage form and the input of the rules engine.

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "kuma/model/resource.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/core/schema.h"

namespace kuma::policies {

class SchemaSpec final : public model::Spec {
 public:
  /** @param spec the normalized spec object (output field order). */
  explicit SchemaSpec(nlohmann::ordered_json spec);
  /** A spec with a `status` member (MeshService and the other types Kuma gives a status). */
  SchemaSpec(nlohmann::ordered_json spec, nlohmann::ordered_json status);

  /** The normalized spec for lookups (keys sorted; same content as orderedSpec()). */
  const nlohmann::json& spec() const { return spec_; }
  /** The normalized spec in output field order. */
  const nlohmann::ordered_json& orderedSpec() const { return ordered_; }
  /** The status, or nullptr for types without one. */
  const nlohmann::ordered_json* status() const { return status_.has_value() ? &*status_ : nullptr; }

  // kuma::model::Spec
  nlohmann::ordered_json toJson() const override;
  bool equals(const model::Spec& other) const override;

  /**
   * Parses the `spec` member of a REST object with `schema` (missing or null: empty object).
   * @return the spec, or a validation status (ValidationError::toStatus) listing every
   *         schema violation at `spec.<path>`.
   */
  static absl::StatusOr<model::SpecConstSharedPtr> parse(const Schema& schema,
                                                         const nlohmann::json& object);
  static model::SpecConstSharedPtr empty();

  /**
   * Like parse(), for a type with a status: the `status` member (a stored status; REST writes
   * drop it before, see rest_codec.cc; missing or null: an empty object) normalized with
   * `statusSchema`, whose defaults give Go's zero value as Kuma marshals it.
   */
  static absl::StatusOr<model::SpecConstSharedPtr> parseWithStatus(const Schema& schema,
                                                                   const Schema& statusSchema,
                                                                   const nlohmann::json& object);

 private:
  const nlohmann::ordered_json ordered_;
  const nlohmann::json spec_;
  const std::optional<nlohmann::ordered_json> status_;
};

/** The SchemaSpec of a resource, or nullptr when its spec is of another kind. */
const SchemaSpec* schemaSpecOf(const model::Resource& resource);

}  // namespace kuma::policies
