#include "source/plugins/resources/kubernetes/kubernetes_store.h"

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "source/common/absl_compat.h"
#include "source/common/json_yaml.h"
#include "source/common/status_macros.h"
#include "source/core/store/errors.h"
#include "source/core/store/store_helpers.h"
#include "source/core/store/subscribers.h"
#include "source/core/validators/validation_error.h"
#include "source/plugins/k8s/crds.h"
#include "source/plugins/resources/kubernetes/list_watch.h"

namespace kuma::k8s {
namespace {

using Json = nlohmann::json;
using model::Resource;
using model::ResourceConstSharedPtr;
using model::ResourceTypeDescriptor;
using store::ChangeEvent;
using store::EventType;
using store::ResourceKey;

constexpr std::string_view kMeshLabel = "kuma.io/mesh";
constexpr std::string_view kDisplayName = "kuma.io/display-name";
// Annotations Kuma's KubernetesMetaAdapter reads as labels (they override the labels).
constexpr std::string_view kServiceAccountLabel = "k8s.kuma.io/service-account";
constexpr std::string_view kWorkloadLabel = "kuma.io/workload";
constexpr std::string_view kMeshSecretType = "system.kuma.io/secret";
constexpr std::string_view kGlobalSecretType = "system.kuma.io/global-secret";

enum class Storage { Custom, Secret, ConfigMap };

/** How one core type is kept in the Kubernetes API. */
struct KubeType {
  const ResourceTypeDescriptor* type = nullptr;
  Storage storage = Storage::Custom;
  bool namespaced = false;
  /** The mesh is the kuma.io/mesh label (else the top-level `mesh` field). */
  bool meshInLabel = false;
  std::string plural;
  std::string secretType;

  std::string apiVersion() const {
    return storage == Storage::Custom
               ? absl::StrCat(common::av(kCrdGroup), "/", common::av(kCrdVersion))
               : "v1";
  }
  std::string kind() const {
    switch (storage) {
      case Storage::Secret:
        return "Secret";
      case Storage::ConfigMap:
        return "ConfigMap";
      default:
        return type->name;
    }
  }
  /** Collection path; `ns` empty: across namespaces (or cluster-scoped). */
  std::string collection(const std::string& ns) const {
    const std::string prefix =
        storage == Storage::Custom
            ? absl::StrCat("/apis/", common::av(kCrdGroup), "/", common::av(kCrdVersion))
            : "/api/v1";
    if (!namespaced || ns.empty()) {
      return absl::StrCat(prefix, "/", plural);
    }
    return absl::StrCat(prefix, "/namespaces/", ns, "/", plural);
  }
  std::string listQuery() const {
    return storage == Storage::Secret
               ? absl::StrCat("fieldSelector=type%3D",
                              absl::StrReplaceAll(secretType, {{"/", "%2F"}}))
               : "";
  }
};

/** A Kubernetes object's identity. */
struct ObjectName {
  std::string name;
  std::string ns;
};

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class Store : public KubernetesStore {
 public:
  explicit Store(KubernetesStoreOptions options) : options_(std::move(options)) {}
  ~Store() override { stop(); }

  absl::Status init();
  void stop();

  // kuma::store::ResourceStore
  absl::StatusOr<ResourceConstSharedPtr> create(Resource resource,
                                                const store::CreateOptions& options) override;
  absl::StatusOr<ResourceConstSharedPtr> update(Resource resource) override;
  absl::Status remove(const ResourceTypeDescriptor& type, const ResourceKey& key) override;
  absl::StatusOr<ResourceConstSharedPtr> get(const ResourceTypeDescriptor& type,
                                             const ResourceKey& key) override;
  absl::StatusOr<store::ResourceList> list(const ResourceTypeDescriptor& type,
                                           const store::ListOptions& options) override;
  store::SubscriptionPtr subscribe(std::function<void(const ChangeEvent&)> handler) override;

  absl::Status waitForSync(absl::Duration timeout) override;
  InformerStats informerStats() const override {
    return InformerStats{stats_.relists.load(), stats_.watchesStarted.load(),
                         stats_.goneRelists.load()};
  }

  const KubeClient* client() const override { return options_.client.get(); }

  std::optional<size_t> cachedCount(const ResourceTypeDescriptor& type) const override {
    absl::MutexLock lock(&countsMu_);
    auto it = counts_.find(type.name);
    return it == counts_.end() ? std::nullopt : std::optional<size_t>(it->second);
  }

  absl::StatusOr<ResourceConstSharedPtr> decode(const ResourceTypeDescriptor& type,
                                                const Json& object) const override {
    KUMA_ASSIGN_OR_RETURN(const KubeType* kt, kubeType(&type));
    absl::StatusOr<ResourceConstSharedPtr> resource = toResource(*kt, object);
    if (!resource.ok() && !validators::ValidationError::fromStatus(resource.status())) {
      return absl::InvalidArgumentError(resource.status().message());
    }
    return resource;
  }

 private:
  absl::StatusOr<const KubeType*> kubeType(const ResourceTypeDescriptor* type) const;
  ObjectName objectName(const KubeType& kt, const std::string& coreName) const;
  std::string objectPath(const KubeType& kt, const ObjectName& name) const {
    return absl::StrCat(kt.collection(kt.namespaced ? name.ns : ""), "/", name.name);
  }
  std::string coreName(const KubeType& kt, const Json& object) const;
  std::string meshOf(const KubeType& kt, const Json& object) const;
  absl::StatusOr<Json> toObject(const KubeType& kt, const Resource& resource,
                                const ObjectName& name) const;
  absl::StatusOr<ResourceConstSharedPtr> toResource(const KubeType& kt, const Json& object) const;
  /** The raw object, NotFound as the store's error for `key`. */
  absl::StatusOr<Json> getObject(const KubeType& kt, const ResourceKey& key);
  absl::Status removeOwned(std::set<std::string> ownerUids);

  void runInformer(const KubeType* kt);
  bool sleepUnlessStopped(absl::Duration d);
  void emit(const ChangeEvent& event);
  void setCount(const std::string& type, size_t count) {
    absl::MutexLock lock(&countsMu_);
    counts_[type] = count;
  }

  const KubernetesStoreOptions options_;
  std::map<std::string, KubeType, std::less<>> types_;

  absl::Mutex stateMu_;
  bool stopping_ ABSL_GUARDED_BY(stateMu_) = false;
  std::set<std::string> synced_ ABSL_GUARDED_BY(stateMu_);
  std::vector<std::thread> informers_;

  store::SubscriberList subscribers_;

  ListWatchStats stats_;

  mutable absl::Mutex countsMu_;
  /** Per type name: the informer's number of objects (set once it listed). */
  std::map<std::string, size_t> counts_ ABSL_GUARDED_BY(countsMu_);
};

absl::Status Store::init() {
  if (!options_.client) {
    return absl::InvalidArgumentError("kubernetes store: no client");
  }
  for (const ResourceTypeDescriptor* type : options_.types) {
    KubeType kt;
    kt.type = type;
    if (type->name == "Secret" || type->name == "GlobalSecret") {
      kt.storage = Storage::Secret;
      kt.namespaced = true;
      kt.meshInLabel = true;
      kt.plural = "secrets";
      kt.secretType = std::string(type->name == "Secret" ? kMeshSecretType : kGlobalSecretType);
    } else if (type->name == "Config") {
      kt.storage = Storage::ConfigMap;
      kt.namespaced = true;
      kt.plural = "configmaps";
    } else if (hasCrd(*type)) {
      kt.namespaced = crdScope(*type) == "Namespaced";
      kt.meshInLabel = type->format == model::SpecFormat::SpecStatus;
      kt.plural = crdPlural(*type);
    } else {
      continue;  // no Kubernetes representation in Kuma 2.14 (see docs/kubernetes.md)
    }
    types_.emplace(type->name, std::move(kt));
  }
  for (const auto& [name, kt] : types_) {
    informers_.emplace_back([this, kt = &kt] { runInformer(kt); });
  }
  return absl::OkStatus();
}

void Store::stop() {
  {
    absl::MutexLock lock(&stateMu_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
  }
  if (options_.client) {
    options_.client->cancelWatches();
  }
  for (std::thread& t : informers_) {
    t.join();
  }
  informers_.clear();
}

absl::Status Store::waitForSync(absl::Duration timeout) {
  absl::MutexLock lock(&stateMu_);
  const size_t want = types_.size();
  auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(stateMu_) { return synced_.size() >= want; };
  if (!stateMu_.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat("kubernetes store: ", synced_.size(), " of ", want, " informers synced"));
  }
  return absl::OkStatus();
}

absl::StatusOr<const KubeType*> Store::kubeType(const ResourceTypeDescriptor* type) const {
  if (type == nullptr) {
    return store::invalid("resource has no type descriptor");
  }
  auto it = types_.find(type->name);
  if (it == types_.end()) {
    return store::invalid(
        absl::StrCat("type ", type->name, " has no Kubernetes representation in this store"));
  }
  return &it->second;
}

ObjectName Store::objectName(const KubeType& kt, const std::string& coreName) const {
  if (!kt.namespaced) {
    return ObjectName{coreName, ""};
  }
  if (kt.storage == Storage::Custom) {
    // Kuma: "name.namespace"; we also accept a bare name, kept in the system namespace.
    const size_t dot = coreName.rfind('.');
    if (dot != std::string::npos && dot > 0 && dot + 1 < coreName.size()) {
      return ObjectName{coreName.substr(0, dot), coreName.substr(dot + 1)};
    }
  }
  return ObjectName{coreName, options_.systemNamespace};
}

std::string Store::coreName(const KubeType& kt, const Json& object) const {
  const Json& meta = common::jsonMember(object, "metadata");
  const std::string name = common::jsonString(meta, "name");
  if (kt.storage != Storage::Custom || !kt.namespaced) {
    return name;
  }
  return absl::StrCat(name, ".", common::jsonString(meta, "namespace"));
}

std::string Store::meshOf(const KubeType& kt, const Json& object) const {
  if (kt.type->scope != model::Scope::Mesh) {
    return "";
  }
  if (kt.meshInLabel) {
    std::string mesh = common::jsonString(
        common::jsonMember(common::jsonMember(object, "metadata"), "labels"), kMeshLabel.data());
    // Kuma: a Mesh* policy without the label belongs to the default mesh.
    return mesh.empty() ? "default" : mesh;
  }
  return common::jsonString(object, "mesh");
}

absl::StatusOr<Json> Store::toObject(const KubeType& kt, const Resource& resource,
                                     const ObjectName& name) const {
  Json object = Json::object();
  object["apiVersion"] = kt.apiVersion();
  object["kind"] = kt.kind();
  Json meta = Json::object();
  meta["name"] = name.name;
  if (kt.namespaced) {
    meta["namespace"] = name.ns;
  }
  Json labels = Json::object();
  Json annotations = Json::object();
  for (const auto& [key, value] : resource.meta.labels) {
    if (key == kDisplayName) {
      annotations[key] = value;
    } else {
      labels[key] = value;
    }
  }
  if (kt.meshInLabel && !resource.meta.mesh.empty()) {
    labels[std::string(kMeshLabel)] = resource.meta.mesh;
  }
  if (!labels.empty()) {
    meta["labels"] = std::move(labels);
  }
  if (!annotations.empty()) {
    meta["annotations"] = std::move(annotations);
  }
  object["metadata"] = std::move(meta);
  Json spec;
  try {
    spec = Json::parse(resource.spec->toJson().dump());
  } catch (const std::exception& e) {
    return store::invalid(absl::StrCat("cannot encode the spec: ", e.what()));
  }
  switch (kt.storage) {
    case Storage::Secret:
      object["type"] = kt.secretType;
      object["data"] =
          Json{{"value", spec.is_object() ? common::jsonString(spec, "data") : std::string()}};
      break;
    case Storage::ConfigMap:
      object["data"] =
          Json{{"config", spec.is_object() ? common::jsonString(spec, "config") : std::string()}};
      break;
    case Storage::Custom:
      if (kt.type->scope == model::Scope::Mesh && !kt.meshInLabel) {
        object["mesh"] = resource.meta.mesh;
      }
      if (kt.type->format == model::SpecFormat::SpecStatus) {
        if (spec.contains("spec")) {
          object["spec"] = spec["spec"];
        }
        if (spec.contains("status") && !spec["status"].is_null()) {
          object["status"] = spec["status"];
        }
      } else {
        object[crdMessageInStatus(*kt.type) ? "status" : "spec"] = std::move(spec);
      }
      break;
  }
  return object;
}

absl::StatusOr<ResourceConstSharedPtr> Store::toResource(const KubeType& kt,
                                                         const Json& object) const {
  const Json& meta = common::jsonMember(object, "metadata");
  auto resource = std::make_shared<Resource>();
  resource->descriptor = kt.type;
  resource->meta.name = coreName(kt, object);
  resource->meta.mesh = meshOf(kt, object);
  resource->meta.version = common::jsonString(meta, "resourceVersion");
  absl::Time created = absl::UnixEpoch();
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, common::jsonString(meta, "creationTimestamp"), &created,
                       &error)) {
    created = absl::UnixEpoch();
  }
  resource->meta.creationTime = created;
  resource->meta.modificationTime = created;
  for (const char* section : {"labels", "annotations"}) {
    const Json& values = common::jsonMember(meta, section);
    if (!values.is_object()) {
      continue;
    }
    for (const auto& [key, value] : values.items()) {
      if (value.is_string() && (section[0] == 'l' || key == kDisplayName ||
                                key == kServiceAccountLabel || key == kWorkloadLabel)) {
        resource->meta.labels[key] = value.get<std::string>();
      }
    }
  }
  if (kt.storage == Storage::Custom) {
    // Kuma's KubernetesMetaAdapter: the display name is the object's name unless annotated.
    resource->meta.labels.try_emplace(std::string(kDisplayName), common::jsonString(meta, "name"));
  }
  Json specJson;
  switch (kt.storage) {
    case Storage::Secret:
      specJson = Json{{"data", common::jsonString(common::jsonMember(object, "data"), "value")}};
      break;
    case Storage::ConfigMap:
      specJson = Json{{"config", common::jsonString(common::jsonMember(object, "data"), "config")}};
      break;
    case Storage::Custom:
      if (kt.type->format == model::SpecFormat::SpecStatus) {
        specJson = Json::object();
        specJson["spec"] = object.contains("spec") ? object["spec"] : Json::object();
        if (object.contains("status") && object["status"].is_object() &&
            !object["status"].empty()) {
          specJson["status"] = object["status"];
        }
      } else {
        const char* field = crdMessageInStatus(*kt.type) ? "status" : "spec";
        specJson =
            object.contains(field) && !object[field].is_null() ? object[field] : Json::object();
      }
      break;
  }
  if (!kt.type->parseSpec) {
    return absl::InternalError(absl::StrCat("type ", kt.type->name, " has no spec parser"));
  }
  absl::StatusOr<model::SpecConstSharedPtr> spec = kt.type->parseSpec(specJson);
  if (!spec.ok()) {
    const std::string message = absl::StrCat("stored ", kt.type->name, " ", resource->meta.name,
                                             " does not parse: ", spec.status().message());
    if (auto violations = validators::ValidationError::fromStatus(spec.status())) {
      return violations->toStatus(message);  // the paths, for the validating webhook
    }
    return absl::InternalError(message);
  }
  resource->spec = *spec;
  return resource;
}

absl::StatusOr<Json> Store::getObject(const KubeType& kt, const ResourceKey& key) {
  const ObjectName name = objectName(kt, key.name);
  KUMA_ASSIGN_OR_RETURN(KubeResponse answer, options_.client->request("GET", objectPath(kt, name)));
  if (answer.status == 404) {
    return store::notFound(kt.type->name, key);
  }
  if (answer.status != 200) {
    return kubeApiError(absl::StrCat("get ", kt.type->name, " ", key.name), answer);
  }
  absl::StatusOr<Json> object = common::parseJson(answer.body);
  if (!object.ok()) {
    return absl::InternalError(absl::StrCat("kubernetes API answer: ", object.status().message()));
  }
  if (kt.storage == Storage::Secret && common::jsonString(*object, "type") != kt.secretType) {
    return store::notFound(kt.type->name, key);
  }
  if (meshOf(kt, *object) != key.mesh) {
    return store::notFound(kt.type->name, key);  // as Kuma: the name exists in another mesh
  }
  return object;
}

absl::StatusOr<ResourceConstSharedPtr> Store::create(Resource resource,
                                                     const store::CreateOptions& options) {
  KUMA_RETURN_IF_ERROR(store::validateForWrite(resource));
  KUMA_ASSIGN_OR_RETURN(const KubeType* kt, kubeType(resource.descriptor));
  const ResourceKey key = store::keyOf(resource);
  KUMA_ASSIGN_OR_RETURN(Json object, toObject(*kt, resource, objectName(*kt, key.name)));
  const KubeType* ownerType = nullptr;
  std::string ownerUid;
  if (options.owner) {
    if (options.owner->type == nullptr) {
      return store::invalid("owner has no type descriptor");
    }
    KUMA_RETURN_IF_ERROR(store::validateKey(*options.owner->type, options.owner->key));
    KUMA_ASSIGN_OR_RETURN(ownerType, kubeType(options.owner->type));
    absl::StatusOr<Json> owner = getObject(*ownerType, options.owner->key);
    if (store::isNotFound(owner.status())) {
      return absl::NotFoundError(
          absl::StrCat("Owner of the resource not found: ",
                       store::describeKey(options.owner->type->name, options.owner->key)));
    }
    if (!owner.ok()) {
      return owner.status();
    }
    const Json& ownerMeta = common::jsonMember(*owner, "metadata");
    ownerUid = common::jsonString(ownerMeta, "uid");
    object["metadata"]["ownerReferences"] =
        Json::array({Json{{"apiVersion", ownerType->apiVersion()},
                          {"kind", ownerType->kind()},
                          {"name", common::jsonString(ownerMeta, "name")},
                          {"uid", ownerUid}}});
  }
  const ObjectName name = objectName(*kt, key.name);
  KUMA_ASSIGN_OR_RETURN(KubeResponse answer,
                        options_.client->request(
                            "POST", kt->collection(kt->namespaced ? name.ns : ""), object.dump()));
  if (answer.status == 409) {
    return store::alreadyExists(kt->type->name, key);
  }
  if (answer.status == 404) {
    return absl::NotFoundError(absl::StrCat("cannot create ", kt->type->name, " ", key.name, ": ",
                                            kubeApiMessage(answer)));
  }
  if (answer.status != 201 && answer.status != 200) {
    return kubeApiError(absl::StrCat("create ", kt->type->name, " ", key.name), answer);
  }
  absl::StatusOr<Json> created = common::parseJson(answer.body);
  if (!created.ok()) {
    return absl::InternalError(absl::StrCat("kubernetes API answer: ", created.status().message()));
  }
  if (ownerType != nullptr) {
    // The owner may have been removed (with its dependents) while we created this one: then
    // this one must not outlive it.
    absl::StatusOr<Json> owner = getObject(*ownerType, options.owner->key);
    if (!owner.ok() ||
        common::jsonString(common::jsonMember(*owner, "metadata"), "uid") != ownerUid) {
      options_.client->request("DELETE", objectPath(*kt, name)).IgnoreError();
      return absl::NotFoundError(
          absl::StrCat("Owner of the resource not found: ",
                       store::describeKey(options.owner->type->name, options.owner->key)));
    }
  }
  return toResource(*kt, *created);
}

absl::StatusOr<ResourceConstSharedPtr> Store::update(Resource resource) {
  KUMA_RETURN_IF_ERROR(store::validateForWrite(resource));
  KUMA_ASSIGN_OR_RETURN(const KubeType* kt, kubeType(resource.descriptor));
  const ResourceKey key = store::keyOf(resource);
  KUMA_ASSIGN_OR_RETURN(Json current, getObject(*kt, key));
  const std::string& given = resource.meta.version;
  if (!isDigits(given) ||
      given != common::jsonString(common::jsonMember(current, "metadata"), "resourceVersion")) {
    return store::conflict(kt->type->name, key);
  }
  const ObjectName name = objectName(*kt, key.name);
  KUMA_ASSIGN_OR_RETURN(Json next, toObject(*kt, resource, name));
  // Keep what Kubernetes and others own (uid, ownerReferences, finalizers, other annotations).
  Json meta = current["metadata"];
  meta["resourceVersion"] = given;
  meta["labels"] =
      next["metadata"].contains("labels") ? next["metadata"]["labels"] : Json::object();
  Json annotations = meta.contains("annotations") && meta["annotations"].is_object()
                         ? meta["annotations"]
                         : Json::object();
  annotations.erase(std::string(kDisplayName));
  if (next["metadata"].contains("annotations")) {
    for (const auto& [k, v] : next["metadata"]["annotations"].items()) {
      annotations[k] = v;
    }
  }
  meta["annotations"] = std::move(annotations);
  meta.erase("managedFields");
  next["metadata"] = std::move(meta);
  KUMA_ASSIGN_OR_RETURN(KubeResponse answer,
                        options_.client->request("PUT", objectPath(*kt, name), next.dump()));
  if (answer.status == 409) {
    return store::conflict(kt->type->name, key);
  }
  if (answer.status == 404) {
    return store::notFound(kt->type->name, key);
  }
  if (answer.status != 200) {
    return kubeApiError(absl::StrCat("update ", kt->type->name, " ", key.name), answer);
  }
  absl::StatusOr<Json> updated = common::parseJson(answer.body);
  if (!updated.ok()) {
    return absl::InternalError(absl::StrCat("kubernetes API answer: ", updated.status().message()));
  }
  return toResource(*kt, *updated);
}

absl::Status Store::remove(const ResourceTypeDescriptor& type, const ResourceKey& key) {
  KUMA_RETURN_IF_ERROR(store::validateKey(type, key));
  KUMA_ASSIGN_OR_RETURN(const KubeType* kt, kubeType(&type));
  KUMA_ASSIGN_OR_RETURN(Json current, getObject(*kt, key));
  const std::string uid = common::jsonString(common::jsonMember(current, "metadata"), "uid");
  Json options = {
      {"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"preconditions", {{"uid", uid}}}};
  KUMA_ASSIGN_OR_RETURN(KubeResponse answer,
                        options_.client->request(
                            "DELETE", objectPath(*kt, objectName(*kt, key.name)), options.dump()));
  if (answer.status == 404 || answer.status == 409) {
    return store::notFound(type.name, key);  // removed (or replaced) meanwhile
  }
  if (answer.status != 200 && answer.status != 202) {
    return kubeApiError(absl::StrCat("delete ", type.name, " ", key.name), answer);
  }
  return removeOwned({uid});
}

absl::Status Store::removeOwned(std::set<std::string> ownerUids) {
  // Level by level: every object of every type whose ownerReferences name a removed uid.
  // Bounded by the number of objects: each level removes what it finds.
  for (int level = 0; !ownerUids.empty() && level < 64; level++) {
    std::set<std::string> next;
    for (const auto& [typeName, kt] : types_) {
      std::string path = kt.collection("");
      if (!kt.listQuery().empty()) {
        absl::StrAppend(&path, "?", kt.listQuery());
      }
      KUMA_ASSIGN_OR_RETURN(KubeResponse answer, options_.client->request("GET", path));
      if (answer.status == 404) {
        continue;  // CRD not installed
      }
      if (answer.status != 200) {
        return kubeApiError(absl::StrCat("list ", typeName), answer);
      }
      absl::StatusOr<Json> list = common::parseJson(answer.body);
      if (!list.ok() || !common::jsonMember(*list, "items").is_array()) {
        return absl::InternalError("kubernetes API answer: not a list");
      }
      for (const Json& item : (*list)["items"]) {
        const Json& meta = common::jsonMember(item, "metadata");
        const Json& refs = common::jsonMember(meta, "ownerReferences");
        if (!refs.is_array()) {
          continue;
        }
        bool owned = false;
        for (const Json& ref : refs) {
          owned = owned || ownerUids.contains(common::jsonString(ref, "uid"));
        }
        if (!owned) {
          continue;
        }
        ObjectName name{common::jsonString(meta, "name"), common::jsonString(meta, "namespace")};
        KUMA_ASSIGN_OR_RETURN(KubeResponse deleted,
                              options_.client->request("DELETE", objectPath(kt, name)));
        if (deleted.status != 200 && deleted.status != 202 && deleted.status != 404) {
          return kubeApiError(absl::StrCat("delete owned ", typeName, " ", name.name), deleted);
        }
        next.insert(common::jsonString(meta, "uid"));
      }
    }
    ownerUids = std::move(next);
  }
  return absl::OkStatus();
}

absl::StatusOr<ResourceConstSharedPtr> Store::get(const ResourceTypeDescriptor& type,
                                                  const ResourceKey& key) {
  KUMA_RETURN_IF_ERROR(store::validateKey(type, key));
  KUMA_ASSIGN_OR_RETURN(const KubeType* kt, kubeType(&type));
  KUMA_ASSIGN_OR_RETURN(Json object, getObject(*kt, key));
  return toResource(*kt, object);
}

absl::StatusOr<store::ResourceList> Store::list(const ResourceTypeDescriptor& type,
                                                const store::ListOptions& options) {
  KUMA_ASSIGN_OR_RETURN(const KubeType* kt, kubeType(&type));
  std::string path = kt->collection(kt->storage == Storage::Custom ? "" : options_.systemNamespace);
  if (!kt->listQuery().empty()) {
    absl::StrAppend(&path, "?", kt->listQuery());
  }
  KUMA_ASSIGN_OR_RETURN(KubeResponse answer, options_.client->request("GET", path));
  std::vector<ResourceConstSharedPtr> candidates;
  if (answer.status == 404) {
    return store::applyListOptions(std::move(candidates), options);
  }
  if (answer.status != 200) {
    return kubeApiError(absl::StrCat("list ", type.name), answer);
  }
  absl::StatusOr<Json> list = common::parseJson(answer.body);
  if (!list.ok() || !common::jsonMember(*list, "items").is_array()) {
    return absl::InternalError("kubernetes API answer: not a list");
  }
  for (const Json& item : (*list)["items"]) {
    if (kt->storage == Storage::ConfigMap &&
        !common::jsonMember(common::jsonMember(item, "data"), "config").is_string()) {
      continue;
    }
    const std::string mesh = meshOf(*kt, item);
    if (!options.mesh.empty() && mesh != options.mesh) {
      continue;
    }
    absl::StatusOr<ResourceConstSharedPtr> resource = toResource(*kt, item);
    if (!resource.ok()) {
      return resource.status();
    }
    candidates.push_back(std::move(*resource));
  }
  return store::applyListOptions(std::move(candidates), options);
}

store::SubscriptionPtr Store::subscribe(std::function<void(const ChangeEvent&)> handler) {
  return subscribers_.subscribe(std::move(handler));
}

void Store::emit(const ChangeEvent& event) {
  subscribers_.publish(event);
}

bool Store::sleepUnlessStopped(absl::Duration d) {
  absl::MutexLock lock(&stateMu_);
  auto stopped = [this]() ABSL_SHARED_LOCKS_REQUIRED(stateMu_) { return stopping_; };
  stateMu_.AwaitWithTimeout(absl::Condition(&stopped), d);
  return !stopping_;
}

void Store::runInformer(const KubeType* kt) {
  // The informer's view (core key -> resourceVersion), diffed on every relist so that a relist
  // reports only what changed, including what a broken watch missed.
  class Informer : public ListWatchHandler {
   public:
    Informer(Store& store, const KubeType& kt) : store_(store), kt_(kt) {}
    void onList(const Json& items) override {
      std::map<ResourceKey, std::string> fresh;
      for (const Json& item : items) {
        if (relevant(item)) {
          fresh[keyOf(item)] =
              common::jsonString(common::jsonMember(item, "metadata"), "resourceVersion");
        }
      }
      for (const auto& [key, version] : fresh) {
        auto it = known_.find(key);
        if (it == known_.end()) {
          store_.emit(ChangeEvent{EventType::Create, kt_.type, key});
        } else if (it->second != version) {
          store_.emit(ChangeEvent{EventType::Update, kt_.type, key});
        }
      }
      for (const auto& [key, version] : known_) {
        if (!fresh.contains(key)) {
          store_.emit(ChangeEvent{EventType::Delete, kt_.type, key});
        }
      }
      known_ = std::move(fresh);
      store_.setCount(kt_.type->name, known_.size());
      absl::MutexLock lock(&store_.stateMu_);
      store_.synced_.insert(kt_.type->name);
    }
    void onEvent(std::string_view type, const Json& object) override {
      if (!relevant(object)) {
        return;
      }
      const ResourceKey key = keyOf(object);
      if (type == "DELETED") {
        if (known_.erase(key) > 0) {
          store_.setCount(kt_.type->name, known_.size());
          store_.emit(ChangeEvent{EventType::Delete, kt_.type, key});
        }
        return;
      }
      const std::string version =
          common::jsonString(common::jsonMember(object, "metadata"), "resourceVersion");
      auto it = known_.find(key);
      if (it != known_.end() && it->second == version) {
        return;  // seen already (a watch resumed from an older version replays it): no change
      }
      const bool created = it == known_.end();
      known_[key] = version;
      if (created) {
        store_.setCount(kt_.type->name, known_.size());
      }
      store_.emit(ChangeEvent{created ? EventType::Create : EventType::Update, kt_.type, key});
    }

   private:
    ResourceKey keyOf(const Json& object) const {
      return ResourceKey{store_.coreName(kt_, object), store_.meshOf(kt_, object)};
    }
    bool relevant(const Json& object) const {
      return kt_.storage != Storage::ConfigMap ||
             common::jsonMember(common::jsonMember(object, "data"), "config").is_string();
    }
    Store& store_;
    const KubeType& kt_;
    std::map<ResourceKey, std::string> known_;
  };
  Informer informer(*this, *kt);
  ListWatchOptions options;
  options.path = kt->collection(kt->storage == Storage::Custom ? "" : options_.systemNamespace);
  options.query = kt->listQuery();
  options.resyncPeriod = options_.resyncPeriod;
  options.watchTimeout = options_.watchTimeout;
  runListWatch(
      *options_.client, options, informer,
      [this](absl::Duration d) { return sleepUnlessStopped(d); }, stats_);
}

}  // namespace

absl::StatusOr<std::unique_ptr<KubernetesStore>> newKubernetesStore(
    KubernetesStoreOptions options) {
  auto store = std::make_unique<Store>(std::move(options));
  if (absl::Status status = store->init(); !status.ok()) {
    return status;
  }
  return std::unique_ptr<KubernetesStore>(std::move(store));
}

}  // namespace kuma::k8s
