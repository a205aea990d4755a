#pragma once

// File: annotations.h
// Kuma's metadata.Annotations getters (pkg/plugins/runtime/k8s/metadata/annotations.go) over a
// Pod's or Namespace's labels or annotations, with Kuma's error texts. Shared by the pod
// converter and the sidecar injector.
//
//   Annotations a(stringMap(pod["metadata"]["annotations"]));
//   KUMA_ASSIGN_OR_RETURN(auto gateway, a.enabled("kuma.io/gateway"));   // (value, exists)

#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace kuma::k8s::runtime {

/** Kuma's metadata.Annotations getters: the value's errors carry Kuma's wording. */
class Annotations {
 public:
  explicit Annotations(std::map<std::string, std::string> values) : values_(std::move(values)) {}

  const std::string* find(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
  }

  /** (value, exists); yes/true/enabled, no/false/disabled. */
  absl::StatusOr<std::pair<bool, bool>> enabled(const std::string& key) const {
    const std::string* value = find(key);
    if (value == nullptr) {
      return std::make_pair(false, false);
    }
    if (*value == "true" || *value == "yes" || *value == "enabled") {
      return std::make_pair(true, true);
    }
    if (*value == "false" || *value == "no" || *value == "disabled") {
      return std::make_pair(false, true);
    }
    return absl::InvalidArgumentError(
        absl::StrCat("annotation \"", key, "\" has wrong value \"", *value, "\""));
  }

  absl::StatusOr<std::optional<uint32_t>> uint32(const std::string& key) const {
    const std::string* value = find(key);
    if (value == nullptr) {
      return std::optional<uint32_t>();
    }
    uint32_t out = 0;
    const char* end = value->data() + value->size();
    auto [ptr, ec] = std::from_chars(value->data(), end, out);
    if (value->empty() || ec != std::errc() || ptr != end) {
      // Go's strconv.ParseUint error text.
      const char* reason =
          ec == std::errc::result_out_of_range ? "value out of range" : "invalid syntax";
      return absl::InvalidArgumentError(absl::StrCat("failed to parse annotation \"", key,
                                                     "\": strconv.ParseUint: parsing \"", *value,
                                                     "\": ", reason));
    }
    return std::optional<uint32_t>(out);
  }

  /** Comma-separated, empty items dropped; nullopt when absent. */
  std::optional<std::vector<std::string>> list(const std::string& key) const {
    const std::string* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (absl::string_view item : absl::StrSplit(*value, ',')) {
      if (!item.empty()) {
        out.emplace_back(item);
      }
    }
    return out;
  }

  const std::map<std::string, std::string>& all() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace kuma::k8s::runtime
