#pragma once

// File: label_propagation.h
// Kuma 2.14's label propagation for generated MeshServices (meshService.labelPropagation;
// pkg/core/resources/apis/meshservice/generate/labels.go). When enabled, each Dataplane behind a
// generated MeshService contributes its non-reserved labels: the inbound tags its inbounds of
// that service agree on, overlaid with the Dataplane's own labels, each key and value valid as a
// Kubernetes label and, when allowedLabelKeys is set, listed there. The Dataplanes'
// contributions merge by majority, then newest creation time, then the smaller value. Which
// keys were propagated is recorded on the MeshService as `kuma.io/pkey-<16 hex of sha256(key)>`
// labels, so that the next pass can drop keys no Dataplane provides any more while keeping the
// labels users set themselves.
//
//   LabelPropagation p(config.enabled, config.allowedLabelKeys, &droppedCounters);
//   auto mine = p.contribution(*dataplane, inboundsOfTheService, "backend");
//   auto merged = mergeContributions({{dataplane.get(), mine}, ...});

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "kuma/model/resource.h"

namespace kuma::services {

using Labels = std::map<std::string, std::string>;

/** Kuma's IsReservedLabelKey: `kuma.io/` and `k8s.kuma.io/` keys. */
bool isReservedLabelKey(const std::string& key);

/** Kuma's tracking label of a propagated key: `kuma.io/pkey-<first 8 bytes of sha256, hex>`. */
std::string propagationTrackingKey(const std::string& key);

/** Replaces the tracking labels in `labels` with one per key of `propagated`. */
void addPropagationTracking(Labels& labels, const Labels& propagated);

/** Whether `key` was propagated by the previous pass, as the tracking labels of `labels` say
 *  (the hashed form, and the older `kuma.io/pkey-N: <key>` form). */
std::function<bool(const std::string&)> previouslyPropagated(const Labels& labels);

/** Labels dropped while generating, by Kuma's reasons (for
 *  component_meshservice_generator_dropped_labels_total). */
struct DroppedLabels {
  std::atomic<uint64_t> invalid{0};
  std::atomic<uint64_t> inboundConflict{0};
};

class LabelPropagation {
 public:
  /** `dropped`: where dropped labels are counted (outlives this); null: not counted. */
  LabelPropagation(bool enabled, const std::vector<std::string>& allowedLabelKeys,
                   DroppedLabels* dropped);

  bool enabled() const { return enabled_; }

  /** One Dataplane's contribution to the MeshService `service` from `inbounds` (its inbounds of
   *  that service). */
  Labels contribution(
      const model::Resource& dataplane,
      const std::vector<const mesh::v1alpha1::Dataplane::Networking::Inbound*>& inbounds,
      const std::string& service) const;

 private:
  bool allowed(const std::string& key) const;
  bool valid(const std::string& key, const std::string& value) const;

  bool enabled_;
  std::optional<std::set<std::string>> allow_;
  DroppedLabels* dropped_;
};

/** Kuma's mergeAcrossDataplanes: per key the value most Dataplanes give; a tie goes to the value
 *  whose newest Dataplane is newer, then to the smaller value. */
Labels mergeContributions(const std::vector<std::pair<const model::Resource*, Labels>>& items);

}  // namespace kuma::services
