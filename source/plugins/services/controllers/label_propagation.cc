#include "source/plugins/services/controllers/label_propagation.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "source/common/logging.h"
#include "source/core/manager/meta_validation.h"

namespace kuma::services {
namespace {

constexpr char kTrackingPrefix[] = "kuma.io/pkey-";

}  // namespace

bool isReservedLabelKey(const std::string& key) {
  return absl::StartsWith(key, "kuma.io/") || absl::StartsWith(key, "k8s.kuma.io/");
}

std::string propagationTrackingKey(const std::string& key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  return std::string(kTrackingPrefix) +
         absl::BytesToHexString(std::string(reinterpret_cast<const char*>(digest), 8));
}

void addPropagationTracking(Labels& labels, const Labels& propagated) {
  for (auto it = labels.begin(); it != labels.end();) {
    it = absl::StartsWith(it->first, kTrackingPrefix) ? labels.erase(it) : std::next(it);
  }
  for (const auto& [key, value] : propagated) {
    labels[propagationTrackingKey(key)] = "";
  }
}

std::function<bool(const std::string&)> previouslyPropagated(const Labels& labels) {
  std::set<std::string> hashed;
  std::set<std::string> named;  // the older form: kuma.io/pkey-N: <key>
  for (const auto& [key, value] : labels) {
    if (!absl::StartsWith(key, kTrackingPrefix)) {
      continue;
    }
    if (value.empty()) {
      hashed.insert(key);
    } else {
      named.insert(value);
    }
  }
  return [hashed = std::move(hashed), named = std::move(named)](const std::string& key) {
    return hashed.count(propagationTrackingKey(key)) != 0 || named.count(key) != 0;
  };
}

LabelPropagation::LabelPropagation(bool enabled, const std::vector<std::string>& allowedLabelKeys,
                                   DroppedLabels* dropped)
    : enabled_(enabled), dropped_(dropped) {
  if (!allowedLabelKeys.empty()) {
    allow_.emplace(allowedLabelKeys.begin(), allowedLabelKeys.end());
  }
}

bool LabelPropagation::allowed(const std::string& key) const {
  return !allow_.has_value() || allow_->count(key) != 0;
}

bool LabelPropagation::valid(const std::string& key, const std::string& value) const {
  return manager::qualifiedNameErrors(key).empty() && manager::labelValueErrors(value).empty();
}

Labels LabelPropagation::contribution(
    const model::Resource& dataplane,
    const std::vector<const mesh::v1alpha1::Dataplane::Networking::Inbound*>& inbounds,
    const std::string& service) const {
  Labels out;
  auto log = logging::logger("meshservice-generator");
  const auto drop = [&](std::atomic<uint64_t> DroppedLabels::*counter, const char* reason,
                        const std::string& key) {
    if (dropped_ != nullptr) {
      (dropped_->*counter).fetch_add(1, std::memory_order_relaxed);
    }
    log->info(
        "dropping label during MeshService generation (reason {}, service {}, dataplane {}, "
        "mesh {}, key {})",
        reason, service, dataplane.meta.name, dataplane.meta.mesh, key);
  };
  // The inbounds' non-reserved tags, kept when every inbound that has the key agrees.
  std::map<std::string, std::pair<std::string, bool>> consensus;  // key -> (value, conflict)
  for (const auto* inbound : inbounds) {
    for (const auto& [key, value] : inbound->tags()) {
      if (isReservedLabelKey(key)) {
        continue;
      }
      auto [it, inserted] = consensus.try_emplace(key, value, false);
      if (!inserted && it->second.first != value) {
        it->second.second = true;
      }
    }
  }
  for (const auto& [key, entry] : consensus) {
    if (entry.second) {
      drop(&DroppedLabels::inboundConflict, "inbound_conflict", key);
    } else if (!allowed(key)) {
      continue;
    } else if (!valid(key, entry.first)) {
      drop(&DroppedLabels::invalid, "invalid", key);
    } else {
      out[key] = entry.first;
    }
  }
  // The Dataplane's own labels, on top.
  for (const auto& [key, value] : dataplane.meta.labels) {
    if (isReservedLabelKey(key) || !allowed(key)) {
      continue;
    }
    if (!valid(key, value)) {
      drop(&DroppedLabels::invalid, "invalid", key);
      continue;
    }
    out[key] = value;
  }
  return out;
}

Labels mergeContributions(const std::vector<std::pair<const model::Resource*, Labels>>& items) {
  struct Stats {
    int count = 0;
    absl::Time newest = absl::InfinitePast();
  };
  std::map<std::string, std::map<std::string, Stats>> perKey;
  for (const auto& [dataplane, labels] : items) {
    if (dataplane == nullptr) {
      continue;
    }
    for (const auto& [key, value] : labels) {
      Stats& s = perKey[key][value];
      s.count++;
      s.newest = std::max(s.newest, dataplane->meta.creationTime);
    }
  }
  Labels out;
  for (const auto& [key, byValue] : perKey) {
    const std::string* best = nullptr;
    const Stats* bestStats = nullptr;
    for (const auto& [value, stats] : byValue) {  // values ascending: the smaller wins a tie
      if (bestStats == nullptr || stats.count > bestStats->count ||
          (stats.count == bestStats->count && stats.newest > bestStats->newest)) {
        best = &value;
        bestStats = &stats;
      }
    }
    out[key] = *best;
  }
  return out;
}

}  // namespace kuma::services
