#pragma once

// File: object_cache.h
// An informer's cache of one Kubernetes collection (Pods, Services, Namespaces ...), fed by
// runListWatch (list+watch, resync, 410 → relist): objects by namespace/name, each an immutable
// shared JSON, and a change callback with the object before and after (nullptr for none). A
// relist reports only what changed (by resourceVersion), including deletions a broken watch missed.
// The callback runs on the informer thread and must not block.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "source/plugins/resources/kubernetes/list_watch.h"

namespace kuma::k8s::runtime {

using JsonConstSharedPtr = std::shared_ptr<const nlohmann::json>;

class ObjectCache : public ListWatchHandler {
 public:
  using OnChange =
      std::function<void(const JsonConstSharedPtr& before, const JsonConstSharedPtr& after)>;
  explicit ObjectCache(OnChange onChange) : onChange_(std::move(onChange)) {}

  /** nullptr when absent. `ns` is empty for cluster-scoped objects. */
  JsonConstSharedPtr get(const std::string& ns, const std::string& name) const;
  /** Every object of the namespace (all objects when `ns` is empty). */
  std::vector<JsonConstSharedPtr> list(const std::string& ns) const;
  /** Listed at least once. */
  bool synced() const;

  void onList(const nlohmann::json& items) override;
  void onEvent(std::string_view type, const nlohmann::json& object) override;

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name
  static Key keyOf(const nlohmann::json& object);

  const OnChange onChange_;
  mutable absl::Mutex mu_;
  std::map<Key, JsonConstSharedPtr> objects_ ABSL_GUARDED_BY(mu_);
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kuma::k8s::runtime
