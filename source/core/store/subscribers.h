#pragma once

// File: subscribers.h
// The subscriber list every ResourceStore keeps for subscribe(): publish() calls each active
// handler in turn; destroying a Subscription waits for its running handler call to finish, then
// no further call reaches it (the contract of kuma/store/resource_store.h). Subscriptions may
// outlive the list.
//
//   store::SubscriberList subscribers_;
//   SubscriptionPtr subscribe(Handler h) override { return subscribers_.subscribe(std::move(h)); }
//   subscribers_.publish(ChangeEvent{EventType::Create, type, key});   // after the commit

#include <functional>
#include <memory>

#include "kuma/store/resource_store.h"

namespace kuma::store {

class SubscriberList {
 public:
  SubscriberList();
  ~SubscriberList();
  SubscriberList(const SubscriberList&) = delete;
  SubscriberList& operator=(const SubscriberList&) = delete;

  SubscriptionPtr subscribe(std::function<void(const ChangeEvent&)> handler);

  /** Calls every active handler with `event`, one at a time, in subscription order. */
  void publish(const ChangeEvent& event);

  /** Internal: the list shared with the subscriptions. */
  struct State;

 private:
  const std::shared_ptr<State> state_;
};

}  // namespace kuma::store
