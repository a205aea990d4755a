#include "source/xds/sync/reconciler.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kuma/xds/snapshot.h"
#include "source/common/logging.h"
#include "source/common/uuid.h"
#include "source/core/model/proto_spec.h"
#include "source/xds/context/vip_persistence.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/redaction.h"

namespace kuma::xds::sync {
namespace {

bool sameResources(const std::map<std::string, ResourceConstSharedPtr>& a,
                   const std::map<std::string, ResourceConstSharedPtr>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    if (ia->first != ib->first) {
      return false;
    }
    if (ia->second != ib->second && (ia->second->hash != ib->second->hash ||
                                     ia->second->serialized != ib->second->serialized)) {
      return false;
    }
  }
  return true;
}

// Every proxy gets these types, possibly empty, so that wildcard subscriptions are answered.
constexpr const char* kAlwaysSent[] = {kListenerType, kClusterType, kEndpointType};

}  // namespace

SnapshotConstSharedPtr versionSnapshot(const GeneratedResources& generated,
                                       const SnapshotConstSharedPtr& previous) {
  auto snapshot = std::make_shared<Snapshot>();
  for (const char* type : kAlwaysSent) {
    snapshot->types[type];
  }
  for (const auto& [type, resources] : generated.types) {
    snapshot->types[type].resources = resources;
  }
  bool clustersChanged = false;
  for (auto& [type, typeSnapshot] : snapshot->types) {
    const TypeSnapshot* before = nullptr;
    if (previous != nullptr) {
      auto it = previous->types.find(type);
      if (it != previous->types.end()) {
        before = &it->second;
      }
    }
    if (before != nullptr && sameResources(before->resources, typeSnapshot.resources)) {
      typeSnapshot.version = before->version;
    } else {
      typeSnapshot.version = common::uuidV4();
      clustersChanged = clustersChanged || type == kClusterType;
    }
  }
  if (clustersChanged && previous != nullptr) {
    // Clusters changed: re-push endpoints too, or Envoy keeps the new clusters warming.
    snapshot->types[kEndpointType].version = common::uuidV4();
  }
  return snapshot;
}

absl::StatusOr<nlohmann::ordered_json> xdsConfigJson(const GeneratedResources& resources) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [type, byName] : resources.types) {
    if (byName.empty()) {
      continue;
    }
    nlohmann::ordered_json items = nlohmann::ordered_json::object();
    for (const auto& [name, resource] : byName) {
      if (resource == nullptr) {
        continue;
      }
      auto text = resourceToJson(type, resource->serialized);
      if (!text.ok()) {
        return text.status();
      }
      auto parsed = nlohmann::ordered_json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) {
        return absl::InvalidArgumentError(
            absl::StrCat("resource ", name, " of ", type, " did not render as JSON"));
      }
      items[name] = std::move(parsed);
    }
    out[type] = std::move(items);
  }
  redactSecretMaterial(out);
  return out;
}

Reconciler::Reconciler(store::ResourceStore& store, const model::TypeRegistry& registry,
                       cache::SnapshotCache& cache, ReconcilerOptions options)
    : store_(store),
      registry_(registry),
      cache_(cache),
      options_(options),
      dataplaneType_(registry.byName("Dataplane")) {}

Reconciler::~Reconciler() {
  stop();
}

void Reconciler::start() {
  subscription_ = store_.subscribe([this](const store::ChangeEvent& e) { onStoreEvent(e); });
  const size_t workers = std::max<size_t>(1, options_.workers);
  for (size_t i = 0; i < workers; ++i) {
    threads_.emplace_back([this] { workerLoop(); });
  }
  threads_.emplace_back([this] { tickerLoop(); });
}

void Reconciler::stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && threads_.empty()) {
      return;
    }
    stopping_ = true;
  }
  subscription_.reset();
  for (auto& t : threads_) {
    t.join();
  }
  threads_.clear();
}

void Reconciler::addProxy(const std::string& nodeId, const std::string& mesh,
                          const std::string& name, ProxyOptions options) {
  absl::MutexLock lock(&mu_);
  Proxy proxy;
  proxy.mesh = mesh;
  proxy.name = name;
  proxy.options = std::move(options);
  if (auto it = proxies_.find(nodeId); it != proxies_.end()) {
    unindexProxy(nodeId, it->second);  // the same node again: its new stream replaces the old
  }
  MeshEntry& entry = meshes_[mesh];
  entry.proxies.insert(nodeId);
  entry.byDataplane[name].insert(nodeId);
  entry.pending.insert(nodeId);
  proxies_[nodeId] = std::move(proxy);
  enqueue(nodeId);
}

void Reconciler::removeProxy(const std::string& nodeId) {
  std::optional<std::pair<std::string, std::string>> forgotten;
  {
    absl::MutexLock lock(&mu_);
    auto it = proxies_.find(nodeId);
    if (it != proxies_.end()) {
      forgotten.emplace(it->second.mesh, it->second.name);
      unindexProxy(nodeId, it->second);
      proxies_.erase(it);
    }
  }
  if (forgotten.has_value() && options_.secrets != nullptr) {
    options_.secrets->forget(forgotten->first, forgotten->second);
  }
  if (forgotten.has_value() && options_.envoyAdminTls != nullptr) {
    options_.envoyAdminTls->forget(forgotten->first, forgotten->second);
  }
  cache_.clearSnapshot(nodeId);
}

ReconcilerStats Reconciler::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void Reconciler::onStoreEvent(const store::ChangeEvent& event) {
  const model::ResourceTypeDescriptor* type = event.resourceType;
  // Insights are written by the control plane itself and are not inputs of any config; nor
  // are the persisted VIPs, which only seed a mesh's first build, nor the Zone (and its
  // insight) a zone control plane keeps of itself.
  if (type == nullptr || type->name == "DataplaneInsight" || type->name == "Zone" ||
      type->name == "ZoneInsight") {
    return;
  }
  if (type->name == "Config") {
    if (event.type == store::EventType::Delete && options_.vipPersistence != nullptr) {
      if (std::string mesh = meshOfVipConfig(event.key.name); !mesh.empty()) {
        options_.vipPersistence->forget(mesh);
      }
    }
    return;
  }
  absl::MutexLock lock(&mu_);
  // A resync (empty key: the store lost change notifications, e.g. PostgreSQL's LISTEN connection
  // was re-established) may hide changes anywhere: every mesh is rebuilt.
  const bool resync = event.key.name.empty() && event.key.mesh.empty();
  if (type->scope == model::Scope::Global || resync) {
    if (type->name == "Mesh" && !resync) {
      markChanged(meshes_[event.key.name]);
      enqueueMeshBuild(event.key.name);
    } else {
      for (auto& [mesh, entry] : meshes_) {
        markChanged(entry);
        enqueueMeshBuild(mesh);
      }
    }
    return;
  }
  MeshEntry& entry = meshes_[event.key.mesh];
  markChanged(entry);
  enqueueMeshBuild(event.key.mesh);
  if (type == dataplaneType_) {
    // The proxies of this Dataplane read its spec directly, not through the context's hashes.
    if (auto it = entry.byDataplane.find(event.key.name); it != entry.byDataplane.end()) {
      for (const std::string& nodeId : it->second) {
        enqueue(nodeId);
      }
    }
  }
}

absl::StatusOr<EnvoyAdminTlsCertsConstSharedPtr> Reconciler::adminTlsOf(
    const model::Resource& dataplane, const ProxyOptions& options) {
  const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dataplane);
  if (options_.envoyAdminTls == nullptr || spec == nullptr ||
      !needsEnvoyAdminTls(dataplane, options)) {
    return nullptr;
  }
  return options_.envoyAdminTls->serverCerts(dataplane.meta.mesh, dataplane.meta.name,
                                             spec->networking().address(),
                                             spec->networking().advertised_address());
}

bool Reconciler::sameInputs(const Proxy& proxy, const MeshContext& context) {
  if (proxy.contextHash == context.hash()) {
    return true;
  }
  if (proxy.baseHash != context.baseHash() ||
      (proxy.dependencies.allVips && proxy.vipsHash != context.vipsHash())) {
    return false;
  }
  for (size_t i = 0; i < proxy.dependencies.services.size(); ++i) {
    if (context.serviceHash(proxy.dependencies.services[i]) != proxy.serviceHashes[i]) {
      return false;
    }
  }
  return true;
}

void Reconciler::markChanged(MeshEntry& entry) {
  entry.dirty = true;
  ++entry.changes;
}

void Reconciler::enqueue(const std::string& nodeId) {
  if (running_.contains(nodeId)) {
    rerun_.insert(nodeId);  // picked up again when the running pass ends
    return;
  }
  if (queued_.insert(nodeId).second) {
    queue_.push_back(nodeId);
  }
}

void Reconciler::enqueueMeshBuild(const std::string& mesh) {
  auto it = meshes_.find(mesh);
  if (it == meshes_.end() || it->second.proxies.empty()) {
    return;  // nobody to update: the context is built when first asked for
  }
  if (meshJobs_.emplace(mesh, std::max(absl::Now(), it->second.nextBuild)).second) {
    ++meshJobsAdded_;
  }
}

void Reconciler::enqueueAffected(const MeshEntry& entry, const MeshContext* before,
                                 const MeshContext& after) {
  const auto enqueueAll = [this](const NodeSet& nodes) {
    for (const std::string& nodeId : nodes) {
      enqueue(nodeId);
    }
  };
  if (before == nullptr || before->baseHash() != after.baseHash()) {
    enqueueAll(entry.proxies);
    return;
  }
  if (before->vipsHash() != after.vipsHash()) {
    enqueueAll(entry.readAllVips);
  }
  // Both maps are sorted by service: one merge walk finds the services whose hash differs.
  const auto& a = before->serviceHashes();
  const auto& b = after.serviceHashes();
  const auto readersOf = [&](const std::string& service) {
    if (auto it = entry.dependents.find(service); it != entry.dependents.end()) {
      enqueueAll(it->second);
    }
  };
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      readersOf((ia++)->first);
    } else if (ia == a.end() || ib->first < ia->first) {
      readersOf((ib++)->first);
    } else {
      if (ia->second != ib->second) {
        readersOf(ia->first);
      }
      ++ia;
      ++ib;
    }
  }
  // Not in the indexes: proxies never generated (or whose generation failed). Those generating
  // right now from `before` re-run when they record what they read (see reconcile()).
  enqueueAll(entry.pending);
}

void Reconciler::indexDependencies(const std::string& nodeId, const Proxy& proxy, bool add) {
  MeshEntry& entry = meshes_[proxy.mesh];
  if (proxy.dependencies.allVips) {
    if (add) {
      entry.readAllVips.insert(nodeId);
    } else {
      entry.readAllVips.erase(nodeId);
    }
  }
  for (const std::string& service : proxy.dependencies.services) {
    if (add) {
      entry.dependents[service].insert(nodeId);
      continue;
    }
    if (auto it = entry.dependents.find(service); it != entry.dependents.end()) {
      it->second.erase(nodeId);
      if (it->second.empty()) {
        entry.dependents.erase(it);
      }
    }
  }
}

void Reconciler::unindexProxy(const std::string& nodeId, const Proxy& proxy) {
  indexDependencies(nodeId, proxy, /*add=*/false);
  MeshEntry& entry = meshes_[proxy.mesh];
  entry.proxies.erase(nodeId);
  entry.pending.erase(nodeId);
  if (auto it = entry.byDataplane.find(proxy.name); it != entry.byDataplane.end()) {
    it->second.erase(nodeId);
    if (it->second.empty()) {
      entry.byDataplane.erase(it);
    }
  }
}

std::vector<std::string> Reconciler::nodesOf(const std::string& mesh,
                                             const std::string& name) const {
  std::vector<std::string> nodes;
  auto entry = meshes_.find(mesh);
  if (entry == meshes_.end()) {
    return nodes;
  }
  if (auto it = entry->second.byDataplane.find(name); it != entry->second.byDataplane.end()) {
    nodes.assign(it->second.begin(), it->second.end());
    std::sort(nodes.begin(), nodes.end());  // deterministic choice among several streams
  }
  return nodes;
}

void Reconciler::workerLoop() {
  struct Wake {
    Reconciler* reconciler;
    uint64_t meshJobsSeen;
  };
  while (true) {
    std::string nodeId;
    std::string mesh;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        if (stopping_) {
          return;
        }
        const absl::Time now = absl::Now();
        absl::Time earliest = absl::InfiniteFuture();
        for (auto it = meshJobs_.begin(); it != meshJobs_.end(); ++it) {
          if (it->second <= now) {
            mesh = it->first;
            meshJobs_.erase(it);
            break;
          }
          earliest = std::min(earliest, it->second);
        }
        if (!mesh.empty() || !queue_.empty()) {
          break;
        }
        Wake wake{this, meshJobsAdded_};
        mu_.AwaitWithDeadline(absl::Condition(
                                  +[](Wake* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                    Reconciler* r = w->reconciler;
                                    return r->stopping_ || !r->queue_.empty() ||
                                           r->meshJobsAdded_ != w->meshJobsSeen;
                                  },
                                  &wake),
                              earliest);
      }
      if (mesh.empty()) {
        nodeId = std::move(queue_.front());
        queue_.pop_front();
        queued_.erase(nodeId);
        running_.insert(nodeId);
      }
    }
    if (!mesh.empty()) {
      // Queues the proxies the new context affects; a failed build is retried by the tick.
      (void)meshContext(mesh, /*fresh=*/true);
      continue;
    }
    reconcile(nodeId);
    absl::MutexLock lock(&mu_);
    running_.erase(nodeId);
    if (rerun_.erase(nodeId) > 0 && proxies_.contains(nodeId)) {
      enqueue(nodeId);
    }
  }
}

void Reconciler::tickerLoop() {
  const absl::Duration interval = absl::FromChrono(options_.refreshInterval);
  absl::MutexLock lock(&mu_);
  while (true) {
    const absl::Time deadline = absl::Now() + interval;
    while (!stopping_ && absl::Now() < deadline) {
      mu_.AwaitWithDeadline(absl::Condition(&stopping_), deadline);
    }
    if (stopping_) {
      return;
    }
    for (const auto& [mesh, entry] : meshes_) {
      if (entry.dirty) {
        enqueueMeshBuild(mesh);  // e.g. the last build failed (store unavailable)
      }
    }
    for (const auto& [nodeId, proxy] : proxies_) {
      // Changes arrive as store events (the cached store drops what they touch), so the tick
      // only visits what can change without one: identity certificates age (rotation at 4/5 of
      // their lifetime), and passes that reached no config (Dataplane not registered yet, a
      // failed build or generation) are retried. A proxy last checked against another context
      // than the current one is checked again too. A quiet mesh then costs a hash comparison
      // per proxy and tick, with no pass at all.
      auto mesh = meshes_.find(proxy.mesh);
      const bool current = proxy.generated && mesh != meshes_.end() &&
                           mesh->second.context != nullptr &&
                           proxy.contextHash == mesh->second.context->hash();
      if (!current || proxy.tls != nullptr) {
        enqueue(nodeId);
      }
    }
  }
}

absl::StatusOr<MeshContextConstSharedPtr> Reconciler::currentMeshContext(const std::string& mesh) {
  return meshContext(mesh, /*fresh=*/true);
}

absl::StatusOr<GeneratedResources> Reconciler::inspect(const std::string& mesh,
                                                       const std::string& name,
                                                       const ProxyOptions& notConnected) {
  if (dataplaneType_ == nullptr) {
    return absl::FailedPreconditionError("type Dataplane is not registered");
  }
  ProxyOptions options = notConnected;
  bool connected = false;
  {
    absl::MutexLock lock(&mu_);
    const std::vector<std::string> nodes = nodesOf(mesh, name);
    if (!nodes.empty()) {
      options = proxies_.at(nodes.front()).options;
      connected = true;
    }
  }
  auto context = meshContext(mesh, /*fresh=*/true);
  if (!context.ok()) {
    return context.status();
  }
  auto dataplane = store_.get(*dataplaneType_, {name, mesh});
  if (!dataplane.ok()) {
    return dataplane.status();
  }
  if (options_.secrets != nullptr) {
    auto tls = options_.secrets->get((*context)->meshName(), (*context)->mesh(), **dataplane);
    if (!connected) {
      options_.secrets->forget(mesh, name);  // keep identities of connected proxies only
    }
    if (!tls.ok()) {
      return tls.status();
    }
    options.tls = *tls;
  }
  auto adminTls = adminTlsOf(**dataplane, options);
  if (!connected && options_.envoyAdminTls != nullptr) {
    options_.envoyAdminTls->forget(mesh, name);
  }
  if (!adminTls.ok()) {
    return adminTls.status();
  }
  options.adminTls = *adminTls;
  options.plugins = options_.plugins;
  return xds::generate(**context, **dataplane, options);
}

absl::StatusOr<GeneratedResources> Reconciler::served(const std::string& mesh,
                                                      const std::string& name) {
  std::vector<std::string> nodes;
  {
    absl::MutexLock lock(&mu_);
    nodes = nodesOf(mesh, name);
  }
  for (const auto& nodeId : nodes) {
    SnapshotConstSharedPtr snapshot = cache_.getSnapshot(nodeId);
    if (snapshot == nullptr) {
      continue;
    }
    GeneratedResources out;
    for (const auto& [type, typeSnapshot] : snapshot->types) {
      out.types[type] = typeSnapshot.resources;
    }
    return out;
  }
  return absl::NotFoundError(
      absl::StrCat("no connected proxy serves Dataplane ", name, " of mesh ", mesh));
}

absl::StatusOr<MeshContextConstSharedPtr> Reconciler::meshContext(const std::string& mesh,
                                                                  bool fresh) {
  {
    absl::MutexLock lock(&mu_);
    auto it = meshes_.find(mesh);
    if (it != meshes_.end() && (!it->second.dirty || !fresh) && it->second.context != nullptr) {
      ++stats_.contextHits;
      return it->second.context;
    }
  }
  absl::MutexLock build(&buildMu_);
  uint64_t changesBefore = 0;
  MeshContextConstSharedPtr previous;  // what the build may reuse
  {
    // Another worker may have built it while we waited.
    absl::MutexLock lock(&mu_);
    MeshEntry& entry = meshes_[mesh];
    if ((!entry.dirty || !fresh) && entry.context != nullptr) {
      ++stats_.contextHitWaits;
      return entry.context;
    }
    // The entry stays dirty while we read and build: concurrent callers queue on buildMu_ and
    // get the new context. A change that lands during the build keeps it dirty afterwards.
    entry.dirty = true;
    changesBefore = entry.changes;
    previous = entry.context;
  }
  const absl::Time buildStart = absl::Now();
  auto resources = loadMeshResources(store_, registry_, mesh);
  if (!resources.ok()) {
    absl::MutexLock lock(&mu_);
    ++stats_.contextErrors;
    auto it = meshes_.find(mesh);
    if (it != meshes_.end() && it->second.context == nullptr) {
      meshes_.erase(it);  // e.g. an inspect of a mesh that does not exist: keep no entry
    } else {
      meshes_[mesh].dirty = true;
    }
    return resources.status();
  }
  if (previous != nullptr) {
    resources->vipView = previous->vipAllocation();  // VIPs stay where they are (§7.3.1)
  } else if (options_.vipPersistence != nullptr) {
    resources->vipView = options_.vipPersistence->load(mesh);  // ... across restarts too
  }
  resources->vipCidr = options_.vipCidr;
  resources->vipPort = options_.vipPort;
  auto built = MeshContext::build(std::move(*resources), previous.get());
  absl::ReleasableMutexLock lock(&mu_);
  MeshEntry& entry = meshes_[mesh];
  if (!built.ok()) {
    entry.dirty = true;
    ++stats_.contextErrors;
    return built.status();
  }
  entry.dirty = entry.changes != changesBefore;
  const absl::Time buildEnd = absl::Now();
  entry.nextBuild = buildEnd + (buildEnd - buildStart) * options_.rebuildGapFactor;
  ++stats_.contextBuilds;
  ++stats_.contextMisses;
  // Keep the previous object when nothing changed, so shared resources stay shared.
  if (entry.context == nullptr || entry.context->hash() != (*built)->hash()) {
    enqueueAffected(entry, entry.context.get(), **built);
    entry.context = *built;
  }
  MeshContextConstSharedPtr current = entry.context;
  lock.Release();
  if (options_.vipPersistence != nullptr) {
    options_.vipPersistence->save(current);  // written later by the persistence's thread
  }
  return current;
}

void Reconciler::reconcile(const std::string& nodeId) {
  Proxy proxy;
  {
    absl::MutexLock lock(&mu_);
    auto it = proxies_.find(nodeId);
    if (it == proxies_.end()) {
      return;
    }
    proxy = it->second;
    ++stats_.reconciles;
  }
  const auto started = std::chrono::steady_clock::now();
  const auto report = [this, started](PassResult result) {
    if (options_.onPass) {
      options_.onPass(result, std::chrono::steady_clock::now() - started);
    }
  };
  auto log = logging::logger("xds-server.reconciler");
  auto context = meshContext(proxy.mesh, /*fresh=*/false);
  if (!context.ok() || dataplaneType_ == nullptr) {
    {
      absl::MutexLock lock(&mu_);
      ++stats_.errors;
    }
    report(PassResult::kError);
    return;
  }
  auto dataplane = store_.get(*dataplaneType_, {proxy.name, proxy.mesh});
  if (!dataplane.ok()) {
    return;  // not registered (yet): nothing to serve
  }
  // The identity certificate is an input too: a reissue (rotation) is a new object.
  ProxyTlsSecretsConstSharedPtr tls;
  if (options_.secrets != nullptr) {
    auto issued = options_.secrets->get((*context)->meshName(), (*context)->mesh(), **dataplane);
    if (!issued.ok()) {
      log->error("could not issue the identity certificate of {}: {}", nodeId,
                 std::string(issued.status().message()));
      {
        absl::MutexLock lock(&mu_);
        ++stats_.errors;
      }
      report(PassResult::kError);
      return;
    }
    tls = *std::move(issued);
  }
  auto adminTls = adminTlsOf(**dataplane, proxy.options);
  if (!adminTls.ok()) {
    log->error("could not get the Envoy Admin mTLS certificates of {}: {}", nodeId,
               std::string(adminTls.status().message()));
    {
      absl::MutexLock lock(&mu_);
      ++stats_.errors;
    }
    report(PassResult::kError);
    return;
  }
  if (proxy.generated && proxy.dataplaneVersion == (*dataplane)->meta.version && proxy.tls == tls &&
      proxy.adminTls == *adminTls && sameInputs(proxy, **context)) {
    {
      absl::MutexLock lock(&mu_);
      ++stats_.skipped;
      if (auto it = proxies_.find(nodeId); it != proxies_.end()) {
        it->second.contextHash = (*context)->hash();  // the next check takes the short cut
      }
    }
    report(PassResult::kSkipped);
    return;  // nothing this proxy reads changed
  }
  proxy.options.tls = tls;
  proxy.options.adminTls = *adminTls;
  proxy.options.plugins = options_.plugins;
  auto generated = xds::generate(**context, **dataplane, proxy.options);
  if (!generated.ok()) {
    log->error("could not generate the config of {}: {}", nodeId,
               std::string(generated.status().message()));
    {
      absl::MutexLock lock(&mu_);
      ++stats_.errors;
    }
    report(PassResult::kError);
    return;
  }
  const SnapshotConstSharedPtr previous = cache_.getSnapshot(nodeId);
  SnapshotConstSharedPtr next = versionSnapshot(*generated, previous);
  bool changed = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = proxies_.find(nodeId);
    if (it == proxies_.end()) {
      return;  // disconnected meanwhile: publish nothing
    }
    indexDependencies(nodeId, it->second, /*add=*/false);
    it->second.generated = true;
    it->second.contextHash = (*context)->hash();
    it->second.baseHash = (*context)->baseHash();
    it->second.vipsHash = (*context)->vipsHash();
    it->second.serviceHashes.clear();
    for (const std::string& service : generated->dependencies.services) {
      it->second.serviceHashes.push_back((*context)->serviceHash(service));
    }
    it->second.dependencies = std::move(generated->dependencies);
    indexDependencies(nodeId, it->second, /*add=*/true);
    MeshEntry& entry = meshes_[it->second.mesh];
    entry.pending.erase(nodeId);
    if (entry.context != *context) {
      // A newer context replaced ours during the generation; its comparison used what this
      // proxy had read before, so check again against it.
      enqueue(nodeId);
    }
    it->second.dataplaneVersion = (*dataplane)->meta.version;
    it->second.tls = tls;
    it->second.adminTls = *adminTls;
    ++stats_.generations;
    changed = previous == nullptr || previous->types.size() != next->types.size();
    for (const auto& [type, typeSnapshot] : next->types) {
      auto it = previous == nullptr ? next->types.end() : previous->types.find(type);
      changed =
          changed || it == previous->types.end() || it->second.version != typeSnapshot.version;
    }
    if (changed) {
      ++stats_.published;
    } else {
      ++stats_.unchanged;
    }
  }
  cache_.setSnapshot(nodeId, std::move(next));
  report(changed ? PassResult::kPublished : PassResult::kUnchanged);
}

}  // namespace kuma::xds::sync
