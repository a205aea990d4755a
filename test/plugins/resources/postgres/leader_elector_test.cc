#include "source/plugins/resources/postgres/leader_elector.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "gtest/gtest.h"
#include "test/plugins/resources/postgres/pg_test_env.h"

namespace kuma::store::postgres {
namespace {

using testing::server;

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

struct Candidate {
  std::atomic<int> elected{0};
  std::atomic<int> lost{0};
  std::unique_ptr<LeaderElector> elector;

  Candidate(const std::string& db, const std::string& owner) {
    LeaderElectorOptions o;
    o.connection = testing::settingsFor(db);
    o.owner = owner;
    // Kuma's 5s/1s/5s scaled down so the test stays short.
    o.leaseDuration = absl::Milliseconds(800);
    o.heartbeatInterval = absl::Milliseconds(150);
    o.retryInterval = absl::Milliseconds(1500);
    elector = std::make_unique<LeaderElector>(
        o, [this] { elected++; }, [this] { lost++; });
  }
};

TEST(PostgresLeaderElectorTest, ExactlyOneLeaderAndTakeoverWhenItsConnectionDies) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  const std::string db = testing::freshDatabase("leader");
  Candidate a(db, "cp-a");
  Candidate b(db, "cp-b");
  a.elector->start();
  b.elector->start();
  ASSERT_TRUE(eventually([&] { return a.elector->isLeader() || b.elector->isLeader(); },
                         std::chrono::seconds(5)));
  // Stays exactly one leader over several leases.
  for (int i = 0; i < 15; ++i) {
    EXPECT_NE(a.elector->isLeader(), b.elector->isLeader());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(a.elected + b.elected, 1);
  Candidate& leader = a.elector->isLeader() ? a : b;
  Candidate& follower = a.elector->isLeader() ? b : a;
  const std::string leaderName = &leader == &a ? "cp-a" : "cp-b";
  auto row = server()->superuserQuery("SELECT owner FROM locks WHERE name = 'kuma-cp-lock'", db);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(*row, std::vector<std::string>{leaderName});

  // Kill the leader's connection (only the leader runs the heartbeat UPDATE).
  auto killed = server()->superuserQuery(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db +
          "' AND query LIKE 'UPDATE locks%'",
      db);
  ASSERT_TRUE(killed.ok()) << killed.status();
  ASSERT_EQ(killed->size(), 1u);
  ASSERT_TRUE(eventually([&] { return leader.lost.load() == 1; }, std::chrono::seconds(3)));
  ASSERT_TRUE(eventually([&] { return follower.elector->isLeader(); }, std::chrono::seconds(5)));
  EXPECT_FALSE(leader.elector->isLeader());
  // The old leader reconnects and competes again, but cannot take a live lock.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(follower.elector->isLeader());
  EXPECT_FALSE(leader.elector->isLeader());
  EXPECT_EQ(leader.elected.load(), 1);

  // Stopping the leader releases the lock: the other wins on its next attempt.
  follower.elector->stop();
  EXPECT_EQ(follower.lost.load(), 1);
  EXPECT_TRUE(eventually([&] { return leader.elector->isLeader(); }, std::chrono::seconds(4)));
}

}  // namespace
}  // namespace kuma::store::postgres
