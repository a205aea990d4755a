#include "source/server/leader_gate.h"

#include "source/common/logging.h"

namespace kuma::server {

LeaderGate::LeaderGate(absl::Duration retryInterval) : retryInterval_(retryInterval) {}

LeaderGate::~LeaderGate() {
  stop();
}

void LeaderGate::add(runtime::ComponentPtr component) {
  components_.push_back(std::move(component));
}

void LeaderGate::start() {
  thread_ = std::thread([this] { loop(); });
}

void LeaderGate::stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void LeaderGate::elected() {
  absl::MutexLock lock(&mu_);
  leader_ = true;
}

void LeaderGate::lost() {
  absl::MutexLock lock(&mu_);
  leader_ = false;
}

bool LeaderGate::leader() const {
  absl::MutexLock lock(&mu_);
  return leader_;
}

size_t LeaderGate::running() const {
  absl::MutexLock lock(&mu_);
  return started_;
}

void LeaderGate::loop() {
  auto log = logging::logger("leader");
  absl::Time retryAt = absl::InfinitePast();
  while (true) {
    bool wantRunning = false;
    size_t started = 0;
    {
      absl::MutexLock lock(&mu_);
      // Wake when there is work: start (pending components, retry time reached), stop, or exit.
      auto work = [this, &retryAt]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        if (stopping_) {
          return true;
        }
        if (leader_) {
          return started_ < components_.size() && absl::Now() >= retryAt;
        }
        return started_ > 0;
      };
      while (!work()) {
        mu_.AwaitWithTimeout(absl::Condition(&work), absl::Milliseconds(200));
      }
      wantRunning = leader_ && !stopping_;
      started = started_;
    }
    if (wantRunning) {
      runtime::Component& next = *components_[started];
      if (absl::Status s = next.start(); !s.ok()) {
        log->error("leader-only component {} failed to start (retrying in {}): {}", next.name(),
                   absl::FormatDuration(retryInterval_), s.ToString());
        retryAt = absl::Now() + retryInterval_;
        continue;
      }
      log->info("started leader-only component {}", next.name());
      absl::MutexLock lock(&mu_);
      ++started_;
      continue;
    }
    if (started > 0) {
      runtime::Component& last = *components_[started - 1];
      last.stop();
      log->info("stopped leader-only component {}", last.name());
      absl::MutexLock lock(&mu_);
      --started_;
      continue;
    }
    return;  // stopping, nothing left running
  }
}

}  // namespace kuma::server
