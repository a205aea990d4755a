#include "test/store_conformance/store_conformance.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "source/core/store/errors.h"
#include "test/store_conformance/event_recorder.h"

namespace kuma::store::conformance {

int linkStoreConformanceConcurrency();

int linkStoreConformanceSuite() {
  return 1 + linkStoreConformanceConcurrency();
}

namespace {

/** The labels a store reads back for a resource written with `labels` (see StoreBackend). */
std::map<std::string, std::string> labelsReadBack(const StoreBackend& backend,
                                                  std::map<std::string, std::string> labels,
                                                  const std::string& name) {
  if (backend.displayNameLabel) {
    labels.try_emplace("kuma.io/display-name", name);
  }
  return labels;
}

}  // namespace

void StoreConformanceTest::SetUp() {
  store_ = GetParam().factory();
  ASSERT_NE(store_, nullptr) << "the store factory returned null";
}

void StoreConformanceTest::TearDown() {
  store_.reset();
}

model::ResourceConstSharedPtr StoreConformanceTest::mustCreateMesh(const std::string& name) {
  auto created = store_->create(makeResource(testMeshType(), "", name), CreateOptions{});
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? *created : nullptr;
}

model::ResourceConstSharedPtr StoreConformanceTest::mustCreateItem(
    const std::string& mesh, const std::string& name, nlohmann::json spec,
    std::map<std::string, std::string> labels, std::optional<TypedResourceKey> owner) {
  CreateOptions options;
  options.owner = std::move(owner);
  auto created = store_->create(
      makeResource(testItemType(), mesh, name, std::move(spec), std::move(labels)), options);
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? *created : nullptr;
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ResourceKey itemKey(const std::string& mesh, const std::string& name) {
  return ResourceKey{name, mesh};
}

TypedResourceKey meshOwner(const std::string& mesh) {
  return TypedResourceKey{&testMeshType(), ResourceKey{mesh, ""}};
}

TypedResourceKey itemOwner(const std::string& mesh, const std::string& name) {
  return TypedResourceKey{&testItemType(), itemKey(mesh, name)};
}

std::vector<std::string> namesOf(const ResourceList& list) {
  std::vector<std::string> out;
  for (const auto& item : list.items) {
    out.push_back(item->meta.mesh + "/" + item->meta.name);
  }
  return out;
}

bool isDelete(const ChangeEvent& e, const std::string& type, const ResourceKey& key) {
  return e.type == EventType::Delete && e.resourceType != nullptr && e.resourceType->name == type &&
         e.key == key;
}

// --- create / get ---------------------------------------------------------------------------

TEST_P(StoreConformanceTest, CreateThenGetRoundTrips) {
  model::Resource input =
      makeResource(testItemType(), "m1", "item-1", {{"port", 8080}, {"tags", {"a", "b"}}},
                   {{"team", "core"}, {"env", "dev"}});
  // Store-owned fields in the input are ignored.
  input.meta.version = "42";
  input.meta.creationTime = absl::FromUnixSeconds(1000);
  input.meta.modificationTime = absl::FromUnixSeconds(1000);
  const absl::Time before = absl::Now() - absl::Seconds(1);

  auto created = store().create(input, CreateOptions{});
  ASSERT_TRUE(created.ok()) << created.status();
  const model::Resource& c = **created;
  EXPECT_EQ(c.descriptor, &testItemType());
  EXPECT_EQ(c.meta.name, "item-1");
  EXPECT_EQ(c.meta.mesh, "m1");
  EXPECT_FALSE(c.meta.version.empty());
  EXPECT_NE(c.meta.version, "42");
  EXPECT_GT(c.meta.creationTime, before);
  EXPECT_EQ(c.meta.creationTime, c.meta.modificationTime);
  EXPECT_EQ(c.meta.labels, labelsReadBack(GetParam(), input.meta.labels, "item-1"));
  EXPECT_TRUE(c.spec->equals(*input.spec));

  auto got = store().get(testItemType(), itemKey("m1", "item-1"));
  ASSERT_TRUE(got.ok()) << got.status();
  const model::Resource& g = **got;
  EXPECT_EQ(g.descriptor, &testItemType());
  EXPECT_EQ(g.meta.name, "item-1");
  EXPECT_EQ(g.meta.mesh, "m1");
  EXPECT_EQ(g.meta.version, c.meta.version);
  EXPECT_EQ(g.meta.creationTime, c.meta.creationTime);
  EXPECT_EQ(g.meta.modificationTime, c.meta.modificationTime);
  EXPECT_EQ(g.meta.labels, labelsReadBack(GetParam(), input.meta.labels, "item-1"));
  EXPECT_EQ(jsonOf(g), jsonOf(input));
}

TEST_P(StoreConformanceTest, CreatesGlobalResources) {
  auto mesh = mustCreateMesh("default");
  ASSERT_NE(mesh, nullptr);
  EXPECT_EQ(mesh->meta.mesh, "");
  auto got = store().get(testMeshType(), ResourceKey{"default", ""});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)->meta.version, mesh->meta.version);
}

TEST_P(StoreConformanceTest, CreateExistingIsAlreadyExists) {
  mustCreateItem("m1", "a", {{"v", 1}});
  auto again = store().create(makeResource(testItemType(), "m1", "a", {{"v", 2}}), {});
  EXPECT_TRUE(isAlreadyExists(again.status())) << again.status();
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("TestItem"));
  // The first write is kept.
  auto got = store().get(testItemType(), itemKey("m1", "a"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(jsonOf(**got)["v"], 1);
}

TEST_P(StoreConformanceTest, SameNameInOtherMeshOrTypeIsIndependent) {
  mustCreateItem("m1", "a");
  if (GetParam().namesUniquePerType) {
    // Kuma on Kubernetes: one object per type and name, whatever its mesh.
    auto clash = store().create(makeResource(testItemType(), "m2", "a"), {});
    EXPECT_TRUE(isAlreadyExists(clash.status())) << clash.status();
    EXPECT_TRUE(isNotFound(store().get(testItemType(), itemKey("m2", "a")).status()));
  } else {
    mustCreateItem("m2", "a");
    EXPECT_TRUE(store().get(testItemType(), itemKey("m2", "a")).ok());
  }
  mustCreateMesh("a");
  EXPECT_TRUE(store().get(testItemType(), itemKey("m1", "a")).ok());
  EXPECT_TRUE(store().get(testMeshType(), ResourceKey{"a", ""}).ok());
}

TEST_P(StoreConformanceTest, RejectsInvalidRequests) {
  EXPECT_TRUE(isInvalid(store().create(makeResource(testItemType(), "m1", ""), {}).status()));
  EXPECT_TRUE(isInvalid(store().create(makeResource(testItemType(), "", "x"), {}).status()));
  EXPECT_TRUE(isInvalid(store().create(makeResource(testMeshType(), "m1", "x"), {}).status()));
  model::Resource noType = makeResource(testItemType(), "m1", "x");
  noType.descriptor = nullptr;
  EXPECT_TRUE(isInvalid(store().create(noType, {}).status()));
  model::Resource noSpec = makeResource(testItemType(), "m1", "x");
  noSpec.spec = nullptr;
  EXPECT_TRUE(isInvalid(store().create(noSpec, {}).status()));
  EXPECT_TRUE(isInvalid(store().get(testItemType(), itemKey("", "x")).status()));
  EXPECT_TRUE(isInvalid(store().remove(testMeshType(), ResourceKey{"x", "m1"})));
  // Nothing was stored.
  auto all = store().list(testItemType(), {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total, 0u);
}

TEST_P(StoreConformanceTest, GetMissingIsNotFound) {
  auto got = store().get(testItemType(), itemKey("m1", "nope"));
  EXPECT_TRUE(isNotFound(got.status())) << got.status();
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("nope"));
  mustCreateItem("m1", "a");
  EXPECT_TRUE(isNotFound(store().get(testItemType(), itemKey("m2", "a")).status()));
  EXPECT_TRUE(isNotFound(store().get(testMeshType(), ResourceKey{"a", ""}).status()));
}

// --- update ---------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, UpdateReplacesSpecAndLabelsAndBumpsVersion) {
  auto created = mustCreateItem("m1", "a", {{"v", 1}}, {{"k", "1"}, {"gone", "x"}});
  ASSERT_NE(created, nullptr);
  model::Resource next = *created;
  next.spec = jsonSpec({{"v", 2}});
  next.meta.labels = {{"k", "2"}, {"new", "y"}};
  next.meta.creationTime = absl::FromUnixSeconds(5);  // ignored

  auto updated = store().update(next);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_NE((*updated)->meta.version, created->meta.version);
  EXPECT_EQ((*updated)->meta.creationTime, created->meta.creationTime);
  EXPECT_GE((*updated)->meta.modificationTime, created->meta.modificationTime);

  auto got = store().get(testItemType(), itemKey("m1", "a"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(jsonOf(**got)["v"], 2);
  EXPECT_EQ((*got)->meta.labels, labelsReadBack(GetParam(), next.meta.labels, "a"));
  EXPECT_EQ((*got)->meta.version, (*updated)->meta.version);
  EXPECT_EQ((*got)->meta.creationTime, created->meta.creationTime);

  // The created resource handed out earlier is immutable.
  EXPECT_EQ(jsonOf(*created)["v"], 1);
}

TEST_P(StoreConformanceTest, EveryUpdateGetsANewVersion) {
  auto current = mustCreateItem("m1", "a", {{"v", 0}});
  ASSERT_NE(current, nullptr);
  std::vector<std::string> versions{current->meta.version};
  for (int i = 1; i <= 5; i++) {
    model::Resource next = *current;
    next.spec = jsonSpec({{"v", i}});
    auto updated = store().update(next);
    ASSERT_TRUE(updated.ok()) << updated.status();
    current = *updated;
    versions.push_back(current->meta.version);
  }
  std::sort(versions.begin(), versions.end());
  EXPECT_EQ(std::unique(versions.begin(), versions.end()), versions.end());
}

TEST_P(StoreConformanceTest, UpdateMissingIsNotFound) {
  model::Resource r = makeResource(testItemType(), "m1", "nope");
  r.meta.version = "1";
  EXPECT_TRUE(isNotFound(store().update(r).status()));
  EXPECT_TRUE(isInvalid(store().update(makeResource(testItemType(), "", "nope")).status()));
}

TEST_P(StoreConformanceTest, UpdateWithStaleVersionIsConflictAndWinnerIsKept) {
  auto created = mustCreateItem("m1", "a", {{"v", 0}});
  ASSERT_NE(created, nullptr);
  model::Resource first = *created;
  first.spec = jsonSpec({{"v", "first"}});
  model::Resource second = *created;
  second.spec = jsonSpec({{"v", "second"}});

  auto winner = store().update(first);
  ASSERT_TRUE(winner.ok()) << winner.status();
  auto loser = store().update(second);
  EXPECT_TRUE(isConflict(loser.status())) << loser.status();

  auto got = store().get(testItemType(), itemKey("m1", "a"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(jsonOf(**got)["v"], "first");
  EXPECT_EQ((*got)->meta.version, (*winner)->meta.version);

  model::Resource noVersion = **got;
  noVersion.meta.version = "";
  EXPECT_TRUE(isConflict(store().update(noVersion).status()));
  model::Resource garbage = **got;
  garbage.meta.version = "not-a-version";
  EXPECT_TRUE(isConflict(store().update(garbage).status()));
}

// --- remove and owners ----------------------------------------------------------------------

TEST_P(StoreConformanceTest, RemoveDeletesAndMissingIsNotFound) {
  EXPECT_TRUE(isNotFound(store().remove(testItemType(), itemKey("m1", "a"))));
  mustCreateItem("m1", "a");
  mustCreateItem("m1", "b");
  ASSERT_TRUE(store().remove(testItemType(), itemKey("m1", "a")).ok());
  EXPECT_TRUE(isNotFound(store().get(testItemType(), itemKey("m1", "a")).status()));
  EXPECT_TRUE(store().get(testItemType(), itemKey("m1", "b")).ok());
  EXPECT_TRUE(isNotFound(store().remove(testItemType(), itemKey("m1", "a"))));
  // The name can be reused.
  EXPECT_NE(mustCreateItem("m1", "a"), nullptr);
}

TEST_P(StoreConformanceTest, RemoveCascadesThroughOwnersOnMultipleLevels) {
  mustCreateMesh("m1");
  mustCreateMesh("m2");
  mustCreateItem("m1", "level-1", {}, {}, meshOwner("m1"));
  mustCreateItem("m1", "level-2", {}, {}, itemOwner("m1", "level-1"));
  mustCreateItem("m1", "level-3", {}, {}, itemOwner("m1", "level-2"));
  mustCreateItem("m1", "sibling", {}, {}, meshOwner("m1"));
  mustCreateItem("m1", "unowned");
  mustCreateItem("m2", "other-level-1", {}, {}, meshOwner("m2"));

  // Removing a middle level takes its subtree only.
  ASSERT_TRUE(store().remove(testItemType(), itemKey("m1", "level-2")).ok());
  EXPECT_TRUE(store().get(testItemType(), itemKey("m1", "level-1")).ok());
  EXPECT_TRUE(isNotFound(store().get(testItemType(), itemKey("m1", "level-3")).status()));

  mustCreateItem("m1", "level-2", {}, {}, itemOwner("m1", "level-1"));
  mustCreateItem("m1", "level-3", {}, {}, itemOwner("m1", "level-2"));
  ASSERT_TRUE(store().remove(testMeshType(), ResourceKey{"m1", ""}).ok());
  for (const char* name : {"level-1", "level-2", "level-3", "sibling"}) {
    EXPECT_TRUE(isNotFound(store().get(testItemType(), itemKey("m1", name)).status())) << name;
  }
  EXPECT_TRUE(store().get(testItemType(), itemKey("m1", "unowned")).ok());
  EXPECT_TRUE(store().get(testItemType(), itemKey("m2", "other-level-1")).ok());
  EXPECT_TRUE(store().get(testMeshType(), ResourceKey{"m2", ""}).ok());

  // A recreated owner does not resurrect or adopt anything.
  mustCreateMesh("m1");
  auto items = store().list(testItemType(), listOptions("m1"));
  ASSERT_TRUE(items.ok());
  EXPECT_THAT(namesOf(*items), ElementsAre("m1/unowned"));
}

TEST_P(StoreConformanceTest, OwnershipSurvivesUpdates) {
  mustCreateMesh("m1");
  auto child = mustCreateItem("m1", "child", {{"v", 1}}, {}, meshOwner("m1"));
  ASSERT_NE(child, nullptr);
  model::Resource next = *child;
  next.spec = jsonSpec({{"v", 2}});
  ASSERT_TRUE(store().update(next).ok());
  ASSERT_TRUE(store().remove(testMeshType(), ResourceKey{"m1", ""}).ok());
  EXPECT_TRUE(isNotFound(store().get(testItemType(), itemKey("m1", "child")).status()));
}

TEST_P(StoreConformanceTest, CreateWithMissingOwnerIsNotFound) {
  auto created = store().create(makeResource(testItemType(), "m1", "orphan"),
                                ownedBy(&testMeshType(), ResourceKey{"m1", ""}));
  EXPECT_TRUE(isNotFound(created.status())) << created.status();
  EXPECT_TRUE(isNotFound(store().get(testItemType(), itemKey("m1", "orphan")).status()));

  auto badOwner = store().create(makeResource(testItemType(), "m1", "orphan"),
                                 ownedBy(nullptr, ResourceKey{"m1", ""}));
  EXPECT_TRUE(isInvalid(badOwner.status())) << badOwner.status();
}

// --- list -----------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, ListFiltersAndSortsByMeshThenName) {
  // Created out of order on purpose.
  mustCreateItem("m2", "web-2", {}, {{"app", "web"}, {"tier", "front"}});
  mustCreateItem("m1", "db-1", {}, {{"app", "db"}});
  mustCreateItem("m1", "web-1", {}, {{"app", "web"}, {"tier", "front"}});
  mustCreateItem("m2", "db-2", {{"replicas", 3}}, {{"app", "db"}});
  mustCreateItem("m1", "web-10", {}, {{"app", "web"}, {"tier", "back"}});
  mustCreateMesh("m1");

  auto all = store().list(testItemType(), ListOptions{});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->total, 5u);
  EXPECT_FALSE(all->nextOffset.has_value());
  EXPECT_THAT(namesOf(*all),
              ElementsAre("m1/db-1", "m1/web-1", "m1/web-10", "m2/db-2", "m2/web-2"));

  auto m1 = store().list(testItemType(), listOptions("m1"));
  ASSERT_TRUE(m1.ok());
  EXPECT_THAT(namesOf(*m1), ElementsAre("m1/db-1", "m1/web-1", "m1/web-10"));
  EXPECT_EQ(m1->total, 3u);

  auto byName = store().list(testItemType(), listOptions("", "eb-1"));
  ASSERT_TRUE(byName.ok());
  EXPECT_THAT(namesOf(*byName), ElementsAre("m1/web-1", "m1/web-10"));

  auto byLabels =
      store().list(testItemType(), listOptions("", "", {{"app", "web"}, {"tier", "front"}}));
  ASSERT_TRUE(byLabels.ok());
  EXPECT_THAT(namesOf(*byLabels), ElementsAre("m1/web-1", "m2/web-2"));

  auto missingLabel = store().list(testItemType(), listOptions("", "", {{"tier", "db"}}));
  ASSERT_TRUE(missingLabel.ok());
  EXPECT_EQ(missingLabel->total, 0u);
  EXPECT_TRUE(missingLabel->items.empty());

  ListOptions byPredicate;
  byPredicate.predicate = [](const model::Resource& r) { return jsonOf(r).contains("replicas"); };
  auto predicate = store().list(testItemType(), byPredicate);
  ASSERT_TRUE(predicate.ok());
  EXPECT_THAT(namesOf(*predicate), ElementsAre("m2/db-2"));

  ListOptions combined = listOptions("m1", "web", {{"app", "web"}});
  combined.predicate = [](const model::Resource& r) { return r.meta.labels.at("tier") == "back"; };
  auto both = store().list(testItemType(), combined);
  ASSERT_TRUE(both.ok());
  EXPECT_THAT(namesOf(*both), ElementsAre("m1/web-10"));

  auto noMesh = store().list(testItemType(), listOptions("m3"));
  ASSERT_TRUE(noMesh.ok());
  EXPECT_EQ(noMesh->total, 0u);

  auto meshes = store().list(testMeshType(), ListOptions{});
  ASSERT_TRUE(meshes.ok());
  EXPECT_THAT(namesOf(*meshes), ElementsAre("/m1"));
}

TEST_P(StoreConformanceTest, ListPaginates) {
  for (const char* name : {"e", "c", "a", "d", "b"}) {
    mustCreateItem("m1", name);
  }
  auto page1 = store().list(testItemType(), listOptions("", "", {}, 2));
  ASSERT_TRUE(page1.ok());
  EXPECT_THAT(namesOf(*page1), ElementsAre("m1/a", "m1/b"));
  EXPECT_EQ(page1->total, 5u);
  ASSERT_TRUE(page1->nextOffset.has_value());
  EXPECT_EQ(*page1->nextOffset, 2u);

  auto page2 = store().list(testItemType(), listOptions("", "", {}, 2, 2));
  ASSERT_TRUE(page2.ok());
  EXPECT_THAT(namesOf(*page2), ElementsAre("m1/c", "m1/d"));
  ASSERT_TRUE(page2->nextOffset.has_value());
  EXPECT_EQ(*page2->nextOffset, 4u);

  auto page3 = store().list(testItemType(), listOptions("", "", {}, 2, 4));
  ASSERT_TRUE(page3.ok());
  EXPECT_THAT(namesOf(*page3), ElementsAre("m1/e"));
  EXPECT_EQ(page3->total, 5u);
  EXPECT_FALSE(page3->nextOffset.has_value());

  auto exact = store().list(testItemType(), listOptions("", "", {}, 5));
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->items.size(), 5u);
  EXPECT_FALSE(exact->nextOffset.has_value());

  auto rest = store().list(testItemType(), listOptions("", "", {}, 0, 3));
  ASSERT_TRUE(rest.ok());
  EXPECT_THAT(namesOf(*rest), ElementsAre("m1/d", "m1/e"));
  EXPECT_FALSE(rest->nextOffset.has_value());

  auto past = store().list(testItemType(), listOptions("", "", {}, 2, 10));
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->items.empty());
  EXPECT_EQ(past->total, 5u);
  EXPECT_FALSE(past->nextOffset.has_value());

  // Pagination applies after filtering.
  auto filtered = store().list(testItemType(), listOptions("", "b", {}, 1, 0));
  ASSERT_TRUE(filtered.ok());
  EXPECT_THAT(namesOf(*filtered), ElementsAre("m1/b"));
  EXPECT_EQ(filtered->total, 1u);
  EXPECT_FALSE(filtered->nextOffset.has_value());
}

// --- events ---------------------------------------------------------------------------------

TEST_P(StoreConformanceTest, EmitsEventsForCreateUpdateDelete) {
  EventRecorder recorder(store());
  auto created = mustCreateItem("m1", "a");
  ASSERT_NE(created, nullptr);
  model::Resource next = *created;
  next.spec = jsonSpec({{"v", 2}});
  ASSERT_TRUE(store().update(next).ok());
  // Failed writes emit nothing.
  EXPECT_FALSE(store().update(next).ok());
  EXPECT_FALSE(store().create(makeResource(testItemType(), "m1", "a"), {}).ok());
  ASSERT_TRUE(store().remove(testItemType(), itemKey("m1", "a")).ok());

  ASSERT_TRUE(recorder.waitForCount(3));
  auto events = recorder.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, EventType::Create);
  EXPECT_EQ(events[1].type, EventType::Update);
  EXPECT_EQ(events[2].type, EventType::Delete);
  for (const auto& e : events) {
    ASSERT_NE(e.resourceType, nullptr);
    EXPECT_EQ(e.resourceType->name, "TestItem");
    EXPECT_EQ(e.key, itemKey("m1", "a"));
  }
}

TEST_P(StoreConformanceTest, EmitsDeleteEventsForCascade) {
  EventRecorder recorder(store());
  mustCreateMesh("m1");
  mustCreateItem("m1", "child", {}, {}, meshOwner("m1"));
  mustCreateItem("m1", "grandchild", {}, {}, itemOwner("m1", "child"));
  mustCreateItem("m1", "bystander");
  ASSERT_TRUE(recorder.consumeSetUp(4));
  ASSERT_TRUE(store().remove(testMeshType(), ResourceKey{"m1", ""}).ok());
  ASSERT_TRUE(recorder.waitForCount(3));
  auto events = recorder.events();
  ASSERT_EQ(events.size(), 3u);
  auto has = [&](const std::string& type, const ResourceKey& key) {
    return std::any_of(events.begin(), events.end(),
                       [&](const ChangeEvent& e) { return isDelete(e, type, key); });
  };
  EXPECT_TRUE(has("TestMesh", ResourceKey{"m1", ""}));
  EXPECT_TRUE(has("TestItem", itemKey("m1", "child")));
  EXPECT_TRUE(has("TestItem", itemKey("m1", "grandchild")));
}

TEST_P(StoreConformanceTest, DestroyingTheSubscriptionUnsubscribes) {
  EventRecorder stopped(store());
  mustCreateItem("m1", "a");
  ASSERT_TRUE(stopped.waitForCount(1));
  stopped.stop();

  EventRecorder sentinel(store());
  mustCreateItem("m1", "b");
  mustCreateItem("m1", "c");
  ASSERT_TRUE(sentinel.waitForCount(2));
  EXPECT_EQ(stopped.count(), 1u);
  EXPECT_EQ(sentinel.count(), 2u);
}

TEST_P(StoreConformanceTest, HandlersMayReadTheStore) {
  absl::Mutex mu;
  std::vector<std::string> seenVersions;
  auto subscription = store().subscribe([&](const ChangeEvent& event) {
    auto got = store().get(*event.resourceType, event.key);
    absl::MutexLock lock(&mu);
    seenVersions.push_back(got.ok() ? (*got)->meta.version : "missing");
  });
  auto created = mustCreateItem("m1", "a");
  ASSERT_NE(created, nullptr);
  absl::MutexLock lock(&mu);
  auto one = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return !seenVersions.empty(); };
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&one), absl::Seconds(10)));
  EXPECT_EQ(seenVersions[0], created->meta.version);
}

}  // namespace
}  // namespace kuma::store::conformance
