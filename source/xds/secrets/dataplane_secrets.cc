#include "source/core/resources/mesh.h"
#include "source/xds/secrets/dataplane_secrets.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "source/core/ca/certs.h"
#include "source/core/model/proto_spec.h"

namespace kuma::xds {
namespace {

constexpr char kWorkloadLabel[] = "kuma.io/workload";

std::string keyOf(const std::string& mesh, const std::string& name) {
  return absl::StrCat(mesh, "/", name);
}

bool sameMtls(const mesh::v1alpha1::Mesh::Mtls& a, const mesh::v1alpha1::Mesh::Mtls& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

}  // namespace

ca::MultiValueTags dataplaneIdentityTags(const model::Resource& dataplane) {
  ca::MultiValueTags tags;
  const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dataplane);
  if (spec != nullptr) {
    for (const auto& inbound : spec->networking().inbound()) {
      for (const auto& [k, v] : inbound.tags()) {
        tags[k].insert(v);
      }
    }
    if (spec->networking().has_gateway()) {
      for (const auto& [k, v] : spec->networking().gateway().tags()) {
        tags[k].insert(v);
      }
    }
  }
  if (tags.find(kServiceTag) == tags.end()) {
    // Inbound tags disabled: the workload label names the identity (§8.2).
    auto it = dataplane.meta.labels.find(kWorkloadLabel);
    if (it != dataplane.meta.labels.end()) {
      tags[kServiceTag].insert(it->second);
    }
  }
  return tags;
}

DataplaneSecrets::DataplaneSecrets(const ca::CaManagers& cas, DataplaneSecretsOptions options)
    : cas_(cas), options_(std::move(options)) {}

std::shared_ptr<DataplaneSecrets::Entry> DataplaneSecrets::entry(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto& slot = entries_[key];
  if (slot == nullptr) {
    slot = std::make_shared<Entry>();
  }
  return slot;
}

absl::StatusOr<ProxyTlsSecretsConstSharedPtr> DataplaneSecrets::get(
    const std::string& meshName, const mesh::v1alpha1::Mesh& mesh,
    const model::Resource& dataplane) {
  const ca::Backend* backend = resources::enabledCaBackend(mesh);
  if (backend == nullptr) {
    forget(meshName, dataplane.meta.name);
    return nullptr;
  }
  const ca::MultiValueTags tags = dataplaneIdentityTags(dataplane);
  std::shared_ptr<Entry> e = entry(keyOf(meshName, dataplane.meta.name));
  absl::MutexLock lock(&e->mu);
  const absl::Time now = options_.clock();
  const bool inputsChanged = !sameMtls(e->mtls, mesh.mtls()) || e->tags != tags;
  if (e->secrets != nullptr && !inputsChanged && now < e->rotateAt) {
    return e->secrets;
  }
  // Back off after failures, but not when the inputs changed (the cause may be gone).
  if (!e->lastError.ok() && now < e->retryAt && !inputsChanged) {
    absl::MutexLock stats(&mu_);
    ++stats_.backedOff;
    return absl::UnavailableError(
        absl::StrCat("identity of ", dataplane.meta.name, " not issued, retrying at ",
                     absl::FormatTime(e->retryAt), ": ", e->lastError.message()));
  }
  const auto fail = [&](const absl::Status& status) -> absl::Status {
    e->mtls = mesh.mtls();
    e->tags = tags;
    e->lastError = status;
    e->backoff =
        std::min(options_.backoffMax,
                 e->backoff == absl::ZeroDuration() ? options_.backoffBase : e->backoff * 2);
    e->retryAt = now + e->backoff;
    absl::MutexLock stats(&mu_);
    ++stats_.failures;
    return status;
  };
  const ca::CaManager* manager = cas_.find(backend->type());
  if (manager == nullptr) {
    return fail(absl::FailedPreconditionError(
        absl::StrCat("no CA manager for backend type \"", backend->type(), "\"")));
  }
  auto signer = manager->signingPair(meshName, *backend);
  if (!signer.ok()) {
    return fail(signer.status());
  }
  auto roots = ca::splitPemCertificates(signer->certPem);
  if (!roots.ok()) {
    return fail(roots.status());
  }
  const absl::Duration lifetime = ca::identityLifetime(*backend);
  auto identity = ca::issueIdentityCert(*signer, meshName, tags, lifetime, now);
  if (!identity.ok()) {
    return fail(identity.status());
  }
  auto info = ca::describeCertificate(identity->certPem);
  if (!info.ok()) {
    return fail(info.status());
  }
  auto secrets = std::make_shared<ProxyTlsSecrets>();
  secrets->certChainPem = identity->certPem;
  secrets->keyPem = std::move(identity->keyPem);
  secrets->caPem = absl::StrJoin(*roots, "\n");
  e->secrets = std::move(secrets);
  e->mtls = mesh.mtls();
  e->tags = tags;
  e->identity = IdentityInfo{info->serialHex, now, now + lifetime, info->notAfter, backend->name()};
  e->rotateAt = now + lifetime * 4 / 5;
  e->lastError = absl::OkStatus();
  e->backoff = absl::ZeroDuration();
  {
    absl::MutexLock stats(&mu_);
    ++stats_.issued;
  }
  return e->secrets;
}

void DataplaneSecrets::forget(const std::string& mesh, const std::string& name) {
  absl::MutexLock lock(&mu_);
  entries_.erase(keyOf(mesh, name));
}

absl::StatusOr<IdentityInfo> DataplaneSecrets::info(const std::string& mesh,
                                                    const std::string& name) const {
  std::shared_ptr<Entry> e;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(keyOf(mesh, name));
    if (it != entries_.end()) {
      e = it->second;
    }
  }
  if (e == nullptr) {
    return absl::NotFoundError(absl::StrCat("no identity for ", keyOf(mesh, name)));
  }
  absl::MutexLock lock(&e->mu);
  if (e->secrets == nullptr) {
    return absl::NotFoundError(absl::StrCat("no identity for ", keyOf(mesh, name)));
  }
  return e->identity;
}

DataplaneSecretsStats DataplaneSecrets::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace kuma::xds
