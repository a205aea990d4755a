// Concurrency part of the store conformance suite: many writers on shared and private keys.

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "source/core/store/errors.h"
#include "test/store_conformance/event_recorder.h"
#include "test/store_conformance/store_conformance.h"

namespace kuma::store::conformance {

int linkStoreConformanceConcurrency() {
  return 1;
}

namespace {

constexpr int kThreads = 8;
constexpr int kOpsPerThread = 200;

struct WorkerResult {
  int sharedSuccesses = 0;
  int sharedConflicts = 0;
  int raceWins = 0;
  int raceLosses = 0;
  int privateUpdates = 0;
  std::vector<std::string> sharedVersions;
  std::vector<std::string> unexpected;
};

TEST_P(StoreConformanceTest, ConcurrentWritersLoseNoUpdates) {
  EventRecorder recorder(store());
  ASSERT_NE(mustCreateItem("m1", "shared", {{"n", 0}}), nullptr);
  ASSERT_TRUE(recorder.consumeSetUp(1));

  std::vector<WorkerResult> results(kThreads);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      while (!go.load()) {
        std::this_thread::yield();
      }
      WorkerResult& r = results[t];
      const std::string privateName = absl::StrCat("private-", t);
      for (int op = 0; op < kOpsPerThread; op++) {
        switch (op % 4) {
          case 0:
          case 2: {  // read-modify-write of the shared counter
            auto got = store().get(testItemType(), ResourceKey{"shared", "m1"});
            if (!got.ok()) {
              r.unexpected.push_back(got.status().ToString());
              break;
            }
            model::Resource next = **got;
            next.spec = jsonSpec({{"n", jsonOf(**got)["n"].get<int>() + 1}});
            auto updated = store().update(next);
            if (updated.ok()) {
              r.sharedSuccesses++;
              r.sharedVersions.push_back((*updated)->meta.version);
            } else if (isConflict(updated.status())) {
              r.sharedConflicts++;
            } else {
              r.unexpected.push_back(updated.status().ToString());
            }
            break;
          }
          case 1: {  // every thread races to create the same key
            auto created = store().create(
                makeResource(testItemType(), "m1", absl::StrCat("race-", op / 4)), {});
            if (created.ok()) {
              r.raceWins++;
            } else if (isAlreadyExists(created.status())) {
              r.raceLosses++;
            } else {
              r.unexpected.push_back(created.status().ToString());
            }
            break;
          }
          case 3: {  // private key: create once, then update without contention
            auto got = store().get(testItemType(), ResourceKey{privateName, "m1"});
            if (isNotFound(got.status())) {
              auto created =
                  store().create(makeResource(testItemType(), "m1", privateName, {{"n", 0}}), {});
              if (!created.ok()) {
                r.unexpected.push_back(created.status().ToString());
              }
              break;
            }
            if (!got.ok()) {
              r.unexpected.push_back(got.status().ToString());
              break;
            }
            model::Resource next = **got;
            next.spec = jsonSpec({{"n", jsonOf(**got)["n"].get<int>() + 1}});
            auto updated = store().update(next);
            if (updated.ok()) {
              r.privateUpdates++;
            } else {
              r.unexpected.push_back(updated.status().ToString());
            }
            break;
          }
        }
      }
    });
  }
  go.store(true);
  for (auto& thread : threads) {
    thread.join();
  }

  int successes = 0;
  int conflicts = 0;
  int raceWins = 0;
  int raceLosses = 0;
  std::set<std::string> versions;
  for (int t = 0; t < kThreads; t++) {
    const WorkerResult& r = results[t];
    EXPECT_TRUE(r.unexpected.empty()) << "thread " << t << ": " << r.unexpected.front();
    successes += r.sharedSuccesses;
    conflicts += r.sharedConflicts;
    raceWins += r.raceWins;
    raceLosses += r.raceLosses;
    versions.insert(r.sharedVersions.begin(), r.sharedVersions.end());

    auto own = store().get(testItemType(), ResourceKey{absl::StrCat("private-", t), "m1"});
    ASSERT_TRUE(own.ok()) << own.status();
    EXPECT_EQ(jsonOf(**own)["n"], r.privateUpdates) << "thread " << t;
  }
  const int sharedAttempts = kThreads * kOpsPerThread / 2;
  EXPECT_EQ(successes + conflicts, sharedAttempts);
  EXPECT_GT(successes, 0);
  // Every successful update got its own version, and none was lost.
  EXPECT_EQ(versions.size(), static_cast<size_t>(successes));
  auto shared = store().get(testItemType(), ResourceKey{"shared", "m1"});
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(jsonOf(**shared)["n"], successes);
  EXPECT_TRUE(versions.contains((*shared)->meta.version));

  const int raceKeys = kOpsPerThread / 4;
  EXPECT_EQ(raceWins, raceKeys);
  EXPECT_EQ(raceWins + raceLosses, kThreads * raceKeys);
  auto races = store().list(testItemType(), listOptions("", "race-"));
  ASSERT_TRUE(races.ok());
  EXPECT_EQ(races->total, static_cast<size_t>(raceKeys));

  // One event per committed write: shared updates, race winners, private creates and updates.
  int privateUpdates = 0;
  for (const auto& r : results) {
    privateUpdates += r.privateUpdates;
  }
  const size_t expectedEvents =
      static_cast<size_t>(successes + raceWins + kThreads + privateUpdates);
  ASSERT_TRUE(recorder.waitForCount(expectedEvents));
  size_t sharedUpdateEvents = 0;
  for (const auto& e : recorder.events()) {
    if (e.type == EventType::Update && e.key == ResourceKey{"shared", "m1"}) {
      sharedUpdateEvents++;
    }
  }
  EXPECT_EQ(sharedUpdateEvents, static_cast<size_t>(successes));
  EXPECT_EQ(recorder.count(), expectedEvents) << [&] {
    // Which keys got more (or fewer) events than their writes, to tell a replayed event apart.
    std::map<std::string, int> perKey;
    for (const auto& e : recorder.events()) {
      perKey[absl::StrCat(static_cast<int>(e.type), " ", e.key.name)]++;
    }
    std::string out;
    for (const auto& [key, n] : perKey) {
      if (absl::StartsWith(key, "0 ") ? n != 1 : !absl::StrContains(key, "shared")) {
        absl::StrAppend(&out, key, ": ", n, "\n");
      }
    }
    for (int t = 0; t < kThreads; t++) {
      absl::StrAppend(&out, "private-", t, " updates: ", results[t].privateUpdates, "\n");
    }
    return out;
  }();
}

TEST_P(StoreConformanceTest, ConcurrentCascadeAndCreatesStayConsistent) {
  // Children are created under an owner while another thread removes it: afterwards no child
  // may outlive its owner.
  ASSERT_NE(mustCreateMesh("m1"), nullptr);
  std::atomic<bool> removed{false};
  std::vector<std::thread> threads;
  std::atomic<int> unexpected{0};
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; i++) {
        auto created =
            store().create(makeResource(testItemType(), "m1", absl::StrCat("c-", t, "-", i)),
                           ownedBy(&testMeshType(), ResourceKey{"m1", ""}));
        if (!created.ok() && !isNotFound(created.status())) {
          unexpected++;
        }
      }
    });
  }
  threads.emplace_back([&] {
    std::this_thread::yield();
    removed = store().remove(testMeshType(), ResourceKey{"m1", ""}).ok();
  });
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(unexpected.load(), 0);
  ASSERT_TRUE(removed.load());
  auto left = store().list(testItemType(), ListOptions{});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->total, 0u) << "children outlived their removed owner";
}

}  // namespace
}  // namespace kuma::store::conformance
