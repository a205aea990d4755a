#include "source/xds/sync/reconciler.h"

#include <atomic>
#include <map>
#include <thread>

#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "gtest/gtest.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/server/all_types.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/sync/dataplane_callbacks.h"
#include "source/plugins/policies/xds_plugins.h"

namespace kuma::xds::sync {
namespace {

using nlohmann::json;

ResourceConstSharedPtr res(const std::string& name, const std::string& bytes) {
  auto r = std::make_shared<Resource>();
  r->name = name;
  r->serialized = bytes;
  r->hash = hashOf(bytes);
  return r;
}

TEST(VersionSnapshot, KeepsVersionsOfUnchangedTypesAndRepushesEndpointsAfterClusterChanges) {
  GeneratedResources first;
  first.types[kListenerType]["l"] = res("l", "listener-1");
  first.types[kClusterType]["c"] = res("c", "cluster-1");
  first.types[kEndpointType]["c"] = res("c", "cla-1");
  const SnapshotConstSharedPtr v1 = versionSnapshot(first, nullptr);
  ASSERT_EQ(v1->types.size(), 3u);
  for (const auto& [type, t] : v1->types) {
    EXPECT_FALSE(t.version.empty()) << type;
  }
  // Same content in new objects: every version is kept.
  GeneratedResources same;
  same.types[kListenerType]["l"] = res("l", "listener-1");
  same.types[kClusterType]["c"] = res("c", "cluster-1");
  same.types[kEndpointType]["c"] = res("c", "cla-1");
  const SnapshotConstSharedPtr v2 = versionSnapshot(same, v1);
  for (const auto& [type, t] : v2->types) {
    EXPECT_EQ(t.version, v1->types.at(type).version) << type;
  }
  // A listener change only touches listeners.
  GeneratedResources listener = same;
  listener.types[kListenerType]["l"] = res("l", "listener-2");
  const SnapshotConstSharedPtr v3 = versionSnapshot(listener, v2);
  EXPECT_NE(v3->types.at(kListenerType).version, v2->types.at(kListenerType).version);
  EXPECT_EQ(v3->types.at(kClusterType).version, v2->types.at(kClusterType).version);
  EXPECT_EQ(v3->types.at(kEndpointType).version, v2->types.at(kEndpointType).version);
  // A cluster change also re-versions endpoints, even though they are the same.
  GeneratedResources cluster = listener;
  cluster.types[kClusterType]["c"] = res("c", "cluster-2");
  const SnapshotConstSharedPtr v4 = versionSnapshot(cluster, v3);
  EXPECT_NE(v4->types.at(kClusterType).version, v3->types.at(kClusterType).version);
  EXPECT_NE(v4->types.at(kEndpointType).version, v3->types.at(kEndpointType).version);
  EXPECT_EQ(v4->types.at(kListenerType).version, v3->types.at(kListenerType).version);
  // A removed resource is a change.
  GeneratedResources removed = cluster;
  removed.types[kListenerType].clear();
  EXPECT_NE(versionSnapshot(removed, v4)->types.at(kListenerType).version,
            v4->types.at(kListenerType).version);
}

TEST(ParseNodeId, SplitsOnTheFirstDot) {
  EXPECT_EQ(*parseNodeId("default.dp-1"),
            std::make_pair(std::string("default"), std::string("dp-1")));
  EXPECT_EQ(*parseNodeId("m.a.b"), std::make_pair(std::string("m"), std::string("a.b")));
  EXPECT_FALSE(parseNodeId("nodot").ok());
  EXPECT_FALSE(parseNodeId(".x").ok());
  EXPECT_FALSE(parseNodeId("x.").ok());
}

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = memory::newMemoryStore();
    manager_ = std::make_unique<manager::ResourceManager>(*store_, registry_);
    put({{"type", "Mesh"}, {"name", "default"}});
    put(dataplane("web-1", "web", "10.0.0.1"));
    put(dataplane("backend-1", "backend", "10.0.0.2"));
    ReconcilerOptions options;
    options.plugins = policies::makeXdsPolicyPlugins();
    options.refreshInterval = refreshInterval_;
    options.workers = workers_;
    options.rebuildGapFactor = rebuildGapFactor_;
    reconciler_ = std::make_unique<Reconciler>(*store_, registry_, cache_, options);
    reconciler_->start();
  }
  void TearDown() override { reconciler_->stop(); }

  static json dataplane(const std::string& name, const std::string& service,
                        const std::string& address) {
    return {{"type", "Dataplane"},
            {"mesh", "default"},
            {"name", name},
            {"networking",
             {{"address", address},
              {"inbound", {{{"port", 8080}, {"tags", {{"kuma.io/service", service}}}}}},
              {"outbound", {{{"port", 10001}, {"tags", {{"kuma.io/service", "backend"}}}}}}}}};
  }

  void put(const json& object) {
    const auto* type = registry_.byName(object["type"].get<std::string>());
    auto body = model::fromRestJson(*type, object);
    ASSERT_TRUE(body.ok()) << body.status();
    ASSERT_TRUE(manager_->upsert(std::move(body->resource)).ok());
  }

  // Waits (bounded) until the node's snapshot satisfies `pred`.
  SnapshotConstSharedPtr waitFor(const std::string& node,
                                 const std::function<bool(const Snapshot&)>& pred) {
    for (int i = 0; i < 200; ++i) {
      auto s = cache_.getSnapshot(node);
      if (s != nullptr && pred(*s)) {
        return s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return nullptr;
  }

  std::chrono::nanoseconds refreshInterval_ = std::chrono::milliseconds(100);
  size_t workers_ = 2;
  double rebuildGapFactor_ = ReconcilerOptions{}.rebuildGapFactor;
  const model::TypeRegistry& registry_ = kuma::server::allTypes();
  store::ResourceStorePtr store_;
  std::unique_ptr<manager::ResourceManager> manager_;
  cache::SnapshotCache cache_;
  std::unique_ptr<Reconciler> reconciler_;
};

TEST_F(ReconcilerTest, PublishesOnConnectAndOnChangeOnly) {
  reconciler_->addProxy("default.web-1", "default", "web-1", {});
  auto first = waitFor("default.web-1", [](const Snapshot& s) {
    return s.types.at(kListenerType).resources.contains("inbound:10.0.0.1:8080") &&
           s.types.at(kListenerType).resources.contains("outbound:127.0.0.1:10001");
  });
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->types.at(kEndpointType).resources.count("backend"), 1u);

  // Several refresh ticks without changes: no new snapshot, a single generation.
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  EXPECT_EQ(cache_.getSnapshot("default.web-1"), first);
  EXPECT_EQ(reconciler_->stats().generations, 1u);

  // A second backend instance: only endpoints change (pushed by the event, not the tick).
  put(dataplane("backend-2", "backend", "10.0.0.3"));
  auto second = waitFor("default.web-1", [&](const Snapshot& s) {
    return s.types.at(kEndpointType).version != first->types.at(kEndpointType).version;
  });
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->types.at(kListenerType).version, first->types.at(kListenerType).version);
  EXPECT_EQ(second->types.at(kClusterType).version, first->types.at(kClusterType).version);

  // A mesh-wide timeout policy changes listeners/clusters.
  put({{"type", "MeshTimeout"},
       {"mesh", "default"},
       {"name", "slow"},
       {"spec",
        {{"targetRef", {{"kind", "Mesh"}}},
         {"to",
          {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"connectionTimeout", "42s"}}}}}}}}});
  auto third = waitFor("default.web-1", [&](const Snapshot& s) {
    return s.types.at(kClusterType).version != second->types.at(kClusterType).version;
  });
  ASSERT_NE(third, nullptr);
  EXPECT_NE(third->types.at(kEndpointType).version, second->types.at(kEndpointType).version);

  reconciler_->removeProxy("default.web-1");
  EXPECT_EQ(cache_.getSnapshot("default.web-1"), nullptr);
}

TEST_F(ReconcilerTest, UnknownDataplaneGetsNoSnapshotUntilItExists) {
  reconciler_->addProxy("default.late", "default", "late", {});
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(cache_.getSnapshot("default.late"), nullptr);
  put(dataplane("late", "late", "10.0.0.9"));
  EXPECT_NE(waitFor("default.late", [](const Snapshot&) { return true; }), nullptr);
}

// Performance design, made visible by the counters: 50 proxies of one mesh, all dialing the same
// service. A store change costs one mesh-context build (not one per proxy), and the shared
// outbound cluster is serialized once per context and handed to every proxy as one object.
TEST_F(ReconcilerTest, OneContextBuildPerChangeAndOneSerializationPerSharedResource) {
  constexpr int kProxies = 50;
  std::vector<std::string> nodes;
  for (int i = 0; i < kProxies; ++i) {
    const std::string name = "client-" + std::to_string(i);
    put(dataplane(name, "client", "10.1.0." + std::to_string(i + 1)));
    nodes.push_back("default." + name);
  }
  for (int i = 0; i < kProxies; ++i) {
    reconciler_->addProxy(nodes[i], "default", "client-" + std::to_string(i), {});
  }
  auto endpointsOfBackend = [](const Snapshot& s) -> size_t {
    auto it = s.types.at(kEndpointType).resources.find("backend");
    if (it == s.types.at(kEndpointType).resources.end()) {
      return 0;
    }
    auto json = resourceToJson(kEndpointType, it->second->serialized);
    return json.ok() ? nlohmann::json::parse(*json)["endpoints"][0]["lbEndpoints"].size() : 0;
  };
  // Checks that every proxy got a snapshot with `endpoints` backend endpoints, all holding the
  // very same cluster object; returns that object.
  auto syncedCluster = [&](size_t endpoints) -> ResourceConstSharedPtr {
    ResourceConstSharedPtr cluster;
    for (const auto& node : nodes) {
      auto s = waitFor(node, [&](const Snapshot& s) { return endpointsOfBackend(s) == endpoints; });
      if (s == nullptr) {
        ADD_FAILURE() << node << " never got " << endpoints << " backend endpoints";
        return nullptr;
      }
      auto c = s->types.at(kClusterType).resources.at("backend");
      if (cluster == nullptr) {
        cluster = c;
      }
      EXPECT_EQ(c.get(), cluster.get()) << node << " holds its own copy of the cluster";
    }
    return cluster;
  };

  const ResourceConstSharedPtr firstCluster = syncedCluster(1);
  ASSERT_NE(firstCluster, nullptr);
  auto firstContext = reconciler_->currentMeshContext("default");
  ASSERT_TRUE(firstContext.ok()) << firstContext.status();
  // Shared per context: one group, the `backend` cluster and its ClusterLoadAssignment, nothing
  // else.
  EXPECT_EQ((*firstContext)->sharedBuilds(), 1u);
  // Refresh ticks pass: no rebuild, no regeneration, not even a pass (nothing can have changed
  // without a store event; at 10 000 proxies the skip passes alone were 8 % of a core).
  const ReconcilerStats settled = reconciler_->stats();
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  const ReconcilerStats idle = reconciler_->stats();
  EXPECT_EQ(idle.contextBuilds, settled.contextBuilds);
  EXPECT_EQ(idle.generations, settled.generations);
  EXPECT_EQ(idle.reconciles, settled.reconciles);
  EXPECT_EQ(idle.errors, 0u);

  // One change in the mesh: one more backend instance.
  put(dataplane("backend-2", "backend", "10.0.0.3"));
  const ResourceConstSharedPtr secondCluster = syncedCluster(2);
  ASSERT_NE(secondCluster, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // ticks cause no rebuild either
  const ReconcilerStats after = reconciler_->stats();
  EXPECT_EQ(after.contextBuilds, idle.contextBuilds + 1);
  auto secondContext = reconciler_->currentMeshContext("default");
  ASSERT_TRUE(secondContext.ok());
  EXPECT_NE(secondContext->get(), firstContext->get());
  EXPECT_EQ((*secondContext)->sharedBuilds(), 1u);
  EXPECT_EQ((*firstContext)->sharedBuilds(), 1u);
  // A new context serializes its own cluster object (same bytes: the cluster did not change).
  EXPECT_NE(secondCluster.get(), firstCluster.get());
  EXPECT_EQ(secondCluster->serialized, firstCluster->serialized);
  // Every proxy regenerated once and published (its endpoints changed).
  EXPECT_EQ(after.generations, idle.generations + kProxies);
  EXPECT_EQ(after.published, idle.published + kProxies);
  EXPECT_EQ(after.errors, 0u);
  // Asking for the context again builds nothing.
  EXPECT_EQ(reconciler_->stats().contextBuilds, after.contextBuilds);
}

// No refresh tick within the test: whatever reaches the proxies was pushed by the change itself.
class ReconcilerWithoutTickTest : public ReconcilerTest {
 protected:
  ReconcilerWithoutTickTest() {
    refreshInterval_ = std::chrono::hours(1);
    workers_ = 4;
  }
};

// Regression: while one worker rebuilt the mesh context after a change, the other workers took
// the old context, found nothing changed for their proxies and skipped them until the next tick
// (a policy change then reached most proxies a whole refresh interval late).
TEST_F(ReconcilerWithoutTickTest, OneChangeReachesEveryProxyWithoutWaitingForTheTick) {
  constexpr int kProxies = 200;
  std::vector<std::string> nodes;
  for (int i = 0; i < kProxies; ++i) {
    const std::string name = "client-" + std::to_string(i);
    put(dataplane(name, "client",
                  "10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)));
    nodes.push_back("default." + name);
    reconciler_->addProxy(nodes.back(), "default", name, {});
  }
  std::map<std::string, std::string> clusterVersions;
  for (const auto& node : nodes) {
    auto s = waitFor(node, [](const Snapshot&) { return true; });
    ASSERT_NE(s, nullptr) << node << " got no first snapshot";
    clusterVersions[node] = s->types.at(kClusterType).version;
  }
  // A mesh-wide policy change: every proxy's clusters change.
  put({{"type", "MeshTimeout"},
       {"mesh", "default"},
       {"name", "timeout-all"},
       {"spec",
        {{"targetRef", {{"kind", "Mesh"}}},
         {"to",
          {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"connectionTimeout", "7s"}}}}}}}}});
  for (const auto& node : nodes) {
    auto s = waitFor(node, [&](const Snapshot& s) {
      return s.types.at(kClusterType).version != clusterVersions[node];
    });
    if (s == nullptr) {
      ADD_FAILURE() << node << " did not get the change without a refresh tick";
      break;  // one is enough: do not wait 2 s for each of the others
    }
  }
  EXPECT_EQ(reconciler_->stats().errors, 0u);
}

// Forwards everything to the memory store but can swallow its change events (as a PostgreSQL
// LISTEN connection that is down loses notifications) and deliver a resync instead.
class LossyEventsStore : public store::ResourceStore {
 public:
  explicit LossyEventsStore(store::ResourceStore& inner) : inner_(inner) {}

  absl::StatusOr<model::ResourceConstSharedPtr> create(model::Resource resource,
                                                       const store::CreateOptions& o) override {
    return inner_.create(std::move(resource), o);
  }
  absl::StatusOr<model::ResourceConstSharedPtr> update(model::Resource resource) override {
    return inner_.update(std::move(resource));
  }
  absl::Status remove(const model::ResourceTypeDescriptor& type,
                      const store::ResourceKey& key) override {
    return inner_.remove(type, key);
  }
  absl::StatusOr<model::ResourceConstSharedPtr> get(const model::ResourceTypeDescriptor& type,
                                                    const store::ResourceKey& key) override {
    return inner_.get(type, key);
  }
  absl::StatusOr<store::ResourceList> list(const model::ResourceTypeDescriptor& type,
                                           const store::ListOptions& o) override {
    return inner_.list(type, o);
  }
  store::SubscriptionPtr subscribe(std::function<void(const store::ChangeEvent&)> h) override {
    handlers_.push_back(h);
    return inner_.subscribe([this, h](const store::ChangeEvent& e) {
      if (!muted_) {
        h(e);
      }
    });
  }

  void mute(bool muted) { muted_ = muted; }
  void resync(const model::ResourceTypeDescriptor& type) {
    for (const auto& h : handlers_) {
      h(store::ChangeEvent{store::EventType::Update, &type, store::ResourceKey{}});
    }
  }

 private:
  store::ResourceStore& inner_;
  std::atomic<bool> muted_{false};
  std::vector<std::function<void(const store::ChangeEvent&)>> handlers_;
};

class ReconcilerResyncTest : public ReconcilerWithoutTickTest {
 protected:
  void SetUp() override {
    ReconcilerWithoutTickTest::SetUp();
    reconciler_->stop();
    lossy_ = std::make_unique<LossyEventsStore>(*store_);
    ReconcilerOptions options;
    options.plugins = policies::makeXdsPolicyPlugins();
    options.refreshInterval = refreshInterval_;
    options.workers = workers_;
    reconciler_ = std::make_unique<Reconciler>(*lossy_, registry_, cache_, options);
    reconciler_->start();
  }
  std::unique_ptr<LossyEventsStore> lossy_;
};

// A lost notification is not noticed until the store resyncs: an empty-key event rebuilds every
// mesh (and must not be read as a change of a mesh named "").
TEST_F(ReconcilerResyncTest, EmptyKeyEventRebuildsEveryMesh) {
  reconciler_->addProxy("default.web-1", "default", "web-1", {});
  auto first = waitFor("default.web-1", [](const Snapshot&) { return true; });
  ASSERT_NE(first, nullptr);
  lossy_->mute(true);
  put({{"type", "MeshTimeout"},
       {"mesh", "default"},
       {"name", "unnoticed"},
       {"spec",
        {{"targetRef", {{"kind", "Mesh"}}},
         {"to",
          {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"connectionTimeout", "9s"}}}}}}}}});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(cache_.getSnapshot("default.web-1"), first) << "no event, no tick: nothing rebuilt";
  lossy_->mute(false);
  lossy_->resync(*registry_.byName("MeshTimeout"));
  auto changed = waitFor("default.web-1", [&](const Snapshot& s) {
    return s.types.at(kClusterType).version != first->types.at(kClusterType).version;
  });
  EXPECT_NE(changed, nullptr) << "the resync did not rebuild mesh default";
  // A resync of a global type (Mesh) rebuilds every mesh as well, without failing on mesh "".
  const uint64_t errors = reconciler_->stats().errors;
  lossy_->resync(*registry_.byName("Mesh"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(reconciler_->stats().errors, errors);
  EXPECT_NE(cache_.getSnapshot("default.web-1"), nullptr);
}

// A proxy is regenerated only when something it reads changed: a Dataplane of a service it does
// not talk to changes the mesh context but not that proxy's inputs.
TEST_F(ReconcilerWithoutTickTest, DataplanesOfOtherServicesDoNotRegenerateAProxy) {
  // web-1 talks to backend only; tp-1 (transparent proxying, no reachableServices) to everything.
  json tp = dataplane("tp-1", "tp", "10.0.0.9");
  tp["networking"].erase("outbound");
  tp["networking"]["transparentProxying"] = {{"redirectPortInbound", 15006},
                                             {"redirectPortOutbound", 15001}};
  put(tp);
  reconciler_->addProxy("default.web-1", "default", "web-1", {});
  reconciler_->addProxy("default.tp-1", "default", "tp-1", {});
  auto settled = [&](const std::string& node, const std::string& service) {
    return waitFor(node, [&](const Snapshot& s) {
      return s.types.at(kClusterType).resources.contains(service);
    });
  };
  ASSERT_NE(settled("default.web-1", "backend"), nullptr);
  ASSERT_NE(settled("default.tp-1", "backend"), nullptr);
  const ReconcilerStats before = reconciler_->stats();
  const auto web = cache_.getSnapshot("default.web-1");

  // Another instance of a service nobody talks to explicitly: the transparent proxy reaches it
  // (new VIP), web-1 does not and is skipped.
  put(dataplane("other-1", "other", "10.0.0.20"));
  ASSERT_NE(settled("default.tp-1", "other"), nullptr);
  for (int i = 0; i < 200 && reconciler_->stats().skipped == before.skipped; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ReconcilerStats after = reconciler_->stats();
  EXPECT_EQ(after.contextBuilds, before.contextBuilds + 1);
  EXPECT_EQ(after.generations, before.generations + 1);  // tp-1 only
  EXPECT_EQ(cache_.getSnapshot("default.web-1"), web);   // the very same snapshot

  // A second backend instance: web-1 reads backend's endpoints, so it is regenerated.
  put(dataplane("backend-2", "backend", "10.0.0.3"));
  ASSERT_NE(waitFor("default.web-1",
                    [&](const Snapshot& s) {
                      return s.types.at(kEndpointType).version !=
                             web->types.at(kEndpointType).version;
                    }),
            nullptr);
  EXPECT_EQ(reconciler_->stats().errors, 0u);
}

// A change is delivered to the proxies that read what it changed, not to every proxy of the mesh:
// before, every store event queued every proxy, and each one re-checked its inputs (20 000
// passes per registration at 5000 connected proxies, the ramp's main cost).
TEST_F(ReconcilerWithoutTickTest, ChangesVisitOnlyTheProxiesThatReadThem) {
  constexpr int kClients = 20;
  for (int i = 0; i < kClients; ++i) {
    const std::string name = "client-" + std::to_string(i);
    put(dataplane(name, "client", "10.3.0." + std::to_string(i + 1)));
    reconciler_->addProxy("default." + name, "default", name, {});
  }
  for (int i = 0; i < kClients; ++i) {
    ASSERT_NE(waitFor("default.client-" + std::to_string(i),
                      [](const Snapshot& s) {
                        return s.types.at(kClusterType).resources.contains("backend");
                      }),
              nullptr);
  }
  const auto waitForBuilds = [&](uint64_t builds) {
    for (int i = 0; i < 200 && reconciler_->stats().contextBuilds < builds; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let queued passes run
  };
  // The registrations above may still have a (coalesced, spaced) context build pending when the
  // last client got its config: wait until builds and passes stop for 300 ms before counting.
  for (int stable = 0, i = 0; stable < 6 && i < 200; ++i) {
    const ReconcilerStats a = reconciler_->stats();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const ReconcilerStats b = reconciler_->stats();
    stable = a.contextBuilds == b.contextBuilds && a.reconciles == b.reconciles ? stable + 1 : 0;
  }
  const ReconcilerStats before = reconciler_->stats();

  // A Dataplane of a service nobody dials and no proxy serves: one context build, no pass.
  put(dataplane("other-1", "other", "10.0.0.20"));
  waitForBuilds(before.contextBuilds + 1);
  const ReconcilerStats quiet = reconciler_->stats();
  EXPECT_EQ(quiet.contextBuilds, before.contextBuilds + 1);
  EXPECT_EQ(quiet.reconciles, before.reconciles);

  // A new backend instance: exactly its readers (the clients) are visited and regenerated.
  put(dataplane("backend-2", "backend", "10.0.0.3"));
  waitForBuilds(quiet.contextBuilds + 1);
  for (int i = 0; i < 200 && reconciler_->stats().generations < quiet.generations + kClients; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const ReconcilerStats after = reconciler_->stats();
  EXPECT_EQ(after.generations, quiet.generations + kClients);
  EXPECT_EQ(after.reconciles, quiet.reconciles + kClients);

  // A client's own Dataplane changes (new address): that proxy, and nobody else — not even
  // through the context, as "client" has no readers. The proxy may be visited twice: once right
  // away (with the context built before the change) and again if the rebuild lands meanwhile.
  put(dataplane("client-0", "client", "10.3.1.1"));
  ASSERT_NE(waitFor("default.client-0",
                    [](const Snapshot& s) {
                      return s.types.at(kListenerType).resources.contains("inbound:10.3.1.1:8080");
                    }),
            nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GE(reconciler_->stats().reconciles, after.reconciles + 1);
  EXPECT_LE(reconciler_->stats().reconciles, after.reconciles + 2);
  EXPECT_EQ(reconciler_->stats().errors, 0u);
}

// Builds are spaced by rebuildGapFactor × the last build's duration: a burst of changes is
// coalesced into a few builds, and the last one still reaches every proxy without the tick.
class ReconcilerCoalescingTest : public ReconcilerWithoutTickTest {
 protected:
  ReconcilerCoalescingTest() { rebuildGapFactor_ = 2000; }  // a ~0.1 ms build → ~200 ms gap
};

TEST_F(ReconcilerCoalescingTest, ABurstOfChangesIsCoalescedIntoFewBuilds) {
  reconciler_->addProxy("default.web-1", "default", "web-1", {});
  ASSERT_NE(waitFor("default.web-1",
                    [](const Snapshot& s) {
                      return s.types.at(kClusterType).resources.contains("backend");
                    }),
            nullptr);
  const ReconcilerStats before = reconciler_->stats();
  constexpr int kChanges = 20;
  for (int i = 0; i < kChanges; ++i) {
    put(dataplane("backend-x" + std::to_string(i), "backend", "10.4.0." + std::to_string(i + 1)));
    // Far apart compared with a build (~0.1 ms): without the gap, each change gets its own.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Every new backend endpoint reaches web-1 (2 + kChanges endpoints), pushed by the changes.
  auto last = [&] {
    for (int i = 0; i < 1000; ++i) {  // up to 10 s: a few gaps of ~200 ms (more under ASan)
      auto served = reconciler_->served("default", "web-1");
      if (served.ok()) {
        auto cla = served->find(kEndpointType, "backend");
        envoy::config::endpoint::v3::ClusterLoadAssignment parsed;
        if (cla != nullptr && parsed.ParseFromString(cla->serialized) &&
            parsed.endpoints_size() == 1 &&
            parsed.endpoints(0).lb_endpoints_size() == kChanges + 1) {
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  ASSERT_TRUE(last());
  const ReconcilerStats after = reconciler_->stats();
  EXPECT_GE(after.contextBuilds, before.contextBuilds + 1);
  EXPECT_LT(after.contextBuilds, before.contextBuilds + kChanges / 2);
  EXPECT_EQ(after.errors, 0u);
}

// Regression (reconnect storm at 5000 proxies): VIPs were re-allocated from scratch on every
// build, so a new service sorting before the others moved their VIPs and regenerated every
// transparent proxy reaching them. Known services now keep their VIPs (§7.3.1).
TEST_F(ReconcilerWithoutTickTest, ANewServiceDoesNotMoveTheVipsOfOthers) {
  json tp = dataplane("tp-1", "tp", "10.0.0.9");
  tp["networking"].erase("outbound");
  tp["networking"]["transparentProxying"] = {{"redirectPortInbound", 15006},
                                             {"redirectPortOutbound", 15001},
                                             {"reachableServices", {"web"}}};
  put(tp);
  reconciler_->addProxy("default.tp-1", "default", "tp-1", {});
  auto first = waitFor("default.tp-1", [](const Snapshot& s) {
    return s.types.at(kClusterType).resources.contains("web");
  });
  ASSERT_NE(first, nullptr);
  const ReconcilerStats before = reconciler_->stats();
  put(dataplane("aaa-1", "aaa", "10.0.0.30"));  // sorts before every other service
  for (int i = 0; i < 200 && reconciler_->stats().contextBuilds == before.contextBuilds; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(reconciler_->stats().generations, before.generations);
  EXPECT_EQ(cache_.getSnapshot("default.tp-1"), first);
  auto context = reconciler_->currentMeshContext("default");
  ASSERT_TRUE(context.ok());
  EXPECT_EQ((*context)->vips().at("aaa"), "240.0.0.3");  // after backend, tp and web
}

TEST_F(ReconcilerTest, UnchangedResultWhenRegeneratedConfigIsIdentical) {
  reconciler_->addProxy("default.web-1", "default", "web-1", {});
  auto first = waitFor("default.web-1", [](const Snapshot& s) {
    return s.types.at(kListenerType).resources.contains("inbound:10.0.0.1:8080");
  });
  ASSERT_NE(first, nullptr);
  const ReconcilerStats before = reconciler_->stats();
  // web-1's own Dataplane written again unchanged: a new version, so web-1 is regenerated, and
  // the result is identical to what it holds. (A Dataplane of a service web-1 does not dial
  // would not even regenerate it: DataplanesOfOtherServicesDoNotRegenerateAProxy.)
  put(dataplane("web-1", "web", "10.0.0.1"));
  for (int i = 0; i < 200 && reconciler_->stats().generations == before.generations; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const ReconcilerStats after = reconciler_->stats();
  EXPECT_EQ(after.generations, before.generations + 1);
  EXPECT_EQ(after.unchanged, before.unchanged + 1);
  EXPECT_EQ(after.published, before.published);
  EXPECT_EQ(cache_.getSnapshot("default.web-1")->types.at(kListenerType).version,
            first->types.at(kListenerType).version);
}

TEST_F(ReconcilerTest, InspectGeneratesForStoredDataplanesWithoutAConnectedProxy) {
  auto generated = reconciler_->inspect("default", "web-1");
  ASSERT_TRUE(generated.ok()) << generated.status();
  EXPECT_NE(generated->find(kListenerType, "inbound:10.0.0.1:8080"), nullptr);
  EXPECT_EQ(reconciler_->stats().generations, 0u);  // nothing published
  EXPECT_EQ(cache_.getSnapshot("default.web-1"), nullptr);

  auto json = xdsConfigJson(*generated);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ((*json)[kListenerType]["inbound:10.0.0.1:8080"]["name"], "inbound:10.0.0.1:8080");
  EXPECT_EQ((*json)[kClusterType]["backend"]["name"], "backend");

  EXPECT_TRUE(absl::IsNotFound(reconciler_->inspect("default", "nope").status()));
  EXPECT_TRUE(absl::IsNotFound(reconciler_->inspect("nope", "web-1").status()));
  EXPECT_TRUE(absl::IsNotFound(reconciler_->currentMeshContext("nope").status()));
  // Not connected: nothing served.
  EXPECT_TRUE(absl::IsNotFound(reconciler_->served("default", "web-1").status()));
  reconciler_->addProxy("default.web-1", "default", "web-1", {});
  ASSERT_NE(waitFor("default.web-1", [](const Snapshot&) { return true; }), nullptr);
  auto served = reconciler_->served("default", "web-1");
  ASSERT_TRUE(served.ok()) << served.status();
  auto servedJson = xdsConfigJson(*served);
  ASSERT_TRUE(servedJson.ok());
  EXPECT_EQ(*servedJson, *json);
}

TEST(XdsConfigJson, RejectsBytesThatDoNotParse) {
  GeneratedResources bad;
  bad.types[kClusterType]["c"] = res("c", "\xff\xff\xff");
  EXPECT_FALSE(xdsConfigJson(bad).ok());
  GeneratedResources unknown;
  unknown.types["type.googleapis.com/not.a.Type"]["x"] = res("x", "");
  EXPECT_FALSE(xdsConfigJson(unknown).ok());
  GeneratedResources empty;
  empty.types[kClusterType];
  EXPECT_EQ(*xdsConfigJson(empty), nlohmann::ordered_json::object());
}

}  // namespace
}  // namespace kuma::xds::sync
