#include "source/plugins/resources/postgres/postgres_store.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <random>
#include <set>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"
#include "source/common/absl_compat.h"
#include "source/common/logging.h"
#include "source/core/config/config.h"
#include "source/core/store/errors.h"
#include "source/core/store/store_helpers.h"
#include "source/core/store/subscribers.h"

namespace kuma::store::postgres {

absl::StatusOr<PoolOptions> poolOptionsFromConfig(const config::PostgresStoreConfig& config) {
  PoolOptions o;
  o.maxOpenConnections = config.maxOpenConnections;
  o.minOpenConnections = config.minOpenConnections;
  o.maxConnectionIdleTime = absl::FromChrono(config.maxConnectionIdleTime);
  o.maxConnectionLifetime = absl::FromChrono(config.maxConnectionLifetime);
  o.maxConnectionLifetimeJitter = absl::FromChrono(config.maxConnectionLifetimeJitter);
  o.healthCheckInterval = absl::FromChrono(config.healthCheckInterval);
  if (absl::Status s = validatePoolOptions(o); !s.ok()) {
    return s;
  }
  return o;
}

namespace {

using model::Resource;
using model::ResourceConstSharedPtr;
using model::ResourceTypeDescriptor;

constexpr char kChannel[] = "resource_events";
/** Longest a write waits for its own events to be dispatched (see Store::beginWrite). */
constexpr absl::Duration kWriteBarrierTimeout = absl::Seconds(1);

std::string randomChannelName() {
  std::random_device rd;
  const uint64_t bits = (static_cast<uint64_t>(rd()) << 32) | rd();
  return absl::StrCat("kuma_cpp_sync_", absl::Hex(bits, absl::kZeroPad16));
}

// Columns read back for a resource; times as integer microseconds since the Unix epoch (the
// columns are UTC wall-clock `timestamp without time zone`).
constexpr char kSelectColumns[] =
    "name, mesh, spec, version, "
    "(EXTRACT(EPOCH FROM creation_time) * 1000000)::bigint, "
    "(EXTRACT(EPOCH FROM modification_time) * 1000000)::bigint, "
    "labels::text, status::text";

absl::Time nowMicros() {
  return absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
}

std::string formatTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S", t, absl::UTCTimeZone());
}

struct EncodedSpec {
  std::string spec;
  std::string status = "{}";
};

absl::StatusOr<EncodedSpec> encodeSpec(const Resource& resource) {
  EncodedSpec out;
  try {
    nlohmann::ordered_json json = resource.spec->toJson();
    if (resource.descriptor->format == model::SpecFormat::SpecStatus) {
      auto spec = json.find("spec");
      out.spec = spec != json.end() ? spec->dump() : std::string("{}");
      auto status = json.find("status");
      if (status != json.end() && !status->is_null()) {
        out.status = status->dump();
      }
    } else {
      out.spec = json.dump();
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("cannot encode the spec: ", e.what()));
  }
  return out;
}

std::string encodeLabels(const std::map<std::string, std::string>& labels) {
  return nlohmann::json(labels).dump();
}

// A row's labels as Kuma writes them: Go marshals a resource without labels (a nil map) as
// JSON `null`, so Mesh, Secret and Config rows carry `null`, not `{}`.
std::string encodeStoredLabels(const std::map<std::string, std::string>& labels) {
  return labels.empty() ? std::string("null") : encodeLabels(labels);
}

std::map<std::string, std::string> decodeLabels(const pqxx::field& field) {
  std::map<std::string, std::string> out;
  if (field.is_null()) {
    return out;
  }
  nlohmann::json json = nlohmann::json::parse(field.c_str(), nullptr, false);
  if (!json.is_object()) {
    return out;
  }
  for (const auto& [key, value] : json.items()) {
    if (value.is_string()) {
      out.emplace(key, value.get<std::string>());
    }
  }
  return out;
}

absl::StatusOr<model::SpecConstSharedPtr> decodeSpec(const ResourceTypeDescriptor& type,
                                                     const pqxx::field& specField,
                                                     const pqxx::field& statusField) {
  nlohmann::json spec;
  if (specField.is_null() || std::string_view(specField.c_str()).empty()) {
    if (type.format == model::SpecFormat::Flat && type.emptySpec) {
      return type.emptySpec();
    }
    spec = nlohmann::json::object();
  } else {
    spec = nlohmann::json::parse(specField.c_str(), nullptr, false);
    if (spec.is_discarded()) {
      return absl::InternalError(
          absl::StrCat("stored spec of type ", type.name, " is not valid JSON"));
    }
  }
  if (!type.parseSpec) {
    return absl::InternalError(absl::StrCat("type ", type.name, " has no spec parser"));
  }
  if (type.format == model::SpecFormat::SpecStatus) {
    nlohmann::json object = nlohmann::json::object();
    object["spec"] = std::move(spec);
    if (!statusField.is_null()) {
      nlohmann::json status = nlohmann::json::parse(statusField.c_str(), nullptr, false);
      if (status.is_object() && !status.empty()) {
        object["status"] = std::move(status);
      }
    }
    return type.parseSpec(object);
  }
  return type.parseSpec(spec);
}

/** Builds a resource from a row of kSelectColumns (starting at column `first`). */
absl::StatusOr<ResourceConstSharedPtr> resourceFromRow(const ResourceTypeDescriptor& type,
                                                       const pqxx::row& row) {
  auto resource = std::make_shared<Resource>();
  resource->descriptor = &type;
  resource->meta.name = row[0].c_str();
  resource->meta.mesh = row[1].c_str();
  resource->meta.version = row[3].c_str();
  resource->meta.creationTime = absl::FromUnixMicros(row[4].as<int64_t>());
  resource->meta.modificationTime = absl::FromUnixMicros(row[5].as<int64_t>());
  resource->meta.labels = decodeLabels(row[6]);
  absl::StatusOr<model::SpecConstSharedPtr> spec = decodeSpec(type, row[2], row[7]);
  if (!spec.ok()) {
    return absl::Status(
        spec.status().code(),
        absl::StrCat("cannot decode stored ",
                     describeKey(type.name, ResourceKey{resource->meta.name, resource->meta.mesh}),
                     ": ", spec.status().message()));
  }
  resource->spec = std::move(*spec);
  return ResourceConstSharedPtr(std::move(resource));
}

std::optional<int64_t> parseVersion(const std::string& version) {
  int64_t out = 0;
  const char* end = version.data() + version.size();
  auto [ptr, ec] = std::from_chars(version.data(), end, out);
  if (version.empty() || ec != std::errc() || ptr != end || out < 0 || out > INT32_MAX) {
    return std::nullopt;
  }
  return out;
}

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel,
           std::function<void(const std::string&)> onPayload)
      : pqxx::notification_receiver(conn, channel), onPayload_(std::move(onPayload)) {}
  void operator()(const std::string& payload, int /*backendPid*/) override { onPayload_(payload); }

 private:
  std::function<void(const std::string&)> onPayload_;
};

class Store : public PostgresStore {
 public:
  Store(StoreOptions options, std::unique_ptr<ConnectionPool> pool)
      : options_(std::move(options)), pool_(std::move(pool)), log_(logging::logger("postgres")) {
    wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }

  ~Store() override {
    {
      absl::MutexLock lock(&listenerMu_);
      stopping_ = true;
    }
    if (wakeFd_ >= 0) {
      const uint64_t one = 1;
      [[maybe_unused]] ssize_t written = write(wakeFd_, &one, sizeof(one));
    }
    if (listener_.joinable()) {
      listener_.join();
    }
    if (wakeFd_ >= 0) {
      close(wakeFd_);
    }
  }

  absl::Status start() {
    if (wakeFd_ < 0) {
      return absl::InternalError("cannot create an eventfd for the LISTEN thread");
    }
    {
      // Fail fast (and clearly) when the database is unreachable.
      absl::StatusOr<ConnectionPool::Lease> lease = pool_->acquire();
      if (!lease.ok()) {
        return lease.status();
      }
    }
    listener_ = std::thread([this] { listenLoop(); });
    listenerThread_ = listener_.get_id();
    absl::MutexLock lock(&listenerMu_);
    auto up = [this]() ABSL_SHARED_LOCKS_REQUIRED(listenerMu_) { return listening_; };
    if (!listenerMu_.AwaitWithTimeout(absl::Condition(&up), options_.listenerStartTimeout)) {
      return absl::UnavailableError(absl::StrCat(
          "store unavailable: could not LISTEN on channel ", kChannel, " within ",
          absl::FormatDuration(options_.listenerStartTimeout), ": ", lastListenerError_));
    }
    return absl::OkStatus();
  }

  // kuma::store::ResourceStore
  absl::StatusOr<ResourceConstSharedPtr> create(Resource resource,
                                                const CreateOptions& options) override;
  absl::StatusOr<ResourceConstSharedPtr> update(Resource resource) override;
  absl::Status remove(const ResourceTypeDescriptor& type, const ResourceKey& key) override;
  absl::StatusOr<ResourceConstSharedPtr> get(const ResourceTypeDescriptor& type,
                                             const ResourceKey& key) override;
  absl::StatusOr<ResourceList> list(const ResourceTypeDescriptor& type,
                                    const ListOptions& options) override;
  SubscriptionPtr subscribe(std::function<void(const ChangeEvent&)> handler) override;

  // PostgresStore
  PoolStats stats() const override { return pool_->stats(); }
  bool listening() const override {
    absl::MutexLock lock(&listenerMu_);
    return listening_;
  }
  uint64_t listenerConnects() const override {
    absl::MutexLock lock(&listenerMu_);
    return listenerConnects_;
  }
  absl::Status health() const override {
    absl::MutexLock lock(&listenerMu_);
    if (listening_) {
      return absl::OkStatus();
    }
    const ConnectionSettings& settings = pool_->settings();
    return absl::UnavailableError(absl::StrCat(
        "store unavailable: PostgreSQL at ", settings.host, ":", settings.port, " is unreachable (",
        lastListenerError_.empty() ? "not connected" : lastListenerError_, "); retrying"));
  }

 private:
  /**
   * Write barrier: every write transaction also NOTIFYs a token on this store's private channel.
   * Notifications of one transaction arrive in order and transactions in commit order, so once
   * the LISTEN thread has seen the token it has already dispatched the write's own row events.
   * Waiting for it makes a write return after its events were delivered (like the memory store):
   * a subscriber registered after create() returned never sees that create.
   */
  uint64_t beginWrite() {
    absl::MutexLock lock(&tokensMu_);
    const uint64_t token = ++lastToken_;
    pendingTokens_.insert(token);
    return token;
  }

  void markWrite(pqxx::transaction_base& tx, uint64_t token) {
    tx.exec_params("SELECT pg_notify($1, $2)", syncChannel_, std::to_string(token));
  }

  void finishWrite(uint64_t token, bool committed) {
    const bool wait =
        committed && listening() && std::this_thread::get_id() != listenerThread_.load();
    absl::MutexLock lock(&tokensMu_);
    if (wait) {
      auto seen = [this, token]() ABSL_SHARED_LOCKS_REQUIRED(tokensMu_) {
        return !pendingTokens_.contains(token);
      };
      tokensMu_.AwaitWithTimeout(absl::Condition(&seen), kWriteBarrierTimeout);
    }
    pendingTokens_.erase(token);
  }

  void onSyncPayload(const std::string& payload) {
    uint64_t token = 0;
    auto [ptr, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), token);
    if (ec != std::errc()) {
      return;
    }
    absl::MutexLock lock(&tokensMu_);
    pendingTokens_.erase(token);
  }

  /**
   * Runs `body` on a pooled connection and maps exceptions. Idempotent bodies (reads) are
   * retried up to 3 times, 10 ms apart, when the connection turned out to be lost (Kuma's rule).
   */
  absl::Status run(std::string_view context, bool idempotent,
                   const std::function<void(pqxx::connection&)>& body) {
    for (int attempt = 0;; ++attempt) {
      absl::StatusOr<ConnectionPool::Lease> lease = pool_->acquire();
      if (!lease.ok()) {
        return lease.status();
      }
      try {
        body(**lease);
        return absl::OkStatus();
      } catch (const std::exception& e) {
        const bool lost = isConnectionLoss(e) || !(*lease)->is_open();
        if (lost) {
          lease->discard();
        }
        if (lost && idempotent && attempt < 2) {
          absl::SleepFor(absl::Milliseconds(10));
          continue;
        }
        absl::Status status = statusFromException(e, context);
        if (lost && !absl::IsUnavailable(status)) {
          status = absl::UnavailableError(absl::StrCat("store unavailable: ", status.message()));
        }
        return status;
      }
    }
  }

  void learn(const ResourceTypeDescriptor* type) {
    if (type == nullptr) {
      return;
    }
    absl::MutexLock lock(&typesMu_);
    types_.emplace(type->name, type);
  }

  const ResourceTypeDescriptor* resolve(const std::string& name) {
    {
      absl::MutexLock lock(&typesMu_);
      auto it = types_.find(name);
      if (it != types_.end()) {
        return it->second;
      }
    }
    if (!options_.typeResolver) {
      return nullptr;
    }
    const ResourceTypeDescriptor* type = options_.typeResolver(name);
    learn(type);
    return type;
  }

  absl::StatusOr<bool> exists(const ResourceTypeDescriptor& type, const ResourceKey& key) {
    bool found = false;
    absl::Status status = run("get", true, [&](pqxx::connection& conn) {
      pqxx::nontransaction tx(conn);
      pqxx::result r =
          tx.exec_params("SELECT 1 FROM resources WHERE name = $1 AND mesh = $2 AND type = $3",
                         key.name, key.mesh, type.name);
      found = !r.empty();
    });
    if (!status.ok()) {
      return status;
    }
    return found;
  }

  void dispatch(const ChangeEvent& event) { subscribers_.publish(event); }

  void onPayload(const std::string& payload) {
    nlohmann::json json = nlohmann::json::parse(payload, nullptr, false);
    if (!json.is_object() || !json.contains("action") || !json.contains("data") ||
        !json["data"].is_object()) {
      log_->warn("ignoring malformed {} notification: {}", kChannel, payload);
      return;
    }
    const nlohmann::json& data = json["data"];
    const std::string action = json["action"].is_string() ? json["action"].get<std::string>() : "";
    ChangeEvent event{EventType::Update, nullptr, {}};
    if (action == "INSERT") {
      event.type = EventType::Create;
    } else if (action == "UPDATE") {
      event.type = EventType::Update;
    } else if (action == "DELETE") {
      event.type = EventType::Delete;
    } else {
      log_->warn("ignoring {} notification with unknown action: {}", kChannel, payload);
      return;
    }
    auto text = [&](const char* key) {
      auto it = data.find(key);
      return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    event.resourceType = resolve(text("type"));
    if (event.resourceType == nullptr) {
      log_->debug("ignoring a change of unknown type {}", text("type"));
      return;
    }
    event.key = ResourceKey{text("name"), text("mesh")};
    dispatch(event);
  }

  void emitResync() {
    std::vector<const ResourceTypeDescriptor*> types;
    {
      absl::MutexLock lock(&typesMu_);
      for (const auto& [name, type] : types_) {
        types.push_back(type);
      }
    }
    for (const ResourceTypeDescriptor* type : types) {
      dispatch(ChangeEvent{EventType::Update, type, ResourceKey{}});
    }
  }

  bool waitForStopOr(absl::Duration timeout) {
    absl::MutexLock lock(&listenerMu_);
    listenerMu_.AwaitWithTimeout(absl::Condition(&stopping_), timeout);
    return stopping_;
  }

  void setListening(bool value, const std::string& error) {
    absl::MutexLock lock(&listenerMu_);
    listening_ = value;
    if (value) {
      listenerConnects_++;
    } else {
      lastListenerError_ = error;
    }
  }

  void listenLoop() {
    absl::Duration backoff = options_.listenerInitialBackoff;
    bool connectedBefore = false;
    while (true) {
      {
        absl::MutexLock lock(&listenerMu_);
        if (stopping_) {
          return;
        }
      }
      std::string error;
      absl::StatusOr<ConnectionPtr> conn = openConnection(pool_->settings());
      if (!conn.ok()) {
        error = std::string(conn.status().message());
      } else {
        try {
          Receiver receiver(**conn, kChannel,
                            [this](const std::string& payload) { onPayload(payload); });
          Receiver sync(**conn, syncChannel_,
                        [this](const std::string& payload) { onSyncPayload(payload); });
          setListening(true, "");
          backoff = options_.listenerInitialBackoff;
          if (connectedBefore) {
            log_->info("LISTEN {} re-established; emitting a resync", kChannel);
            emitResync();
          }
          connectedBefore = true;
          while (true) {
            pollfd fds[2] = {};
            fds[0].fd = (*conn)->sock();
            fds[0].events = POLLIN;
            fds[1].fd = wakeFd_;
            fds[1].events = POLLIN;
            poll(fds, 2, 1000);
            {
              absl::MutexLock lock(&listenerMu_);
              if (stopping_) {
                break;
              }
            }
            if (!(*conn)->is_open() || fds[0].fd < 0) {
              throw pqxx::broken_connection("LISTEN connection closed");
            }
            if (fds[0].revents != 0) {
              (*conn)->get_notifs();
            }
          }
        } catch (const std::exception& e) {
          error = e.what();
        }
      }
      setListening(false, error);
      if (!error.empty()) {
        log_->warn("LISTEN {} connection lost or failed ({}); retrying in {}", kChannel, error,
                   absl::FormatDuration(backoff));
      }
      if (waitForStopOr(backoff)) {
        return;
      }
      backoff = std::min(backoff * 2, options_.listenerMaxBackoff);
    }
  }

  const StoreOptions options_;
  const std::unique_ptr<ConnectionPool> pool_;
  std::shared_ptr<spdlog::logger> log_;

  absl::Mutex typesMu_;
  std::map<std::string, const ResourceTypeDescriptor*, std::less<>> types_
      ABSL_GUARDED_BY(typesMu_);

  store::SubscriberList subscribers_;

  mutable absl::Mutex listenerMu_;
  bool stopping_ ABSL_GUARDED_BY(listenerMu_) = false;
  bool listening_ ABSL_GUARDED_BY(listenerMu_) = false;
  uint64_t listenerConnects_ ABSL_GUARDED_BY(listenerMu_) = 0;
  std::string lastListenerError_ ABSL_GUARDED_BY(listenerMu_);
  int wakeFd_ = -1;
  std::thread listener_;
  std::atomic<std::thread::id> listenerThread_{};

  /** Private NOTIFY channel of the write barrier (random, so instances do not mix tokens). */
  const std::string syncChannel_ = randomChannelName();
  absl::Mutex tokensMu_;
  uint64_t lastToken_ ABSL_GUARDED_BY(tokensMu_) = 0;
  std::set<uint64_t> pendingTokens_ ABSL_GUARDED_BY(tokensMu_);
};

absl::StatusOr<ResourceConstSharedPtr> Store::create(Resource resource,
                                                     const CreateOptions& options) {
  if (absl::Status status = validateForWrite(resource); !status.ok()) {
    return status;
  }
  std::string ownerName;
  std::string ownerMesh;
  std::string ownerType;
  if (options.owner) {
    if (options.owner->type == nullptr) {
      return invalid("owner has no type descriptor");
    }
    if (absl::Status status = validateKey(*options.owner->type, options.owner->key); !status.ok()) {
      return invalid(absl::StrCat("invalid owner: ", status.message()));
    }
    learn(options.owner->type);
    ownerName = options.owner->key.name;
    ownerMesh = options.owner->key.mesh;
    ownerType = options.owner->type->name;
  }
  learn(resource.descriptor);
  absl::StatusOr<EncodedSpec> encoded = encodeSpec(resource);
  if (!encoded.ok()) {
    return encoded.status();
  }
  const ResourceKey key = keyOf(resource);
  const std::string& typeName = resource.descriptor->name;
  const absl::Time now = nowMicros();
  const std::string nowText = formatTimestamp(now);
  const std::string labels = encodeStoredLabels(resource.meta.labels);
  const uint64_t token = beginWrite();
  absl::Status status = run("create", false, [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_params(
        "INSERT INTO resources (name, mesh, type, version, spec, creation_time, "
        "modification_time, owner_name, owner_mesh, owner_type, labels, status) "
        "VALUES ($1, $2, $3, 0, $4, $5::timestamp, $5::timestamp, NULLIF($6, ''), "
        "CASE WHEN $6 = '' THEN NULL ELSE $7 END, NULLIF($8, ''), $9::jsonb, $10::jsonb)",
        key.name, key.mesh, typeName, encoded->spec, nowText, ownerName, ownerMesh, ownerType,
        labels, encoded->status);
    markWrite(tx, token);
    tx.commit();
  });
  finishWrite(token, status.ok());
  if (absl::IsAlreadyExists(status)) {
    return alreadyExists(typeName, key);
  }
  if (absl::IsNotFound(status)) {
    return absl::NotFoundError(absl::StrCat("Owner of the resource not found: ",
                                            describeKey(ownerType, options.owner->key)));
  }
  if (!status.ok()) {
    return status;
  }
  resource.meta.version = "0";
  resource.meta.creationTime = now;
  resource.meta.modificationTime = now;
  return ResourceConstSharedPtr(std::make_shared<const Resource>(std::move(resource)));
}

absl::StatusOr<ResourceConstSharedPtr> Store::update(Resource resource) {
  if (absl::Status status = validateForWrite(resource); !status.ok()) {
    return status;
  }
  learn(resource.descriptor);
  const ResourceKey key = keyOf(resource);
  const ResourceTypeDescriptor& type = *resource.descriptor;
  std::optional<int64_t> given = parseVersion(resource.meta.version);
  bool updated = false;
  int64_t newVersion = 0;
  int64_t creationMicros = 0;
  const absl::Time now = nowMicros();
  if (given) {
    absl::StatusOr<EncodedSpec> encoded = encodeSpec(resource);
    if (!encoded.ok()) {
      return encoded.status();
    }
    const std::string labels = encodeStoredLabels(resource.meta.labels);
    const uint64_t token = beginWrite();
    absl::Status status = run("update", false, [&](pqxx::connection& conn) {
      pqxx::work tx(conn);
      pqxx::result r = tx.exec_params(
          "UPDATE resources SET spec = $1, version = version + 1, "
          "modification_time = $2::timestamp, labels = $3::jsonb, status = $4::jsonb "
          "WHERE name = $5 AND mesh = $6 AND type = $7 AND version = $8 "
          "RETURNING version, (EXTRACT(EPOCH FROM creation_time) * 1000000)::bigint",
          encoded->spec, formatTimestamp(now), labels, encoded->status, key.name, key.mesh,
          type.name, *given);
      if (!r.empty()) {
        updated = true;
        newVersion = r[0][0].as<int64_t>();
        creationMicros = r[0][1].as<int64_t>();
        markWrite(tx, token);
      }
      tx.commit();
    });
    finishWrite(token, status.ok() && updated);
    if (!status.ok()) {
      return status;
    }
  }
  if (!updated) {
    absl::StatusOr<bool> found = exists(type, key);
    if (!found.ok()) {
      return found.status();
    }
    return *found ? conflict(type.name, key) : notFound(type.name, key);
  }
  resource.meta.version = std::to_string(newVersion);
  resource.meta.creationTime = absl::FromUnixMicros(creationMicros);
  resource.meta.modificationTime = now;
  return ResourceConstSharedPtr(std::make_shared<const Resource>(std::move(resource)));
}

absl::Status Store::remove(const ResourceTypeDescriptor& type, const ResourceKey& key) {
  if (absl::Status status = validateKey(type, key); !status.ok()) {
    return status;
  }
  learn(&type);
  size_t removed = 0;
  const uint64_t token = beginWrite();
  absl::Status status = run("delete", false, [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    pqxx::result r =
        tx.exec_params("DELETE FROM resources WHERE name = $1 AND mesh = $2 AND type = $3",
                       key.name, key.mesh, type.name);
    removed = r.affected_rows();
    if (removed > 0) {
      markWrite(tx, token);
    }
    tx.commit();
  });
  finishWrite(token, status.ok() && removed > 0);
  if (!status.ok()) {
    return status;
  }
  return removed == 0 ? notFound(type.name, key) : absl::OkStatus();
}

absl::StatusOr<ResourceConstSharedPtr> Store::get(const ResourceTypeDescriptor& type,
                                                  const ResourceKey& key) {
  if (absl::Status status = validateKey(type, key); !status.ok()) {
    return status;
  }
  learn(&type);
  std::optional<pqxx::result> rows;
  absl::Status status = run("get", true, [&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    rows = tx.exec_params(absl::StrCat("SELECT ", kSelectColumns,
                                       " FROM resources WHERE name = $1 AND mesh = $2 "
                                       "AND type = $3"),
                          key.name, key.mesh, type.name);
  });
  if (!status.ok()) {
    return status;
  }
  if (!rows || rows->empty()) {
    return notFound(type.name, key);
  }
  return resourceFromRow(type, (*rows)[0]);
}

absl::StatusOr<ResourceList> Store::list(const ResourceTypeDescriptor& type,
                                         const ListOptions& options) {
  learn(&type);
  // Filters are pushed into SQL (plain substring via strpos, unlike Kuma's unescaped LIKE);
  // pagination too, unless a predicate must see the rows first. Sorting uses the "C" collation
  // so the order is bytewise (mesh, name) whatever the database locale.
  const bool pushPage = !options.predicate;
  const int64_t limit = pushPage ? static_cast<int64_t>(options.pageSize) : 0;
  const int64_t offset = pushPage ? static_cast<int64_t>(options.offset) : 0;
  const std::string labels = encodeLabels(options.labels);
  std::optional<pqxx::result> rows;
  std::optional<int64_t> total;
  absl::Status status = run("list", true, [&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    const std::string where =
        "WHERE type = $1 AND ($2 = '' OR mesh = $2) AND ($3 = '' OR strpos(name, $3) > 0) "
        "AND ($4 = '{}' OR labels @> $4::jsonb)";
    rows = tx.exec_params(
        absl::StrCat("SELECT ", kSelectColumns, ", count(*) OVER () FROM resources ", where,
                     " ORDER BY mesh COLLATE \"C\", name COLLATE \"C\" "
                     "LIMIT NULLIF($5::bigint, 0) OFFSET $6::bigint"),
        type.name, options.mesh, options.nameContains, labels, limit, offset);
    if (pushPage && rows->empty() && offset > 0) {
      // The window count is not available when the page is past the end.
      pqxx::row counted = tx.exec_params1(absl::StrCat("SELECT count(*) FROM resources ", where),
                                          type.name, options.mesh, options.nameContains, labels);
      total = counted[0].as<int64_t>();
    }
  });
  if (!status.ok()) {
    return status;
  }
  std::vector<ResourceConstSharedPtr> items;
  items.reserve(rows->size());
  for (const pqxx::row& row : *rows) {
    absl::StatusOr<ResourceConstSharedPtr> resource = resourceFromRow(type, row);
    if (!resource.ok()) {
      return resource.status();
    }
    items.push_back(std::move(*resource));
  }
  if (!pushPage) {
    return applyListOptions(std::move(items), options);
  }
  ResourceList out;
  out.total = total ? static_cast<size_t>(*total)
                    : (rows->empty() ? 0 : static_cast<size_t>((*rows)[0][8].as<int64_t>()));
  out.items = std::move(items);
  const size_t next = options.offset + out.items.size();
  if (options.pageSize > 0 && next < out.total) {
    out.nextOffset = next;
  }
  return out;
}

SubscriptionPtr Store::subscribe(std::function<void(const ChangeEvent&)> handler) {
  return subscribers_.subscribe(std::move(handler));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresStore>> newPostgresStore(StoreOptions options) {
  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
      ConnectionPool::create(options.connection, options.pool);
  if (!pool.ok()) {
    return pool.status();
  }
  auto store = std::make_unique<Store>(std::move(options), std::move(*pool));
  if (absl::Status status = store->start(); !status.ok()) {
    return status;
  }
  return std::unique_ptr<PostgresStore>(std::move(store));
}

}  // namespace kuma::store::postgres
