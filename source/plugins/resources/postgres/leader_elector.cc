#include "source/plugins/resources/postgres/leader_elector.h"

#include <utility>

#include "pqxx/pqxx"
#include "source/common/logging.h"

namespace kuma::store::postgres {

LeaderElector::LeaderElector(LeaderElectorOptions options, std::function<void()> onElected,
                             std::function<void()> onLost)
    : options_(std::move(options)), onElected_(std::move(onElected)), onLost_(std::move(onLost)) {}

LeaderElector::~LeaderElector() {
  stop();
}

void LeaderElector::start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) {
    return;
  }
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void LeaderElector::stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool LeaderElector::isLeader() const {
  absl::MutexLock lock(&mu_);
  return leader_;
}

uint64_t LeaderElector::electedCount() const {
  absl::MutexLock lock(&mu_);
  return elected_;
}

bool LeaderElector::sleepUnlessStopping(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return stopping_;
}

bool LeaderElector::tryAcquire(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  const int64_t rvn = tx.exec1("SELECT nextval('locks_rvn')")[0].as<int64_t>();
  // Take the row when it is free (rvn NULL) or its holder has not bumped the rvn since our
  // previous attempt (-1: no previous observation, never matches a sequence value).
  pqxx::result taken = tx.exec_params(
      "INSERT INTO locks (name, record_version_number, data, owner) VALUES ($1, $2, NULL, $3) "
      "ON CONFLICT (name) DO UPDATE SET record_version_number = EXCLUDED.record_version_number, "
      "owner = EXCLUDED.owner "
      "WHERE locks.record_version_number IS NULL OR locks.record_version_number = $4 "
      "RETURNING record_version_number",
      options_.lockName, rvn, options_.owner, observedRvn_.value_or(-1));
  if (!taken.empty() && taken[0][0].as<int64_t>() == rvn) {
    myRvn_ = rvn;
    return true;
  }
  pqxx::result current =
      tx.exec_params("SELECT record_version_number FROM locks WHERE name = $1", options_.lockName);
  if (!current.empty() && !current[0][0].is_null()) {
    observedRvn_ = current[0][0].as<int64_t>();
  } else {
    observedRvn_.reset();
  }
  return false;
}

void LeaderElector::loop() {
  auto log = logging::logger("postgres.leader");
  ConnectionSettings settings = options_.connection;
  settings.statementTimeout = options_.statementTimeout;
  ConnectionPtr conn;
  int failures = 0;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        break;
      }
    }
    if (conn == nullptr || !conn->is_open()) {
      absl::StatusOr<ConnectionPtr> opened = openConnection(settings);
      if (!opened.ok()) {
        if (++failures >= 4) {
          log->error("leader election: {}", opened.status().ToString());
        }
        if (sleepUnlessStopping(options_.retryInterval)) {
          break;
        }
        continue;
      }
      conn = std::move(*opened);
    }
    bool acquired = false;
    try {
      acquired = tryAcquire(*conn);
      failures = 0;
    } catch (const std::exception& e) {
      if (++failures >= 4) {
        log->error("leader election attempt failed: {}", e.what());
      }
      conn.reset();
      observedRvn_.reset();
      if (sleepUnlessStopping(options_.retryInterval)) {
        break;
      }
      continue;
    }
    if (!acquired) {
      // A live holder bumps the rvn every heartbeat; only a silent one is still at observedRvn_
      // after a full lease.
      if (sleepUnlessStopping(options_.leaseDuration)) {
        break;
      }
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      leader_ = true;
      elected_++;
    }
    log->info("leader election: this instance ({}) is the leader", options_.owner);
    if (onElected_) {
      onElected_();
    }
    bool stopped = false;
    while (true) {
      if (sleepUnlessStopping(options_.heartbeatInterval)) {
        stopped = true;
        break;
      }
      try {
        pqxx::nontransaction tx(*conn);
        const int64_t next = tx.exec1("SELECT nextval('locks_rvn')")[0].as<int64_t>();
        pqxx::result r = tx.exec_params(
            "UPDATE locks SET record_version_number = $1 WHERE name = $2 AND "
            "record_version_number = $3",
            next, options_.lockName, myRvn_);
        if (r.affected_rows() != 1) {
          log->warn("leader election: lock {} was taken over", options_.lockName);
          break;
        }
        myRvn_ = next;
      } catch (const std::exception& e) {
        log->warn("leader election: heartbeat failed, leadership lost: {}", e.what());
        conn.reset();
        break;
      }
    }
    if (stopped && conn != nullptr) {
      try {
        pqxx::nontransaction tx(*conn);
        tx.exec_params("DELETE FROM locks WHERE name = $1 AND record_version_number = $2",
                       options_.lockName, myRvn_);
      } catch (const std::exception& e) {
        log->debug("leader election: releasing the lock failed: {}", e.what());
      }
    }
    {
      absl::MutexLock lock(&mu_);
      leader_ = false;
    }
    if (onLost_) {
      onLost_();
    }
    observedRvn_.reset();
    if (stopped || sleepUnlessStopping(options_.retryInterval)) {
      break;
    }
  }
}

}  // namespace kuma::store::postgres
