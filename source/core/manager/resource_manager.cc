#include "source/core/manager/resource_manager.h"

#include <algorithm>
#include <set>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "source/core/manager/meta_validation.h"
#include "source/core/store/errors.h"
#include "source/core/store/store_helpers.h"
#include "source/core/validators/validation_error.h"

namespace kuma::manager {
namespace {

using model::Resource;
using model::ResourceConstSharedPtr;
using model::ResourceTypeDescriptor;
using validators::PathBuilder;
using validators::ValidationError;

constexpr char kMeshType[] = "Mesh";
constexpr char kDataplaneType[] = "Dataplane";
constexpr size_t kMaxMeshNameLength = 63;

bool isMesh(const ResourceTypeDescriptor& type) {
  return type.name == kMeshType;
}

PathBuilder labelPath(std::string_view key) {
  return PathBuilder("labels").key(key);
}

/** Sets `key` to `value` unless the caller already set it. */
void setDefaultLabel(std::map<std::string, std::string>& labels, const std::string& key,
                     const std::string& value) {
  labels.try_emplace(key, value);
}

}  // namespace

ResourceManager::ResourceManager(store::ResourceStore& store, const model::TypeRegistry& registry,
                                 Options options)
    : store_(store), registry_(registry), options_(std::move(options)) {}

absl::StatusOr<ResourceConstSharedPtr> ResourceManager::get(const ResourceTypeDescriptor& type,
                                                            const store::ResourceKey& key) const {
  return store_.get(type, key);
}

absl::StatusOr<store::ResourceList> ResourceManager::list(const ResourceTypeDescriptor& type,
                                                          const store::ListOptions& options) const {
  return store_.list(type, options);
}

absl::Status ResourceManager::prepare(Resource& resource, const Resource* previous,
                                      bool computedLabels, bool checkLabelFormat) const {
  const ResourceTypeDescriptor& type = *resource.descriptor;
  if (resource.spec == nullptr) {
    if (!type.emptySpec) {
      return store::invalid(absl::StrCat("resource of type ", type.name, " has no spec"));
    }
    resource.spec = type.emptySpec();
  }

  ValidationError errors;
  // Meta. Existing resources keep the pre-2.5 name rule so that they stay updatable.
  validateName(resource.meta.name,
               previous == nullptr ? NameRule::Strict : NameRule::BackwardCompatible, errors);
  if (previous == nullptr && isMesh(type) && resource.meta.name.size() > kMaxMeshNameLength) {
    errors.addViolation("name", "value length must less or equal 63");
  }
  if (type.scope == model::Scope::Mesh) {
    validateMeshField(resource.meta.mesh, errors);
  } else if (!resource.meta.mesh.empty()) {
    errors.addViolation("mesh", "must be empty for a global resource");
  }

  // Labels given by the caller.
  auto& labels = resource.meta.labels;
  if (checkLabelFormat) {
    validateLabels(labels, errors);
  }
  std::set<std::string> reported;
  if (auto it = labels.find(kZoneLabel); it != labels.end() && it->second != options_.zone) {
    errors.addViolationAt(labelPath(kZoneLabel), "kuma.io/zone label should have default value");
    reported.insert(kZoneLabel);
  }
  if (type.scope == model::Scope::Mesh) {
    if (auto it = labels.find(kMeshLabel); it != labels.end() && it->second != resource.meta.mesh) {
      errors.addViolationAt(labelPath(kMeshLabel),
                            absl::StrFormat("kuma.io/mesh label should have the same value as "
                                            "the mesh of the resource (%s)",
                                            resource.meta.mesh));
    }
  }

  // Immutable labels: an update may omit them (they are carried over) but not change them.
  if (previous != nullptr) {
    for (const char* key : {kOriginLabel, kZoneLabel, kDisplayNameLabel}) {
      auto old = previous->meta.labels.find(key);
      if (old == previous->meta.labels.end() || reported.contains(key)) {
        continue;
      }
      auto current = labels.find(key);
      if (current == labels.end()) {
        labels.emplace(key, old->second);
      } else if (current->second != old->second) {
        errors.addViolationAt(labelPath(key),
                              absl::StrFormat("is immutable, cannot be changed from %s to %s",
                                              absl::StrCat("\"", old->second, "\""),
                                              absl::StrCat("\"", current->second, "\"")));
      }
    }
  }

  // Computed labels (Universal zone control plane). Read-only types (insights) are written
  // only by the control plane itself, which Kuma does without computed labels.
  computedLabels = computedLabels && !type.readOnly;
  if (computedLabels && type.scope == model::Scope::Mesh && !resource.meta.mesh.empty()) {
    setDefaultLabel(labels, kMeshLabel, resource.meta.mesh);
  }
  if (computedLabels && type.providedByZone) {
    setDefaultLabel(labels, kOriginLabel, "zone");
    setDefaultLabel(labels, kZoneLabel, options_.zone);
    setDefaultLabel(labels, kEnvLabel, "universal");
  }
  if (computedLabels && type.isProxy) {
    setDefaultLabel(labels, kProxyTypeLabel, "sidecar");
  }

  // Spec.
  if (type.applyDefaults) {
    model::DefaultingContext context;
    context.zone = options_.zone;
    if (model::SpecConstSharedPtr defaulted = type.applyDefaults(resource, context)) {
      resource.spec = std::move(defaulted);
    }
  }
  if (type.validate) {
    type.validate(resource, errors);
  }
  return errors.toStatus();
}

absl::StatusOr<ResourceConstSharedPtr> ResourceManager::create(
    Resource resource, const store::CreateOptions& options) {
  return createImpl(std::move(resource), options, /*computedLabels=*/true);
}

absl::StatusOr<ResourceConstSharedPtr> ResourceManager::createGenerated(
    Resource resource, const store::CreateOptions& options) {
  return createImpl(std::move(resource), options, /*computedLabels=*/false);
}

absl::StatusOr<ResourceConstSharedPtr> ResourceManager::createImpl(
    Resource resource, const store::CreateOptions& options, bool computedLabels) {
  if (resource.descriptor == nullptr) {
    return store::invalid("resource has no type descriptor");
  }
  if (absl::Status status = prepare(resource, nullptr, computedLabels); !status.ok()) {
    return status;
  }
  if (absl::Status status = validateWrite(resource); !status.ok()) {
    return status;
  }
  const ResourceTypeDescriptor& type = *resource.descriptor;
  store::CreateOptions createOptions = options;
  if (type.scope == model::Scope::Mesh) {
    if (const ResourceTypeDescriptor* meshType = registry_.byName(kMeshType)) {
      const store::ResourceKey meshKey{resource.meta.mesh, ""};
      auto mesh = store_.get(*meshType, meshKey);
      if (store::isNotFound(mesh.status())) {
        ValidationError errors;
        errors.addViolation("mesh",
                            absl::StrCat("mesh of name ", resource.meta.mesh, " is not found"));
        return errors.toStatus("Mesh is not found");
      }
      if (!mesh.ok()) {
        return mesh.status();
      }
      if (!createOptions.owner) {
        createOptions.owner = store::TypedResourceKey{meshType, meshKey};
      }
    }
  }

  auto created = store_.create(std::move(resource), createOptions);
  if (!created.ok() || !isMesh(type)) {
    return created;
  }
  if (absl::Status status = runMeshCreatedHooks(**created); !status.ok()) {
    return status;
  }
  return created;
}

absl::Status ResourceManager::runMeshCreatedHooks(const model::Resource& mesh) const {
  std::vector<MeshCreatedHook> hooks;
  {
    absl::MutexLock lock(&hooksMu_);
    hooks = meshCreatedHooks_;
  }
  for (const MeshCreatedHook& hook : hooks) {
    if (absl::Status status = hook(mesh); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ResourceConstSharedPtr> ResourceManager::update(Resource resource) {
  return updateStored(std::move(resource), /*computedLabels=*/true, /*checkLabelFormat=*/true);
}

absl::StatusOr<ResourceConstSharedPtr> ResourceManager::updateGenerated(Resource resource) {
  return updateStored(std::move(resource), /*computedLabels=*/false, /*checkLabelFormat=*/false);
}

absl::StatusOr<ResourceConstSharedPtr> ResourceManager::updateStored(Resource resource,
                                                                     bool computedLabels,
                                                                     bool checkLabelFormat) {
  if (resource.descriptor == nullptr) {
    return store::invalid("resource has no type descriptor");
  }
  auto existing = store_.get(*resource.descriptor, store::keyOf(resource));
  if (!existing.ok()) {
    return existing.status();
  }
  return updateImpl(std::move(resource), **existing, computedLabels, checkLabelFormat);
}

absl::StatusOr<ResourceConstSharedPtr> ResourceManager::updateImpl(Resource resource,
                                                                   const Resource& existing,
                                                                   bool computedLabels,
                                                                   bool checkLabelFormat) {
  if (absl::Status status = prepare(resource, &existing, computedLabels, checkLabelFormat);
      !status.ok()) {
    return status;
  }
  UpdateValidator validator;
  {
    absl::MutexLock lock(&hooksMu_);
    auto it = updateValidators_.find(resource.descriptor->name);
    if (it != updateValidators_.end()) {
      validator = it->second;
    }
  }
  if (validator) {
    if (absl::Status status = validator(existing, resource); !status.ok()) {
      if (absl::IsInvalidArgument(status)) {
        status.SetPayload(kManagerValidationPayload, absl::Cord("1"));
      }
      return status;
    }
  }
  if (absl::Status status = validateWrite(resource); !status.ok()) {
    return status;
  }
  const bool mesh = isMesh(*resource.descriptor);
  auto updated = store_.update(std::move(resource));
  if (!updated.ok() || !mesh) {
    return updated;
  }
  std::vector<MeshUpdatedHook> hooks;
  {
    absl::MutexLock lock(&hooksMu_);
    hooks = meshUpdatedHooks_;
  }
  for (const MeshUpdatedHook& hook : hooks) {
    if (absl::Status status = hook(**updated); !status.ok()) {
      return status;
    }
  }
  return updated;
}

absl::Status ResourceManager::validateWrite(const Resource& resource) const {
  std::vector<MeshValidator> validators;
  {
    absl::MutexLock lock(&hooksMu_);
    if (isMesh(*resource.descriptor)) {
      validators = meshValidators_;
    }
    auto it = writeValidators_.find(resource.descriptor->name);
    if (it != writeValidators_.end()) {
      validators.push_back(it->second);
    }
  }
  for (const MeshValidator& validator : validators) {
    if (absl::Status status = validator(resource); !status.ok()) {
      if (absl::IsInvalidArgument(status)) {
        status.SetPayload(kManagerValidationPayload, absl::Cord("1"));
      }
      return status;
    }
  }
  return absl::OkStatus();
}

namespace {

// A `status` belongs to the control plane's controllers (VIPs, hostnames, counters): an upsert
// replaces the spec and keeps the stored status, as Kuma's REST update sets only the spec.
void keepStatus(Resource& next, const Resource& existing) {
  const ResourceTypeDescriptor& type = *next.descriptor;
  if (type.format != model::SpecFormat::SpecStatus || !type.parseSpec || next.spec == nullptr ||
      existing.spec == nullptr) {
    return;
  }
  nlohmann::ordered_json stored = existing.spec->toJson();
  auto status = stored.find("status");
  if (status == stored.end()) {
    return;
  }
  nlohmann::ordered_json incoming = next.spec->toJson();
  nlohmann::json merged = nlohmann::json::object();
  merged["spec"] = incoming.contains("spec") ? incoming["spec"] : nlohmann::ordered_json::object();
  merged["status"] = *status;
  if (auto spec = type.parseSpec(merged); spec.ok()) {
    next.spec = std::move(*spec);
  }
}

}  // namespace

absl::StatusOr<UpsertResult> ResourceManager::upsert(Resource resource) {
  if (resource.descriptor == nullptr) {
    return store::invalid("resource has no type descriptor");
  }
  const ResourceTypeDescriptor& type = *resource.descriptor;
  const store::ResourceKey key = store::keyOf(resource);
  absl::Duration backoff = options_.upsertRetryBaseBackoff;
  absl::Status last;
  for (int attempt = 0; attempt <= std::max(0, options_.upsertConflictRetries); attempt++) {
    if (attempt > 0 && backoff > absl::ZeroDuration()) {
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(1));
    }
    auto existing = store_.get(type, key);
    if (existing.ok()) {
      Resource next = resource;
      next.meta.version = (*existing)->meta.version;
      keepStatus(next, **existing);
      auto updated = updateImpl(std::move(next), **existing);
      if (updated.ok()) {
        return UpsertResult{*updated, false};
      }
      last = updated.status();
      // Changed or deleted under us: read again.
      if (store::isConflict(last) || store::isNotFound(last)) {
        continue;
      }
      return last;
    }
    if (!store::isNotFound(existing.status())) {
      return existing.status();
    }
    auto created = createImpl(resource, {}, /*computedLabels=*/true);
    if (created.ok()) {
      return UpsertResult{*created, true};
    }
    last = created.status();
    if (!store::isAlreadyExists(last)) {
      return last;
    }
  }
  return last;
}

absl::Status ResourceManager::remove(const ResourceTypeDescriptor& type,
                                     const store::ResourceKey& key) {
  if (isMesh(type) && !options_.unsafeDelete) {
    if (const ResourceTypeDescriptor* dataplaneType = registry_.byName(kDataplaneType)) {
      store::ListOptions options;
      options.mesh = key.name;
      options.pageSize = 1;
      auto dataplanes = store_.list(*dataplaneType, options);
      if (!dataplanes.ok()) {
        return dataplanes.status();
      }
      if (dataplanes->total > 0) {
        ValidationError errors;
        errors.addViolation("mesh",
                            "unable to delete mesh, there are still some dataplanes attached");
        return errors.toStatus();
      }
    }
  }
  return store_.remove(type, key);
}

void ResourceManager::onMeshCreated(MeshCreatedHook hook) {
  absl::MutexLock lock(&hooksMu_);
  meshCreatedHooks_.push_back(std::move(hook));
}

void ResourceManager::addMeshValidator(MeshValidator validator) {
  absl::MutexLock lock(&hooksMu_);
  meshValidators_.push_back(std::move(validator));
}

void ResourceManager::onMeshUpdated(MeshUpdatedHook hook) {
  absl::MutexLock lock(&hooksMu_);
  meshUpdatedHooks_.push_back(std::move(hook));
}

void ResourceManager::setUpdateValidator(std::string typeName, UpdateValidator validator) {
  absl::MutexLock lock(&hooksMu_);
  updateValidators_[std::move(typeName)] = std::move(validator);
}

void ResourceManager::setWriteValidator(std::string typeName, WriteValidator validator) {
  absl::MutexLock lock(&hooksMu_);
  writeValidators_[std::move(typeName)] = std::move(validator);
}

}  // namespace kuma::manager
