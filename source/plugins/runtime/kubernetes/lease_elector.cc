#include "source/plugins/runtime/kubernetes/lease_elector.h"

#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "source/common/json_yaml.h"
#include "source/common/logging.h"
#include "source/common/uuid.h"

namespace kuma::k8s::runtime {
namespace {

using Json = nlohmann::json;

constexpr char kLeaseApi[] = "coordination.k8s.io/v1";

/** metav1.MicroTime as the API server writes it: RFC 3339 with microseconds, UTC. */
std::string microTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

int64_t wholeSeconds(absl::Duration d) {
  return static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(d)));
}

/** client-go's wait.Jitter(d, 1.2): d plus up to 1.2 d. */
absl::Duration jittered(absl::Duration d) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> extra(0.0, 1.2);
  return d + d * extra(rng);
}

}  // namespace

std::string leaseIdentity(const std::string& hostname) {
  return absl::StrCat(hostname, "_", common::uuidV4());
}

LeaseElector::LeaseElector(LeaseElectorOptions options, std::function<void()> onElected,
                           std::function<void()> onLost)
    : options_(std::move(options)), onElected_(std::move(onElected)), onLost_(std::move(onLost)) {}

LeaseElector::~LeaseElector() {
  stop();
}

void LeaseElector::start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopping_) {
    return;
  }
  thread_ = std::thread([this] { loop(); });
}

void LeaseElector::stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool LeaseElector::isLeader() const {
  absl::MutexLock lock(&mu_);
  return leader_;
}

bool LeaseElector::sleepUnlessStopping(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
  mu_.AwaitWithTimeout(absl::Condition(&stopping), d);
  return !stopping_;
}

std::string LeaseElector::path() const {
  return absl::StrCat("/apis/", kLeaseApi, "/namespaces/", options_.ns, "/leases/", options_.name);
}

void LeaseElector::loop() {
  auto log = logging::logger("leader");
  log->info("{} competes for the Lease {}/{}", options_.identity, options_.ns, options_.name);
  while (true) {
    // Candidate: one attempt per (jittered) retry period.
    if (!tryAcquireOrRenew()) {
      if (!sleepUnlessStopping(jittered(options_.retryPeriod))) {
        return;
      }
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        break;  // release below
      }
      leader_ = true;
    }
    log->info("{} acquired the Lease {}/{}", options_.identity, options_.ns, options_.name);
    recordEvent("became leader");
    onElected_();
    // Leader: renew every retry period; give up when nothing succeeded for renewDeadline.
    bool stopping = false;
    while (!stopping) {
      if (!sleepUnlessStopping(options_.retryPeriod)) {
        stopping = true;
        break;
      }
      const absl::Time deadline = absl::Now() + options_.renewDeadline;
      bool renewed = tryAcquireOrRenew();
      while (!renewed && absl::Now() < deadline) {
        if (!sleepUnlessStopping(options_.retryPeriod)) {
          stopping = true;
          break;
        }
        renewed = tryAcquireOrRenew();
      }
      if (!renewed && !stopping) {
        log->warn("{} could not renew the Lease {}/{} within {}: no longer the leader",
                  options_.identity, options_.ns, options_.name,
                  absl::FormatDuration(options_.renewDeadline));
        break;
      }
    }
    if (stopping) {
      break;
    }
    {
      absl::MutexLock lock(&mu_);
      leader_ = false;
    }
    onLost_();
    recordEvent("stopped leading");
    lease_.reset();
  }
  // Stopping while leader (or right after winning): give the Lease up for a peer.
  if (options_.releaseOnStop) {
    release();
  }
  bool wasLeader = false;
  {
    absl::MutexLock lock(&mu_);
    wasLeader = leader_;
    leader_ = false;
  }
  if (wasLeader) {
    onLost_();
    recordEvent("stopped leading");
  }
}

bool LeaseElector::tryAcquireOrRenew() {
  auto log = logging::logger("leader");
  const absl::Time now = absl::Now();
  Json spec = {{"holderIdentity", options_.identity},
               {"leaseDurationSeconds", wholeSeconds(options_.leaseDuration)},
               {"acquireTime", microTime(now)},
               {"renewTime", microTime(now)},
               {"leaseTransitions", 0}};
  absl::StatusOr<KubeResponse> got = options_.client->request("GET", path());
  if (!got.ok()) {
    log->debug("reading the Lease {}/{}: {}", options_.ns, options_.name,
               std::string(got.status().message()));
    return false;
  }
  if (got->status == 404) {
    const Json lease = {{"apiVersion", kLeaseApi},
                        {"kind", "Lease"},
                        {"metadata", {{"name", options_.name}, {"namespace", options_.ns}}},
                        {"spec", spec}};
    absl::StatusOr<KubeResponse> created = options_.client->request(
        "POST", absl::StrCat("/apis/", kLeaseApi, "/namespaces/", options_.ns, "/leases"),
        lease.dump());
    if (!created.ok() || created->status != 201) {
      log->debug("creating the Lease {}/{}: {}", options_.ns, options_.name,
                 created.ok() ? kubeApiMessage(*created) : std::string(created.status().message()));
      return false;
    }
    remember(Json::parse(created->body, nullptr, false));
    observedSpec_ = spec;
    observedTime_ = now;
    return true;
  }
  if (got->status != 200) {
    log->debug("reading the Lease {}/{}: HTTP {} {}", options_.ns, options_.name, got->status,
               kubeApiMessage(*got));
    return false;
  }
  Json lease = Json::parse(got->body, nullptr, false);
  if (!lease.is_object()) {
    return false;
  }
  const Json& current = common::jsonMember(lease, "spec");
  const Json old = current.is_object() ? current : Json::object();
  if (!observedSpec_.has_value() || *observedSpec_ != old) {
    observedSpec_ = old;
    observedTime_ = now;
  }
  const std::string holder = common::jsonString(old, "holderIdentity");
  if (!holder.empty() && holder != options_.identity &&
      observedTime_ + options_.leaseDuration > now) {
    return false;  // held by someone whose record changed within a lease
  }
  const Json& transitions = common::jsonMember(old, "leaseTransitions");
  const int64_t oldTransitions = transitions.is_number_integer() ? transitions.get<int64_t>() : 0;
  if (holder == options_.identity) {
    if (old.contains("acquireTime")) {
      spec["acquireTime"] = old["acquireTime"];
    }
    spec["leaseTransitions"] = oldTransitions;
  } else {
    spec["leaseTransitions"] = oldTransitions + 1;
  }
  lease["spec"] = spec;
  absl::StatusOr<KubeResponse> updated = options_.client->request("PUT", path(), lease.dump());
  if (!updated.ok() || updated->status != 200) {
    // 409: someone else wrote it since our read (another candidate won).
    log->debug("updating the Lease {}/{}: {}", options_.ns, options_.name,
               updated.ok() ? absl::StrCat("HTTP ", updated->status, " ", kubeApiMessage(*updated))
                            : std::string(updated.status().message()));
    return false;
  }
  remember(Json::parse(updated->body, nullptr, false));
  observedSpec_ = spec;
  observedTime_ = now;
  return true;
}

void LeaseElector::remember(Json lease) {
  const Json& meta = common::jsonMember(lease, "metadata");
  leaseUid_ = common::jsonString(meta, "uid");
  leaseVersion_ = common::jsonString(meta, "resourceVersion");
  lease_ = std::move(lease);
}

void LeaseElector::release() {
  if (!lease_.has_value() || !lease_->is_object()) {
    return;
  }
  const Json& held = common::jsonMember(*lease_, "spec");
  if (common::jsonString(held, "holderIdentity") != options_.identity) {
    return;
  }
  // client-go's release(): the record without a holder, valid for one second.
  const absl::Time now = absl::Now();
  Json lease = *lease_;
  const Json& transitions = common::jsonMember(held, "leaseTransitions");
  lease["spec"] = {{"holderIdentity", ""},
                   {"leaseDurationSeconds", 1},
                   {"acquireTime", microTime(now)},
                   {"renewTime", microTime(now)},
                   {"leaseTransitions", transitions.is_number_integer() ? transitions : Json(0)}};
  absl::StatusOr<KubeResponse> answer = options_.client->request("PUT", path(), lease.dump());
  if (answer.ok() && answer->status == 200) {
    remember(Json::parse(answer->body, nullptr, false));
  }
  if (!answer.ok() || answer->status != 200) {
    logging::logger("leader")->warn(
        "{} could not release the Lease {}/{}: {}", options_.identity, options_.ns, options_.name,
        answer.ok() ? kubeApiMessage(*answer) : std::string(answer.status().message()));
    return;
  }
  lease_.reset();
  logging::logger("leader")->info("{} released the Lease {}/{}", options_.identity, options_.ns,
                                  options_.name);
}

void LeaseElector::recordEvent(const std::string& what) {
  if (!options_.recordEvents) {
    return;
  }
  // client-go's record.EventRecorder (core/v1), as controller-runtime's provider writes it for
  // the resource lock: involvedObject is the Lease by namespace and name.
  const absl::Time now = absl::Now();
  const std::string timestamp = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone());
  const Json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata",
       {{"name", absl::StrCat(options_.name, ".", absl::Hex(absl::ToUnixNanos(now)))},
        {"namespace", options_.ns}}},
      {"involvedObject",
       {{"kind", "Lease"},
        {"namespace", options_.ns},
        {"name", options_.name},
        {"uid", leaseUid_},
        {"apiVersion", kLeaseApi},
        {"resourceVersion", leaseVersion_}}},
      {"reason", "LeaderElection"},
      {"message", absl::StrCat(options_.identity, " ", what)},
      {"source", {{"component", options_.identity}}},
      {"firstTimestamp", timestamp},
      {"lastTimestamp", timestamp},
      {"count", 1},
      {"type", "Normal"},
      {"eventTime", nullptr},
      {"reportingComponent", options_.identity},
      {"reportingInstance", ""}};
  absl::StatusOr<KubeResponse> answer = options_.client->request(
      "POST", absl::StrCat("/api/v1/namespaces/", options_.ns, "/events"), event.dump());
  if (!answer.ok() || answer->status != 201) {
    logging::logger("leader")->debug(
        "could not record the LeaderElection event: {}",
        answer.ok() ? absl::StrCat("HTTP ", answer->status, " ", kubeApiMessage(*answer))
                    : std::string(answer.status().message()));
  }
}

}  // namespace kuma::k8s::runtime
