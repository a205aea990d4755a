// The controllers' work queue (source/plugins/runtime/kubernetes/work_queue.h): deduplication,
// one reconcile per key at a time, a key added while it runs runs once more, retries with
// back-off, concurrency up to `workers`, and the metrics it exports.
#include "source/plugins/runtime/kubernetes/work_queue.h"

#include <atomic>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace kuma::k8s::runtime {
namespace {

double sampleOf(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                const std::string& result = "") {
  for (const auto& f : families) {
    if (f.name != name) {
      continue;
    }
    for (const auto& m : f.metric) {
      bool match = result.empty();
      for (const auto& l : m.label) {
        match = match || (l.name == "result" && l.value == result);
      }
      if (match) {
        return f.type == prometheus::MetricType::Counter ? m.counter.value
               : f.type == prometheus::MetricType::Histogram
                   ? static_cast<double>(m.histogram.sample_count)
                   : m.gauge.value;
      }
    }
  }
  return -1;
}

TEST(WorkQueueTest, KeysWaitingAreDeduplicated) {
  absl::Notification started;
  absl::Notification release;
  std::atomic<int> runs{0};
  WorkQueue queue({"test", 1}, [&](const std::string& key) {
    if (key == "block") {
      started.Notify();
      release.WaitForNotification();
    }
    runs++;
    return absl::OkStatus();
  });
  queue.start();
  queue.add("block");
  started.WaitForNotification();
  for (int i = 0; i < 10; i++) {
    queue.add("a");
  }
  EXPECT_EQ(queue.stats().depth, 1u);
  release.Notify();
  ASSERT_TRUE(queue.waitIdle(absl::Seconds(10)));
  EXPECT_EQ(runs.load(), 2);
  queue.stop();
}

TEST(WorkQueueTest, AKeyNeverRunsTwiceAtOnceAndRunsAgainWhenAddedMeanwhile) {
  absl::Notification started;
  absl::Notification release;
  std::atomic<int> running{0};
  std::atomic<int> maxRunning{0};
  std::atomic<int> runs{0};
  WorkQueue queue({"test", 4}, [&](const std::string&) {
    const int now = ++running;
    maxRunning = std::max(maxRunning.load(), now);
    if (runs++ == 0) {
      started.Notify();
      release.WaitForNotification();
    }
    running--;
    return absl::OkStatus();
  });
  queue.start();
  queue.add("k");
  started.WaitForNotification();
  queue.add("k");  // while it runs
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(runs.load(), 1);
  release.Notify();
  ASSERT_TRUE(queue.waitIdle(absl::Seconds(10)));
  EXPECT_EQ(runs.load(), 2);
  EXPECT_EQ(maxRunning.load(), 1);
  queue.stop();
}

TEST(WorkQueueTest, FailuresAreRetriedWithBackoffAndForgottenOnSuccess) {
  std::atomic<int> attempts{0};
  std::vector<absl::Time> at;
  absl::Mutex mu;
  WorkQueue::Options options{"test", 1, absl::Milliseconds(20), absl::Seconds(1)};
  WorkQueue queue(options, [&](const std::string&) {
    absl::MutexLock lock(&mu);
    at.push_back(absl::Now());
    return ++attempts < 4 ? absl::UnavailableError("not yet") : absl::OkStatus();
  });
  queue.start();
  queue.add("k");
  ASSERT_TRUE(queue.waitIdle(absl::Seconds(10)));
  EXPECT_EQ(attempts.load(), 4);
  absl::MutexLock lock(&mu);
  ASSERT_EQ(at.size(), 4u);
  // 20 ms, 40 ms, 80 ms between the attempts.
  EXPECT_GE(at[1] - at[0], absl::Milliseconds(19));
  EXPECT_GE(at[2] - at[1], absl::Milliseconds(39));
  EXPECT_GE(at[3] - at[2], absl::Milliseconds(79));
  std::vector<prometheus::MetricFamily> families;
  queue.collect(families);
  EXPECT_EQ(sampleOf(families, "workqueue_retries_total"), 3);
  EXPECT_EQ(sampleOf(families, "controller_runtime_reconcile_total", "error"), 3);
  EXPECT_EQ(sampleOf(families, "controller_runtime_reconcile_total", "success"), 1);
  EXPECT_EQ(sampleOf(families, "controller_runtime_reconcile_errors_total"), 3);
  EXPECT_EQ(sampleOf(families, "workqueue_depth"), 0);
  EXPECT_EQ(sampleOf(families, "workqueue_work_duration_seconds"), 4);
  EXPECT_EQ(sampleOf(families, "workqueue_queue_duration_seconds"), 4);
  EXPECT_EQ(sampleOf(families, "controller_runtime_max_concurrent_reconciles"), 1);
  queue.stop();
}

TEST(WorkQueueTest, WorkersReconcileDifferentKeysConcurrently) {
  std::atomic<int> running{0};
  std::atomic<int> maxRunning{0};
  WorkQueue queue({"test", 8}, [&](const std::string&) {
    const int now = ++running;
    int seen = maxRunning.load();
    while (now > seen && !maxRunning.compare_exchange_weak(seen, now)) {
    }
    absl::SleepFor(absl::Milliseconds(30));
    running--;
    return absl::OkStatus();
  });
  queue.start();
  for (int i = 0; i < 32; i++) {
    queue.add(absl::StrCat("k", i));
  }
  ASSERT_TRUE(queue.waitIdle(absl::Seconds(10)));
  EXPECT_GT(maxRunning.load(), 1);
  EXPECT_LE(maxRunning.load(), 8);
  EXPECT_EQ(queue.stats().adds, 32u);
  queue.stop();
}

TEST(WorkQueueTest, StopReturnsWithRetriesPending) {
  WorkQueue::Options options{"test", 2, absl::Seconds(100), absl::Seconds(100)};
  WorkQueue queue(options, [](const std::string&) { return absl::InternalError("always"); });
  queue.start();
  queue.add("k");
  absl::SleepFor(absl::Milliseconds(50));
  const absl::Time before = absl::Now();
  queue.stop();
  EXPECT_LT(absl::Now() - before, absl::Seconds(5));
  queue.add("after-stop");
  EXPECT_EQ(queue.stats().depth, 0u);
}

}  // namespace
}  // namespace kuma::k8s::runtime
