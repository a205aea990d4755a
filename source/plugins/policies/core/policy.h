#pragma once

// File: policy.h
// What every Mesh* policy plugin shares: the descriptor factory, the schema pieces that
// several policies reuse (rule matches, header matchers/modifiers) and Kuma's small value
// validators (durations, percentages, status codes) working on normalized spec JSON.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kuma/model/resource.h"
#include "nlohmann/json.hpp"
#include "source/core/validators/validation_error.h"
#include "source/plugins/policies/core/schema.h"
#include "source/plugins/policies/core/target_ref.h"

namespace kuma::policies {

/** Everything a policy folder provides; makeDescriptor() turns it into a registry entry. */
struct PolicyDefinition {
  std::string name;       // "MeshTimeout"
  std::string wsPath;     // "meshtimeouts"
  std::string shortName;  // "mt"
  std::string singularDisplayName;
  std::string pluralDisplayName;
  model::PolicyFlags flags;
  bool isInbound = false;
  bool isOutbound = false;
  /** false: a Mesh-scoped resource of a policy folder that is not a policy
   *  (MeshOpenTelemetryBackend): not listed by GET /policies, no policy flags. */
  bool isPolicy = true;
  SchemaPtr schema{};  // the whole `spec` object
  /** Types with a `status` (MeshService, ...): its schema (defaults give Go's zero value). */
  SchemaPtr statusSchema{};
  /** Mesh-scoped unless said otherwise (HostnameGenerator is Global). */
  model::Scope scope = model::Scope::Mesh;
  /** GET /_resources `includeInFederation`: true for every Mesh* policy, not for all types. */
  bool includeInFederation = true;
  /** Computed labels kuma.io/origin, zone and env (not on global-only MeshMultiZoneService). */
  bool providedByZone = true;
  /** Semantic checks on the normalized spec; paths are rooted at "spec". */
  std::function<void(const nlohmann::json& spec, validators::ValidationError& errors)> validate{};
  /** Optional: Kuma's deprecation warnings for the normalized spec (PUT's `warnings`). */
  std::function<std::vector<std::string>(const nlohmann::json& spec)> deprecations{};
  /** Optional: checks that need the resource's meta too (name length, ...). */
  std::function<void(const model::Resource& resource, validators::ValidationError& errors)>
      validateResource{};
  /** Optional: deprecation warnings that need the resource's meta (name, mesh, labels). */
  std::function<std::vector<std::string>(const model::Resource& resource)> resourceDeprecations{};
  /**
   * Optional: a type whose spec is not schema-based (a legacy policy with a proto spec, such as
   * ProxyTemplate) builds its whole descriptor; the other fields but `name` are then unused.
   */
  std::function<model::ResourceTypeDescriptor()> descriptor{};
};

model::ResourceTypeDescriptor makeDescriptor(const PolicyDefinition& definition);

/**
 * Kuma's TopLevelTargetRefDeprecations: the warning for a top-level `targetRef.kind` of
 * MeshService, MeshServiceSubset, MeshSubset (use Dataplane) or MeshHTTPRoute (use `to`).
 */
std::vector<std::string> topLevelTargetRefDeprecations(const nlohmann::json& spec);

/** Kuma's warning for a non-empty `from` in policies that moved to `rules`. */
inline constexpr const char* kFromDeprecatedUseRules =
    "'from' field is deprecated, use 'rules' instead";

/**
 * The common shape of Kuma's Deprecations(): `fromWarning` when `spec.from` is non-empty (none
 * when null), then the policy's own warnings, then topLevelTargetRefDeprecations.
 */
std::vector<std::string> fromAndTargetRefDeprecations(const nlohmann::json& spec,
                                                      const char* fromWarning,
                                                      std::vector<std::string> own = {});

// ---- schema pieces ----

/** A header name (common_api.HeaderName): 1..256 chars of the HTTP token set. */
SchemaPtr headerNameSchema();
/** `{set: [{name, value}], add: [...], remove: [name]}` ("remove" only when withRemove). */
SchemaPtr headerModifierSchema(bool withRemove);
/** `{type: Exact|Present|RegularExpression|Absent|Prefix = Exact, name, value}`. */
SchemaPtr headerMatchSchema();
/** Inbound rule matches: `[{spiffeID: {type, value}, sni: {type, value}}]`. */
SchemaPtr ruleMatchesSchema();
/** `{targetRef, default: conf}` (default required when defaultRequired). */
SchemaPtr targetedItemSchema(SchemaPtr conf, bool defaultRequired);
/** `{matches, default: conf}` items of `rules`. */
SchemaPtr ruleItemSchema(SchemaPtr conf, bool defaultRequired);

// ---- JSON access ----

/** The member `key` of an object, or nullptr (also for null members and non-objects). */
const nlohmann::json* member(const nlohmann::json& obj, std::string_view key);
/** Length of the array member `key` (0 when absent). */
size_t arraySize(const nlohmann::json& obj, std::string_view key);

/** How many `to`, `from` and `rules` items a spec has. */
struct SectionSizes {
  size_t to = 0;
  size_t from = 0;
  size_t rules = 0;
};

/**
 * Kuma's rule for policies with `to`, `from` and `rules`: at least one is defined, and `rules`
 * excludes the other two (violations at `spec`). @return the sizes, for further checks.
 */
SectionSizes validateSections(const nlohmann::json& spec, validators::ValidationError& errors);
/**
 * Kinds a `to[].targetRef` may name: only Mesh when `meshOnly` (e.g. under a top-level
 * MeshGateway), else Mesh (unless `withMesh` is false) and the destinations MeshService,
 * MeshExternalService and MeshMultiZoneService.
 */
std::vector<std::string_view> destinationKinds(bool meshOnly, bool withMesh = true);

/**
 * Kuma's `to[]` kinds of policies that also configure routes (MeshTimeout, MeshRetry): Mesh and
 * MeshExternalService under a top-level MeshGateway or MeshHTTPRoute, else Mesh, the
 * destinations and MeshHTTPRoute.
 */
TargetRefOpts routeAwareDestinationOpts(std::string_view top, const nlohmann::json& item);

/** The top-level targetRef kind (absent targetRef: Mesh). */
std::string topLevelKind(const nlohmann::json& spec);
/** A normalized duration member, parsed. */
std::optional<std::chrono::nanoseconds> durationMember(const nlohmann::json& obj,
                                                       std::string_view key);

// ---- value validators (Kuma's pkg/core/validators wording) ----

void validateDurationNotNegativeOrNil(const validators::PathBuilder& path,
                                      const nlohmann::json& obj, std::string_view key,
                                      validators::ValidationError& errors);
void validateDurationGreaterThanZeroOrNil(const validators::PathBuilder& path,
                                          const nlohmann::json& obj, std::string_view key,
                                          validators::ValidationError& errors);
/** Required duration strictly greater than zero ("must be defined and greater than zero"). */
void validateDurationGreaterThanZero(const validators::PathBuilder& path, const nlohmann::json& obj,
                                     std::string_view key, validators::ValidationError& errors);
void validateValueGreaterThanZeroOrNil(const validators::PathBuilder& path,
                                       const nlohmann::json& obj, std::string_view key,
                                       validators::ValidationError& errors);
/** int-or-string percentage in [0, 100] (0 rejected unless allowZero); required. */
void validatePercentage(const validators::PathBuilder& path, const nlohmann::json& obj,
                        std::string_view key, bool allowZero, validators::ValidationError& errors);
void validatePercentageOrNil(const validators::PathBuilder& path, const nlohmann::json& obj,
                             std::string_view key, validators::ValidationError& errors);
/** Integer percentage in [0, 100] when present. */
void validateIntPercentageOrNil(const validators::PathBuilder& path, const nlohmann::json& obj,
                                std::string_view key, validators::ValidationError& errors);
/** HTTP status code in [100, 599]. */
void validateStatusCode(const validators::PathBuilder& path, const nlohmann::json& obj,
                        std::string_view key, validators::ValidationError& errors);

/** Kuma's common_tls.ValidateVersion past the schema's enum: `min` above `max` (TLSAuto aside). */
void validateTlsVersionOrder(const validators::PathBuilder& path, const nlohmann::json& version,
                             validators::ValidationError& errors);

// ---- structure validators ----

using ConfValidator =
    std::function<void(const validators::PathBuilder& defaultPath, const nlohmann::json* conf,
                       validators::ValidationError& errors)>;

/** Validates `spec.targetRef` (when present) against the kinds a policy accepts on top. */
void validateTopTargetRef(const nlohmann::json& spec, const TargetRefOpts& opts,
                          validators::ValidationError& errors);

/**
 * Validates every item of `spec.<section>` ("to"/"from"): its targetRef against `opts` and
 * its `default` with `conf` (called with nullptr when the default is absent).
 */
void validateTargetedItems(const nlohmann::json& spec, std::string_view section,
                           const TargetRefOpts& opts, const ConfValidator& conf,
                           validators::ValidationError& errors);

/** Validates the `default` of every `spec.rules` item with `conf`. */
void validateRuleItems(const nlohmann::json& spec, const ConfValidator& conf,
                       validators::ValidationError& errors);

// ---- the policy definition helper ----

/** A policy type's names in the REST API and kumactl. */
struct PolicyNames {
  std::string_view name;       // "MeshTimeout"
  std::string_view wsPath;     // "meshtimeouts"
  std::string_view shortName;  // "mt"
  std::string_view singular;   // "Mesh Timeout"
  std::string_view plural;     // "Mesh Timeouts"
};

/** Checks a `default` of a `to`/`from`/`rules` item; `top` is the top-level targetRef kind. */
using DefaultValidator =
    std::function<void(const validators::PathBuilder& defaultPath, const nlohmann::json* conf,
                       std::string_view top, validators::ValidationError& errors)>;

/**
 * The shape of a targetRef policy. targetedPolicy() derives from it the REST flags, the spec
 * schema (`targetRef` plus the sections, each item's `default` being `conf`) and Kuma's common
 * validation (validateTargetedPolicy()); a policy with its own spec shape (routes, MTP) gives
 * `schema` and `validate` instead.
 */
struct TargetedPolicy {
  PolicyNames names{};
  /** Kinds of the top-level targetRef. */
  std::vector<std::string_view> topKinds{};
  bool to = false;
  bool from = false;
  bool rules = false;
  bool fromAsRules = false;
  /** `default` is required in `to`/`from` items, in `rules` items. */
  bool defaultRequired = false;
  bool ruleDefaultRequired = false;
  /** Kinds of `from[].targetRef`. */
  std::vector<std::string_view> fromKinds = {kMesh};
  /** Kinds of `to[].targetRef`; unset: destinationKinds() (only Mesh under a gateway/route). */
  std::optional<std::vector<std::string_view>> toKinds{};
  /** Optional, replaces `toKinds`: a `to[]` item's targetRef options for the top-level kind. */
  std::function<TargetRefOpts(std::string_view top, const nlohmann::json& item)> toTargetRefOpts{};
  /**
   * Optional: validates a `to[]` item at `path` after its targetRef, in place of `validateConf`
   * on its `default` (checks that need the item's targetRef).
   */
  std::function<void(const validators::PathBuilder& path, const nlohmann::json& item,
                     std::string_view top, validators::ValidationError& errors)>
      validateToItem{};
  /** `to` is allowed only when the top-level targetRef includes gateways (includesGateways());
   *  otherwise "must not be defined" at `spec.to`. */
  bool toOnlyWithGateways = false;
  /** `from` may be given under a top-level MeshGateway or MeshHTTPRoute (else a violation). */
  bool fromUnderGateways = false;
  /** Kuma validates the `to` items before the `from` items (MeshAccessLog); default: from first. */
  bool toBeforeFrom = false;
  SchemaPtr conf{};
  DefaultValidator validateConf{};
  /** Overrides for policies whose spec is not `targetRef` + sections of `default`s. */
  SchemaPtr schema{};
  std::function<void(const nlohmann::json& spec, validators::ValidationError& errors)> validate{};
  /** Kuma's deprecation warnings for the normalized spec; optional. */
  std::function<std::vector<std::string>(const nlohmann::json& spec)> deprecations{};
  /** Optional: checks that need the resource's meta too (name length, ...). */
  std::function<void(const model::Resource& resource, validators::ValidationError& errors)>
      validateResource{};
  /** Optional: deprecation warnings that need the resource's meta (name, mesh, labels). */
  std::function<std::vector<std::string>(const model::Resource& resource)> resourceDeprecations{};
};

PolicyDefinition targetedPolicy(TargetedPolicy policy);

/**
 * Kuma's common validation of a targetRef policy: the top-level targetRef against `topKinds`;
 * a `to`-only policy needs at least one `to` item, others follow validateSections(); every
 * item's targetRef against its section's kinds and its `default` with `validateConf`.
 */
void validateTargetedPolicy(const TargetedPolicy& policy, const nlohmann::json& spec,
                            validators::ValidationError& errors);

/** Parses a decimal number (int or "12.5" string); nullopt when not a number. */
std::optional<double> decimalOf(const nlohmann::json& value);

/** The RFC 7396 merge of the `default`s of `specs`, in precedence order (single-item policies). */
nlohmann::json mergedDefault(const std::vector<const nlohmann::json*>& specs);

/**
 * Kuma's ValidateOtelBackendRefOrEndpoint for the `openTelemetry` object `otel` at `path`:
 * exactly one of `endpoint` and `backendRef` (kind MeshOpenTelemetryBackend, labels), an
 * endpoint without URL characters and, with `hostPort` (MeshMetric), in host:port form.
 */
void validateOtelBackendRefOrEndpoint(const validators::PathBuilder& path,
                                      const nlohmann::json& otel, bool hostPort,
                                      validators::ValidationError& errors);

/**
 * The Deprecations of MeshTrace and MeshMetric: an inline OpenTelemetry `endpoint` (without
 * `backendRef`) in any of `spec.default.backends` (once), then the top-level targetRef's.
 */
std::vector<std::string> otelBackendPolicyDeprecations(const nlohmann::json& spec);

}  // namespace kuma::policies
