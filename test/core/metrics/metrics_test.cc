#include "source/core/metrics/metrics.h"

#include <unistd.h>

#include <ctime>

#include "gtest/gtest.h"
#include "source/core/metrics/instrumented_store.h"
#include "source/core/store/cached_store.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "test/core/metrics/metrics_text.h"
#include "test/store_conformance/store_conformance.h"
#include "test/store_conformance/test_types.h"

namespace kuma::metrics {
namespace {

using store::conformance::listOptions;
using store::conformance::makeResource;
using store::conformance::testItemType;
using store::conformance::testMeshType;
using testing::Exposition;
using testing::parseExposition;

Exposition scrape(const Metrics& metrics) {
  auto parsed = parseExposition(metrics.scrape());
  EXPECT_TRUE(parsed.ok()) << parsed.status() << "\n" << metrics.scrape();
  return parsed.ok() ? *parsed : Exposition{};
}

TEST(MetricsTest, EveryInstrumentedFamilyHasKumasTypeAndTheZoneLabel) {
  Metrics metrics({.zone = "zone-1", .processMetrics = false});
  metrics.xdsGeneration()
      .Add({{"proxy_type", "dataplane"}, {"result", "skip"}}, Metrics::defaultBuckets())
      .Observe(0.3);
  metrics.xdsResponsesSent().Add({{"type_url", "t"}}).Increment();
  metrics.xdsResponsesSentBytes()
      .Add({{"type_url", "t"}}, Metrics::responseBytesBuckets())
      .Observe(3000);
  metrics.xdsRequestsReceived()
      .Add({{"type_url", "t"}, {"confirmation", "ACK"}, {"error_type", "no_error"}})
      .Increment();
  metrics.store()
      .Add({{"operation", "get"}, {"resource_type", "Mesh"}}, Metrics::defaultBuckets())
      .Observe(0.001);
  metrics.storeConflicts().Add({{"resource_type", "Mesh"}}).Increment();
  metrics.storeCache()
      .Add({{"operation", "list"}, {"resource_type", "Mesh"}, {"result", "hit"}})
      .Increment();
  const Exposition e = scrape(metrics);
  const std::map<std::string, std::string> want = {{"xds_generation", "histogram"},
                                                   {"xds_generation_errors", "counter"},
                                                   {"xds_delivery", "histogram"},
                                                   {"xds_responses_sent", "counter"},
                                                   {"xds_responses_sent_bytes", "histogram"},
                                                   {"xds_requests_received", "counter"},
                                                   {"store", "histogram"},
                                                   {"store_conflicts", "counter"},
                                                   {"store_cache", "counter"}};
  for (const auto& [name, type] : want) {
    auto it = e.types.find(name);
    ASSERT_NE(it, e.types.end()) << name;
    EXPECT_EQ(it->second, type) << name;
  }
  for (const auto& sample : e.samples) {
    EXPECT_EQ(sample.labels.count("zone"), 1u) << sample.name;
    EXPECT_EQ(sample.labels.at("zone"), "zone-1") << sample.name;
  }
  // Default buckets: 0.3 ms lands in le=0.5 but not le=0.25; 11 finite buckets + Inf.
  EXPECT_EQ(e.value("xds_generation_bucket", {{"result", "skip"}, {"le", "0.25"}}), 0);
  EXPECT_EQ(e.value("xds_generation_bucket", {{"result", "skip"}, {"le", "0.5"}}), 1);
  EXPECT_EQ(e.find("xds_generation_bucket", {{"result", "skip"}}).size(), 12u);
  EXPECT_EQ(e.value("xds_generation_sum", {{"result", "skip"}}), 0.3);
  // 1 KiB … 32 MiB: 3000 bytes is above 2048 and within 4096.
  EXPECT_EQ(e.find("xds_responses_sent_bytes_bucket").size(), 17u);
  EXPECT_EQ(e.value("xds_responses_sent_bytes_bucket", {{"le", "2048"}}), 0);
  EXPECT_EQ(e.value("xds_responses_sent_bytes_bucket", {{"le", "4096"}}), 1);
  EXPECT_EQ(e.value("xds_responses_sent_bytes_bucket", {{"le", "33554432"}}), 1);
  EXPECT_EQ(e.value("xds_generation_errors"), 0);
  EXPECT_EQ(e.value("store_conflicts", {{"resource_type", "Mesh"}}), 1);
}

TEST(MetricsTest, BucketBoundariesAreKumas) {
  EXPECT_EQ(Metrics::defaultBuckets(),
            (std::vector<double>{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}));
  const auto& bytes = Metrics::responseBytesBuckets();
  ASSERT_EQ(bytes.size(), 16u);
  EXPECT_EQ(bytes.front(), 1024);
  EXPECT_EQ(bytes.back(), 32.0 * 1024 * 1024);
}

TEST(MetricsTest, CpInfoIsOneWithItsLabelsAndIsRegisteredOnce) {
  Metrics metrics({.zone = "default", .processMetrics = false});
  CpInfo info;
  info.version = "2.14.3";
  info.gitCommit = "abcdef1";
  info.instanceId = "host-1a2b";
  metrics.setCpInfo(info);
  info.version = "other";
  metrics.setCpInfo(info);  // ignored
  const Exposition e = scrape(metrics);
  EXPECT_EQ(e.types.at("cp_info"), "gauge");
  auto samples = e.find("cp_info");
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].value, 1);
  EXPECT_EQ(samples[0].labels, (std::map<std::string, std::string>{{"zone", "default"},
                                                                   {"product", "Kuma"},
                                                                   {"version", "2.14.3"},
                                                                   {"build_date", ""},
                                                                   {"git_commit", "abcdef1"},
                                                                   {"git_tag", ""},
                                                                   {"instance_id", "host-1a2b"},
                                                                   {"cluster_id", ""}}));
}

TEST(MetricsTest, CollectorsRunAtEveryScrapeAndGetTheZoneLabel) {
  Metrics metrics({.zone = "z", .processMetrics = false});
  int calls = 0;
  metrics.addCollector([&calls](std::vector<prometheus::MetricFamily>& out) {
    ++calls;
    out.push_back(makeFamily("xds_streams_active", "Number of active connections",
                             prometheus::MetricType::Gauge, {{{}, double(calls)}}));
    // Label values that need escaping survive the round trip.
    out.push_back(makeFamily("mesh_cache", "", prometheus::MetricType::Gauge,
                             {{{{"operation", "get"}, {"result", "a\"b\\c\nd"}}, 2}}));
  });
  EXPECT_EQ(scrape(metrics).value("xds_streams_active", {{"zone", "z"}}), 1);
  const Exposition e = scrape(metrics);
  EXPECT_EQ(e.value("xds_streams_active"), 2);
  EXPECT_EQ(e.types.at("xds_streams_active"), "gauge");
  EXPECT_EQ(e.value("mesh_cache", {{"result", "a\"b\\c\nd"}, {"zone", "z"}}), 2);
}

TEST(MetricsTest, ProcessFamiliesDescribeThisProcess) {
  Metrics metrics({.zone = "default", .processMetrics = true});
  const Exposition e = scrape(metrics);
  EXPECT_EQ(e.types.at("process_cpu_seconds_total"), "counter");
  for (const char* gauge : {"process_resident_memory_bytes", "process_virtual_memory_bytes",
                            "process_open_fds", "process_max_fds", "process_start_time_seconds"}) {
    ASSERT_EQ(e.types.count(gauge), 1u) << gauge;
    EXPECT_EQ(e.types.at(gauge), "gauge") << gauge;
  }
  EXPECT_GE(*e.value("process_cpu_seconds_total"), 0);
  EXPECT_GT(*e.value("process_resident_memory_bytes"), 1024 * 1024);
  EXPECT_GE(*e.value("process_open_fds"), 3);  // at least stdin/out/err
  // Started in the last hour, not in the future (a wrong field index would be far off).
  const double start = *e.value("process_start_time_seconds");
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 3600);
}

TEST(MetricsTest, MakeFamilyRejectsNothingButKeepsTheType) {
  auto counter = makeFamily("c", "h", prometheus::MetricType::Counter, {{{{"a", "1"}}, 3}});
  ASSERT_EQ(counter.metric.size(), 1u);
  EXPECT_EQ(counter.metric[0].counter.value, 3);
  EXPECT_EQ(counter.metric[0].gauge.value, 0);
  auto empty = makeFamily("g", "", prometheus::MetricType::Gauge, {});
  EXPECT_TRUE(empty.metric.empty());
}

TEST(ExpositionParserTest, RejectsMalformedInput) {
  EXPECT_FALSE(parseExposition("foo{a=\"1\" 3\n").ok());
  EXPECT_FALSE(parseExposition("foo 3x\n").ok());
  EXPECT_FALSE(parseExposition("9foo 3\n").ok());
  EXPECT_FALSE(parseExposition("foo{a=\"1\",a=\"2\"} 3\n").ok());
  EXPECT_FALSE(parseExposition("# TYPE foo countr\n").ok());
  EXPECT_FALSE(parseExposition("# TYPE foo counter\n# TYPE foo counter\n").ok());
  EXPECT_TRUE(parseExposition("# HELP foo x\n# TYPE foo counter\nfoo{a=\"1\"} 3 1700\n").ok());
}

// ---- store decorators ----

class InstrumentedStoreTest : public ::testing::Test {
 protected:
  Metrics metrics_{{.zone = "default", .processMetrics = false}};
  store::ResourceStorePtr memory_ = memory::newMemoryStore();
  InstrumentedStore store_{*memory_, metrics_};
};

TEST_F(InstrumentedStoreTest, EveryOperationIsTimedByTypeAndConflictsAreCounted) {
  ASSERT_TRUE(store_.create(makeResource(testMeshType(), "", "m1"), {}).ok());
  EXPECT_TRUE(
      absl::IsAlreadyExists(store_.create(makeResource(testMeshType(), "", "m1"), {}).status()));
  auto created = store_.create(makeResource(testItemType(), "m1", "a"), {});
  ASSERT_TRUE(created.ok()) << created.status();
  model::Resource updated = **created;
  ASSERT_TRUE(store_.update(updated).ok());
  EXPECT_TRUE(absl::IsAborted(store_.update(updated).status()));  // stale version
  ASSERT_TRUE(store_.get(testItemType(), {"a", "m1"}).ok());
  EXPECT_TRUE(absl::IsNotFound(store_.get(testItemType(), {"zz", "m1"}).status()));
  ASSERT_TRUE(store_.list(testItemType(), listOptions("m1")).ok());
  ASSERT_TRUE(store_.remove(testItemType(), {"a", "m1"}).ok());

  const Exposition e = scrape(metrics_);
  const std::string mesh = testMeshType().name;
  const std::string item = testItemType().name;
  auto count = [&](const std::string& op, const std::string& type) {
    return e.value("store_count", {{"operation", op}, {"resource_type", type}});
  };
  EXPECT_EQ(count("create", mesh), 2);
  EXPECT_EQ(count("create", item), 1);
  EXPECT_EQ(count("update", item), 2);
  EXPECT_EQ(count("get", item), 2);
  EXPECT_EQ(count("list", item), 1);
  EXPECT_EQ(count("delete", item), 1);
  EXPECT_EQ(count("get", mesh), std::nullopt);
  EXPECT_EQ(e.value("store_conflicts", {{"resource_type", mesh}}), 1);
  EXPECT_EQ(e.value("store_conflicts", {{"resource_type", item}}), 1);
  // Seconds, not milliseconds: a memory store call is far below 1 s.
  EXPECT_EQ(e.value("store_bucket", {{"operation", "get"}, {"resource_type", item}, {"le", "1"}}),
            2);
}

TEST_F(InstrumentedStoreTest, AWrittenTypeHasAConflictSeriesAtZero) {
  EXPECT_TRUE(scrape(metrics_).find("store_conflicts").empty());
  ASSERT_TRUE(store_.list(testMeshType(), listOptions()).ok());  // reads add no series
  EXPECT_TRUE(scrape(metrics_).find("store_conflicts").empty());
  ASSERT_TRUE(store_.create(makeResource(testMeshType(), "", "m1"), {}).ok());
  const Exposition e = scrape(metrics_);
  EXPECT_EQ(e.value("store_conflicts", {{"resource_type", testMeshType().name}}), 0);
  EXPECT_EQ(e.find("store_conflicts").size(), 1u);
}

TEST_F(InstrumentedStoreTest, StoreCacheCountsHitsAndMissesOfTheCache) {
  ASSERT_TRUE(memory_->create(makeResource(testMeshType(), "", "m1"), {}).ok());
  ASSERT_TRUE(memory_->create(makeResource(testItemType(), "m1", "a"), {}).ok());
  StoreCacheProbe probe(metrics_);
  store::CachedStore cached(probe.back(store_), absl::Seconds(60));
  store::ResourceStore& front = probe.front(cached);
  ASSERT_TRUE(front.list(testItemType(), listOptions("m1")).ok());  // miss
  ASSERT_TRUE(front.list(testItemType(), listOptions("m1")).ok());  // hit
  ASSERT_TRUE(front.list(testItemType(), listOptions("m1")).ok());  // hit
  ASSERT_TRUE(front.get(testItemType(), {"a", "m1"}).ok());         // not cached: miss
  // A change invalidates: the next list misses again.
  ASSERT_TRUE(front.create(makeResource(testItemType(), "m1", "b"), {}).ok());
  auto list = front.list(testItemType(), listOptions("m1"));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->items.size(), 2u);

  const Exposition e = scrape(metrics_);
  const std::string item = testItemType().name;
  EXPECT_EQ(
      e.value("store_cache", {{"operation", "list"}, {"resource_type", item}, {"result", "hit"}}),
      2);
  EXPECT_EQ(
      e.value("store_cache", {{"operation", "list"}, {"resource_type", item}, {"result", "miss"}}),
      2);
  EXPECT_EQ(
      e.value("store_cache", {{"operation", "get"}, {"resource_type", item}, {"result", "miss"}}),
      1);
  EXPECT_EQ(e.find("store_cache", {{"result", "hit-wait"}}).size(), 0u);
  // The misses reached the timed store; the hits did not.
  EXPECT_EQ(e.value("store_count", {{"operation", "list"}, {"resource_type", item}}), 2);
}

TEST_F(InstrumentedStoreTest, ResourcesCountCollectorCountsEveryType) {
  ASSERT_TRUE(memory_->create(makeResource(testMeshType(), "", "m1"), {}).ok());
  ASSERT_TRUE(memory_->create(makeResource(testMeshType(), "", "m2"), {}).ok());
  ASSERT_TRUE(memory_->create(makeResource(testItemType(), "m1", "a"), {}).ok());
  ASSERT_TRUE(memory_->create(makeResource(testItemType(), "m2", "b"), {}).ok());
  ASSERT_TRUE(memory_->create(makeResource(testItemType(), "m2", "c"), {}).ok());
  metrics_.addCollector(resourcesCountCollector(*memory_, {&testMeshType(), &testItemType()}));
  Exposition e = scrape(metrics_);
  EXPECT_EQ(e.types.at("resources_count"), "gauge");
  EXPECT_EQ(e.value("resources_count", {{"resource_type", testMeshType().name}, {"tenant", ""}}),
            2);
  EXPECT_EQ(e.value("resources_count", {{"resource_type", testItemType().name}}), 3);
  ASSERT_TRUE(memory_->remove(testItemType(), {"b", "m2"}).ok());
  ASSERT_TRUE(memory_->remove(testItemType(), {"c", "m2"}).ok());
  e = scrape(metrics_);
  EXPECT_EQ(e.value("resources_count", {{"resource_type", testItemType().name}}), 1);
}

// The decorators are transparent: the store contract still holds through them.
struct InstrumentedHolder {
  Metrics metrics{{.zone = "default", .processMetrics = false}};
  store::ResourceStorePtr inner = memory::newMemoryStore();
};
class OwningInstrumentedStore : private InstrumentedHolder, public InstrumentedStore {
 public:
  OwningInstrumentedStore() : InstrumentedStore(*inner, metrics) {}
};

}  // namespace
}  // namespace kuma::metrics

INSTANTIATE_STORE_CONFORMANCE(Instrumented, [] {
  return std::make_unique<kuma::metrics::OwningInstrumentedStore>();
});
