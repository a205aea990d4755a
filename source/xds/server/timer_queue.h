#pragma once

// File: timer_queue.h
// One thread that runs deferred callbacks at their deadline. The ADS server uses it for NACK
// backoff so that no gRPC reactor ever sleeps; one thread serves every stream.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace kuma::xds::server {

class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;

  TimerQueue();
  /** Drops pending callbacks without running them and joins the thread. */
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  /** Runs fn on the timer thread at (or shortly after) deadline. fn must not block. */
  void schedule(Clock::time_point deadline, std::function<void()> fn);

  /** Number of callbacks not yet run. */
  size_t pending() const;

 private:
  // Shared with the thread, which may outlive the queue when the last owner lets go from inside a
  // callback (the thread is then detached).
  struct State {
    mutable std::mutex mu;
    std::condition_variable cv;
    bool stop = false;
    uint64_t sequence = 0;
    // Ordered by deadline, then by scheduling order.
    std::map<std::pair<Clock::time_point, uint64_t>, std::function<void()>> timers;
  };
  static void run(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace kuma::xds::server
