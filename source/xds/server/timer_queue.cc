#include "source/xds/server/timer_queue.h"

namespace kuma::xds::server {

TimerQueue::TimerQueue()
    : state_(std::make_shared<State>()), thread_([state = state_] { run(state); }) {}

TimerQueue::~TimerQueue() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
    state_->timers.clear();
  }
  state_->cv.notify_all();
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

void TimerQueue::schedule(Clock::time_point deadline, std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->stop) {
      return;
    }
    state_->timers.emplace(std::make_pair(deadline, state_->sequence++), std::move(fn));
  }
  state_->cv.notify_all();
}

size_t TimerQueue::pending() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->timers.size();
}

void TimerQueue::run(const std::shared_ptr<State>& state) {
  std::unique_lock<std::mutex> lock(state->mu);
  while (!state->stop) {
    if (state->timers.empty()) {
      state->cv.wait(lock);
      continue;
    }
    auto first = state->timers.begin();
    // A copy: wait_until reads it after relocking, when the node may be gone.
    const Clock::time_point deadline = first->first.first;
    if (Clock::now() < deadline) {
      state->cv.wait_until(lock, deadline);
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    state->timers.erase(first);
    lock.unlock();
    fn();
    fn = nullptr;  // release captures (possibly the queue's owner) outside the lock
    lock.lock();
  }
}

}  // namespace kuma::xds::server
