#include "source/plugins/runtime/kubernetes/object_cache.h"

#include "source/common/json_yaml.h"

namespace kuma::k8s::runtime {
namespace {

using Json = nlohmann::json;

std::string metaString(const Json& object, std::string_view key) {
  return common::jsonString(common::jsonMember(object, "metadata"), key);
}

}  // namespace

ObjectCache::Key ObjectCache::keyOf(const Json& object) {
  return {metaString(object, "namespace"), metaString(object, "name")};
}

JsonConstSharedPtr ObjectCache::get(const std::string& ns, const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(Key{ns, name});
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<JsonConstSharedPtr> ObjectCache::list(const std::string& ns) const {
  absl::MutexLock lock(&mu_);
  std::vector<JsonConstSharedPtr> out;
  auto it = ns.empty() ? objects_.begin() : objects_.lower_bound(Key{ns, ""});
  for (; it != objects_.end() && (ns.empty() || it->first.first == ns); ++it) {
    out.push_back(it->second);
  }
  return out;
}

bool ObjectCache::synced() const {
  absl::MutexLock lock(&mu_);
  return synced_;
}

void ObjectCache::onList(const Json& items) {
  std::map<Key, JsonConstSharedPtr> fresh;
  for (const Json& item : items) {
    fresh[keyOf(item)] = std::make_shared<const Json>(item);
  }
  std::vector<std::pair<JsonConstSharedPtr, JsonConstSharedPtr>> changes;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, object] : fresh) {
      auto it = objects_.find(key);
      if (it == objects_.end()) {
        changes.emplace_back(nullptr, object);
      } else if (metaString(*it->second, "resourceVersion") !=
                 metaString(*object, "resourceVersion")) {
        changes.emplace_back(it->second, object);
      }
    }
    for (const auto& [key, object] : objects_) {
      if (!fresh.contains(key)) {
        changes.emplace_back(object, nullptr);
      }
    }
    objects_ = std::move(fresh);
    synced_ = true;
  }
  for (const auto& [before, after] : changes) {
    onChange_(before, after);
  }
}

void ObjectCache::onEvent(std::string_view type, const Json& object) {
  const Key key = keyOf(object);
  JsonConstSharedPtr before;
  JsonConstSharedPtr after;
  {
    absl::MutexLock lock(&mu_);
    auto it = objects_.find(key);
    if (it != objects_.end()) {
      before = it->second;
    }
    if (type == "DELETED") {
      if (it == objects_.end()) {
        return;
      }
      objects_.erase(it);
    } else {
      after = std::make_shared<const Json>(object);
      objects_[key] = after;
    }
  }
  onChange_(before, after);
}

}  // namespace kuma::k8s::runtime
