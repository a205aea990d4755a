#pragma once

// File: dataplane_secrets.h
// Per-proxy identity certificates of mTLS meshes (spec §8.2; Kuma's `pkg/xds/secrets`): issued
// by the mesh's enabled CA backend when a proxy's config generation needs them, cached per
// Dataplane, and reissued when the cached one is missing, the Mesh `mtls` changed, the proxy's
// tag set changed, or 4/5 of its lifetime has passed. get() is meant to be called on every
// generation and refresh tick: a cached, still valid identity is returned as the very same
// object, so callers detect a reissue by pointer.
//
//   DataplaneSecrets secrets(cas);
//   KUMA_ASSIGN_OR_RETURN(ProxyTlsSecretsConstSharedPtr tls,
//                         secrets.get(context.meshName(), context.mesh(), *dataplane));
//   options.tls = tls;   // nullptr when the mesh has mTLS off

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "kuma/model/resource.h"
#include "source/core/ca/ca_manager.h"
#include "source/xds/generator/generator.h"

namespace kuma::xds {

struct DataplaneSecretsOptions {
  /** Time source (tests inject one to cross the rotation point). */
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  /** First wait after a failed issue; doubled per consecutive failure up to backoffMax. */
  absl::Duration backoffBase = absl::Seconds(1);
  absl::Duration backoffMax = absl::Minutes(1);
};

/** Counters (tests, metrics). */
struct DataplaneSecretsStats {
  uint64_t issued = 0;     // identities issued (first ones and reissues)
  uint64_t failures = 0;   // failed issue attempts
  uint64_t backedOff = 0;  // get() calls answered with the last error, within a backoff
};

/** What an issued identity looks like, for inspection and tests. */
struct IdentityInfo {
  std::string serialHex;
  absl::Time issuedAt;
  absl::Time expiresAt;  // issuedAt + the backend's lifetime
  absl::Time notAfter;   // the certificate's (whole seconds)
  std::string backend;   // the CA backend that issued it (the mesh's enabled one)
};

/** The tag set of a Dataplane's identity: every inbound tag with all its values (§8.2). */
ca::MultiValueTags dataplaneIdentityTags(const model::Resource& dataplane);

/** Thread-safe; two different proxies issue in parallel, one proxy's callers serialize. */
class DataplaneSecrets {
 public:
  /** @param cas the installed CA managers; must outlive this object. */
  explicit DataplaneSecrets(const ca::CaManagers& cas, DataplaneSecretsOptions options = {});

  /**
   * The TLS secrets of `dataplane` (a Dataplane of mesh `meshName` whose spec is `mesh`).
   * @return nullptr when the mesh has mTLS off; the cached object while it is valid; a new one
   *         after a reissue; the CA's error (e.g. NotFound while its Secrets do not exist yet),
   *         repeated as Unavailable without retrying while backing off.
   */
  absl::StatusOr<ProxyTlsSecretsConstSharedPtr> get(const std::string& meshName,
                                                    const mesh::v1alpha1::Mesh& mesh,
                                                    const model::Resource& dataplane);

  /** Drops the cached identity of Dataplane `name` of `mesh` (the proxy disconnected). */
  void forget(const std::string& mesh, const std::string& name);

  /** The cached identity of a Dataplane, or NotFound. */
  absl::StatusOr<IdentityInfo> info(const std::string& mesh, const std::string& name) const;

  DataplaneSecretsStats stats() const;

 private:
  struct Entry {
    absl::Mutex mu;
    ProxyTlsSecretsConstSharedPtr secrets ABSL_GUARDED_BY(mu);
    mesh::v1alpha1::Mesh::Mtls mtls ABSL_GUARDED_BY(mu);
    ca::MultiValueTags tags ABSL_GUARDED_BY(mu);
    IdentityInfo identity ABSL_GUARDED_BY(mu);
    absl::Time rotateAt ABSL_GUARDED_BY(mu);
    absl::Status lastError ABSL_GUARDED_BY(mu);
    absl::Time retryAt ABSL_GUARDED_BY(mu) = absl::InfinitePast();
    absl::Duration backoff ABSL_GUARDED_BY(mu) = absl::ZeroDuration();
  };

  std::shared_ptr<Entry> entry(const std::string& key);

  const ca::CaManagers& cas_;
  const DataplaneSecretsOptions options_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  DataplaneSecretsStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuma::xds
