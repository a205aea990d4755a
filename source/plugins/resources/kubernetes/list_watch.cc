#include "source/plugins/resources/kubernetes/list_watch.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "source/common/json_yaml.h"

namespace kuma::k8s {
namespace {

using Json = nlohmann::json;

std::string resourceVersionOf(const Json& object) {
  const Json& version =
      common::jsonMember(common::jsonMember(object, "metadata"), "resourceVersion");
  return version.is_string() ? version.get<std::string>() : std::string();
}

}  // namespace

void runListWatch(KubeClient& client, const ListWatchOptions& options, ListWatchHandler& handler,
                  const std::function<bool(absl::Duration)>& sleepUnlessStopped,
                  ListWatchStats& stats) {
  const absl::Duration kFirstBackoff = absl::Milliseconds(100);
  absl::Duration backoff = kFirstBackoff;
  auto pause = [&] {
    const bool go = sleepUnlessStopped(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
    return go;
  };
  while (sleepUnlessStopped(absl::ZeroDuration())) {
    // List.
    stats.relists++;
    absl::StatusOr<KubeResponse> answer = client.request(
        "GET",
        options.query.empty() ? options.path : absl::StrCat(options.path, "?", options.query));
    if (!answer.ok() && absl::IsCancelled(answer.status())) {
      return;
    }
    absl::StatusOr<Json> list = answer.ok() && answer->status == 200
                                    ? common::parseJson(answer->body)
                                    : absl::StatusOr<Json>(absl::UnavailableError("list failed"));
    if (!list.ok() || !common::jsonMember(*list, "items").is_array()) {
      if (!pause()) {
        return;
      }
      continue;
    }
    backoff = kFirstBackoff;
    handler.onList((*list)["items"]);
    std::string resourceVersion = resourceVersionOf(*list);

    // Watch from there until the resync is due, resuming after each stream's end.
    const absl::Time resyncAt = absl::Now() + options.resyncPeriod;
    bool relist = false;
    while (!relist && absl::Now() < resyncAt) {
      const int64_t timeout = std::max<int64_t>(
          1, absl::ToInt64Seconds(std::min(options.watchTimeout, resyncAt - absl::Now())));
      std::string path = absl::StrCat(
          options.path, "?watch=1&allowWatchBookmarks=true&resourceVersion=", resourceVersion,
          "&timeoutSeconds=", timeout);
      if (!options.query.empty()) {
        absl::StrAppend(&path, "&", options.query);
      }
      stats.watchesStarted++;
      absl::Status status = client.watch(path, [&](std::string_view line) {
        Json event = Json::parse(line, nullptr, false);
        if (!event.is_object()) {
          relist = true;
          return false;
        }
        const Json& typeJson = common::jsonMember(event, "type");
        const std::string type = typeJson.is_string() ? typeJson.get<std::string>() : "";
        const Json& object = common::jsonMember(event, "object");
        if (type == "ERROR") {
          if (common::jsonMember(object, "code").is_number() && object["code"].get<int>() == 410) {
            stats.goneRelists++;
          }
          relist = true;
          return false;
        }
        if (std::string rv = resourceVersionOf(object); !rv.empty()) {
          resourceVersion = std::move(rv);
        }
        if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
          handler.onEvent(type, object);
        }
        return true;
      });
      if (absl::IsCancelled(status)) {
        return;
      }
      if (absl::IsOutOfRange(status)) {  // 410 Gone as the watch's HTTP status
        stats.goneRelists++;
        relist = true;
        continue;
      }
      if (!status.ok()) {
        // The server or the connection failed: resume from the last version after a pause.
        if (!pause()) {
          return;
        }
      } else {
        backoff = kFirstBackoff;
      }
      if (!sleepUnlessStopped(absl::ZeroDuration())) {
        return;
      }
    }
  }
}

}  // namespace kuma::k8s
