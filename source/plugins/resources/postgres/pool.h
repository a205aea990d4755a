#pragma once

// File: pool.h
// A bounded pool of PostgreSQL connections with pgx-like settings (spec §12.6): never more than
// maxOpenConnections open (0 = unlimited), opening bounded by the connection timeout, waiting for
// a free connection bounded by a deadline (then Unavailable, never a hang), idle-time and
// lifetime(+jitter) recycling, a floor of minOpenConnections kept by a maintenance thread that
// runs every healthCheckInterval. Idle connections that the server dropped (restart, admin
// termination) are detected without a round trip and replaced.
//
//   auto pool = ConnectionPool::create(settings, poolOptions);
//   absl::StatusOr<ConnectionPool::Lease> lease = (*pool)->acquire();
//   if (!lease.ok()) return lease.status();            // Unavailable
//   pqxx::work tx(**lease); ...                        // on connection loss: lease->discard()

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "source/plugins/resources/postgres/connection.h"

namespace kuma::store::postgres {

struct PoolOptions {
  /** Upper bound of open connections; 0: unlimited (Kuma's meaning). */
  int maxOpenConnections = 50;
  /** Connections kept open even when idle (≤ maxOpenConnections, see validatePoolOptions). */
  int minOpenConnections = 0;
  /** Idle connections older than this are closed; zero: never. */
  absl::Duration maxConnectionIdleTime = absl::Minutes(30);
  /** Connections are recycled after this (plus a random part of the jitter); zero: never. */
  absl::Duration maxConnectionLifetime = absl::Hours(1);
  absl::Duration maxConnectionLifetimeJitter = absl::Minutes(1);
  /** Period of the maintenance pass (expiry, broken idle connections, minimum). */
  absl::Duration healthCheckInterval = absl::Seconds(30);
  /**
   * Longest wait for a free connection when all are in use. Zero: the connection timeout, or
   * 30 s when that is 0 ("no limit" for connecting does not make waiting unbounded).
   */
  absl::Duration acquireTimeout = absl::ZeroDuration();
};

/** Kuma's validation (§12.6): min ≥ 0, max ≥ 0, min ≤ max, durations ≥ 0, jitter ≤ lifetime. */
absl::Status validatePoolOptions(const PoolOptions& options);

/** Counters exposed for metrics and tests. */
struct PoolStats {
  /** Connections open or being opened. */
  int open = 0;
  /** Leased to callers (including ones being opened for a caller). */
  int inUse = 0;
  int idle = 0;
  /** Callers blocked waiting for a free connection. */
  int waiting = 0;
  /** Acquires that had to wait for a free connection (cumulative). */
  uint64_t waitCount = 0;
  uint64_t opened = 0;
  uint64_t closed = 0;
  uint64_t acquireTimeouts = 0;
  uint64_t connectFailures = 0;
};

class ConnectionPool {
 private:
  struct Pooled;

 public:
  /** A leased connection; returned to the pool (or closed, see discard()) on destruction. */
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    pqxx::connection& operator*() const;
    pqxx::connection* operator->() const;
    /** The connection is broken or in an unknown state: close it instead of reusing it. */
    void discard() { discard_ = true; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<Pooled> conn);
    ConnectionPool* pool_ = nullptr;
    std::unique_ptr<Pooled> conn_;
    bool discard_ = false;
  };

  /** Creates the pool (opens minOpenConnections in the background). InvalidArgument on bad
   * options. */
  static absl::StatusOr<std::unique_ptr<ConnectionPool>> create(ConnectionSettings settings,
                                                                PoolOptions options);
  /** Closes every idle connection. All leases must have been returned. */
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /** Leases a connection, waiting at most the acquire timeout. Unavailable on timeout or when a
   * new connection cannot be opened. Thread: any. */
  absl::StatusOr<Lease> acquire();
  /** The same with an explicit deadline for the wait. */
  absl::StatusOr<Lease> acquire(absl::Time deadline);

  PoolStats stats() const;
  const ConnectionSettings& settings() const { return settings_; }
  const PoolOptions& options() const { return options_; }

 private:
  struct Pooled {
    ConnectionPtr conn;
    absl::Time created;
    absl::Time expires;  // InfiniteFuture when there is no lifetime limit
    absl::Time idleSince;
  };

  ConnectionPool(ConnectionSettings settings, PoolOptions options);
  void release(std::unique_ptr<Pooled> conn, bool discard);
  absl::StatusOr<std::unique_ptr<Pooled>> openPooled();
  bool expired(const Pooled& conn, absl::Time now) const;
  void maintenanceLoop();
  bool hasCapacity() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const ConnectionSettings settings_;
  const PoolOptions options_;
  const absl::Duration acquireTimeout_;

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Pooled>> idle_ ABSL_GUARDED_BY(mu_);
  PoolStats stats_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread maintenance_;
};

}  // namespace kuma::store::postgres
