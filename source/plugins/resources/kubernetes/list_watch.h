#pragma once

// File: list_watch.h
// client-go's reflector loop for one collection of the Kubernetes API, shared by the resource
// store's informers and the runtime controllers' object caches: list, then watch from the list's
// resourceVersion with bookmarks; each watch ends after `watchTimeout` (server-side
// timeoutSeconds) and resumes from the last version seen; 410 Gone (as an ERROR event or as the
// watch's HTTP status) or a malformed event relists; every `resyncPeriod` it relists. Failures
// back off exponentially from 100 ms to 5 s. The caller keeps its own view: `onList` gets every
// complete list, `onEvent` every ADDED/MODIFIED/DELETED event (bookmarks only move the version).
//
//   ListWatch loop(client, {"/api/v1/pods", "", absl::Minutes(5), absl::Minutes(5)});
//   loop.run(handler, [&](absl::Duration d) { return sleepUnlessStopped(d); });

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "source/plugins/resources/kubernetes/kube_client.h"

namespace kuma::k8s {

struct ListWatchOptions {
  /** The collection, e.g. /api/v1/pods or /apis/kuma.io/v1alpha1/namespaces/kuma-system/x. */
  std::string path;
  /** Extra query of the list and of each watch (e.g. fieldSelector=type=...), without `?`. */
  std::string query;
  absl::Duration resyncPeriod = absl::Minutes(5);
  absl::Duration watchTimeout = absl::Minutes(5);
};

struct ListWatchStats {
  std::atomic<uint64_t> relists{0};
  std::atomic<uint64_t> watchesStarted{0};
  std::atomic<uint64_t> goneRelists{0};
};

class ListWatchHandler {
 public:
  virtual ~ListWatchHandler() = default;
  /** A complete list (`items` of the answer), after the first and after every relist. */
  virtual void onList(const nlohmann::json& items) = 0;
  /** One watch event: `type` is ADDED, MODIFIED or DELETED. */
  virtual void onEvent(std::string_view type, const nlohmann::json& object) = 0;
};

/**
 * Runs the loop until the client's watches are cancelled or `sleepUnlessStopped` (called for
 * every back-off and between watch streams with a zero duration) returns false.
 */
void runListWatch(KubeClient& client, const ListWatchOptions& options, ListWatchHandler& handler,
                  const std::function<bool(absl::Duration)>& sleepUnlessStopped,
                  ListWatchStats& stats);

}  // namespace kuma::k8s
