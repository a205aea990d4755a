#pragma once

// File: load_runner.h
// Runs N emulated proxies against kuma-cp's ADS with gRPC's callback API: no thread per stream.
// gRPC's own callback threads run every reaction; one scheduler thread opens the streams over the
// ramp-up and reopens the ones that end (jittered, doubling backoff, like Envoy). Each proxy's
// AdsState is guarded by its own mutex; counters for the progress line are atomics.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "bench/xds_load/ads_state.h"
#include "bench/xds_load/options.h"
#include "bench/xds_load/proxy_spec.h"
#include "bench/xds_load/report.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"

namespace kuma::bench::load {

/** Runs callbacks at given times on one thread. */
class Scheduler {
 public:
  Scheduler();
  ~Scheduler();
  void at(SteadyTime when, std::function<void()> fn);
  /** Drops what is pending and joins the thread. Idempotent. */
  void stop();

 private:
  struct Item {
    SteadyTime when;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Item& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> items_;
  uint64_t seq_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

/** Counters for the progress line (monotonic except live/completeNow). */
struct Progress {
  uint64_t launched = 0;
  uint64_t live = 0;
  uint64_t everComplete = 0;
  uint64_t completeNow = 0;
  uint64_t responses = 0;
  uint64_t bytes = 0;
  uint64_t closed = 0;
};

class Proxy;

class LoadRunner {
 public:
  explicit LoadRunner(LoadOptions options);
  ~LoadRunner();

  /** Reads the CA and builds the channel credentials. */
  absl::Status init();
  /** Schedules every proxy's first stream over the ramp-up. */
  void start();
  Progress progress() const;
  /** Stops reconnecting, cancels every stream and waits (bounded) until they are done. */
  void stop();
  /** Per-proxy JSON (after stop()). */
  std::vector<nlohmann::json> proxyReports() const;
  const EpochClock& clock() const { return clock_; }

  // Used by the streams.
  void launch(Proxy& proxy);
  void onStreamDone(Proxy& proxy, bool wasComplete);
  std::atomic<uint64_t> launched_{0}, live_{0}, everComplete_{0}, completeNow_{0}, responses_{0},
      bytes_{0}, closed_{0};
  std::atomic<bool> stopping_{false};
  const LoadOptions& options() const { return options_; }

 private:
  struct Channel {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<envoy::service::discovery::v3::AggregatedDiscoveryService::Stub> stub;
  };
  Channel& channelFor(size_t group);

  LoadOptions options_;
  EpochClock clock_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::vector<std::unique_ptr<Channel>> channels_;  // touched by the scheduler thread only
  std::vector<std::unique_ptr<Proxy>> proxies_;
  Scheduler scheduler_;
};

}  // namespace kuma::bench::load
