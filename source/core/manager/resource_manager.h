#pragma once

// File: resource_manager.h
// The write path every producer goes through (REST API, defaults, insights): on top of a
// ResourceStore it adds meta validation (names, meshes, labels), computed labels, defaulting and
// spec validation, the "Mesh must exist" rule with Mesh ownership (so deleting a Mesh cascades),
// the "Mesh in use" delete guard, and upsert with conflict retries.
//
//   manager::ResourceManager manager(store, registry, {.zone = "default"});
//   auto result = manager.upsert(std::move(resource));   // {resource, created}
//   if (!result.ok()) return result.status();            // InvalidArgument with violations, ...
//
// Errors: the store's vocabulary (NotFound, AlreadyExists, Aborted, Unavailable) plus
// InvalidArgument from ValidationError::toStatus(): "Resource is not valid" for meta/spec
// violations, "Mesh is not found" when a mesh-scoped resource names a missing Mesh.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kuma/store/resource_store.h"
#include "source/core/model/registry.h"

namespace kuma::manager {

struct Options {
  /** multizone.zone.name: value of the computed `kuma.io/zone` label. */
  std::string zone = "default";
  /** store.unsafeDelete: allow deleting a Mesh that still has Dataplanes. */
  bool unsafeDelete = false;
  /** Extra attempts upsert() makes after a conflict (Aborted / AlreadyExists). */
  int upsertConflictRetries = 10;
  /** Backoff before the first retry; doubled per retry, capped at 1s. Zero: no sleep. */
  absl::Duration upsertRetryBaseBackoff = absl::Milliseconds(5);
};

struct UpsertResult {
  model::ResourceConstSharedPtr resource;
  /** True when the resource did not exist and was created (REST 201 vs 200). */
  bool created = false;
};

/** Label keys the manager computes and guards (Kuma's `kuma.io/...` metadata labels). */
inline constexpr char kMeshLabel[] = "kuma.io/mesh";
inline constexpr char kOriginLabel[] = "kuma.io/origin";
inline constexpr char kZoneLabel[] = "kuma.io/zone";
inline constexpr char kEnvLabel[] = "kuma.io/env";
inline constexpr char kProxyTypeLabel[] = "kuma.io/proxy-type";
inline constexpr char kDisplayNameLabel[] = "kuma.io/display-name";

/**
 * Payload (absl::Status type URL) on the InvalidArgument a mesh, write or update validator
 * returns: Kuma's manager refuses such a resource, and its REST API titles that answer "Failed
 * to create a resource" / "Failed to update a resource" (not "Could not process a resource").
 */
inline constexpr char kManagerValidationPayload[] = "kuma.io/manager-validation";

/**
 * Thread-safety: every operation may be called concurrently from any thread. Hooks and update
 * validators are registered at start-up (before concurrent use is typical, but registration is
 * also safe later) and are called on the writing thread without internal locks held.
 */
class ResourceManager {
 public:
  /** Called after a Mesh is created; an error is returned by create() (the Mesh stays). */
  using MeshCreatedHook = std::function<absl::Status(const model::Resource& mesh)>;
  /** Extra rule for updates of one type; return a validation status to refuse the update. */
  using UpdateValidator =
      std::function<absl::Status(const model::Resource& old, const model::Resource& updated)>;
  /**
   * Extra rule for every Mesh write (create and update), run after the spec validation and
   * before the store write; return a validation status to refuse the write. Lets rules that
   * read other resources (e.g. a provided CA's Secrets) answer like spec validation (400).
   */
  using MeshValidator = std::function<absl::Status(const model::Resource& mesh)>;
  /**
   * Extra rule for every write (create and update) of one type, run after the spec validation
   * and before the store write, like a MeshValidator (Kuma's per-type managers, e.g. RateLimit's
   * check against the mesh's ExternalServices); return a validation status to refuse the write.
   */
  using WriteValidator = std::function<absl::Status(const model::Resource& resource)>;
  /** Called after a Mesh is updated; an error is returned by update() (the update stays). */
  using MeshUpdatedHook = std::function<absl::Status(const model::Resource& mesh)>;

  /**
   * @param store backend; must outlive the manager.
   * @param registry finds the "Mesh" and "Dataplane" types by name; must outlive the manager.
   */
  ResourceManager(store::ResourceStore& store, const model::TypeRegistry& registry,
                  Options options = {});

  /** @return the resource or NotFound. */
  absl::StatusOr<model::ResourceConstSharedPtr> get(const model::ResourceTypeDescriptor& type,
                                                    const store::ResourceKey& key) const;

  /** Lists resources (see store::ListOptions). */
  absl::StatusOr<store::ResourceList> list(const model::ResourceTypeDescriptor& type,
                                           const store::ListOptions& options) const;

  /**
   * Validates, defaults, computes labels and creates. Mesh-scoped resources are owned by their
   * Mesh unless `options.owner` names another owner.
   * @return the stored resource; InvalidArgument (violations / "Mesh is not found"),
   *         AlreadyExists, or a store error. For a Mesh, a failing onMeshCreated hook's error.
   */
  absl::StatusOr<model::ResourceConstSharedPtr> create(model::Resource resource,
                                                       const store::CreateOptions& options = {});

  /**
   * create() for what the control plane generates itself (CA and signing-key Secrets): no
   * computed labels, as Kuma's CA and token managers store them (the REST API computes labels,
   * the managers underneath do not). Caller labels are kept and checked as by create().
   */
  absl::StatusOr<model::ResourceConstSharedPtr> createGenerated(
      model::Resource resource, const store::CreateOptions& options = {});

  /**
   * Validates and updates an existing resource; `resource.meta.version` must be the version that
   * was read. Labels are replaced by the given ones (computed labels re-added when missing).
   * @return NotFound, Aborted (stale version), InvalidArgument, or a store error.
   */
  absl::StatusOr<model::ResourceConstSharedPtr> update(model::Resource resource);

  /**
   * update() for the control plane's own controllers: label values are stored without Kuma's
   * REST label-format check (Kuma's MeshService generator writes a timestamp with ':' into
   * `kuma.io/deletion-grace-period-started-at`; Kuma's manager accepts it, only REST checks),
   * and without computed labels (as Kuma's manager: a Workload its generator created has no
   * `kuma.io/origin`); the immutable ones are carried over from the stored resource.
   */
  absl::StatusOr<model::ResourceConstSharedPtr> updateGenerated(model::Resource resource);

  /**
   * Creates the resource or replaces the spec and labels of the existing one (the given version
   * is ignored; a stored `status` is kept, it belongs to the controllers); conflicts with
   * concurrent writers are retried (Options).
   */
  absl::StatusOr<UpsertResult> upsert(model::Resource resource);

  /**
   * Deletes a resource and everything it owns. Deleting a Mesh that still has Dataplanes is
   * refused with InvalidArgument (field "mesh") unless Options.unsafeDelete.
   */
  absl::Status remove(const model::ResourceTypeDescriptor& type, const store::ResourceKey& key);

  /** Adds a hook run after every Mesh creation, in registration order. */
  void onMeshCreated(MeshCreatedHook hook);

  /**
   * Runs the MeshCreatedHooks for a Mesh that reached the store another way (Kubernetes: created
   * with kubectl); the hooks are idempotent (CAs, default policies, signing key).
   */
  absl::Status runMeshCreatedHooks(const model::Resource& mesh) const;

  /** Adds a rule run on every Mesh create and update, in registration order. */
  void addMeshValidator(MeshValidator validator);

  /** Adds a hook run after every Mesh update, in registration order. */
  void onMeshUpdated(MeshUpdatedHook hook);

  /** Sets (replaces) the update validator of type `typeName`. */
  void setUpdateValidator(std::string typeName, UpdateValidator validator);

  /** Sets (replaces) the write validator of type `typeName`. */
  void setWriteValidator(std::string typeName, WriteValidator validator);

  store::ResourceStore& store() const { return store_; }
  const Options& options() const { return options_; }

 private:
  absl::StatusOr<model::ResourceConstSharedPtr> createImpl(model::Resource resource,
                                                           const store::CreateOptions& options,
                                                           bool computedLabels);
  /** update() and updateGenerated(): reads the stored version and updates it. */
  absl::StatusOr<model::ResourceConstSharedPtr> updateStored(model::Resource resource,
                                                             bool computedLabels,
                                                             bool checkLabelFormat);
  absl::StatusOr<model::ResourceConstSharedPtr> updateImpl(model::Resource resource,
                                                           const model::Resource& existing,
                                                           bool computedLabels = true,
                                                           bool checkLabelFormat = true);
  /** Meta + labels + defaults + spec validation, in place; `previous` is set on update. */
  absl::Status prepare(model::Resource& resource, const model::Resource* previous,
                       bool computedLabels = true, bool checkLabelFormat = true) const;
  /** The MeshValidators, for a Mesh, and the type's WriteValidator. */
  absl::Status validateWrite(const model::Resource& resource) const;

  store::ResourceStore& store_;
  const model::TypeRegistry& registry_;
  const Options options_;

  mutable absl::Mutex hooksMu_;
  std::vector<MeshCreatedHook> meshCreatedHooks_ ABSL_GUARDED_BY(hooksMu_);
  std::vector<MeshValidator> meshValidators_ ABSL_GUARDED_BY(hooksMu_);
  std::vector<MeshUpdatedHook> meshUpdatedHooks_ ABSL_GUARDED_BY(hooksMu_);
  std::map<std::string, UpdateValidator, std::less<>> updateValidators_ ABSL_GUARDED_BY(hooksMu_);
  std::map<std::string, WriteValidator, std::less<>> writeValidators_ ABSL_GUARDED_BY(hooksMu_);
};

}  // namespace kuma::manager
