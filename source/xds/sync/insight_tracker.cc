#include "source/xds/sync/insight_tracker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/logging.h"
#include "source/common/uuid.h"
#include "source/common/version.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/core/store/errors.h"
#include "source/xds/sync/dataplane_callbacks.h"

namespace kuma::xds::sync {
namespace {

namespace v1 = ::kuma::mesh::v1alpha1;
using Clock = std::chrono::steady_clock;

// Writes of a closed stream that keep failing are given up after this many attempts, so that an
// unavailable store cannot make the tracker accumulate closed streams forever.
constexpr int kMaxClosedStreamWriteAttempts = 3;
// Read-modify-write attempts of one insight when another writer got in between.
constexpr int kConflictRetries = 5;

void setTime(google::protobuf::Timestamp* ts, absl::Time t) {
  const int64_t nanos = absl::ToUnixNanos(t);
  ts->set_seconds(nanos / 1000000000);
  ts->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

bool laterThan(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() != b.seconds() ? a.seconds() > b.seconds() : a.nanos() > b.nanos();
}

/** The per-type stats of a type URL; null for types the insight does not break out (SDS...). */
v1::DiscoveryServiceStats* statsOf(v1::DiscoverySubscriptionStatus& status,
                                   const std::string& typeUrl) {
  static constexpr std::string_view kPrefix = "type.googleapis.com/";
  std::string_view t = typeUrl;
  if (t.substr(0, kPrefix.size()) == kPrefix) {
    t.remove_prefix(kPrefix.size());
  }
  if (t == "envoy.config.cluster.v3.Cluster") {
    return status.mutable_cds();
  }
  if (t == "envoy.config.endpoint.v3.ClusterLoadAssignment") {
    return status.mutable_eds();
  }
  if (t == "envoy.config.listener.v3.Listener") {
    return status.mutable_lds();
  }
  if (t == "envoy.config.route.v3.RouteConfiguration") {
    return status.mutable_rds();
  }
  return nullptr;
}

/** node.metadata.version (kuma-dp and Envoy versions, as kuma-dp sent them to /bootstrap). */
void readVersion(const envoy::config::core::v3::Node& node, v1::Version* version) {
  const auto& fields = node.metadata().fields();
  auto it = fields.find("version");
  if (it == fields.end() || !it->second.has_struct_value()) {
    return;
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(it->second.struct_value(), &json).ok()) {
    return;
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  v1::Version parsed;
  if (google::protobuf::util::JsonStringToMessage(json, &parsed, options).ok()) {
    *version = std::move(parsed);
  }
  if (version->has_kuma_dp()) {
    version->mutable_kuma_dp()->set_kuma_cp_compatible(
        kumaDpVersionCompatible(version::kKumaCompatible, version->kuma_dp().version()));
  }
}

/**
 * Kuma's mTLS rule (dataplane_status_sink.go, DataplaneInsight.UpdateCert): no certificate
 * removes the block; a certificate with another expiration or backends than the block shows
 * counts as a regeneration.
 */
void updateMtls(v1::DataplaneInsight& insight, const std::optional<IdentityCertInfo>& cert) {
  if (!cert) {
    insight.clear_mtls();
    return;
  }
  const auto& current = insight.mtls();
  const bool same =
      insight.has_mtls() && current.has_certificate_expiration_time() &&
      absl::FromUnixSeconds(current.certificate_expiration_time().seconds()) +
              absl::Nanoseconds(current.certificate_expiration_time().nanos()) ==
          cert->expiration &&
      current.issued_backend() == cert->issuedBackend &&
      std::equal(current.supported_backends().begin(), current.supported_backends().end(),
                 cert->supportedBackends.begin(), cert->supportedBackends.end());
  if (same) {
    return;
  }
  v1::DataplaneInsight::MTLS* mtls = insight.mutable_mtls();
  setTime(mtls->mutable_certificate_expiration_time(), cert->expiration);
  setTime(mtls->mutable_last_certificate_regeneration(), cert->generation);
  mtls->set_certificate_regenerations(mtls->certificate_regenerations() + 1);
  mtls->set_issued_backend(cert->issuedBackend);
  mtls->mutable_supported_backends()->Clear();
  for (const std::string& b : cert->supportedBackends) {
    mtls->add_supported_backends(b);
  }
}

/**
 * Replaces the subscription with the same id, or inserts it in connectTime order (a late write of
 * an older stream must not become "the last subscription"), then keeps the newest `limit`.
 */
void mergeSubscription(v1::DataplaneInsight& insight, const v1::DiscoverySubscription& sub,
                       int limit) {
  auto* subs = insight.mutable_subscriptions();
  bool found = false;
  for (auto& existing : *subs) {
    if (existing.id() == sub.id()) {
      existing = sub;
      found = true;
      break;
    }
  }
  if (!found) {
    int pos = subs->size();
    while (pos > 0 && laterThan(subs->Get(pos - 1).connect_time(), sub.connect_time())) {
      --pos;
    }
    *subs->Add() = sub;
    for (int i = subs->size() - 1; i > pos; --i) {
      subs->SwapElements(i, i - 1);
    }
  }
  if (limit > 0 && subs->size() > limit) {
    subs->DeleteSubrange(0, subs->size() - limit);
  }
}

}  // namespace

namespace {

// Masterminds/semver's lenient parse: "v"?MAJOR(.MINOR(.PATCH)?)?(-pre)?(+build)?.
struct SemVer {
  int64_t major = 0;
  int64_t minor = 0;
  bool prerelease = false;
};

std::optional<SemVer> parseSemVer(std::string_view v) {
  if (!v.empty() && (v.front() == 'v' || v.front() == 'V')) {
    v.remove_prefix(1);
  }
  if (const size_t plus = v.find('+'); plus != std::string_view::npos) {
    v = v.substr(0, plus);
  }
  SemVer out;
  if (const size_t dash = v.find('-'); dash != std::string_view::npos) {
    out.prerelease = true;
    v = v.substr(0, dash);
  }
  int64_t numbers[3] = {0, 0, 0};
  size_t count = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = v.find('.', start);
    const std::string_view part =
        v.substr(start, dot == std::string_view::npos ? v.npos : dot - start);
    if (count == 3 || part.empty() || part.size() > 9) {
      return std::nullopt;
    }
    int64_t n = 0;
    for (char c : part) {
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      n = n * 10 + (c - '0');
    }
    numbers[count++] = n;
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  out.major = numbers[0];
  out.minor = numbers[1];
  return out;
}

}  // namespace

bool kumaDpVersionCompatible(std::string_view cpVersion, std::string_view dpVersion) {
  if (cpVersion.find("preview") != std::string_view::npos ||
      dpVersion.find("preview") != std::string_view::npos) {
    return true;
  }
  const std::optional<SemVer> cp = parseSemVer(cpVersion);
  const std::optional<SemVer> dp = parseSemVer(dpVersion);
  if (!cp || !dp) {
    return true;  // some kind of dev version
  }
  // ">= MAJOR.(MINOR-2), <= MAJOR.(MINOR+2)"; a prerelease matches no plain constraint.
  const int64_t minMinor = std::max<int64_t>(cp->minor - 2, 0);
  return !dp->prerelease && dp->major == cp->major && dp->minor >= minMinor &&
         dp->minor <= cp->minor + 2;
}

InsightTracker::InsightTracker(manager::ResourceManager& manager,
                               const model::TypeRegistry& registry, InsightTrackerOptions options)
    : manager_(manager),
      dataplaneType_(registry.byName(std::string(resources::kDataplaneType))),
      insightType_(registry.byName(std::string(resources::kDataplaneInsightType))),
      options_(std::move(options)) {
  flusher_ = std::thread([this] { flushLoop(); });
}

InsightTracker::~InsightTracker() {
  stop();
}

InsightTrackerStats InsightTracker::stats() const {
  absl::MutexLock lock(&mu_);
  InsightTrackerStats out = stats_;
  out.streams = streams_.size();
  return out;
}

absl::Status InsightTracker::onStreamOpen(int64_t streamId,
                                          const envoy::config::core::v3::Node& node,
                                          const server::StreamInfo&) {
  auto key = parseNodeId(node.id());
  if (!key.ok()) {
    return absl::OkStatus();  // nothing to name an insight after; other callbacks refuse it
  }
  Stream stream;
  stream.mesh = key->first;
  stream.name = key->second;
  v1::DiscoverySubscription& sub = stream.subscription;
  sub.set_id(common::uuidV4());
  sub.set_control_plane_instance_id(options_.controlPlaneInstanceId);
  const absl::Time now = absl::Now();
  setTime(sub.mutable_connect_time(), now);
  v1::DiscoverySubscriptionStatus* status = sub.mutable_status();
  setTime(status->mutable_last_update_time(), now);
  // Present even when zero: Kuma shows `"rds": {}` for a proxy without routes.
  status->mutable_total();
  status->mutable_cds();
  status->mutable_eds();
  status->mutable_lds();
  status->mutable_rds();
  readVersion(node, sub.mutable_version());
  stream.metadata = node.metadata();
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    return absl::OkStatus();
  }
  streams_[streamId] = std::move(stream);
  urgent_ = true;
  return absl::OkStatus();
}

void InsightTracker::onRequest(int64_t streamId, const std::string& typeUrl, bool isAck,
                               bool isNack, const std::string&) {
  if (!isAck && !isNack) {
    return;  // a subscription request answers no response
  }
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(streamId);
  if (it == streams_.end() || it->second.closed) {
    return;
  }
  v1::DiscoverySubscriptionStatus& status = *it->second.subscription.mutable_status();
  for (v1::DiscoveryServiceStats* stats : {status.mutable_total(), statsOf(status, typeUrl)}) {
    if (stats == nullptr) {
      continue;
    }
    if (isNack) {
      stats->set_responses_rejected(stats->responses_rejected() + 1);
    } else {
      stats->set_responses_acknowledged(stats->responses_acknowledged() + 1);
    }
  }
  setTime(status.mutable_last_update_time(), now);
  it->second.dirty = true;
}

void InsightTracker::onResponse(int64_t streamId, const std::string& typeUrl, const std::string&,
                                size_t) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(streamId);
  if (it == streams_.end() || it->second.closed) {
    return;
  }
  v1::DiscoverySubscriptionStatus& status = *it->second.subscription.mutable_status();
  for (v1::DiscoveryServiceStats* stats : {status.mutable_total(), statsOf(status, typeUrl)}) {
    if (stats != nullptr) {
      stats->set_responses_sent(stats->responses_sent() + 1);
    }
  }
  setTime(status.mutable_last_update_time(), now);
  it->second.dirty = true;
}

void InsightTracker::onStreamClosed(int64_t streamId, const std::string&) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(streamId);
  if (it == streams_.end() || it->second.closed) {
    return;
  }
  setTime(it->second.subscription.mutable_disconnect_time(), now);
  it->second.closed = true;
  it->second.dirty = true;
  it->second.urgent = true;
  urgent_ = true;
}

void InsightTracker::stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
  }
  if (flusher_.joinable()) {
    flusher_.join();
  }
  const Clock::time_point deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(options_.stopTimeout);
  absl::MutexLock writeLock(&writeMu_);
  std::vector<Pending> pending;
  {
    absl::MutexLock lock(&mu_);
    // Streams still open when the control plane stops end now, as far as this CP can tell.
    const absl::Time now = absl::Now();
    for (auto& [id, stream] : streams_) {
      if (!stream.closed) {
        setTime(stream.subscription.mutable_disconnect_time(), now);
        stream.closed = true;
        stream.dirty = true;
      }
    }
    pending = collectLocked(true);
  }
  writeAll(pending, deadline);
  absl::MutexLock lock(&mu_);
  streams_.clear();
}

void InsightTracker::flush() {
  absl::MutexLock writeLock(&writeMu_);
  std::vector<Pending> pending;
  {
    absl::MutexLock lock(&mu_);
    pending = collectLocked(true);
  }
  writeAll(pending, Clock::time_point::max());
}

void InsightTracker::flushLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (!wakeUp()) {
        mu_.AwaitWithTimeout(absl::Condition(this, &InsightTracker::wakeUp),
                             absl::FromChrono(nextWaitLocked()));
      }
      if (stopping_) {
        return;  // stop() writes what is left
      }
    }
    // Collect under writeMu_ so that a concurrent flush() cannot write a newer state first and
    // then be overwritten by this older one.
    absl::MutexLock writeLock(&writeMu_);
    std::vector<Pending> pending;
    {
      absl::MutexLock lock(&mu_);
      urgent_ = false;
      pending = collectLocked(false);
    }
    writeAll(pending, Clock::time_point::max());
  }
}

std::chrono::nanoseconds InsightTracker::nextWaitLocked() const {
  constexpr std::chrono::nanoseconds kMinWait = std::chrono::milliseconds(5);
  const std::chrono::nanoseconds interval = std::max(options_.flushInterval, kMinWait);
  // Periodic writes are batched on a grid of a tenth of the interval (connects and disconnects
  // wake the flusher at once): every wake-up walks every stream, so waking at each stream's own
  // deadline cost thousands of walks per second with thousands of streams.
  const std::chrono::nanoseconds granularity =
      std::clamp<std::chrono::nanoseconds>(interval / 10, kMinWait, std::chrono::seconds(1));
  std::chrono::nanoseconds wait = interval;
  const Clock::time_point now = Clock::now();
  for (const auto& [id, stream] : streams_) {
    if (stream.dirty) {
      wait = std::min<std::chrono::nanoseconds>(wait, stream.lastWrite + interval - now);
    }
  }
  return std::max(wait, granularity);
}

std::vector<InsightTracker::Pending> InsightTracker::collectLocked(bool force) {
  std::vector<Pending> out;
  const Clock::time_point now = Clock::now();
  for (auto& [id, stream] : streams_) {
    if (!stream.dirty) {
      continue;
    }
    if (!force && !stream.urgent && now < stream.lastWrite + options_.flushInterval) {
      continue;
    }
    out.push_back(
        Pending{id, stream.mesh, stream.name, stream.subscription, stream.metadata, stream.closed});
    stream.dirty = false;
    stream.urgent = false;
    stream.lastWrite = now;
  }
  return out;
}

void InsightTracker::writeAll(const std::vector<Pending>& pending, Clock::time_point deadline) {
  for (const Pending& p : pending) {
    if (Clock::now() > deadline) {
      logging::logger("xds-server")
          ->warn("gave up writing {} DataplaneInsight update(s): out of time", pending.size());
      return;
    }
    const absl::Status status = write(p);
    const bool missing = store::isNotFound(status);
    if (!status.ok() && !missing) {
      logging::logger("xds-server")
          ->warn("could not update DataplaneInsight {}.{}: {}", p.mesh, p.name,
                 std::string(status.message()));
    }
    absl::MutexLock lock(&mu_);
    if (status.ok()) {
      stats_.writes++;
    } else if (missing) {
      stats_.skippedWrites++;
    } else {
      stats_.writeErrors++;
    }
    auto it = streams_.find(p.streamId);
    if (it == streams_.end()) {
      continue;
    }
    Stream& stream = it->second;
    if (status.ok() || (missing && p.closed)) {
      stream.failedWrites = 0;
      if (p.closed) {
        streams_.erase(it);  // its final state is stored (or has nowhere to go)
      }
      continue;
    }
    // Try again later (not urgently): the Dataplane may be registered meanwhile, or the store
    // come back.
    stream.dirty = true;
    if (!missing && ++stream.failedWrites >= kMaxClosedStreamWriteAttempts && p.closed) {
      streams_.erase(it);
    }
  }
}

absl::Status InsightTracker::write(const Pending& p) {
  if (dataplaneType_ == nullptr || insightType_ == nullptr) {
    return absl::FailedPreconditionError("Dataplane/DataplaneInsight types are not registered");
  }
  const store::ResourceKey key{p.name, p.mesh};
  // The insight is owned by its Dataplane: without one there is nothing to attach it to.
  auto dataplane = manager_.get(*dataplaneType_, key);
  if (!dataplane.ok()) {
    return dataplane.status();
  }
  absl::Status last;
  for (int attempt = 0; attempt < kConflictRetries; ++attempt) {
    auto existing = manager_.get(*insightType_, key);
    if (!existing.ok() && !store::isNotFound(existing.status())) {
      return existing.status();
    }
    v1::DataplaneInsight insight;
    model::Resource resource;
    resource.descriptor = insightType_;
    resource.meta.name = p.name;
    resource.meta.mesh = p.mesh;
    if (existing.ok()) {
      if (const auto* spec = model::protoSpecOf<v1::DataplaneInsight>(**existing)) {
        insight = *spec;
      }
      resource.meta.version = (*existing)->meta.version;
      resource.meta.labels = (*existing)->meta.labels;
    }
    mergeSubscription(insight, p.subscription, options_.subscriptionLimit);
    *insight.mutable_metadata() = p.metadata;
    // A closed stream's proxy may already be forgotten by the identity cache: keep its block.
    if (options_.identityCert && !p.closed) {
      updateMtls(insight, options_.identityCert(p.mesh, p.name));
    }
    resource.spec = resources::makeDataplaneInsightSpec(std::move(insight));
    absl::StatusOr<model::ResourceConstSharedPtr> result;
    if (existing.ok()) {
      result = manager_.update(std::move(resource));
    } else {
      store::CreateOptions createOptions;
      createOptions.owner = store::TypedResourceKey{dataplaneType_, key};
      result = manager_.create(std::move(resource), createOptions);
    }
    if (result.ok()) {
      return absl::OkStatus();
    }
    last = result.status();
    // Changed, created or deleted by someone else in between: read again. (A Dataplane deleted
    // meanwhile ends in NotFound from create(), its owner being gone.)
    const bool raced = store::isConflict(last) || store::isAlreadyExists(last) ||
                       (existing.ok() && store::isNotFound(last));
    if (!raced) {
      return last;
    }
  }
  return last;
}

}  // namespace kuma::xds::sync
