#pragma once

// File: work_queue.h
// controller-runtime's reconciliation queue for one controller: keys are deduplicated while they
// wait, a key is never reconciled by two workers at once (added again while it runs, it runs once
// more afterwards), a failed key is retried after client-go's per-item exponential back-off
// (5 ms · 2^failures, at most 1000 s), and a success forgets its failures. `workers` threads
// (runtime.kubernetes.controllersConcurrency.*) reconcile. It keeps client-go's workqueue and
// controller-runtime's reconcile metrics, with their names, for collect().
//
//   WorkQueue queue({"kuma-pod-controller", 10}, [](const std::string& key) { ... });
//   queue.start(); queue.add("ns/pod"); ...; queue.stop();

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"

namespace kuma::k8s::runtime {

class WorkQueue {
 public:
  struct Options {
    /** The controller's name: label `name`/`controller` of the metrics. */
    std::string name;
    int workers = 1;
    absl::Duration baseDelay = absl::Milliseconds(5);
    absl::Duration maxDelay = absl::Seconds(1000);
  };
  /** Reconciles one key; an error retries it with back-off. */
  using Reconcile = std::function<absl::Status(const std::string& key)>;

  WorkQueue(Options options, Reconcile reconcile);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void start();
  /** Stops taking keys, lets running reconciles finish and joins the workers. */
  void stop();

  /** Queues `key` unless it already waits. */
  void add(const std::string& key);

  struct Stats {
    size_t depth = 0;
    size_t processing = 0;
    size_t delayed = 0;
    uint64_t adds = 0;
    uint64_t retries = 0;
    uint64_t reconcileSuccess = 0;
    uint64_t reconcileErrors = 0;
  };
  Stats stats() const;

  /**
   * workqueue_depth, workqueue_adds_total, workqueue_retries_total,
   * workqueue_queue_duration_seconds, workqueue_work_duration_seconds,
   * workqueue_unfinished_work_seconds, workqueue_longest_running_processor_seconds,
   * controller_runtime_reconcile_total, controller_runtime_reconcile_errors_total,
   * controller_runtime_max_concurrent_reconciles, controller_runtime_active_workers.
   */
  void collect(std::vector<prometheus::MetricFamily>& out) const;

  /** Blocks until nothing waits, runs or is delayed, or `timeout` (tests, benchmarks). */
  bool waitIdle(absl::Duration timeout) const;

 private:
  void work();
  void addLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void promoteDueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const Reconcile reconcile_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  /** Keys waiting in queue_ (or to be re-queued when their reconcile ends), with add time. */
  std::map<std::string, absl::Time> dirty_ ABSL_GUARDED_BY(mu_);
  /** Keys being reconciled, with their start time. */
  std::map<std::string, absl::Time> processing_ ABSL_GUARDED_BY(mu_);
  /** Retries waiting for their back-off: due time → key. */
  std::multimap<absl::Time, std::string> delayed_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> failures_ ABSL_GUARDED_BY(mu_);
  uint64_t adds_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t retries_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t success_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t errors_ ABSL_GUARDED_BY(mu_) = 0;

  mutable prometheus::Histogram queueDuration_;
  mutable prometheus::Histogram workDuration_;
  mutable prometheus::Histogram reconcileTime_;
  std::vector<std::thread> workers_;
};

}  // namespace kuma::k8s::runtime
