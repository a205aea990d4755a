#pragma once

// File: insights.h
// Kuma's MeshInsight and ServiceInsight (pkg/insights/resyncer.go) for the REST API
// (`/mesh-insights`, `/meshes/{mesh}/service-insights`): per mesh, counts of Dataplanes by
// status, type, kuma-dp/Envoy version and mTLS backend, of services and of every resource type,
// and one entry per `kuma.io/service`. Kuma's resyncer stores them and refreshes them at most every
// `metrics.mesh.minResyncInterval` after a change (and every `fullResyncInterval`); here they are
// kept in memory and recomputed on a request once that interval has passed since the last
// computation. creationTime is the first computation, modificationTime the last one that changed
// the content, as with Kuma's upsert that skips equal insights.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::api_server {

struct InsightOptions {
  /** metrics.mesh.minResyncInterval: the oldest an answer can be. */
  absl::Duration minResyncInterval = absl::Seconds(1);
  /** dnsServer.domain and dnsServer.serviceVipPort: a service's `addressPort`. */
  std::string dnsDomain = "mesh";
  uint32_t vipPort = 80;
};

class Insights {
 public:
  Insights(InsightOptions options, manager::ResourceManager& manager,
           const model::TypeRegistry& registry);

  /** The MeshInsight of `mesh` as REST JSON. NotFound when the mesh does not exist. */
  absl::StatusOr<nlohmann::ordered_json> meshInsight(const std::string& mesh);
  /** Every ServiceInsight entry of `mesh`, sorted by service name. */
  absl::StatusOr<std::vector<nlohmann::ordered_json>> serviceInsights(const std::string& mesh);
  /** One entry; an unknown service gives Kuma's empty entry (no status, empty dataplanes). */
  absl::StatusOr<nlohmann::ordered_json> serviceInsight(const std::string& mesh,
                                                        const std::string& service);
  /**
   * Kuma's GlobalInsight (`/global-insight`): the sum of every mesh's insights, the counts of the
   * global types users see, and the zone proxies; `createdAt` is now.
   */
  absl::StatusOr<nlohmann::ordered_json> globalInsight();

 private:
  struct Computed {
    nlohmann::ordered_json mesh;                             // spec fields, in Kuma's order
    std::map<std::string, nlohmann::ordered_json> services;  // spec fields per service
  };
  struct Entry {
    absl::Time computedAt;
    absl::Time meshCreated, meshModified, servicesCreated, servicesModified;
    Computed computed;
  };

  absl::StatusOr<Computed> compute(const std::string& mesh);
  absl::StatusOr<Entry> current(const std::string& mesh);
  nlohmann::ordered_json serviceJson(const std::string& mesh, const std::string& name,
                                     const Entry& entry, const nlohmann::ordered_json* spec) const;

  const InsightOptions options_;
  manager::ResourceManager& manager_;
  const model::TypeRegistry& registry_;
  absl::Mutex mu_;
  std::map<std::string, Entry> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuma::api_server
