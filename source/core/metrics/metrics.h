#pragma once

// File: metrics.h
// The control plane's one Prometheus registry (spec §13), served as text on the diagnostics
// port's /metrics. Two kinds of series live here:
//   - instruments updated as things happen (histograms of durations, counters of events),
//     registered once in the prometheus-cpp registry and exposed as typed families below;
//   - values read at scrape time (counters kept elsewhere, gauges, process statistics) through
//     collectors, so hot paths that already count something need no second counter.
// Every series carries the constant label `zone` (Kuma: multizone.zone.name).
//
//   Metrics metrics({.zone = "default"});
//   metrics.xdsGeneration().Add({{"proxy_type", "dataplane"}, {"result", "skip"}},
//                               Metrics::defaultBuckets()).Observe(0.7);
//   metrics.addCollector([&](std::vector<prometheus::MetricFamily>& out) { ... });
//   std::string body = metrics.scrape();

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace kuma::metrics {

struct MetricsOptions {
  /** Value of the `zone` label on every series (Kuma: `Zone` when the zone name is empty). */
  std::string zone = "default";
  /** Adds the process_* families (CPU, memory, fds, start time) read from /proc/self. */
  bool processMetrics = true;
};

/** Labels of `cp_info` (spec §13.2); all are emitted, empty ones as "". */
struct CpInfo {
  std::string product = "Kuma";
  std::string version;
  std::string buildDate;
  std::string gitCommit;
  std::string gitTag;
  std::string instanceId;
  std::string clusterId;
};

/**
 * Appends scrape-time families. Samples need not carry the `zone` label: scrape() adds it.
 * Runs on the scraping thread, concurrently with everything else; must be thread-safe.
 */
using Collector = std::function<void(std::vector<prometheus::MetricFamily>& out)>;

/** Thread-safe. Must outlive every object that holds one of its instruments. */
class Metrics {
 public:
  explicit Metrics(MetricsOptions options = {});
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /** client_golang's default buckets `.005 … 10`; Kuma observes milliseconds with them. */
  static const prometheus::Histogram::BucketBoundaries& defaultBuckets();
  /** xds_responses_sent_bytes: 1024·2^k, k = 0…15. */
  static const prometheus::Histogram::BucketBoundaries& responseBytesBuckets();

  // Instruments (spec §13.2). Add series with Family::Add(labels[, buckets]).
  /** Histogram, ms, labels proxy_type, result (skip | generated | changed). */
  prometheus::Family<prometheus::Histogram>& xdsGeneration() { return *xdsGeneration_; }
  /** Counter, no labels. */
  prometheus::Counter& xdsGenerationErrors() { return *xdsGenerationErrors_; }
  /** Histogram, ms, no labels. */
  prometheus::Histogram& xdsDelivery() { return *xdsDelivery_; }
  /** Counter, label type_url. */
  prometheus::Family<prometheus::Counter>& xdsResponsesSent() { return *xdsResponsesSent_; }
  /** Histogram, bytes (responseBytesBuckets()), label type_url. */
  prometheus::Family<prometheus::Histogram>& xdsResponsesSentBytes() {
    return *xdsResponsesSentBytes_;
  }
  /** Counter, labels type_url, confirmation (ACK | NACK), error_type (no_error | user | other). */
  prometheus::Family<prometheus::Counter>& xdsRequestsReceived() { return *xdsRequestsReceived_; }
  /** Histogram, seconds, labels operation, resource_type. */
  prometheus::Family<prometheus::Histogram>& store() { return *store_; }
  /** Counter, label resource_type. */
  prometheus::Family<prometheus::Counter>& storeConflicts() { return *storeConflicts_; }
  /** Counter, labels operation (get | list), resource_type, result (hit | hit-wait | miss). */
  prometheus::Family<prometheus::Counter>& storeCache() { return *storeCache_; }

  /** Registers `cp_info` (gauge = 1). Call once; later calls are ignored. */
  void setCpInfo(const CpInfo& info);

  /** Adds a scrape-time collector. Collectors run in the order added. */
  void addCollector(Collector collector);

  /** Every family in Prometheus text exposition format 0.0.4. Any thread. */
  std::string scrape() const;

  /** The Content-Type of scrape()'s output. */
  static constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

 private:
  const MetricsOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>* xdsGeneration_;
  prometheus::Counter* xdsGenerationErrors_;
  prometheus::Histogram* xdsDelivery_;
  prometheus::Family<prometheus::Counter>* xdsResponsesSent_;
  prometheus::Family<prometheus::Histogram>* xdsResponsesSentBytes_;
  prometheus::Family<prometheus::Counter>* xdsRequestsReceived_;
  prometheus::Family<prometheus::Histogram>* store_;
  prometheus::Family<prometheus::Counter>* storeConflicts_;
  prometheus::Family<prometheus::Counter>* storeCache_;

  mutable absl::Mutex mu_;
  bool cpInfoSet_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Collector> collectors_ ABSL_GUARDED_BY(mu_);
};

/** A family with one sample per entry of `values` (labels → value), for collectors. */
prometheus::MetricFamily makeFamily(
    std::string name, std::string help, prometheus::MetricType type,
    const std::vector<std::pair<prometheus::Labels, double>>& values);

/** process_* families from /proc/self (Linux); empty elsewhere or when /proc is unreadable. */
std::vector<prometheus::MetricFamily> processFamilies();

}  // namespace kuma::metrics
