#include "source/core/metrics/instrumented_store.h"

#include <chrono>

namespace kuma::metrics {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/** Set by StoreCacheProbe::Back on the thread whose lookup went past the cache. */
thread_local bool tlsReachedStore = false;

/** Forwards everything; subclasses override what they observe. */
class ForwardingStore : public store::ResourceStore {
 public:
  explicit ForwardingStore(store::ResourceStore& inner) : inner_(inner) {}

  absl::StatusOr<model::ResourceConstSharedPtr> create(
      model::Resource resource, const store::CreateOptions& options) override {
    return inner_.create(std::move(resource), options);
  }
  absl::StatusOr<model::ResourceConstSharedPtr> update(model::Resource resource) override {
    return inner_.update(std::move(resource));
  }
  absl::Status remove(const model::ResourceTypeDescriptor& type,
                      const store::ResourceKey& key) override {
    return inner_.remove(type, key);
  }
  absl::StatusOr<model::ResourceConstSharedPtr> get(const model::ResourceTypeDescriptor& type,
                                                    const store::ResourceKey& key) override {
    return inner_.get(type, key);
  }
  absl::StatusOr<store::ResourceList> list(const model::ResourceTypeDescriptor& type,
                                           const store::ListOptions& options) override {
    return inner_.list(type, options);
  }
  store::SubscriptionPtr subscribe(
      std::function<void(const store::ChangeEvent&)> handler) override {
    return inner_.subscribe(std::move(handler));
  }

 protected:
  store::ResourceStore& inner_;
};

}  // namespace

InstrumentedStore::InstrumentedStore(store::ResourceStore& inner, Metrics& metrics)
    : inner_(inner), metrics_(metrics) {}

void InstrumentedStore::observe(const char* operation, const std::string& type, double seconds) {
  metrics_.store()
      .Add({{"operation", operation}, {"resource_type", type}}, Metrics::defaultBuckets())
      .Observe(seconds);
}

void InstrumentedStore::conflict(const std::string& type, bool happened) {
  // Written types get their series at 0 before any conflict, so that rate() and alerts see it.
  prometheus::Counter& counter = metrics_.storeConflicts().Add({{"resource_type", type}});
  if (happened) {
    counter.Increment();
  }
}

absl::StatusOr<model::ResourceConstSharedPtr> InstrumentedStore::create(
    model::Resource resource, const store::CreateOptions& options) {
  const std::string type = resource.descriptor != nullptr ? resource.descriptor->name : "";
  const auto start = Clock::now();
  auto result = inner_.create(std::move(resource), options);
  observe("create", type, secondsSince(start));
  conflict(type, absl::IsAlreadyExists(result.status()));
  return result;
}

absl::StatusOr<model::ResourceConstSharedPtr> InstrumentedStore::update(model::Resource resource) {
  const std::string type = resource.descriptor != nullptr ? resource.descriptor->name : "";
  const auto start = Clock::now();
  auto result = inner_.update(std::move(resource));
  observe("update", type, secondsSince(start));
  conflict(type, absl::IsAborted(result.status()));
  return result;
}

absl::Status InstrumentedStore::remove(const model::ResourceTypeDescriptor& type,
                                       const store::ResourceKey& key) {
  const auto start = Clock::now();
  absl::Status status = inner_.remove(type, key);
  observe("delete", type.name, secondsSince(start));
  return status;
}

absl::StatusOr<model::ResourceConstSharedPtr> InstrumentedStore::get(
    const model::ResourceTypeDescriptor& type, const store::ResourceKey& key) {
  const auto start = Clock::now();
  auto result = inner_.get(type, key);
  observe("get", type.name, secondsSince(start));
  return result;
}

absl::StatusOr<store::ResourceList> InstrumentedStore::list(
    const model::ResourceTypeDescriptor& type, const store::ListOptions& options) {
  const auto start = Clock::now();
  auto result = inner_.list(type, options);
  observe("list", type.name, secondsSince(start));
  return result;
}

store::SubscriptionPtr InstrumentedStore::subscribe(
    std::function<void(const store::ChangeEvent&)> handler) {
  return inner_.subscribe(std::move(handler));
}

class StoreCacheProbe::Back : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  absl::StatusOr<model::ResourceConstSharedPtr> get(const model::ResourceTypeDescriptor& type,
                                                    const store::ResourceKey& key) override {
    tlsReachedStore = true;
    return inner_.get(type, key);
  }
  absl::StatusOr<store::ResourceList> list(const model::ResourceTypeDescriptor& type,
                                           const store::ListOptions& options) override {
    tlsReachedStore = true;
    return inner_.list(type, options);
  }
};

class StoreCacheProbe::Front : public ForwardingStore {
 public:
  Front(store::ResourceStore& inner, Metrics& metrics)
      : ForwardingStore(inner), metrics_(metrics) {}

  absl::StatusOr<model::ResourceConstSharedPtr> get(const model::ResourceTypeDescriptor& type,
                                                    const store::ResourceKey& key) override {
    const bool outer = begin();
    auto result = inner_.get(type, key);
    end("get", type, outer);
    return result;
  }
  absl::StatusOr<store::ResourceList> list(const model::ResourceTypeDescriptor& type,
                                           const store::ListOptions& options) override {
    const bool outer = begin();
    auto result = inner_.list(type, options);
    end("list", type, outer);
    return result;
  }

 private:
  /** @return the flag of an enclosing lookup on this thread, restored by end(). */
  static bool begin() {
    const bool outer = tlsReachedStore;
    tlsReachedStore = false;
    return outer;
  }
  void end(const char* operation, const model::ResourceTypeDescriptor& type, bool outer) {
    const bool miss = tlsReachedStore;
    tlsReachedStore = outer;
    metrics_.storeCache()
        .Add({{"operation", operation},
              {"resource_type", type.name},
              {"result", miss ? "miss" : "hit"}})
        .Increment();
  }

  Metrics& metrics_;
};

StoreCacheProbe::StoreCacheProbe(Metrics& metrics) : metrics_(metrics) {}

StoreCacheProbe::~StoreCacheProbe() = default;

store::ResourceStore& StoreCacheProbe::back(store::ResourceStore& inner) {
  back_ = std::make_unique<Back>(inner);
  return *back_;
}

store::ResourceStore& StoreCacheProbe::front(store::ResourceStore& cache) {
  front_ = std::make_unique<Front>(cache, metrics_);
  return *front_;
}

}  // namespace kuma::metrics

namespace kuma::metrics {

Collector resourcesCountCollector(store::ResourceStore& store,
                                  std::vector<const model::ResourceTypeDescriptor*> types,
                                  ResourceCounter cached) {
  return [&store, types = std::move(types),
          cached = std::move(cached)](std::vector<prometheus::MetricFamily>& out) {
    std::vector<std::pair<prometheus::Labels, double>> values;
    for (const model::ResourceTypeDescriptor* type : types) {
      std::optional<size_t> count;
      if (cached) {
        count = cached(*type);
      } else {
        store::ListOptions options;
        options.pageSize = 1;  // only the total is needed
        auto list = store.list(*type, options);
        if (list.ok()) {
          count = list->total;
        }
      }
      if (count.has_value()) {
        values.push_back(
            {{{"resource_type", type->name}, {"tenant", ""}}, static_cast<double>(*count)});
      }
    }
    out.push_back(makeFamily("resources_count", "", prometheus::MetricType::Gauge, values));
  };
}

}  // namespace kuma::metrics
