// The Kubernetes store beyond the conformance suite: Kuma's object shape, informer resumption.

#include <atomic>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "source/core/store/errors.h"
#include "test/plugins/resources/kubernetes/kube_test_env.h"
#include "test/store_conformance/test_types.h"

namespace kuma::k8s::testing {
namespace {

using store::conformance::makeResource;
using store::conformance::testItemType;
using store::conformance::testMeshType;

class Recorder {
 public:
  explicit Recorder(store::ResourceStore& store)
      : subscription_(store.subscribe([this](const store::ChangeEvent& e) {
          absl::MutexLock lock(&mu_);
          events_.push_back(e);
        })) {}
  bool waitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return events_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(20));
  }
  std::vector<store::ChangeEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  absl::Mutex mu_;
  std::vector<store::ChangeEvent> events_ ABSL_GUARDED_BY(mu_);
  store::SubscriptionPtr subscription_;
};

std::vector<const model::ResourceTypeDescriptor*> testTypes() {
  return {&testMeshType(), &testItemType()};
}

/** Options over empty TestMesh/TestItem collections (CRDs installed). */
KubernetesStoreOptions emptyTestTypes(std::shared_ptr<KubeClient> client) {
  EXPECT_TRUE(installCrds(testTypes()).ok());
  EXPECT_TRUE(wipe(*client, testTypes()).ok());
  KubernetesStoreOptions options;
  options.client = std::move(client);
  options.types = testTypes();
  return options;
}

TEST(KubernetesStoreTest, WatchResumesFromTheLastVersionWithoutRelisting) {
  auto client = newClient();
  ASSERT_NE(client, nullptr);
  KubernetesStoreOptions options = emptyTestTypes(client);
  options.watchTimeout = absl::Seconds(1);  // every watch ends after a second and resumes
  auto store = newKubernetesStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->waitForSync(absl::Seconds(30)).ok());
  Recorder recorder(**store);
  // Written behind the store's back, across several watch streams.
  for (int i = 0; i < 3; i++) {
    nlohmann::json object = {{"apiVersion", "kuma.io/v1alpha1"},
                             {"kind", "TestItem"},
                             {"metadata", {{"name", absl::StrCat("w-", i)}}},
                             {"mesh", "m1"},
                             {"spec", {{"i", i}}}};
    auto answer = client->request("POST", "/apis/kuma.io/v1alpha1/testitems", object.dump());
    ASSERT_TRUE(answer.ok());
    ASSERT_EQ(answer->status, 201) << answer->body;
    absl::SleepFor(absl::Milliseconds(1300));
  }
  ASSERT_TRUE(recorder.waitFor(3));
  absl::SleepFor(absl::Milliseconds(500));
  auto events = recorder.events();
  ASSERT_EQ(events.size(), 3u);  // no duplicates from resumption
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(events[i].type, store::EventType::Create);
    EXPECT_EQ(events[i].key, (store::ResourceKey{absl::StrCat("w-", i), "m1"}));
  }
  const KubernetesStore::InformerStats stats = (*store)->informerStats();
  EXPECT_EQ(stats.relists, 2u);  // the first list of each of the two types, nothing more
  EXPECT_GE(stats.watchesStarted, 2u + 3u);
}

TEST(KubernetesStoreTest, RelistsWhenTheWatchVersionIsCompactedAway) {
  // Its own API server, compacting etcd every second and watching etcd directly (no watch cache,
  // whose window is not bound to compaction): an informer resuming from a version that
  // is gone meanwhile gets 410 Gone and must relist.
  test::KubeApiServer::Options serverOptions;
  serverOptions.extraApiServerArgs = {"--etcd-compaction-interval=1s", "--watch-cache=false"};
  auto server = test::KubeApiServer::launch(serverOptions);
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = newClientFor(**server);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(installCrdsWith(*client, testTypes()).ok());
  KubernetesStoreOptions options;
  options.client = client;
  options.types = testTypes();
  options.watchTimeout = absl::Seconds(1);
  auto store = newKubernetesStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->waitForSync(absl::Seconds(30)).ok());
  Recorder recorder(**store);
  // Writes to TestMesh only: TestItem's informer keeps resuming from its old version, which the
  // compaction removes.
  for (int i = 0; i < 40 && (*store)->informerStats().goneRelists == 0; i++) {
    ASSERT_TRUE((*store)->create(makeResource(testMeshType(), "", absl::StrCat("g-", i)), {}).ok());
    absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_GE((*store)->informerStats().goneRelists, 1u);
  // After the relist TestItem events still arrive.
  ASSERT_TRUE((*store)->create(makeResource(testItemType(), "m1", "after-gone"), {}).ok());
  auto itemSeen = [&] {
    for (const auto& e : recorder.events()) {
      if (e.resourceType == &testItemType() && e.key.name == "after-gone") {
        return true;
      }
    }
    return false;
  };
  for (int i = 0; i < 100 && !itemSeen(); i++) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(itemSeen());
}

TEST(KubernetesStoreTest, ResyncRelistsAndReportsWhatTheWatchMissed) {
  auto client = newClient();
  ASSERT_NE(client, nullptr);
  KubernetesStoreOptions options = emptyTestTypes(client);
  options.resyncPeriod = absl::Seconds(1);
  auto store = newKubernetesStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->waitForSync(absl::Seconds(30)).ok());
  Recorder recorder(**store);
  auto created = (*store)->create(makeResource(testMeshType(), "", "r1"), {});
  ASSERT_TRUE(created.ok()) << created.status();
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_GE((*store)->informerStats().relists, 4u);
  // Relisting an unchanged object reports nothing new.
  auto events = recorder.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, store::EventType::Create);
}

TEST(KubernetesStoreTest, StoresKumaObjectShapes) {
  auto client = newClient();
  ASSERT_NE(client, nullptr);
  KubernetesStoreOptions options = emptyTestTypes(client);
  auto store = newKubernetesStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->create(makeResource(testMeshType(), "", "shape"), {}).ok());
  store::CreateOptions owned;
  owned.owner = store::TypedResourceKey{&testMeshType(), store::ResourceKey{"shape", ""}};
  auto item = (*store)->create(makeResource(testItemType(), "shape", "it", {{"port", 80}},
                                            {{"team", "a"}, {"kuma.io/display-name", "It"}}),
                               owned);
  ASSERT_TRUE(item.ok()) << item.status();
  auto raw = client->request("GET", "/apis/kuma.io/v1alpha1/testitems/it");
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->status, 200);
  nlohmann::json object = nlohmann::json::parse(raw->body);
  EXPECT_EQ(object["mesh"], "shape");
  EXPECT_EQ(object["spec"], (nlohmann::json{{"port", 80}}));
  EXPECT_EQ(object["metadata"]["labels"], (nlohmann::json{{"team", "a"}}));
  EXPECT_EQ(object["metadata"]["annotations"]["kuma.io/display-name"], "It");
  ASSERT_EQ(object["metadata"]["ownerReferences"].size(), 1u);
  EXPECT_EQ(object["metadata"]["ownerReferences"][0]["kind"], "TestMesh");
  EXPECT_EQ(object["metadata"]["ownerReferences"][0]["name"], "shape");
  EXPECT_EQ((*item)->meta.version, object["metadata"]["resourceVersion"]);
  EXPECT_EQ((*item)->meta.labels.at("kuma.io/display-name"), "It");
  // Kuma on Kubernetes: a name is unique per type, the mesh is only an attribute.
  auto clash = (*store)->create(makeResource(testItemType(), "other", "it"), {});
  EXPECT_TRUE(store::isAlreadyExists(clash.status())) << clash.status();
  EXPECT_TRUE(store::isNotFound((*store)->get(testItemType(), {"it", "other"}).status()));
}

}  // namespace
}  // namespace kuma::k8s::testing
