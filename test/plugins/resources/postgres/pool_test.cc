#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "source/plugins/resources/postgres/pool.h"
#include "source/plugins/resources/postgres/postgres_store.h"
#include "test/plugins/resources/postgres/pg_test_env.h"
#include "test/store_conformance/test_types.h"

namespace kuma::store::postgres {
namespace {

using ::testing::HasSubstr;
using testing::server;
using testing::settingsFor;

TEST(PostgresConnectionTest, ConnectionStringQuotesValuesAndMapsTls) {
  ConnectionSettings s;
  s.host = "db.local";
  s.port = 5433;
  s.user = "ku'ma";
  s.password = "p\\w d";
  s.dbName = "kuma";
  s.connectionTimeoutSeconds = 7;
  s.tlsMode = TlsMode::VerifyFull;
  s.caPath = "/ca.pem";
  s.certPath = "/c.pem";
  s.keyPath = "/k.pem";
  s.disableSslSni = true;
  const std::string cs = connectionString(s);
  EXPECT_THAT(cs, HasSubstr("host='db.local' port=5433 user='ku\\'ma' password='p\\\\w d'"));
  EXPECT_THAT(cs, HasSubstr("connect_timeout=7 sslmode=verify-full"));
  EXPECT_THAT(cs, HasSubstr("sslcert='/c.pem' sslkey='/k.pem' sslrootcert='/ca.pem' sslsni=0"));
  EXPECT_THAT(redactedConnectionString(s), HasSubstr("password=*****"));
  EXPECT_THAT(redactedConnectionString(s), ::testing::Not(HasSubstr("p\\\\w")));
  s.tlsMode = TlsMode::VerifyNone;
  EXPECT_THAT(connectionString(s), HasSubstr("sslmode=require"));
}

TEST(PostgresConnectionTest, RejectsInvalidSettings) {
  EXPECT_FALSE(parseTlsMode("strict").ok());
  EXPECT_EQ(*parseTlsMode("verifyCa"), TlsMode::VerifyCa);
  ConnectionSettings s;
  s.tlsMode = TlsMode::VerifyCa;
  EXPECT_THAT(std::string(validateConnectionSettings(s).message()), HasSubstr("caPath"));
  s = ConnectionSettings{};
  s.certPath = "/c.pem";
  EXPECT_TRUE(absl::IsInvalidArgument(validateConnectionSettings(s)));
  s = ConnectionSettings{};
  s.password = "";
  EXPECT_TRUE(absl::IsInvalidArgument(validateConnectionSettings(s)));

  PoolOptions p;
  p.maxOpenConnections = 0;
  p.minOpenConnections = 1;  // Kuma: any min > 0 with max 0 is rejected
  EXPECT_TRUE(absl::IsInvalidArgument(validatePoolOptions(p)));
  p = PoolOptions{};
  p.maxConnectionLifetime = absl::Seconds(1);
  p.maxConnectionLifetimeJitter = absl::Seconds(2);
  EXPECT_TRUE(absl::IsInvalidArgument(validatePoolOptions(p)));
  EXPECT_TRUE(validatePoolOptions(PoolOptions{}).ok());
}

TEST(PostgresConnectionTest, WrongPasswordIsUnavailableWithClearMessage) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  ConnectionSettings s = settingsFor();
  s.password = "wrong";
  absl::StatusOr<ConnectionPtr> conn = openConnection(s);
  ASSERT_FALSE(conn.ok());
  EXPECT_TRUE(absl::IsUnavailable(conn.status())) << conn.status();
  EXPECT_THAT(std::string(conn.status().message()), HasSubstr("cannot connect to DB"));
}

// A TCP listener that completes the handshake (kernel backlog) but never answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(PostgresPoolTest, ConnectTimeoutAgainstSilentServerIsBounded) {
  SilentListener silent;
  ConnectionSettings s;
  s.host = "127.0.0.1";
  s.port = silent.port();
  s.connectionTimeoutSeconds = 2;
  auto pool = ConnectionPool::create(s, PoolOptions{});
  ASSERT_TRUE(pool.ok()) << pool.status();
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ConnectionPool::Lease> lease = (*pool)->acquire();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(lease.ok());
  EXPECT_TRUE(absl::IsUnavailable(lease.status())) << lease.status();
  EXPECT_GE(elapsed, std::chrono::milliseconds(1500));
  EXPECT_LT(elapsed, std::chrono::seconds(6));
  EXPECT_EQ((*pool)->stats().open, 0);
  EXPECT_EQ((*pool)->stats().connectFailures, 1u);
}

TEST(PostgresPoolTest, WaitForAFreeConnectionEndsUnavailableAtTheDeadline) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  PoolOptions o;
  o.maxOpenConnections = 1;
  o.acquireTimeout = absl::Milliseconds(300);
  auto pool = ConnectionPool::create(settingsFor(), o);
  ASSERT_TRUE(pool.ok()) << pool.status();
  {
    absl::StatusOr<ConnectionPool::Lease> held = (*pool)->acquire();
    ASSERT_TRUE(held.ok()) << held.status();
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<ConnectionPool::Lease> second = (*pool)->acquire();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(second.ok());
    EXPECT_TRUE(absl::IsUnavailable(second.status()));
    EXPECT_THAT(std::string(second.status().message()), HasSubstr("maxOpenConnections"));
    EXPECT_GE(elapsed, std::chrono::milliseconds(250));
    EXPECT_LT(elapsed, std::chrono::seconds(3));
    EXPECT_EQ((*pool)->stats().acquireTimeouts, 1u);
    EXPECT_EQ((*pool)->stats().inUse, 1);
  }
  // Released: usable again, and the same connection is reused.
  absl::StatusOr<ConnectionPool::Lease> again = (*pool)->acquire();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*pool)->stats().opened, 1u);
}

TEST(PostgresPoolTest, FiftyConcurrentOperationsNeverExceedMaxOpen) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  const std::string db = testing::freshDatabase("pool_limit");
  StoreOptions options = testing::storeOptionsFor(db);
  options.pool.maxOpenConnections = 5;
  options.pool.acquireTimeout = absl::Seconds(20);
  auto store = newPostgresStore(options);
  ASSERT_TRUE(store.ok()) << store.status();

  std::atomic<bool> done{false};
  std::atomic<int> maxSeen{0};
  std::atomic<int> maxStatsOpen{0};
  std::thread sampler([&] {
    pqxx::connection admin(server()->superuserConnectionString("postgres"));
    while (!done.load()) {
      pqxx::nontransaction tx(admin);
      // The LISTEN connection is separate from the pool: exclude it.
      const int n = tx.exec_params1(
                          "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND "
                          "backend_type = 'client backend' AND query NOT ILIKE 'listen%'",
                          db)[0]
                        .as<int>();
      maxSeen = std::max(maxSeen.load(), n);
      maxStatsOpen = std::max(maxStatsOpen.load(), (*store)->stats().open);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 50; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        auto created = (*store)->create(
            conformance::makeResource(conformance::testItemType(), "m", absl::StrCat(t, "-", i)),
            {});
        auto listed = (*store)->list(conformance::testItemType(), ListOptions{});
        if (!created.ok() || !listed.ok()) {
          failures++;
        }
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  done = true;
  sampler.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(maxSeen.load(), 0);
  EXPECT_LE(maxSeen.load(), 5);
  EXPECT_LE(maxStatsOpen.load(), 5);
  EXPECT_EQ((*store)->stats().inUse, 0);
  EXPECT_EQ((*store)->stats().waiting, 0);
}

TEST(PostgresPoolTest, KeepsMinimumAndRecyclesByLifetime) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  PoolOptions o;
  o.maxOpenConnections = 3;
  o.minOpenConnections = 2;
  o.maxConnectionLifetime = absl::Milliseconds(300);
  o.maxConnectionLifetimeJitter = absl::ZeroDuration();
  o.healthCheckInterval = absl::Milliseconds(100);
  auto pool = ConnectionPool::create(settingsFor(), o);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((*pool)->stats().idle < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ((*pool)->stats().idle, 2);
  int firstPid = 0;
  {
    auto lease = (*pool)->acquire();
    ASSERT_TRUE(lease.ok());
    firstPid = (*lease)->backendpid();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  auto lease = (*pool)->acquire();
  ASSERT_TRUE(lease.ok());
  EXPECT_NE((*lease)->backendpid(), firstPid);
  EXPECT_GE((*pool)->stats().closed, 2u);
  EXPECT_LE((*pool)->stats().open, 3);
}

TEST(PostgresPoolTest, UnlimitedWhenMaxIsZero) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  PoolOptions o;
  o.maxOpenConnections = 0;
  auto pool = ConnectionPool::create(settingsFor(), o);
  ASSERT_TRUE(pool.ok());
  std::vector<ConnectionPool::Lease> leases;
  for (int i = 0; i < 8; ++i) {
    auto lease = (*pool)->acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    leases.push_back(std::move(*lease));
  }
  EXPECT_EQ((*pool)->stats().open, 8);
}

}  // namespace
}  // namespace kuma::store::postgres
