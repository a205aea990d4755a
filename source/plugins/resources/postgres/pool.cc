#include "source/plugins/resources/postgres/pool.h"

#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "source/common/logging.h"

namespace kuma::store::postgres {

absl::Status validatePoolOptions(const PoolOptions& o) {
  if (o.maxOpenConnections < 0) {
    return absl::InvalidArgumentError("store.postgres.maxOpenConnections must not be negative");
  }
  if (o.minOpenConnections < 0) {
    return absl::InvalidArgumentError("store.postgres.minOpenConnections must not be negative");
  }
  if (o.minOpenConnections > o.maxOpenConnections) {
    return absl::InvalidArgumentError(
        "store.postgres.minOpenConnections must not be greater than maxOpenConnections");
  }
  if (o.maxConnectionIdleTime < absl::ZeroDuration() ||
      o.maxConnectionLifetime < absl::ZeroDuration() ||
      o.maxConnectionLifetimeJitter < absl::ZeroDuration() ||
      o.acquireTimeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("store.postgres connection durations must not be negative");
  }
  if (o.maxConnectionLifetimeJitter > o.maxConnectionLifetime) {
    return absl::InvalidArgumentError(
        "store.postgres.maxConnectionLifetimeJitter must not be greater than "
        "maxConnectionLifetime");
  }
  if (o.healthCheckInterval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("store.postgres.healthCheckInterval must be positive");
  }
  return absl::OkStatus();
}

ConnectionPool::Lease::Lease(ConnectionPool* pool, std::unique_ptr<Pooled> conn)
    : pool_(pool), conn_(std::move(conn)) {}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      conn_(std::move(other.conn_)),
      discard_(other.discard_) {}

ConnectionPool::Lease& ConnectionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (pool_ != nullptr && conn_ != nullptr) {
      pool_->release(std::move(conn_), discard_);
    }
    pool_ = std::exchange(other.pool_, nullptr);
    conn_ = std::move(other.conn_);
    discard_ = other.discard_;
  }
  return *this;
}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) {
    pool_->release(std::move(conn_), discard_);
  }
}

pqxx::connection& ConnectionPool::Lease::operator*() const {
  return *conn_->conn;
}

pqxx::connection* ConnectionPool::Lease::operator->() const {
  return conn_->conn.get();
}

namespace {

absl::Duration defaultAcquireTimeout(const ConnectionSettings& settings,
                                     const PoolOptions& options) {
  if (options.acquireTimeout > absl::ZeroDuration()) {
    return options.acquireTimeout;
  }
  if (settings.connectionTimeoutSeconds > 0) {
    return absl::Seconds(settings.connectionTimeoutSeconds);
  }
  return absl::Seconds(30);
}

}  // namespace

ConnectionPool::ConnectionPool(ConnectionSettings settings, PoolOptions options)
    : settings_(std::move(settings)),
      options_(options),
      acquireTimeout_(defaultAcquireTimeout(settings_, options_)) {}

absl::StatusOr<std::unique_ptr<ConnectionPool>> ConnectionPool::create(ConnectionSettings settings,
                                                                       PoolOptions options) {
  if (absl::Status s = validateConnectionSettings(settings); !s.ok()) {
    return s;
  }
  if (absl::Status s = validatePoolOptions(options); !s.ok()) {
    return s;
  }
  std::unique_ptr<ConnectionPool> pool(new ConnectionPool(std::move(settings), options));
  pool->maintenance_ = std::thread([p = pool.get()] { p->maintenanceLoop(); });
  return pool;
}

ConnectionPool::~ConnectionPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (maintenance_.joinable()) {
    maintenance_.join();
  }
  std::vector<std::unique_ptr<Pooled>> idle;
  {
    absl::MutexLock lock(&mu_);
    idle.swap(idle_);
  }
  idle.clear();  // closes the connections outside the lock
}

bool ConnectionPool::hasCapacity() const {
  return options_.maxOpenConnections == 0 || stats_.open < options_.maxOpenConnections;
}

bool ConnectionPool::expired(const Pooled& conn, absl::Time now) const {
  if (now >= conn.expires) {
    return true;
  }
  return options_.maxConnectionIdleTime > absl::ZeroDuration() &&
         now - conn.idleSince >= options_.maxConnectionIdleTime;
}

absl::StatusOr<std::unique_ptr<ConnectionPool::Pooled>> ConnectionPool::openPooled() {
  absl::StatusOr<ConnectionPtr> conn = openConnection(settings_);
  if (!conn.ok()) {
    return conn.status();
  }
  auto pooled = std::make_unique<Pooled>();
  pooled->conn = std::move(*conn);
  pooled->created = absl::Now();
  pooled->idleSince = pooled->created;
  pooled->expires = absl::InfiniteFuture();
  if (options_.maxConnectionLifetime > absl::ZeroDuration()) {
    absl::Duration jitter = absl::ZeroDuration();
    if (options_.maxConnectionLifetimeJitter > absl::ZeroDuration()) {
      thread_local std::mt19937_64 rng{std::random_device{}()};
      std::uniform_int_distribution<int64_t> dist(
          0, absl::ToInt64Milliseconds(options_.maxConnectionLifetimeJitter));
      jitter = absl::Milliseconds(dist(rng));
    }
    pooled->expires = pooled->created + options_.maxConnectionLifetime + jitter;
  }
  return pooled;
}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::acquire() {
  return acquire(absl::Now() + acquireTimeout_);
}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::acquire(absl::Time deadline) {
  while (true) {
    std::unique_ptr<Pooled> candidate;
    std::vector<std::unique_ptr<Pooled>> doomed;
    bool openNew = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !idle_.empty() || hasCapacity();
      };
      if (!ready()) {
        stats_.waiting++;
        stats_.waitCount++;
        const bool ok = mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
        stats_.waiting--;
        if (!ok) {
          stats_.acquireTimeouts++;
          return absl::UnavailableError(absl::StrCat(
              "store unavailable: timed out waiting for a free database connection (all ",
              options_.maxOpenConnections,
              " allowed by store.postgres.maxOpenConnections are in use)"));
        }
      }
      if (stopping_) {
        return absl::UnavailableError("store unavailable: the connection pool is shutting down");
      }
      const absl::Time now = absl::Now();
      while (!idle_.empty() && candidate == nullptr) {
        std::unique_ptr<Pooled> conn = std::move(idle_.back());
        idle_.pop_back();
        if (expired(*conn, now)) {
          stats_.open--;
          stats_.closed++;
          doomed.push_back(std::move(conn));
        } else {
          candidate = std::move(conn);
        }
      }
      if (candidate != nullptr) {
        stats_.inUse++;
      } else if (hasCapacity()) {
        stats_.open++;
        stats_.inUse++;
        openNew = true;
      }
    }
    doomed.clear();
    if (candidate != nullptr) {
      if (looksBroken(*candidate->conn)) {
        // The server went away while it was idle; try the next one (or open a new one).
        release(std::move(candidate), true);
        continue;
      }
      return Lease(this, std::move(candidate));
    }
    if (!openNew) {
      continue;  // a competitor took the capacity; wait again
    }
    absl::StatusOr<std::unique_ptr<Pooled>> opened = openPooled();
    absl::MutexLock lock(&mu_);
    if (!opened.ok()) {
      stats_.open--;
      stats_.inUse--;
      stats_.connectFailures++;
      return opened.status();
    }
    stats_.opened++;
    return Lease(this, std::move(*opened));
  }
}

void ConnectionPool::release(std::unique_ptr<Pooled> conn, bool discard) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    stats_.inUse--;
    if (!discard && !stopping_ && conn->conn->is_open() && now < conn->expires) {
      conn->idleSince = now;
      idle_.push_back(std::move(conn));
      return;
    }
    stats_.open--;
    stats_.closed++;
  }
  conn.reset();  // close outside the lock
}

void ConnectionPool::maintenanceLoop() {
  auto log = logging::logger("postgres.pool");
  bool first = true;  // the first pass runs at once so minOpenConnections fill up early
  while (true) {
    std::vector<std::unique_ptr<Pooled>> doomed;
    int missing = 0;
    {
      absl::MutexLock lock(&mu_);
      if (!first) {
        mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.healthCheckInterval);
      }
      first = false;
      if (stopping_) {
        return;
      }
      const absl::Time now = absl::Now();
      std::vector<std::unique_ptr<Pooled>> keep;
      for (auto& conn : idle_) {
        if (expired(*conn, now) || looksBroken(*conn->conn)) {
          doomed.push_back(std::move(conn));
          stats_.open--;
          stats_.closed++;
        } else {
          keep.push_back(std::move(conn));
        }
      }
      idle_.swap(keep);
      missing = options_.minOpenConnections - stats_.open;
      if (missing > 0) {
        stats_.open += missing;  // reserve the slots while opening outside the lock
      }
    }
    doomed.clear();
    for (int i = 0; i < missing; ++i) {
      absl::StatusOr<std::unique_ptr<Pooled>> opened = openPooled();
      absl::MutexLock lock(&mu_);
      if (!opened.ok()) {
        stats_.open -= missing - i;
        stats_.connectFailures++;
        log->debug("cannot open minimum connections: {}", opened.status().ToString());
        break;
      }
      stats_.opened++;
      idle_.push_back(std::move(*opened));
    }
  }
}

PoolStats ConnectionPool::stats() const {
  absl::MutexLock lock(&mu_);
  PoolStats out = stats_;
  out.idle = static_cast<int>(idle_.size());
  return out;
}

}  // namespace kuma::store::postgres
