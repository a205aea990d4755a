#include "test/store_conformance/event_recorder.h"

namespace kuma::store::conformance {

EventRecorder::EventRecorder(ResourceStore& store) {
  subscription_ = store.subscribe([this](const ChangeEvent& event) {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
  });
}

bool EventRecorder::waitForCount(size_t count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return events_.size() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

bool EventRecorder::consumeSetUp(size_t count, absl::Duration timeout) {
  if (!waitForCount(count, timeout)) {
    return false;
  }
  absl::MutexLock lock(&mu_);
  events_.erase(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(count));
  return true;
}

std::vector<ChangeEvent> EventRecorder::events() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

size_t EventRecorder::count() const {
  absl::MutexLock lock(&mu_);
  return events_.size();
}

}  // namespace kuma::store::conformance
