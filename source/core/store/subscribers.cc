#include "source/core/store/subscribers.h"

#include <list>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace kuma::store {
namespace {

/** One subscriber; its mutex is held while its handler runs so unsubscribing can wait for it. */
struct Subscriber {
  absl::Mutex mu;
  bool active ABSL_GUARDED_BY(mu) = true;
  std::function<void(const ChangeEvent&)> handler;
};
using SubscriberSharedPtr = std::shared_ptr<Subscriber>;

}  // namespace

struct SubscriberList::State {
  absl::Mutex mu;
  std::list<SubscriberSharedPtr> subscribers ABSL_GUARDED_BY(mu);
};

namespace {

class ListSubscription : public Subscription {
 public:
  ListSubscription(std::weak_ptr<SubscriberList::State> state, SubscriberSharedPtr subscriber)
      : state_(std::move(state)), subscriber_(std::move(subscriber)) {}
  ~ListSubscription() override;

 private:
  const std::weak_ptr<SubscriberList::State> state_;
  const SubscriberSharedPtr subscriber_;
};

}  // namespace

SubscriberList::SubscriberList() : state_(std::make_shared<State>()) {}
SubscriberList::~SubscriberList() = default;

SubscriptionPtr SubscriberList::subscribe(std::function<void(const ChangeEvent&)> handler) {
  auto subscriber = std::make_shared<Subscriber>();
  subscriber->handler = std::move(handler);
  {
    absl::MutexLock lock(&state_->mu);
    state_->subscribers.push_back(subscriber);
  }
  return std::make_unique<ListSubscription>(state_, std::move(subscriber));
}

void SubscriberList::publish(const ChangeEvent& event) {
  std::vector<SubscriberSharedPtr> subscribers;
  {
    absl::MutexLock lock(&state_->mu);
    subscribers.assign(state_->subscribers.begin(), state_->subscribers.end());
  }
  for (const SubscriberSharedPtr& subscriber : subscribers) {
    absl::MutexLock lock(&subscriber->mu);
    if (subscriber->active) {
      subscriber->handler(event);
    }
  }
}

ListSubscription::~ListSubscription() {
  {
    // Waits for a running handler call to finish, then prevents further calls.
    absl::MutexLock lock(&subscriber_->mu);
    subscriber_->active = false;
  }
  if (std::shared_ptr<SubscriberList::State> state = state_.lock()) {
    absl::MutexLock lock(&state->mu);
    state->subscribers.remove(subscriber_);
  }
}

}  // namespace kuma::store
