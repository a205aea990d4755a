#pragma once

// File: periodic_tasks.h
// The ticker loop of Kuma's interval-driven controllers (generators, status updaters): each task
// runs every `interval`, first one interval after start(), all on one thread, in the order their
// turns come. A run that overruns skips the ticks it missed, as Go's time.Ticker does. Restartable:
// a leader that loses and regains the lock calls start() again, and `makeTasks` builds fresh
// task state for each run.
//
//   runtime::PeriodicTasks tasks("workload-controllers", [&]() -> absl::StatusOr<...> {
//     return std::vector<runtime::PeriodicTasks::Task>{{"generator", absl::Seconds(2), run}};
//   });

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kuma/runtime/component.h"

namespace kuma::runtime {

class PeriodicTasks : public Component {
 public:
  struct Task {
    std::string name;
    absl::Duration interval;  // > 0
    std::function<void()> run;
  };
  /** Called by each start(): the tasks of that run (none: no thread); an error aborts start. */
  using TaskFactory = std::function<absl::StatusOr<std::vector<Task>>()>;

  PeriodicTasks(std::string name, TaskFactory makeTasks);
  ~PeriodicTasks() override;

  std::string name() const override { return name_; }
  absl::Status start() override;
  void stop() override;

 private:
  struct Scheduled {
    Task task;
    absl::Time due;
  };
  void loop(std::vector<Scheduled> tasks);

  const std::string name_;
  const TaskFactory makeTasks_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kuma::runtime
