#include "source/xds/cache/snapshot_cache.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace kuma::xds::cache {
namespace {

SnapshotConstSharedPtr makeSnapshot(const std::string& clusterVersion) {
  auto snapshot = std::make_shared<Snapshot>();
  auto& clusters = snapshot->types[kClusterType];
  clusters.version = clusterVersion;
  auto resource = std::make_shared<Resource>();
  resource->name = "c";
  resource->serialized = "bytes-" + clusterVersion;
  clusters.resources.emplace("c", resource);
  return snapshot;
}

TEST(XdsSnapshotCacheTest, GetSetClear) {
  SnapshotCache cache;
  EXPECT_EQ(cache.getSnapshot("a"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  auto s1 = makeSnapshot("1");
  cache.setSnapshot("a", s1);
  EXPECT_EQ(cache.getSnapshot("a"), s1);
  EXPECT_EQ(cache.getSnapshot("b"), nullptr);
  EXPECT_EQ(cache.size(), 1u);
  cache.clearSnapshot("a");
  EXPECT_EQ(cache.getSnapshot("a"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  cache.clearSnapshot("never-set");  // no-op
  cache.setSnapshot("a", nullptr);   // same as clear
  EXPECT_EQ(cache.size(), 0u);
}

TEST(XdsSnapshotCacheTest, WatchSeesChangesOfItsNodeOnly) {
  SnapshotCache cache;
  std::vector<SnapshotConstSharedPtr> seen;
  WatchHandle handle =
      cache.watch("a", [&](const SnapshotConstSharedPtr& s) { seen.push_back(s); });
  EXPECT_TRUE(handle.active());
  EXPECT_EQ(cache.watchCount(), 1u);
  auto s1 = makeSnapshot("1");
  cache.setSnapshot("a", s1);
  cache.setSnapshot("b", makeSnapshot("9"));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], s1);
  cache.clearSnapshot("a");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], nullptr);
}

TEST(XdsSnapshotCacheTest, UnchangedSnapshotWakesNobody) {
  SnapshotCache cache;
  int calls = 0;
  WatchHandle handle = cache.watch("a", [&](const SnapshotConstSharedPtr&) { ++calls; });
  auto s1 = makeSnapshot("1");
  cache.setSnapshot("a", s1);
  cache.setSnapshot("a", s1);                 // same pointer
  cache.setSnapshot("a", makeSnapshot("1"));  // same versions
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(cache.getSnapshot("a"), s1);  // the current one is kept
  cache.setSnapshot("a", makeSnapshot("2"));
  EXPECT_EQ(calls, 2);
}

TEST(XdsSnapshotCacheTest, CancelledWatchIsNotCalled) {
  SnapshotCache cache;
  int calls = 0;
  WatchHandle handle = cache.watch("a", [&](const SnapshotConstSharedPtr&) { ++calls; });
  handle.cancel();
  handle.cancel();  // idempotent
  EXPECT_FALSE(handle.active());
  EXPECT_EQ(cache.watchCount(), 0u);
  cache.setSnapshot("a", makeSnapshot("1"));
  EXPECT_EQ(calls, 0);
  {
    WatchHandle scoped = cache.watch("a", [&](const SnapshotConstSharedPtr&) { ++calls; });
    WatchHandle moved = std::move(scoped);
    EXPECT_EQ(cache.watchCount(), 1u);
  }
  EXPECT_EQ(cache.watchCount(), 0u);
  cache.setSnapshot("a", makeSnapshot("2"));
  EXPECT_EQ(calls, 0);
}

TEST(XdsSnapshotCacheTest, CancelWaitsForRunningWatcher) {
  SnapshotCache cache;
  std::atomic<bool> entered{false};
  std::atomic<bool> finished{false};
  WatchHandle handle = cache.watch("a", [&](const SnapshotConstSharedPtr&) {
    entered = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    finished = true;
  });
  std::thread publisher([&] { cache.setSnapshot("a", makeSnapshot("1")); });
  while (!entered) {
    std::this_thread::yield();
  }
  handle.cancel();
  EXPECT_TRUE(finished.load());
  publisher.join();
}

TEST(XdsSnapshotCacheTest, ConcurrentPublishersNeverDeliverAnOlderSnapshot) {
  SnapshotCache cache;
  std::vector<SnapshotConstSharedPtr> seen;
  WatchHandle handle = cache.watch("a", [&](const SnapshotConstSharedPtr& s) {
    seen.push_back(s);  // deliveries to one watcher are serialized
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        cache.setSnapshot("a", makeSnapshot(std::to_string(t) + "-" + std::to_string(i)));
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  ASSERT_FALSE(seen.empty());
  // The last delivery is the snapshot the cache ends up with.
  EXPECT_EQ(seen.back(), cache.getSnapshot("a"));
}

TEST(XdsSnapshotCacheTest, HandleOutlivingCacheIsSafe) {
  WatchHandle handle;
  {
    SnapshotCache cache;
    handle = cache.watch("a", [](const SnapshotConstSharedPtr&) {});
  }
  handle.cancel();
  EXPECT_FALSE(handle.active());
}

}  // namespace
}  // namespace kuma::xds::cache
