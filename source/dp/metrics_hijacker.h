#pragma once

// File: metrics_hijacker.h
// kuma-dp's metrics hijacker for MeshMetric's Prometheus backends (Kuma's
// app/kuma-dp/pkg/dataplane/metrics and meshmetrics). kuma-cp's `_kuma:metrics:prometheus:<name>`
// listener forwards a scrape to the cluster `_kuma:metrics:hijacker`, the Unix socket
// `<workdir>/kuma-mh-<name>-<mesh>.sock` this class serves. For each GET it:
//
//   1. reads kuma-dp's MeshMetric configuration, `/meshmetric` of Envoy's `_kuma:dynamicconfig`
//      pipe listener (JSON, parseMeshMetricConfig());
//   2. scrapes Envoy's `/stats?format=prometheus&text_readouts` (plus `usedonly` unless the
//      sidecar's `includeUnused`) on the admin address and keeps the metric families the sidecar
//      profiles select (filterEnvoyMetrics(): Kuma's Basic/All/None profiles, `exclude` then
//      `include` selectors; under Basic, series of Kuma's internal clusters and listeners are
//      dropped), and scrapes every application endpoint of the policy
//      (`http://<address or the Dataplane's>:<port><path>`);
//   3. adds the policy's `extraLabels` to every sample and answers the concatenation as
//      Prometheus text (`text/plain; version=0.0.4`).
//
// Requests outside `/meshmetric` are the legacy Mesh `metrics` backend's (kuma-cp's
// `kuma:metrics:prometheus` listener rewrites its path to `/?filter=<regex>&usedonly`): the
// bootstrap's `aggregate` applications, then Envoy's `/stats` with that query, the cluster
// series merged and marked as Kuma's kuma-dp does (mergeClustersForPrometheus()).
//
// Bounded: one connection at a time, a request head of at most 16 KiB read within 5 s, every
// upstream call within `timeout`, at most kMaxApplications applications, kMaxScrapeBytes per
// answer. A missing configuration (no MeshMetric) answers 503 with the reason.
//
// Differences from Kuma's kuma-dp: Kuma re-exports through OpenTelemetry's Prometheus exporter
// (OpenMetrics negotiation, `otel_scope_*` labels, `target_info`); here the Prometheus text is
// passed through with the labels added.
//
//   MetricsHijacker h({socket, admin, dynamicConfigSocket, "10.0.0.1"}, log);
//   h.start();  ...  h.stop();

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "source/dp/envoy_admin.h"
#include "spdlog/logger.h"

namespace kuma::dp {

/** One `exclude`/`include` selector of the sidecar profiles. */
struct MetricSelector {
  std::string type;  // Prefix, Regex, Exact, Contains
  std::string match;
};

/** An application endpoint to scrape. */
struct MetricsApplication {
  std::string name;
  std::string address;  // empty: the Dataplane's address
  std::string path;
  uint32_t port = 0;
};

/** dpapi.MeshMetricDpConfig, the parts the hijacker uses. */
struct MeshMetricConfig {
  std::vector<MetricsApplication> applications;
  bool includeUnused = false;
  /** Named profiles, as written; empty: Basic. */
  std::vector<std::string> profiles;
  std::vector<MetricSelector> exclude;
  std::vector<MetricSelector> include;
  std::map<std::string, std::string> extraLabels;
  bool prometheus = false;  // a Prometheus backend is configured
};

/** Parses the `/meshmetric` document (hostile input: size, depth and counts bounded). */
absl::StatusOr<MeshMetricConfig> parseMeshMetricConfig(std::string_view body);

/**
 * Envoy's Prometheus text with only the families the profiles and selectors of `config` select
 * (by family name; the Basic profile also drops series labelled with an internal entity).
 */
std::string filterEnvoyMetrics(std::string_view text, const MeshMetricConfig& config);

/** Every sample line of `text` with `labels` added (labels it already has are kept). */
std::string addLabels(std::string_view text, const std::map<std::string, std::string>& labels);

/**
 * Kuma's MergeClustersForPrometheus on Envoy's Prometheus text (the legacy Mesh `metrics`
 * scrape): `envoy_cluster_name` values ending in `-<16 hex digits>` lose that suffix and the
 * samples that then coincide are summed; series of mesh clusters (not the bootstrap's nor
 * kuma-dp's own) and of mesh HTTP connection managers (not the admin's nor the metrics
 * listener's) get `kuma_io_mesh_traffic="true"`.
 */
std::string mergeClustersForPrometheus(std::string_view text);

class MetricsHijacker {
 public:
  static constexpr size_t kMaxApplications = 64;
  static constexpr size_t kMaxScrapeBytes = 32u << 20;
  static constexpr size_t kMaxConfigBytes = 1u << 20;

  struct Options {
    std::string socketPath;
    EnvoyAdminAddress admin;
    std::string dynamicConfigSocket;
    /** Where applications without an address are scraped. */
    std::string defaultAddress = "127.0.0.1";
    std::chrono::milliseconds timeout{5000};
    /**
     * The legacy Mesh `metrics` backend's applications (the bootstrap's
     * kumaSidecarConfiguration.metrics.aggregate), scraped for requests outside `/meshmetric`.
     */
    std::vector<MetricsApplication> aggregate;
  };

  MetricsHijacker(Options options, std::shared_ptr<spdlog::logger> log);
  ~MetricsHijacker();
  MetricsHijacker(const MetricsHijacker&) = delete;
  MetricsHijacker& operator=(const MetricsHijacker&) = delete;

  /** Binds the socket (replacing a stale file) and starts serving. */
  absl::Status start();
  void stop();

  /**
   * One scrape's answer: status and body (what a GET of `target` gets). `/meshmetric...`:
   * MeshMetric's scrape; anything else: the legacy Mesh `metrics` scrape (Kuma's kuma-dp does the
   * same split), the aggregated applications then Envoy's stats with the target's query (the
   * listener's `filter`/`usedonly`).
   */
  std::pair<int, std::string> scrape(std::string_view target = "/meshmetric") const;

 private:
  void run();
  void serve(int fd) const;
  std::pair<int, std::string> legacyScrape(std::string_view target) const;
  /** One application's metrics (nullopt, logged, unless it answers 200). */
  std::optional<std::string> scrapeApplication(const MetricsApplication& app) const;
  static std::pair<int, std::string> answerOf(const std::vector<std::string>& scrapes);

  Options options_;
  std::shared_ptr<spdlog::logger> log_;
  int listen_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace kuma::dp
