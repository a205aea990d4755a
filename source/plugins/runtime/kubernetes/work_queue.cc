#include "source/plugins/runtime/kubernetes/work_queue.h"

#include <algorithm>
#include <cmath>

#include "prometheus/client_metric.h"
#include "source/common/logging.h"

namespace kuma::k8s::runtime {
namespace {

/** client-go's workqueue buckets: 10 ns · 10^k, k = 0…11. */
prometheus::Histogram::BucketBoundaries workqueueBuckets() {
  prometheus::Histogram::BucketBoundaries out;
  double b = 1e-8;
  for (int i = 0; i < 12; i++, b *= 10) {
    out.push_back(b);
  }
  return out;
}

/** controller-runtime's reconcile_time_seconds buckets. */
prometheus::Histogram::BucketBoundaries reconcileBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
          0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
          6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60};
}

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

prometheus::ClientMetric sample(const prometheus::ClientMetric::Label& a,
                                const prometheus::ClientMetric::Label* b, double value,
                                prometheus::MetricType type) {
  prometheus::ClientMetric m;
  m.label.push_back(a);
  if (b != nullptr) {
    m.label.push_back(*b);
  }
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

}  // namespace

WorkQueue::WorkQueue(Options options, Reconcile reconcile)
    : options_(std::move(options)),
      reconcile_(std::move(reconcile)),
      queueDuration_(workqueueBuckets()),
      workDuration_(workqueueBuckets()),
      reconcileTime_(reconcileBuckets()) {}

WorkQueue::~WorkQueue() {
  stop();
}

void WorkQueue::start() {
  const int n = std::max(1, options_.workers);
  for (int i = 0; i < n; i++) {
    workers_.emplace_back([this] { work(); });
  }
}

void WorkQueue::stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : workers_) {
    t.join();
  }
  workers_.clear();
}

void WorkQueue::add(const std::string& key) {
  absl::MutexLock lock(&mu_);
  addLocked(key);
}

void WorkQueue::addLocked(const std::string& key) {
  if (stopping_ || dirty_.contains(key)) {
    return;
  }
  adds_++;
  dirty_.emplace(key, absl::Now());
  if (!processing_.contains(key)) {
    queue_.push_back(key);
  }
}

void WorkQueue::promoteDueLocked() {
  const absl::Time now = absl::Now();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    addLocked(key);
  }
}

void WorkQueue::work() {
  while (true) {
    std::string key;
    absl::Time queuedAt;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        promoteDueLocked();
        if (stopping_) {
          return;
        }
        if (!queue_.empty()) {
          break;
        }
        // Wait for a key, a due retry or the stop.
        auto ready = [this]()
                         ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
        const absl::Duration wait =
            delayed_.empty()
                ? absl::Seconds(1)
                : std::max(absl::ZeroDuration(), delayed_.begin()->first - absl::Now());
        mu_.AwaitWithTimeout(absl::Condition(&ready), wait);
      }
      key = std::move(queue_.front());
      queue_.pop_front();
      auto dirty = dirty_.find(key);
      queuedAt = dirty == dirty_.end() ? absl::Now() : dirty->second;
      if (dirty != dirty_.end()) {
        dirty_.erase(dirty);
      }
      processing_.emplace(key, absl::Now());
    }
    const absl::Time started = absl::Now();
    queueDuration_.Observe(absl::ToDoubleSeconds(started - queuedAt));
    absl::Status status;
    try {
      status = reconcile_(key);
    } catch (const std::exception& e) {
      status = absl::InternalError(e.what());
    }
    const double took = absl::ToDoubleSeconds(absl::Now() - started);
    workDuration_.Observe(took);
    reconcileTime_.Observe(took);
    absl::MutexLock lock(&mu_);
    processing_.erase(key);
    if (status.ok()) {
      success_++;
      failures_.erase(key);
    } else {
      errors_++;
      retries_++;
      const int n = failures_[key]++;
      const double factor = std::ldexp(1.0, std::min(n, 40));
      const absl::Duration delay = std::min(options_.maxDelay, options_.baseDelay * factor);
      logging::logger("k8s")->warn("{}: reconciling {} failed (retry in {}): {}", options_.name,
                                   key, absl::FormatDuration(delay), std::string(status.message()));
      delayed_.emplace(absl::Now() + delay, key);
    }
    if (dirty_.contains(key)) {  // added while it ran: once more
      queue_.push_back(key);
    }
  }
}

WorkQueue::Stats WorkQueue::stats() const {
  absl::MutexLock lock(&mu_);
  Stats s;
  s.depth = queue_.size();
  s.processing = processing_.size();
  s.delayed = delayed_.size();
  s.adds = adds_;
  s.retries = retries_;
  s.reconcileSuccess = success_;
  s.reconcileErrors = errors_;
  return s;
}

bool WorkQueue::waitIdle(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return queue_.empty() && processing_.empty() && delayed_.empty() && dirty_.empty();
  };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

void WorkQueue::collect(std::vector<prometheus::MetricFamily>& out) const {
  using prometheus::MetricType;
  const prometheus::ClientMetric::Label name{"name", options_.name};
  const prometheus::ClientMetric::Label controller{"controller", options_.name};
  Stats s;
  double unfinished = 0;
  double longest = 0;
  {
    absl::MutexLock lock(&mu_);
    s.depth = queue_.size();
    s.adds = adds_;
    s.retries = retries_;
    s.reconcileSuccess = success_;
    s.reconcileErrors = errors_;
    s.processing = processing_.size();
    const absl::Time now = absl::Now();
    for (const auto& [key, since] : processing_) {
      const double d = absl::ToDoubleSeconds(now - since);
      unfinished += d;
      longest = std::max(longest, d);
    }
  }
  auto add = [&](std::string metric, std::string help, MetricType type, double value,
                 bool workqueue) {
    auto f = family(std::move(metric), std::move(help), type);
    f.metric.push_back(sample(controller, workqueue ? &name : nullptr, value, type));
    out.push_back(std::move(f));
  };
  add("workqueue_depth", "Current depth of workqueue", MetricType::Gauge,
      static_cast<double>(s.depth), true);
  add("workqueue_adds_total", "Total number of adds handled by workqueue", MetricType::Counter,
      static_cast<double>(s.adds), true);
  add("workqueue_retries_total", "Total number of retries handled by workqueue",
      MetricType::Counter, static_cast<double>(s.retries), true);
  add("workqueue_unfinished_work_seconds",
      "How many seconds of work has been done that is in progress and hasn't been observed by "
      "work_duration.",
      MetricType::Gauge, unfinished, true);
  add("workqueue_longest_running_processor_seconds",
      "How many seconds has the longest running processor for workqueue been running.",
      MetricType::Gauge, longest, true);
  auto histogram = [&](std::string metric, std::string help, prometheus::Histogram& h,
                       bool workqueue) {
    auto f = family(std::move(metric), std::move(help), MetricType::Histogram);
    prometheus::ClientMetric m = h.Collect();
    m.label.push_back(controller);
    if (workqueue) {
      m.label.push_back(name);
    }
    f.metric.push_back(std::move(m));
    out.push_back(std::move(f));
  };
  histogram("workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested", queueDuration_,
            true);
  histogram("workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.", workDuration_, true);
  histogram("controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller", reconcileTime_, false);
  {
    auto f = family("controller_runtime_reconcile_total",
                    "Total number of reconciliations per controller", MetricType::Counter);
    const prometheus::ClientMetric::Label success{"result", "success"};
    const prometheus::ClientMetric::Label error{"result", "error"};
    f.metric.push_back(
        sample(controller, &success, static_cast<double>(s.reconcileSuccess), MetricType::Counter));
    f.metric.push_back(
        sample(controller, &error, static_cast<double>(s.reconcileErrors), MetricType::Counter));
    out.push_back(std::move(f));
  }
  add("controller_runtime_reconcile_errors_total",
      "Total number of reconciliation errors per controller", MetricType::Counter,
      static_cast<double>(s.reconcileErrors), false);
  add("controller_runtime_max_concurrent_reconciles",
      "Maximum number of concurrent reconciles per controller", MetricType::Gauge,
      static_cast<double>(std::max(1, options_.workers)), false);
  add("controller_runtime_active_workers", "Number of currently used workers per controller",
      MetricType::Gauge, static_cast<double>(s.processing), false);
}

}  // namespace kuma::k8s::runtime
