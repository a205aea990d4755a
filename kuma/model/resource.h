#pragma once

// File: resource.h
// The resource model: a Resource is meta (name, mesh, version, times, labels) plus an immutable
// typed Spec, and its ResourceTypeDescriptor says everything generic code needs to know about the
// type (REST path, scope, policy flags, how to parse and validate the spec). One registry of
// descriptors (source/core/model/registry.h) drives the REST API, the stores and validation.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace kuma::validators {
class ValidationError;
}

namespace kuma::model {

/** Global resources live outside meshes (Mesh, GlobalSecret); Mesh-scoped ones inside one. */
enum class Scope { Global, Mesh };

/**
 * How a type is written in REST/YAML.
 * Flat: Kuma's "unversioned" form, meta keys and the spec's jsonpb fields side by side
 *       (Mesh, Dataplane, Secret, legacy policies).
 * SpecStatus: `{type, mesh, name, ..., spec: {...}, status: {...}}` (Mesh* policies).
 */
enum class SpecFormat { Flat, SpecStatus };

/**
 * An immutable, typed resource spec. Implementations: ProtoSpec<T> (protobuf messages with
 * jsonpb encoding) and SchemaSpec (schema-checked JSON of Mesh* policies).
 * Thread-safety: immutable after construction, shared between threads.
 */
class Spec {
 public:
  virtual ~Spec() = default;

  /**
   * The spec as JSON. For Flat types: the jsonpb object (merged next to the meta keys on output).
   * For SpecStatus types: an object with "spec" and optionally "status".
   */
  virtual nlohmann::ordered_json toJson() const = 0;

  /** Deep equality with another spec of the same type. */
  virtual bool equals(const Spec& other) const = 0;

  /**
   * Bytes that identify the content, for content hashes: equal specs give equal bytes. Not a
   * wire format. The default is the JSON text; protobuf specs give their deterministic binary
   * encoding, several times cheaper to compute (the mesh context hashes every Dataplane).
   */
  virtual std::string canonicalBytes() const { return toJson().dump(); }
};
using SpecConstSharedPtr = std::shared_ptr<const Spec>;

struct ResourceMeta {
  std::string name;
  std::string mesh;  // empty for Global scope
  std::string version;
  absl::Time creationTime = absl::UnixEpoch();
  absl::Time modificationTime = absl::UnixEpoch();
  std::map<std::string, std::string> labels;
};

struct ResourceTypeDescriptor;

struct Resource {
  const ResourceTypeDescriptor* descriptor = nullptr;
  ResourceMeta meta;
  SpecConstSharedPtr spec;
};
using ResourceConstSharedPtr = std::shared_ptr<const Resource>;

/** Policy flags exposed by GET /_resources and GET /policies. */
struct PolicyFlags {
  bool isTargetRef = false;
  bool hasToTargetRef = false;
  bool hasFromTargetRef = false;
  bool hasRulesTargetRef = false;
  bool isFromAsRules = false;
};

/** What defaulting needs from the control plane's configuration. */
struct DefaultingContext {
  std::string zone = "default";
};

struct ResourceTypeDescriptor {
  std::string name;                    // "MeshTimeout"
  std::string wsPath;                  // "meshtimeouts"
  std::vector<std::string> wsAliases;  // extra accepted paths ("global-secrets")
  std::string shortName;               // KRI short name ("mt"); empty: no kri
  std::string singularDisplayName;     // "Mesh Timeout"
  std::string pluralDisplayName;       // "Mesh Timeouts"
  Scope scope = Scope::Mesh;
  SpecFormat format = SpecFormat::Flat;
  bool readOnly = false;   // REST PUT/DELETE answer 405 (insights)
  bool adminOnly = false;  // Secret, GlobalSecret: every verb needs admin
  bool isPolicy = false;   // listed by GET /policies
  bool isExperimental = false;
  bool providedByZone = false;       // computed labels kuma.io/origin, kuma.io/zone, kuma.io/env
  bool isProxy = false;              // computed label kuma.io/proxy-type
  bool includeInFederation = false;  // Kuma: synced global -> zones (GET /_resources, export)
  bool isInbound = false;            // GET /policies flags
  bool isOutbound = false;
  PolicyFlags policy;
  /** The type of the resource's insight ("DataplaneInsight"), same name and mesh; empty: none.
   *  A type with one has Kuma's overviews (`<path>/_overview`, `<path>+insights`). */
  std::string insightType;

  /**
   * Parses the spec from a whole REST object (Flat: the object itself, meta keys ignored;
   * SpecStatus: its "spec"/"status" members).
   * @return InvalidArgument for malformed input (rendered as 400 "Bad Request"), or a
   *         validation status (ValidationError::toStatus) when the parser knows field paths.
   */
  std::function<absl::StatusOr<SpecConstSharedPtr>(const nlohmann::json& object)> parseSpec;

  /** An empty spec of this type (a resource created with no spec fields). */
  std::function<SpecConstSharedPtr()> emptySpec;

  /** Appends every violation of `resource` (paths relative to the REST object). May be empty. */
  std::function<void(const Resource& resource, validators::ValidationError& errors)> validate;

  /**
   * Optional defaulting applied on every write through the manager, e.g. the Dataplane's
   * `kuma.io/zone` inbound tags. @return the new spec, or nullptr when nothing changes.
   */
  std::function<SpecConstSharedPtr(const Resource& resource, const DefaultingContext& ctx)>
      applyDefaults;

  /**
   * Optional: Kuma's Deprecations() of a stored resource, answered by PUT as
   * `{"warnings": [...]}` (kumactl prints them). Unset or empty: no warnings.
   */
  std::function<std::vector<std::string>(const Resource& resource)> deprecations;
};

}  // namespace kuma::model
