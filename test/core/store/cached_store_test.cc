#include "source/core/store/cached_store.h"

#include "gtest/gtest.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "test/store_conformance/store_conformance.h"
#include "test/store_conformance/test_types.h"

namespace kuma::store {
namespace {

// The cache owns its backend here so that the conformance suite can use it like any store. The
// backend sits in a base listed first, so it is built before and destroyed after the cache.
struct BackendHolder {
  ResourceStorePtr backend;
};
class OwningCachedStore : private BackendHolder, public CachedStore {
 public:
  explicit OwningCachedStore(ResourceStorePtr inner)
      : BackendHolder{std::move(inner)}, CachedStore(*backend, absl::Seconds(60)) {}
};

using conformance::listOptions;
using conformance::makeResource;
using conformance::testItemType;
using conformance::testMeshType;

class CachedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inner_ = memory::newMemoryStore();
    cache_ = std::make_unique<CachedStore>(*inner_, absl::Seconds(1), [this] { return now_; });
    ASSERT_TRUE(inner_->create(makeResource(testMeshType(), "", "m1"), {}).ok());
    ASSERT_TRUE(inner_->create(makeResource(testItemType(), "m1", "a"), {}).ok());
  }

  size_t count(const std::string& mesh = "m1") {
    auto l = cache_->list(testItemType(), listOptions(mesh));
    EXPECT_TRUE(l.ok());
    return l.ok() ? l->items.size() : 0;
  }

  absl::Time now_ = absl::FromUnixSeconds(1000);
  ResourceStorePtr inner_;
  std::unique_ptr<CachedStore> cache_;
};

TEST_F(CachedStoreTest, RepeatedListsAreServedFromTheCacheUntilTheyExpire) {
  EXPECT_EQ(count(), 1u);
  EXPECT_EQ(count(), 1u);
  EXPECT_EQ(cache_->stats().hits, 1u);
  EXPECT_EQ(cache_->stats().misses, 1u);
  now_ += absl::Milliseconds(1001);
  EXPECT_EQ(count(), 1u);
  EXPECT_EQ(cache_->stats().misses, 2u);
}

TEST_F(CachedStoreTest, AChangeInvalidatesAtOnceEvenBeforeExpiry) {
  EXPECT_EQ(count(), 1u);
  // A write straight to the backend (another writer) is seen by the next read.
  ASSERT_TRUE(inner_->create(makeResource(testItemType(), "m1", "b"), {}).ok());
  EXPECT_EQ(count(), 2u);
  ASSERT_TRUE(cache_->remove(testItemType(), {"a", "m1"}).ok());
  EXPECT_EQ(count(), 1u);
  EXPECT_EQ(cache_->stats().hits, 0u);
}

TEST_F(CachedStoreTest, SubscribersReadingBackAtOnceSeeTheChange) {
  EXPECT_EQ(count(), 1u);
  size_t seen = 0;
  auto sub = cache_->subscribe([&](const ChangeEvent&) { seen = count(); });
  ASSERT_TRUE(inner_->create(makeResource(testItemType(), "m1", "c"), {}).ok());
  EXPECT_EQ(seen, 2u);
}

TEST_F(CachedStoreTest, FilteredAndPagedListsBypassTheCache) {
  EXPECT_EQ(cache_->list(testItemType(), listOptions("m1", "a")).value().items.size(), 1u);
  ListOptions paged = listOptions("m1");
  paged.pageSize = 1;
  EXPECT_EQ(cache_->list(testItemType(), paged).value().items.size(), 1u);
  EXPECT_EQ(cache_->stats().hits + cache_->stats().misses, 0u);
}

TEST_F(CachedStoreTest, ZeroExpirationDisablesCaching) {
  CachedStore off(*inner_, absl::ZeroDuration());
  EXPECT_TRUE(off.list(testItemType(), listOptions("m1")).ok());
  EXPECT_TRUE(off.list(testItemType(), listOptions("m1")).ok());
  EXPECT_EQ(off.stats().hits + off.stats().misses, 0u);
}

}  // namespace
}  // namespace kuma::store

// The cache in front of the memory store still behaves as a store in every respect.
INSTANTIATE_STORE_CONFORMANCE(CachedMemory, [] {
  return std::make_unique<kuma::store::OwningCachedStore>(kuma::memory::newMemoryStore());
})
