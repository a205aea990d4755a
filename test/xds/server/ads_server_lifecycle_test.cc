#include <dirent.h>

#include <atomic>

#include "gtest/gtest.h"
#include "source/xds/server/timer_queue.h"
#include "test/xds/server/ads_test_util.h"

namespace kuma::xds::server::testing {
namespace {

SnapshotSpec clustersOnly(const std::string& version) {
  return {{kClusterType, {version, {{"a", version}}}}};
}

size_t threadCount() {
  size_t count = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) {
    return 0;
  }
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') {
      ++count;
    }
  }
  closedir(dir);
  return count;
}

TEST(XdsAdsLifecycleTest, SecondStreamOfANodeIsRejectedWhileTheFirstStays) {
  AdsFixture f;
  f.cache.setSnapshot("n", makeSnapshot(clustersOnly("v1")));
  auto first = openSotw(f);
  ASSERT_TRUE(first->send(sotwRequest(kClusterType, {}, "", "", "n")));
  auto r1 = first->next();
  ASSERT_TRUE(r1);
  ASSERT_TRUE(first->send(ack(*r1)));

  auto second = openSotw(f);
  ASSERT_TRUE(second->send(sotwRequest(kClusterType, {}, "", "", "n")));
  auto status = second->waitDone();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(status->error_message(),
            "there is already an active stream from this node, try again later");
  EXPECT_EQ(f.ads->stats().streamsRejected, 1u);

  // The first stream still works.
  f.cache.setSnapshot("n", makeSnapshot(clustersOnly("v2")));
  auto r2 = first->next();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->version_info(), "v2");

  // Once it is gone, the node may connect again.
  first->closeSend();
  auto firstStatus = first->waitDone();
  ASSERT_TRUE(firstStatus);
  EXPECT_TRUE(firstStatus->ok());
  ASSERT_TRUE(f.callbacks.waitClosed(1, 5s));
  auto third = openSotw(f);
  ASSERT_TRUE(third->send(sotwRequest(kClusterType, {}, "", "", "n")));
  auto r3 = third->next();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->version_info(), "v2");
  std::lock_guard<std::mutex> lock(f.callbacks.mu);
  ASSERT_EQ(f.callbacks.closed.size(), 1u);
  EXPECT_EQ(f.callbacks.closed[0].second, "n");
  EXPECT_EQ(f.callbacks.closed[0].first, f.callbacks.opened[0].first);
}

TEST(XdsAdsLifecycleTest, OpenHookSeesMetadataAndItsErrorEndsTheStream) {
  AdsFixture f;
  f.callbacks.openStatus = absl::PermissionDeniedError("authentication failed: bad token");
  f.cache.setSnapshot("n", makeSnapshot(clustersOnly("v1")));
  auto client = openSotw(f, "token-123");
  ASSERT_TRUE(client->send(sotwRequest(kClusterType, {}, "", "", "n")));
  auto status = client->waitDone();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status->error_message(), "authentication failed: bad token");
  {
    std::lock_guard<std::mutex> lock(f.callbacks.mu);
    ASSERT_EQ(f.callbacks.infos.size(), 1u);
    auto it = f.callbacks.infos[0].metadata.find("authorization");
    ASSERT_NE(it, f.callbacks.infos[0].metadata.end());
    EXPECT_EQ(it->second, "token-123");
    EXPECT_FALSE(f.callbacks.infos[0].delta);
    EXPECT_NE(f.callbacks.infos[0].peer.find("127.0.0.1"), std::string::npos);
  }
  // A rejected stream does not hold the node: the next (accepted) one gets its snapshot.
  f.callbacks.openStatus = absl::OkStatus();
  auto retry = openSotw(f);
  ASSERT_TRUE(retry->send(sotwRequest(kClusterType, {}, "", "", "n")));
  EXPECT_TRUE(retry->next());
  std::this_thread::sleep_for(100ms);
  std::lock_guard<std::mutex> lock(f.callbacks.mu);
  EXPECT_TRUE(f.callbacks.closed.empty()) << "closed is reported only for opened streams";
}

TEST(XdsAdsLifecycleTest, ShutdownEndsEveryStreamWithUnavailable) {
  AdsFixture f(200ms, /*withCallbacks=*/false);
  std::vector<std::unique_ptr<SotwClient>> clients;
  for (int i = 0; i < 3; ++i) {
    f.cache.setSnapshot("n" + std::to_string(i), makeSnapshot(clustersOnly("v1")));
    clients.push_back(openSotw(f));
    ASSERT_TRUE(
        clients.back()->send(sotwRequest(kClusterType, {}, "", "", "n" + std::to_string(i))));
    ASSERT_TRUE(clients.back()->next());
  }
  auto delta = openDelta(f);  // opened but no request yet
  std::this_thread::sleep_for(100ms);
  auto start = std::chrono::steady_clock::now();
  f.ads->shutdown();
  for (auto& client : clients) {
    auto status = client->waitDone(3s);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  auto deltaStatus = delta->waitDone(3s);
  ASSERT_TRUE(deltaStatus);
  EXPECT_EQ(deltaStatus->error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

  auto late = openSotw(f);
  late->send(sotwRequest(kClusterType, {}, "", "", "late"));
  auto lateStatus = late->waitDone(3s);
  ASSERT_TRUE(lateStatus);
  EXPECT_EQ(lateStatus->error_code(), grpc::StatusCode::UNAVAILABLE);
  // OnDone (which updates the gauge) may run just after the client saw the status.
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (f.ads->stats().streamsActive != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(f.ads->stats().streamsActive, 0u);
}

TEST(XdsAdsLifecycleTest, ManyConcurrentStreamsDoNotNeedAThreadEach) {
  constexpr int kStreams = 200;
  AdsFixture f(200ms, /*withCallbacks=*/false);
  for (int i = 0; i < kStreams; ++i) {
    f.cache.setSnapshot("dp-" + std::to_string(i), makeSnapshot(clustersOnly("v1")));
  }
  // Warm the server's thread pools with one stream first.
  {
    auto warm = openSotw(f);
    ASSERT_TRUE(warm->send(sotwRequest(kClusterType, {}, "", "", "warm")));
    std::this_thread::sleep_for(100ms);
  }
  const size_t before = threadCount();

  // Sync client streams (no reader threads here): one blocking read each, in turn.
  struct Stream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderWriter<DiscoveryRequest, DiscoveryResponse>> rw;
  };
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    auto s = std::make_unique<Stream>();
    s->context.set_deadline(std::chrono::system_clock::now() + 30s);
    s->rw = f.stub->StreamAggregatedResources(&s->context);
    ASSERT_TRUE(s->rw->Write(sotwRequest(kClusterType, {}, "", "", "dp-" + std::to_string(i))));
    streams.push_back(std::move(s));
  }
  std::vector<DiscoveryResponse> first(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_TRUE(streams[i]->rw->Read(&first[i])) << i;
    EXPECT_EQ(first[i].version_info(), "v1");
    ASSERT_TRUE(streams[i]->rw->Write(ack(first[i])));
  }
  // (+1 while the warm-up stream's OnDone may still be pending)
  EXPECT_GE(f.ads->stats().streamsActive, static_cast<uint64_t>(kStreams));
  const size_t during = threadCount();
  EXPECT_LT(during, before + 40) << "before=" << before << " during=" << during;
  RecordProperty("threads_before", static_cast<int>(before));
  RecordProperty("threads_during", static_cast<int>(during));

  // A push to every proxy.
  for (int i = 0; i < kStreams; ++i) {
    f.cache.setSnapshot("dp-" + std::to_string(i), makeSnapshot(clustersOnly("v2")));
  }
  for (int i = 0; i < kStreams; ++i) {
    DiscoveryResponse pushed;
    ASSERT_TRUE(streams[i]->rw->Read(&pushed)) << i;
    EXPECT_EQ(pushed.version_info(), "v2");
  }
  for (auto& s : streams) {
    s->context.TryCancel();
    DiscoveryResponse ignored;
    while (s->rw->Read(&ignored)) {
    }
    s->rw->Finish();
  }
}

TEST(XdsTimerQueueTest, RunsCallbacksInDeadlineOrder) {
  TimerQueue timers;
  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> done{0};
  auto now = TimerQueue::Clock::now();
  timers.schedule(now + 150ms, [&] {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(2);
    ++done;
  });
  timers.schedule(now + 50ms, [&] {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(1);
    ++done;
  });
  timers.schedule(now + 10s, [&] { ADD_FAILURE() << "dropped at destruction"; });
  for (int i = 0; i < 100 && done < 2; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(TimerQueue::Clock::now() - now, 150ms);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(timers.pending(), 1u);
}

}  // namespace
}  // namespace kuma::xds::server::testing
