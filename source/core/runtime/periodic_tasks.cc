#include "source/core/runtime/periodic_tasks.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace kuma::runtime {

PeriodicTasks::PeriodicTasks(std::string name, TaskFactory makeTasks)
    : name_(std::move(name)), makeTasks_(std::move(makeTasks)) {}

PeriodicTasks::~PeriodicTasks() {
  stop();
}

absl::Status PeriodicTasks::start() {
  absl::StatusOr<std::vector<Task>> tasks = makeTasks_();
  if (!tasks.ok()) {
    return tasks.status();
  }
  std::vector<Scheduled> scheduled;
  const absl::Time now = absl::Now();
  for (Task& task : *tasks) {
    if (task.interval > absl::ZeroDuration() && task.run) {
      const absl::Duration interval = task.interval;
      scheduled.push_back({std::move(task), now + interval});
    }
  }
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
  }
  if (!scheduled.empty()) {
    thread_ = std::thread(
        [this, scheduled = std::move(scheduled)]() mutable { loop(std::move(scheduled)); });
  }
  return absl::OkStatus();
}

void PeriodicTasks::stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void PeriodicTasks::loop(std::vector<Scheduled> tasks) {
  while (true) {
    auto next =
        std::min_element(tasks.begin(), tasks.end(),
                         [](const Scheduled& a, const Scheduled& b) { return a.due < b.due; });
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithDeadline(absl::Condition(&stopping_), next->due)) {
        return;
      }
    }
    next->task.run();
    const absl::Time now = absl::Now();
    do {
      next->due += next->task.interval;
    } while (next->due <= now);
  }
}

}  // namespace kuma::runtime
