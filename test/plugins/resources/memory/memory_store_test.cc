// Memory-store specifics the conformance suite leaves open: version format, injected clock,
// shared (uncopied) reads.

#include "source/plugins/resources/memory/memory_store.h"

#include "gtest/gtest.h"
#include "source/core/store/errors.h"
#include "test/store_conformance/test_types.h"

namespace kuma::memory {
namespace {

using store::conformance::jsonSpec;
using store::conformance::makeResource;
using store::conformance::testItemType;

class MemoryStoreTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  store::ResourceStorePtr store_ = newMemoryStore([this] { return now_; });
};

TEST_F(MemoryStoreTest, VersionsAreDecimalCountersPerResource) {
  auto a = store_->create(makeResource(testItemType(), "m", "a"), {});
  auto b = store_->create(makeResource(testItemType(), "m", "b"), {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->meta.version, "1");
  EXPECT_EQ((*b)->meta.version, "1");
  model::ResourceConstSharedPtr current = *a;
  for (int i = 2; i <= 4; i++) {
    auto updated = store_->update(*current);
    ASSERT_TRUE(updated.ok()) << updated.status();
    EXPECT_EQ((*updated)->meta.version, std::to_string(i));
    current = *updated;
  }
  auto gotB = store_->get(testItemType(), {"b", "m"});
  ASSERT_TRUE(gotB.ok());
  EXPECT_EQ((*gotB)->meta.version, "1");

  // Re-creating after delete starts again at 1.
  ASSERT_TRUE(store_->remove(testItemType(), {"a", "m"}).ok());
  auto again = store_->create(makeResource(testItemType(), "m", "a"), {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->meta.version, "1");
}

TEST_F(MemoryStoreTest, TimesComeFromTheInjectedClock) {
  const absl::Time created = now_;
  auto a = store_->create(makeResource(testItemType(), "m", "a"), {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->meta.creationTime, created);
  EXPECT_EQ((*a)->meta.modificationTime, created);

  now_ += absl::Minutes(5);
  auto updated = store_->update(**a);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ((*updated)->meta.creationTime, created);
  EXPECT_EQ((*updated)->meta.modificationTime, created + absl::Minutes(5));
}

TEST_F(MemoryStoreTest, ReadsShareTheStoredResource) {
  auto a = store_->create(makeResource(testItemType(), "m", "a", {{"big", "spec"}}), {});
  ASSERT_TRUE(a.ok());
  auto got = store_->get(testItemType(), {"a", "m"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->get(), a->get());
  auto listed = store_->list(testItemType(), {});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->items.size(), 1u);
  EXPECT_EQ(listed->items[0].get(), a->get());
  EXPECT_EQ(listed->items[0]->spec.get(), (*a)->spec.get());
}

TEST_F(MemoryStoreTest, MessagesNameTheResource) {
  auto missing = store_->get(testItemType(), {"dp-1", "default"});
  EXPECT_EQ(missing.status().message(),
            "Resource not found: type=\"TestItem\" name=\"dp-1\" mesh=\"default\"");
  ASSERT_TRUE(store_->create(makeResource(testItemType(), "default", "dp-1"), {}).ok());
  auto dup = store_->create(makeResource(testItemType(), "default", "dp-1"), {});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  auto stale = makeResource(testItemType(), "default", "dp-1");
  stale.meta.version = "7";
  EXPECT_EQ(store_->update(stale).status().code(), absl::StatusCode::kAborted);
}

TEST_F(MemoryStoreTest, HandlersMayWriteToTheStore) {
  // A handler writing back must not deadlock; its own events are delivered after the current one.
  std::vector<std::string> seen;
  auto subscription = store_->subscribe([&](const store::ChangeEvent& e) {
    seen.push_back(e.key.name);
    if (e.key.name == "a") {
      ASSERT_TRUE(store_->create(makeResource(testItemType(), "m", "from-handler"), {}).ok());
    }
  });
  ASSERT_TRUE(store_->create(makeResource(testItemType(), "m", "a"), {}).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "from-handler"}));
}

}  // namespace
}  // namespace kuma::memory
