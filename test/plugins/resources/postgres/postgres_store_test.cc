// The PostgreSQL store beyond the conformance suite: Kuma's row encoding, events across
// instances, database outages.

#include "source/plugins/resources/postgres/postgres_store.h"

#include <chrono>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/core/store/errors.h"
#include "test/plugins/resources/postgres/pg_test_env.h"
#include "test/store_conformance/event_recorder.h"
#include "test/store_conformance/test_types.h"

namespace kuma::store::postgres {
namespace {

using conformance::EventRecorder;
using conformance::jsonOf;
using conformance::makeResource;
using conformance::testItemType;
using conformance::testMeshType;
using ::testing::HasSubstr;
using testing::server;

std::vector<std::string> query(const std::string& db, const std::string& sql) {
  auto rows = server()->superuserQuery(sql, db);
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *rows : std::vector<std::string>{};
}

std::unique_ptr<PostgresStore> mustStore(const StoreOptions& options) {
  auto store = newPostgresStore(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

/** A SpecStatus type whose spec is the whole {"spec", "status"} object. */
const model::ResourceTypeDescriptor& specStatusType() {
  static const auto* type = [] {
    auto* d = new model::ResourceTypeDescriptor(
        conformance::makeJsonDescriptor("TestPolicy", "testpolicies", model::Scope::Mesh));
    d->format = model::SpecFormat::SpecStatus;
    return d;
  }();
  return *type;
}

TEST(PostgresStoreTest, RowsUseKumaEncoding) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  const std::string db = testing::freshDatabase("enc");
  auto store = mustStore(testing::storeOptionsFor(db));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create(makeResource(testMeshType(), "", "m1"), {}).ok());
  CreateOptions owned;
  owned.owner = TypedResourceKey{&testMeshType(), ResourceKey{"m1", ""}};
  auto created = store->create(
      makeResource(testItemType(), "m1", "a", {{"port", 8080}}, {{"team", "core"}}), owned);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)->meta.version, "0");
  EXPECT_EQ(
      query(db,
            "SELECT version, spec, labels::text, status::text, owner_name, "
            "owner_mesh, owner_type FROM resources WHERE type = 'TestItem'"),
      std::vector<std::string>{"0\t{\"port\":8080}\t{\"team\": \"core\"}\t{}\tm1\t\tTestMesh"});
  EXPECT_EQ(query(db,
                  "SELECT owner_name IS NULL, labels::text FROM resources WHERE type = "
                  "'TestMesh'"),
            std::vector<std::string>{"t\tnull"});  // Go marshals a nil map as null
  model::Resource next = **created;
  next.spec = conformance::jsonSpec({{"port", 9090}});
  auto updated = store->update(next);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ((*updated)->meta.version, "1");

  // SpecStatus types: the spec member goes to `spec`, the status member to `status`.
  auto policy = makeResource(specStatusType(), "m1", "p");
  policy.spec = conformance::jsonSpec(
      {{"spec", {{"targetRef", {{"kind", "Mesh"}}}}}, {"status", {{"ok", 1}}}});
  ASSERT_TRUE(store->create(policy, {}).ok());
  EXPECT_EQ(query(db, "SELECT spec, status::text FROM resources WHERE type = 'TestPolicy'"),
            std::vector<std::string>{"{\"targetRef\":{\"kind\":\"Mesh\"}}\t{\"ok\": 1}"});
  auto got = store->get(specStatusType(), ResourceKey{"p", "m1"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(jsonOf(**got), jsonOf(policy));

  // A row as Kuma writes it (Go writes labels null for a resource without labels).
  query(db,
        "INSERT INTO resources (name, mesh, type, version, spec, creation_time, "
        "modification_time, labels) VALUES ('k', 'm1', 'TestItem', 7, '{\"x\":true}', "
        "'2024-01-02 03:04:05.123456', '2024-01-02 03:04:06', 'null')");
  auto kuma = store->get(testItemType(), ResourceKey{"k", "m1"});
  ASSERT_TRUE(kuma.ok()) << kuma.status();
  EXPECT_EQ((*kuma)->meta.version, "7");
  EXPECT_TRUE((*kuma)->meta.labels.empty());
  EXPECT_EQ(jsonOf(**kuma), nlohmann::json({{"x", true}}));
  EXPECT_EQ(absl::ToUnixMicros((*kuma)->meta.creationTime), 1704164645123456);

  // Deleting the owner cascades inside the database.
  ASSERT_TRUE(store->remove(testMeshType(), ResourceKey{"m1", ""}).ok());
  EXPECT_TRUE(isNotFound(store->get(testItemType(), ResourceKey{"a", "m1"}).status()));
}

TEST(PostgresStoreTest, RejectsOversizedNamesAndStaleVersions) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  const std::string db = testing::freshDatabase("bad");
  auto store = mustStore(testing::storeOptionsFor(db));
  ASSERT_NE(store, nullptr);
  auto tooLong = store->create(makeResource(testItemType(), "m", std::string(254, 'a')), {});
  EXPECT_TRUE(absl::IsInvalidArgument(tooLong.status())) << tooLong.status();
  auto created = store->create(makeResource(testItemType(), "m", "a"), {});
  ASSERT_TRUE(created.ok());
  model::Resource stale = **created;
  stale.meta.version = "not-a-number";
  EXPECT_TRUE(isConflict(store->update(stale).status()));
  stale.meta.version = "99";
  EXPECT_TRUE(isConflict(store->update(stale).status()));
}

TEST(PostgresStoreTest, TwoInstancesSeeEachOthersEventsWithinASecond) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  const std::string db = testing::freshDatabase("events");
  auto a = mustStore(testing::storeOptionsFor(db));
  auto b = mustStore(testing::storeOptionsFor(db));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EventRecorder onB(*b);
  EventRecorder onA(*a);
  const auto start = std::chrono::steady_clock::now();
  auto created = a->create(makeResource(testItemType(), "m", "x"), {});
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(onB.waitForCount(1, absl::Seconds(1)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(onB.events()[0].type, EventType::Create);
  EXPECT_EQ(onB.events()[0].resourceType, &testItemType());
  EXPECT_EQ(onB.events()[0].key, (ResourceKey{"x", "m"}));
  ASSERT_TRUE(b->remove(testItemType(), ResourceKey{"x", "m"}).ok());
  ASSERT_TRUE(onA.waitForCount(2, absl::Seconds(1)));
  EXPECT_EQ(onA.events()[1].type, EventType::Delete);

  // Garbage on the channel and rows of unknown types are skipped; later events still flow.
  query(db,
        "SELECT pg_notify('resource_events', 'not json'); SELECT pg_notify("
        "'resource_events', '{\"action\":\"TRUNCATE\",\"data\":{}}')");
  query(db, "INSERT INTO resources (name, mesh, type, version) VALUES ('u', '', 'Unknown', 0)");
  ASSERT_TRUE(a->create(makeResource(testItemType(), "m", "y"), {}).ok());
  ASSERT_TRUE(onB.waitForCount(3, absl::Seconds(1)));
  EXPECT_EQ(onB.events()[2].key, (ResourceKey{"y", "m"}));
  EXPECT_EQ(onB.count(), 3u);
}

TEST(PostgresStoreTest, SurvivesADatabaseRestartWithoutBeingRecreated) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  const std::string db = testing::freshDatabase("restart");
  StoreOptions options = testing::storeOptionsFor(db);
  options.connection.connectionTimeoutSeconds = 2;
  auto store = mustStore(options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create(makeResource(testItemType(), "m", "before"), {}).ok());
  EventRecorder recorder(*store);

  ASSERT_TRUE(server()->stop().ok());
  const auto start = std::chrono::steady_clock::now();
  auto got = store->get(testItemType(), ResourceKey{"before", "m"});
  EXPECT_TRUE(absl::IsUnavailable(got.status())) << got.status();
  auto created = store->create(makeResource(testItemType(), "m", "during"), {});
  EXPECT_TRUE(absl::IsUnavailable(created.status())) << created.status();
  auto listed = store->list(testItemType(), ListOptions{});
  EXPECT_TRUE(absl::IsUnavailable(listed.status())) << listed.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));

  ASSERT_TRUE(server()->start().ok());
  got = store->get(testItemType(), ResourceKey{"before", "m"});
  EXPECT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(store->create(makeResource(testItemType(), "m", "after"), {}).ok());
  // The LISTEN connection comes back by itself and announces a resync (empty key per type).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (store->listenerConnects() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(store->listenerConnects(), 2u);
  ASSERT_TRUE(store->create(makeResource(testItemType(), "m", "after-listen"), {}).ok());
  ASSERT_TRUE(recorder.waitForCount(2, absl::Seconds(5)));
  bool sawResync = false;
  bool sawAfterListen = false;
  for (const ChangeEvent& e : recorder.events()) {
    sawResync |= e.key.name.empty() && e.resourceType == &testItemType();
    sawAfterListen |= e.type == EventType::Create && e.key.name == "after-listen";
  }
  EXPECT_TRUE(sawResync);
  EXPECT_TRUE(sawAfterListen);
}

TEST(PostgresStoreTest, UnreachableDatabaseFailsCreation) {
  StoreOptions options;
  options.connection.host = "127.0.0.1";
  options.connection.port = 1;
  options.connection.connectionTimeoutSeconds = 2;
  auto store = newPostgresStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(absl::IsUnavailable(store.status()));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("cannot connect to DB"));
}

}  // namespace
}  // namespace kuma::store::postgres
