// End to end with store.type postgres: the real kuma-cp binary against a throwaway PostgreSQL
// (test/test_common/postgres_server.h). Boot gate and `migrate up`, persistence across restarts
// (resources, the meshes' VIPs and the cluster id),
// the pool cap under 200 concurrent REST writers (seen from pg_stat_activity), the connection
// timeout against a listener that never answers, two instances on one database (events, leader
// election, takeover) and a database outage under load with a real Envoy connected.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/integration/xds_envoy_fixture.h"
#include "test/integration/kuma_cp_start.h"
#include "test/test_common/postgres_server.h"
#include "test/test_common/process.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

PostgresServer* server = nullptr;

class PostgresEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto launched = PostgresServer::launch();
    ASSERT_TRUE(launched.ok()) << launched.status();
    owned_ = std::move(*launched);
    server = owned_.get();
  }
  void TearDown() override {
    server = nullptr;
    owned_.reset();
  }

 private:
  std::unique_ptr<PostgresServer> owned_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new PostgresEnvironment());

/** A fresh database per test; the environment variables that point kuma-cp at it. */
std::map<std::string, std::string> freshDatabase(const std::string& name,
                                                 std::map<std::string, std::string> extra = {}) {
  EXPECT_TRUE(server->createDatabase(name).ok());
  std::map<std::string, std::string> env = {
      {"KUMA_STORE_TYPE", "postgres"},
      {"KUMA_STORE_POSTGRES_HOST", server->host()},
      {"KUMA_STORE_POSTGRES_PORT", std::to_string(server->port())},
      {"KUMA_STORE_POSTGRES_USER", server->user()},
      {"KUMA_STORE_POSTGRES_PASSWORD", server->password()},
      {"KUMA_STORE_POSTGRES_DB_NAME", name},
      {"KUMA_STORE_POSTGRES_CONNECTION_TIMEOUT", "2"},
  };
  for (auto& [k, v] : extra) {
    env[k] = v;
  }
  return env;
}

ExitResult kumaCp(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  return runToExit(binaryPath("kuma-cp"), args, env, timeout);
}

void migrate(const std::map<std::string, std::string>& env) {
  ExitResult r = kumaCp({"migrate", "up"}, env);
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("DB has been migrated for Kuma 2.14"));
}

httplib::Client api(const KumaCp& cp) {
  httplib::Client c("127.0.0.1", cp.apiPort());
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(30, 0);
  return c;
}

nlohmann::json meshTimeout(const std::string& name, const std::string& timeout = "5s") {
  return {
      {"type", "MeshTimeout"},
      {"mesh", "default"},
      {"name", name},
      {"spec",
       {{"targetRef", {{"kind", "Mesh"}}},
        {"to",
         {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"connectionTimeout", timeout}}}}}}}}};
}

int putTimeout(httplib::Client& c, const std::string& name, const std::string& timeout = "5s",
               std::string* body = nullptr) {
  auto r = c.Put("/meshes/default/meshtimeouts/" + name, meshTimeout(name, timeout).dump(),
                 "application/json");
  if (!r) {
    if (body != nullptr) {
      *body = httplib::to_string(r.error());
    }
    return -1;
  }
  if (body != nullptr) {
    *body = r->body;
  }
  return r->status;
}

int getStatus(httplib::Client& c, const std::string& path) {
  auto r = c.Get(path);
  return r ? r->status : -1;
}

/** The default mesh is created by the leader, asynchronously with PostgreSQL. */
bool waitForDefaultMesh(const KumaCp& cp) {
  auto c = api(cp);
  return eventually([&] { return getStatus(c, "/meshes/default") == 200; },
                    std::chrono::seconds(20));
}

/** The value of the `leader` gauge on /metrics, or -1. */
int leaderGauge(const KumaCp& cp) {
  httplib::Client c("127.0.0.1", cp.diagnosticsPort());
  c.set_read_timeout(5, 0);
  auto r = c.Get("/metrics");
  if (!r || r->status != 200) {
    return -1;
  }
  std::istringstream lines(r->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("leader{", 0) == 0 || line.rfind("leader ", 0) == 0) {
      return line.back() == '1' ? 1 : 0;
    }
  }
  return -1;
}

TEST(PostgresE2e, BootGateMigrateUpAndDataSurvivesRestart) {
  auto env = freshDatabase("boot");
  // Never migrated: refused with Kuma's message, exit 1, before anything listens.
  ExitResult refused = kumaCp({"run"}, env);
  EXPECT_EQ(refused.exitCode, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("database is not migrated. Run \"kuma-cp migrate up\" to "
                                        "update database to the newest schema"));
  EXPECT_THAT(refused.output, HasSubstr("unable to set up Control Plane runtime"));

  // migrate up on the memory store is refused.
  ExitResult memory = kumaCp({"migrate", "up"}, {{"KUMA_STORE_TYPE", "memory"}});
  EXPECT_EQ(memory.exitCode, 1);
  EXPECT_THAT(memory.output, HasSubstr("migrations are not supported for Memory resource store"));

  migrate(env);
  ExitResult again = kumaCp({"migrate", "up"}, env);
  EXPECT_EQ(again.exitCode, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("DB has already been migrated for Kuma 2.14"));

  // An older schema version is "not migrated" as well.
  ASSERT_TRUE(
      server->superuserQuery("UPDATE schema_migrations SET version = 1701180642", "boot").ok());
  ExitResult older = kumaCp({"run"}, env);
  EXPECT_EQ(older.exitCode, 1) << older.output;
  EXPECT_THAT(older.output, HasSubstr("database is not migrated"));
  ASSERT_TRUE(
      server->superuserQuery("UPDATE schema_migrations SET version = 1710856785", "boot").ok());

  std::string written;
  {
    auto cp = startCp(env);
    ASSERT_TRUE(cp);
    ASSERT_TRUE(waitForDefaultMesh(*cp)) << cp->output();
    auto c = api(*cp);
    ASSERT_EQ(putTimeout(c, "kept", "42s"), 201);
    auto r = c.Get("/meshes/default/meshtimeouts/kept");
    ASSERT_TRUE(r);
    written = r->body;
    EXPECT_EQ(leaderGauge(*cp), 1);
    EXPECT_EQ(cp->stop(SIGTERM, std::chrono::seconds(15)), 0) << cp->output();
  }
  auto cp = startCp(env);
  ASSERT_TRUE(cp);
  auto c = api(*cp);
  auto r = c.Get("/meshes/default/meshtimeouts/kept");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, written);
  // The rows are Kuma's: the spec column holds the REST spec.
  auto rows = server->superuserQuery(
      "SELECT spec FROM resources WHERE type = 'MeshTimeout' AND name = 'kept'", "boot");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_THAT((*rows)[0], HasSubstr("42s"));
}

nlohmann::json serviceDataplane(const std::string& name, const std::string& service,
                                const std::string& address) {
  return {{"type", "Dataplane"},
          {"mesh", "default"},
          {"name", name},
          {"networking",
           {{"address", address},
            {"inbound", {{{"port", 8080}, {"tags", {{"kuma.io/service", service}}}}}}}}};
}

/** The text of the Config row `name`, as Kuma stores it (spec column `{"config": "..."}`). */
std::string configRow(const std::string& db, const std::string& name) {
  auto rows = server->superuserQuery(
      "SELECT spec FROM resources WHERE type = 'Config' AND mesh = '' AND name = '" + name + "'",
      db);
  if (!rows.ok() || rows->size() != 1) {
    return "";
  }
  auto spec = nlohmann::json::parse((*rows)[0], nullptr, false);
  return spec.is_object() ? spec.value("config", std::string()) : "";
}

// Kuma keeps a mesh's VIPs in Config `kuma-<mesh>-dns-vips` and the cluster id in Config
// `kuma-cluster-id` (spec §7.3.1, §12): after a restart a service that joined later keeps its
// VIP, although a fresh allocation (sorted by name) would hand it another one, so every proxy
// keeps its outbound listeners and DNS answers; the index reports the same clusterId.
TEST(PostgresE2e, VipsAndClusterIdSurviveRestart) {
  const std::string db = "vips";
  auto env = freshDatabase(db);
  migrate(env);
  std::string clusterId;
  const nlohmann::json client = {
      {"type", "Dataplane"},
      {"mesh", "default"},
      {"name", "client-1"},
      {"networking",
       {{"address", "10.0.0.5"},
        {"inbound", {{{"port", 8080}, {"tags", {{"kuma.io/service", "zclient"}}}}}},
        {"transparentProxying",
         {{"redirectPortInbound", 15006},
          {"redirectPortOutbound", 15001},
          {"reachableServices", {"api", "web"}}}}}}};
  const auto configOf = [](httplib::Client& c) {
    auto r = c.Get("/meshes/default/dataplanes/client-1/_config");
    return r && r->status == 200 ? r->body : std::string();
  };
  {
    auto cp = startCp(env);
    ASSERT_TRUE(cp);
    ASSERT_TRUE(waitForDefaultMesh(*cp)) << cp->output();
    auto c = api(*cp);
    auto index = c.Get("/");
    ASSERT_TRUE(index);
    clusterId = nlohmann::json::parse(index->body).value("clusterId", "");
    ASSERT_FALSE(clusterId.empty());
    EXPECT_EQ(configRow(db, "kuma-cluster-id"), clusterId);
    // web and the client first: web takes 240.0.0.0 ...
    for (const auto& dp : {serviceDataplane("web-1", "web", "10.0.0.1"), client}) {
      auto put = c.Put("/meshes/default/dataplanes/" + dp["name"].get<std::string>(), dp.dump(),
                       "application/json");
      ASSERT_TRUE(put);
      ASSERT_EQ(put->status, 201) << put->body;
    }
    ASSERT_TRUE(eventually([&] { return configOf(c).find("240.0.0.0") != std::string::npos; },
                           std::chrono::seconds(10)));
    // ... api joins later and takes the next free address, although it sorts first.
    auto put = c.Put("/meshes/default/dataplanes/api-1",
                     serviceDataplane("api-1", "api", "10.0.0.2").dump(), "application/json");
    ASSERT_TRUE(put);
    ASSERT_EQ(put->status, 201) << put->body;
    ASSERT_TRUE(
        eventually([&] { return configOf(c).find("outbound:240.0.0.2:80") != std::string::npos; },
                   std::chrono::seconds(10)))
        << configOf(c);
    EXPECT_TRUE(eventually(
        [&] {
          return configRow(db, "kuma-default-dns-vips").find(R"("0:api":{"address":"240.0.0.2")") !=
                 std::string::npos;
        },
        std::chrono::seconds(10)))
        << configRow(db, "kuma-default-dns-vips");
    EXPECT_EQ(cp->stop(SIGTERM, std::chrono::seconds(15)), 0) << cp->output();
  }
  const std::string stored = configRow(db, "kuma-default-dns-vips");
  EXPECT_NE(stored.find(R"("0:web":{"address":"240.0.0.0","outbounds":[{"Port":0,"TagSet":)"
                        R"({"kuma.io/service":"web"},"Origin":"service"}]})"),
            std::string::npos)
      << stored;

  auto cp = startCp(env);
  ASSERT_TRUE(cp);
  auto c = api(*cp);
  ASSERT_TRUE(eventually([&] { return !configOf(c).empty(); }, std::chrono::seconds(10)));
  const std::string after = configOf(c);
  EXPECT_NE(after.find("outbound:240.0.0.2:80"), std::string::npos) << after;
  EXPECT_NE(after.find("outbound:240.0.0.0:80"), std::string::npos) << after;
  EXPECT_EQ(configRow(db, "kuma-default-dns-vips"), stored);
  auto index = c.Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(nlohmann::json::parse(index->body).value("clusterId", ""), clusterId);
}

TEST(PostgresE2e, PoolLimitHoldsUnder200ConcurrentWriters) {
  constexpr int kMax = 5;
  constexpr int kWriters = 200;
  constexpr int kPerWriter = 3;
  auto env =
      freshDatabase("pool", {{"KUMA_STORE_POSTGRES_MAX_OPEN_CONNECTIONS", std::to_string(kMax)}});
  migrate(env);
  auto cp = startCp(env);
  ASSERT_TRUE(cp);
  ASSERT_TRUE(waitForDefaultMesh(*cp));

  std::atomic<bool> sampling{true};
  std::atomic<int> maxSeen{0};
  std::atomic<int> samples{0};
  std::thread sampler([&] {
    while (sampling) {
      auto rows = server->superuserQuery(
          "SELECT count(*) FROM pg_stat_activity WHERE datname = 'pool'", "postgres");
      if (rows.ok() && !rows->empty()) {
        const int n = std::stoi((*rows)[0]);
        maxSeen = std::max(maxSeen.load(), n);
        ++samples;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  std::mutex mu;
  std::map<int, int> statuses;
  std::vector<std::string> unexpected;
  std::vector<std::string> transport;
  std::set<std::string> acknowledged;
  std::vector<std::thread> writers;
  const auto start = Clock::now();
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto c = api(*cp);
      c.set_connection_timeout(15, 0);
      for (int i = 0; i < kPerWriter; ++i) {
        const std::string name = absl::StrCat("w", w, "-", i);
        std::string body;
        int status = -1;
        // A request that never reached kuma-cp would be retried on a new connection, as a
        // client would, and counted: with cpp-httplib's compiled-in accept backlog of 5, 200
        // simultaneous connects overflowed it and the kernel dropped some. HttpListener raises
        // the backlog, so none may fail below HTTP (asserted below).
        for (int attempt = 0; attempt < 4 && status == -1; ++attempt) {
          if (attempt > 0) {
            std::lock_guard<std::mutex> lock(mu);
            transport.push_back(absl::StrCat(name, ": ", body));
            c.stop();
          }
          status = putTimeout(c, name, "5s", &body);
        }
        std::lock_guard<std::mutex> lock(mu);
        statuses[status]++;
        if (status == 201 || status == 200) {
          acknowledged.insert(name);
        } else if (status != 503 || body.find("database connection") == std::string::npos) {
          unexpected.push_back(absl::StrCat(name, " -> ", status, ": ", body));
        }
      }
    });
  }
  for (auto& t : writers) {
    t.join();
  }
  const auto elapsed = Clock::now() - start;
  sampling = false;
  sampler.join();

  EXPECT_TRUE(unexpected.empty()) << unexpected.size()
                                  << " unexpected answers, first: " << unexpected.front();
  std::cout << transport.size() << " requests failed below HTTP"
            << (transport.empty() ? "" : ", first: " + transport.front()) << std::endl;
  EXPECT_TRUE(transport.empty()) << transport.size() << " requests never got an HTTP answer";
  // Waiting for a connection is bounded by the deadline, and 5 connections serve 600 small
  // writes well within it: (almost) everything succeeds.
  EXPECT_GE(statuses[201] + statuses[200], kWriters * kPerWriter * 9 / 10)
      << "201: " << statuses[201] << ", 503: " << statuses[503];
  EXPECT_GT(samples.load(), 5);
  // Pool connections + the LISTEN connection + the leader-lock connection.
  EXPECT_LE(maxSeen.load(), kMax + 2) << "pg_stat_activity saw " << maxSeen.load();
  EXPECT_GE(maxSeen.load(), 3) << "the sampler never saw the pool busy";
  // Every acknowledged write is stored.
  auto c = api(*cp);
  auto listed = c.Get("/meshes/default/meshtimeouts?size=1000");
  ASSERT_TRUE(listed);
  const auto json = nlohmann::json::parse(listed->body, nullptr, false);
  std::set<std::string> stored;
  for (const auto& item : json.value("items", nlohmann::json::array())) {
    stored.insert(item.value("name", ""));
  }
  for (const auto& name : acknowledged) {
    EXPECT_TRUE(stored.contains(name)) << name;
  }
  // The pool gauges are exported.
  httplib::Client diag("127.0.0.1", cp->diagnosticsPort());
  auto metrics = diag.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr("store_postgres_connections_max{"));
  EXPECT_THAT(metrics->body, HasSubstr("type=\"in_use\""));
  EXPECT_THAT(metrics->body, HasSubstr("store_postgres_connection_wait_count{"));
  std::cout << "pool test: " << statuses[201] << " created, " << statuses[503] << " 503 in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
            << " ms; max connections seen " << maxSeen.load() << std::endl;
}

TEST(PostgresE2e, ConnectionTimeoutAgainstAServerThatNeverAnswers) {
  // Accepts TCP connections and never says anything.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  std::atomic<bool> stop{false};
  std::vector<int> accepted;
  std::thread acceptor([&] {
    while (!stop) {
      const int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK);
      if (c >= 0) {
        accepted.push_back(c);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  });
  fcntl(fd, F_SETFL, O_NONBLOCK);

  std::map<std::string, std::string> env = {
      {"KUMA_STORE_TYPE", "postgres"},
      {"KUMA_STORE_POSTGRES_HOST", "127.0.0.1"},
      {"KUMA_STORE_POSTGRES_PORT", std::to_string(port)},
      {"KUMA_STORE_POSTGRES_CONNECTION_TIMEOUT", "2"},
  };
  const auto start = Clock::now();
  ExitResult r = kumaCp({"run"}, env, std::chrono::seconds(10));
  const auto elapsed = Clock::now() - start;
  // The same bound for `migrate up`.
  ExitResult m = kumaCp({"migrate", "up"}, env, std::chrono::seconds(10));
  stop = true;
  acceptor.join();
  for (int c : accepted) {
    close(c);
  }
  close(fd);

  EXPECT_EQ(r.exitCode, 1) << r.output;  // -1 would mean: still hanging after 10 s
  EXPECT_GE(elapsed, std::chrono::milliseconds(1500));
  EXPECT_LT(elapsed, std::chrono::seconds(8));
  EXPECT_THAT(r.output, HasSubstr("cannot connect to DB"));
  EXPECT_THAT(r.output, HasSubstr(absl::StrCat("127.0.0.1:", port)));
  EXPECT_THAT(r.output, HasSubstr("connection timeout 2s (store.postgres.connectionTimeout)"));
  EXPECT_EQ(m.exitCode, 1) << m.output;
  EXPECT_THAT(m.output, HasSubstr("cannot connect to DB"));
}

TEST(PostgresE2e, TwoInstancesShareEventsAndElectOneLeader) {
  auto env = freshDatabase("pair");
  migrate(env);
  auto a = startCp(env);
  ASSERT_TRUE(a);
  auto b = startCp(env);
  ASSERT_TRUE(b);
  ASSERT_TRUE(waitForDefaultMesh(*a));
  ASSERT_TRUE(eventually(
      [&] {
        const int la = leaderGauge(*a);
        const int lb = leaderGauge(*b);
        return la >= 0 && lb >= 0 && la + lb == 1;
      },
      std::chrono::seconds(15)))
      << "leader gauges: " << leaderGauge(*a) << " " << leaderGauge(*b);

  auto ca = api(*a);
  auto cb = api(*b);
  // A proxy's generated config on B follows a policy written through A.
  const nlohmann::json dataplane = {
      {"type", "Dataplane"},
      {"mesh", "default"},
      {"name", "web-1"},
      {"networking",
       {{"address", "10.0.0.1"},
        {"inbound", {{{"port", 8080}, {"tags", {{"kuma.io/service", "web"}}}}}},
        {"outbound", {{{"port", 10001}, {"tags", {{"kuma.io/service", "backend"}}}}}}}}};
  auto put = ca.Put("/meshes/default/dataplanes/web-1", dataplane.dump(), "application/json");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 201) << put->body;
  ASSERT_TRUE(eventually([&] { return getStatus(cb, "/meshes/default/dataplanes/web-1") == 200; },
                         std::chrono::seconds(1)));
  ASSERT_TRUE(
      eventually([&] { return getStatus(cb, "/meshes/default/dataplanes/web-1/_config") == 200; },
                 std::chrono::seconds(5)));

  // A backend instance written through A: B's REST has it and B's generated config for web-1
  // gets its endpoint, both within 1 s (B learns of it through LISTEN/NOTIFY only).
  const nlohmann::json backend = {
      {"type", "Dataplane"},
      {"mesh", "default"},
      {"name", "backend-1"},
      {"networking",
       {{"address", "10.0.0.9"},
        {"inbound", {{{"port", 8080}, {"tags", {{"kuma.io/service", "backend"}}}}}}}}};
  const auto written = Clock::now();
  put = ca.Put("/meshes/default/dataplanes/backend-1", backend.dump(), "application/json");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 201) << put->body;
  EXPECT_TRUE(
      eventually([&] { return getStatus(cb, "/meshes/default/dataplanes/backend-1") == 200; },
                 std::chrono::seconds(1)))
      << "B did not see A's write within 1 s";
  EXPECT_TRUE(eventually(
      [&] {
        auto r = cb.Get("/meshes/default/dataplanes/web-1/_config");
        return r && r->status == 200 && r->body.find("10.0.0.9") != std::string::npos;
      },
      std::chrono::seconds(1)))
      << "B's xDS config did not follow within 1 s";
  std::cout << "A write → B's xDS config: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - written).count()
            << " ms" << std::endl;

  // Kill the leader (no release): the other takes over once the lease expires.
  KumaCp* leader = leaderGauge(*a) == 1 ? a.get() : b.get();
  KumaCp* follower = leader == a.get() ? b.get() : a.get();
  EXPECT_EQ(leaderGauge(*follower), 0);
  ASSERT_EQ(kill(leader->pid(), SIGKILL), 0);
  leader->stop(SIGKILL, std::chrono::seconds(5));
  const auto killed = Clock::now();
  // pglock: a takeover needs one whole lease (5 s) without heartbeats, observed by an attempt
  // that itself runs every 5 s, so 5..10 s.
  EXPECT_TRUE(eventually([&] { return leaderGauge(*follower) == 1; }, std::chrono::seconds(12)));
  std::cout << "takeover after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count()
            << " ms" << std::endl;
  // The new leader serves writes.
  auto cf = api(*follower);
  EXPECT_EQ(putTimeout(cf, "after-takeover"), 201);
}

// The database goes away under load with a real Envoy connected, and comes back.
class PostgresOutageTest : public XdsEnvoyTest {
 protected:
  PostgresOutageTest() {
    extraEnv_ = freshDatabase("outage");
    migrate(extraEnv_);
  }
};

TEST_F(PostgresOutageTest, NoAcknowledgedWriteIsLostAndEverythingRecovers) {
  ASSERT_TRUE(waitForDefaultMesh(*cp_));
  App app("web");
  const uint16_t admin = freePort();
  auto c = api(*cp_);
  const json dp = dataplane("web-1", admin, freePort(), app.port(), "web", freePort());
  auto put = c.Put("/meshes/default/dataplanes/web-1", dp.dump(), "application/json");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 201) << put->body;
  Sidecar sidecar = startSidecar(dp, false, 71);
  ASSERT_TRUE(sidecar.envoy);
  ASSERT_TRUE(
      eventually([&] { return envoyStat(admin, "listener_manager.total_listeners_active") > 0; },
                 std::chrono::seconds(20)))
      << sidecar.envoy->output();
  const long listeners = envoyStat(admin, "listener_manager.total_listeners_active");
  const long clusters = envoyStat(admin, "cluster_manager.active_clusters");

  std::atomic<bool> writing{true};
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::map<int, int> statuses;
  std::vector<std::string> unexpected;
  std::vector<std::thread> writers;
  for (int w = 0; w < 6; ++w) {
    writers.emplace_back([&, w] {
      auto wc = api(*cp_);
      wc.set_read_timeout(10, 0);
      for (int i = 0; writing; ++i) {
        const std::string name = absl::StrCat("load-", w, "-", i);
        std::string body;
        const int status = putTimeout(wc, name, "5s", &body);
        std::lock_guard<std::mutex> lock(mu);
        statuses[status]++;
        if (status / 100 == 2) {
          acknowledged.insert(name);
        } else if (status != 503 && status != -1) {
          unexpected.push_back(absl::StrCat(name, " -> ", status, ": ", body));
        }
        if (status != 201) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_TRUE(server->stop().ok());

  // While down: writes and reads that need the database get 503, /ready says why, Envoy keeps
  // its configuration.
  std::string body;
  EXPECT_TRUE(eventually([&] { return putTimeout(c, "while-down", "5s", &body) == 503; },
                         std::chrono::seconds(10)));
  EXPECT_THAT(body, HasSubstr("cannot connect to DB"));
  EXPECT_THAT(body, HasSubstr(absl::StrCat("127.0.0.1:", server->port())));
  EXPECT_EQ(getStatus(c, "/meshes/default/meshtimeouts"), 503);
  httplib::Client diag("127.0.0.1", cp_->diagnosticsPort());
  diag.set_read_timeout(5, 0);
  EXPECT_TRUE(eventually(
      [&] {
        auto r = diag.Get("/ready");
        return r && r->status == 503 && r->body.find("store unavailable") != std::string::npos &&
               r->body.find(absl::StrCat("127.0.0.1:", server->port())) != std::string::npos;
      },
      std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(envoyStat(admin, "listener_manager.total_listeners_active"), listeners);
  EXPECT_EQ(envoyStat(admin, "cluster_manager.active_clusters"), clusters);
  EXPECT_EQ(envoyStat(admin, "control_plane.connected_state"), 1);

  ASSERT_TRUE(server->start().ok());
  // Recovers without a restart of kuma-cp.
  EXPECT_TRUE(eventually(
      [&] {
        auto r = diag.Get("/ready");
        return r && r->status == 200;
      },
      std::chrono::seconds(20)));
  EXPECT_TRUE(
      eventually([&] { return putTimeout(c, "after-restart") == 201; }, std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  writing = false;
  for (auto& t : writers) {
    t.join();
  }
  EXPECT_TRUE(unexpected.empty()) << unexpected.front();
  EXPECT_GT(statuses[201], 0);
  EXPECT_GT(statuses[503], 0);
  for (const auto& name : acknowledged) {
    EXPECT_EQ(getStatus(c, "/meshes/default/meshtimeouts/" + name), 200) << name << " was lost";
  }
  // Changes after the outage reach Envoy again.
  ASSERT_EQ(putTimeout(c, "post-outage", "43s"), 201);
  EXPECT_EQ(envoyStat(admin, "control_plane.connected_state"), 1);
  std::cout << "outage: " << acknowledged.size() << " acknowledged, " << statuses[503] << " × 503"
            << std::endl;
  sidecar.envoy->stop(SIGTERM, std::chrono::seconds(5));
}

}  // namespace
}  // namespace kuma::test
