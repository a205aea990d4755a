#include "source/xds/sync/insight_tracker.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/core/model/proto_spec.h"
#include "source/core/model/rest_codec.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/server/all_types.h"
#include "source/xds/sync/composite_callbacks.h"

namespace kuma::xds::sync {
namespace {

using nlohmann::json;
namespace v1 = ::kuma::mesh::v1alpha1;

constexpr char kCds[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
constexpr char kEds[] = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
constexpr char kLds[] = "type.googleapis.com/envoy.config.listener.v3.Listener";
constexpr char kRds[] = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
constexpr char kSds[] = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

envoy::config::core::v3::Node node(const std::string& id) {
  envoy::config::core::v3::Node n;
  n.set_id(id);
  auto& version = *(*n.mutable_metadata()->mutable_fields())["version"].mutable_struct_value();
  auto& kumaDp = *(*version.mutable_fields())["kumaDp"].mutable_struct_value();
  (*kumaDp.mutable_fields())["version"].set_string_value("2.14.3");
  (*kumaDp.mutable_fields())["gitTag"].set_string_value("v2.14.3");
  (*kumaDp.mutable_fields())["unknownField"].set_string_value("ignored");
  auto& envoy = *(*version.mutable_fields())["envoy"].mutable_struct_value();
  (*envoy.mutable_fields())["version"].set_string_value("1.38.2");
  (*envoy.mutable_fields())["kumaDpCompatible"].set_bool_value(true);
  return n;
}

class InsightTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = memory::newMemoryStore();
    manager_ = std::make_unique<manager::ResourceManager>(*store_, registry_);
    put({{"type", "Mesh"}, {"name", "default"}});
    put(dataplane("web-1"));
  }

  static json dataplane(const std::string& name) {
    return {{"type", "Dataplane"},
            {"mesh", "default"},
            {"name", name},
            {"networking",
             {{"address", "10.0.0.1"},
              {"inbound", {{{"port", 8080}, {"tags", {{"kuma.io/service", "web"}}}}}}}}};
  }

  void put(const json& object) {
    const auto* type = registry_.byName(object["type"].get<std::string>());
    auto body = model::fromRestJson(*type, object);
    ASSERT_TRUE(body.ok()) << body.status();
    ASSERT_TRUE(manager_->upsert(std::move(body->resource)).ok());
  }

  std::unique_ptr<InsightTracker> tracker(std::chrono::nanoseconds interval = std::chrono::hours(1),
                                          int limit = 2) {
    InsightTrackerOptions options;
    options.identityCert = [this](const std::string& mesh, const std::string& name) {
      absl::MutexLock lock(&certMu_);
      return mesh == "default" && name == "web-1" ? cert_ : std::nullopt;
    };
    options.controlPlaneInstanceId = "cp-test";
    options.flushInterval = interval;
    options.subscriptionLimit = limit;
    return std::make_unique<InsightTracker>(*manager_, registry_, options);
  }

  model::ResourceConstSharedPtr insightResource(const std::string& name = "web-1") {
    auto found = manager_->get(*registry_.byName("DataplaneInsight"), {name, "default"});
    return found.ok() ? *found : nullptr;
  }

  std::optional<v1::DataplaneInsight> insight(const std::string& name = "web-1") {
    auto r = insightResource(name);
    if (r == nullptr) {
      return std::nullopt;
    }
    const auto* spec = model::protoSpecOf<v1::DataplaneInsight>(*r);
    if (spec == nullptr) {
      return std::nullopt;
    }
    return *spec;
  }

  // Waits (bounded) until the stored insight satisfies `pred`.
  std::optional<v1::DataplaneInsight> waitFor(
      const std::function<bool(const v1::DataplaneInsight&)>& pred,
      const std::string& name = "web-1") {
    for (int i = 0; i < 300; ++i) {
      auto found = insight(name);
      if (found && pred(*found)) {
        return found;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  static bool hasSubscriptions(const v1::DataplaneInsight& i, int n) {
    return i.subscriptions_size() == n;
  }

  void setCert(std::optional<IdentityCertInfo> cert) {
    absl::MutexLock lock(&certMu_);
    cert_ = std::move(cert);
  }

  absl::Mutex certMu_;
  std::optional<IdentityCertInfo> cert_ ABSL_GUARDED_BY(certMu_);
  const model::TypeRegistry& registry_ = kuma::server::allTypes();
  store::ResourceStorePtr store_;
  std::unique_ptr<manager::ResourceManager> manager_;
};

TEST_F(InsightTrackerTest, ConnectWritesOneSubscriptionPromptlyOwnedByTheDataplane) {
  auto t = tracker();
  ASSERT_TRUE(t->onStreamOpen(1, node("default.web-1"), {}).ok());
  auto found = waitFor([](const auto& i) { return hasSubscriptions(i, 1); });
  ASSERT_TRUE(found.has_value());
  const v1::DiscoverySubscription& sub = found->subscriptions(0);
  EXPECT_THAT(sub.id(), ::testing::MatchesRegex(
                            "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_EQ(sub.control_plane_instance_id(), "cp-test");
  EXPECT_GT(sub.connect_time().seconds(), 0);
  EXPECT_FALSE(sub.has_disconnect_time());
  EXPECT_GT(sub.status().last_update_time().seconds(), 0);
  EXPECT_EQ(sub.status().total().responses_sent(), 0u);
  EXPECT_EQ(sub.version().kuma_dp().version(), "2.14.3");
  EXPECT_EQ(sub.version().kuma_dp().git_tag(), "v2.14.3");
  EXPECT_EQ(sub.version().envoy().version(), "1.38.2");
  EXPECT_TRUE(sub.version().envoy().kuma_dp_compatible());
  EXPECT_TRUE(sub.version().kuma_dp().kuma_cp_compatible());  // 2.14.3 vs this CP's 2.14.3
  // The node metadata as the proxy sent it; no identity yet: no mTLS block; no labels (Kuma).
  EXPECT_EQ(found->metadata()
                .fields()
                .at("version")
                .struct_value()
                .fields()
                .at("kumaDp")
                .struct_value()
                .fields()
                .at("version")
                .string_value(),
            "2.14.3");
  EXPECT_FALSE(found->has_mtls());
  EXPECT_TRUE(insightResource()->meta.labels.empty());

  // Owned by the Dataplane: deleting it deletes the insight.
  ASSERT_TRUE(manager_->remove(*registry_.byName("Dataplane"), {"web-1", "default"}).ok());
  EXPECT_EQ(insightResource(), nullptr);
}

// Kuma's dataplane_status_sink: the block follows the proxy's identity; a new certificate (other
// expiration or backend) counts as a regeneration; no identity removes it.
TEST_F(InsightTrackerTest, MtlsBlockFollowsTheIdentityCertificate) {
  auto t = tracker();
  const absl::Time issued = absl::FromUnixSeconds(1800000000) + absl::Milliseconds(250);
  setCert(IdentityCertInfo{issued, absl::FromUnixSeconds(1800086400), "ca-1", {"ca-1"}});
  ASSERT_TRUE(t->onStreamOpen(1, node("default.web-1"), {}).ok());
  auto first = waitFor([](const auto& i) { return i.has_mtls(); });
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->mtls().certificate_regenerations(), 1u);
  EXPECT_EQ(first->mtls().issued_backend(), "ca-1");
  EXPECT_THAT(first->mtls().supported_backends(), ::testing::ElementsAre("ca-1"));
  EXPECT_EQ(first->mtls().certificate_expiration_time().seconds(), 1800086400);
  EXPECT_EQ(first->mtls().last_certificate_regeneration().seconds(), 1800000000);
  EXPECT_EQ(first->mtls().last_certificate_regeneration().nanos(), 250000000);
  auto rest = model::toRestJson(*insightResource());
  EXPECT_EQ(rest["mTLS"]["certificateExpirationTime"], "2027-01-16T08:00:00Z");
  EXPECT_EQ(rest["mTLS"]["lastCertificateRegeneration"], "2027-01-15T08:00:00.250Z");
  EXPECT_EQ(rest["mTLS"]["certificateRegenerations"], 1);

  // The same certificate again: no new regeneration.
  t->onResponse(1, kCds, "1", 1);
  t->flush();
  EXPECT_EQ(insight()->mtls().certificate_regenerations(), 1u);

  // Rotated: counted.
  setCert(IdentityCertInfo{
      issued + absl::Hours(20), absl::FromUnixSeconds(1800158400), "ca-1", {"ca-1"}});
  t->onResponse(1, kSds, "2", 1);
  t->flush();
  EXPECT_EQ(insight()->mtls().certificate_regenerations(), 2u);
  EXPECT_EQ(insight()->mtls().certificate_expiration_time().seconds(), 1800158400);

  // mTLS turned off: the block goes away.
  setCert(std::nullopt);
  t->onResponse(1, kCds, "3", 1);
  t->flush();
  EXPECT_FALSE(insight()->has_mtls());
}

TEST(KumaDpVersionCompatible, TwoMinorVersionsEitherWayOfTheSameMajor) {
  EXPECT_TRUE(kumaDpVersionCompatible("2.14.3", "2.14.3"));
  EXPECT_TRUE(kumaDpVersionCompatible("2.14.3", "2.12.0"));
  EXPECT_TRUE(kumaDpVersionCompatible("2.14.3", "v2.16.9"));
  EXPECT_FALSE(kumaDpVersionCompatible("2.14.3", "2.11.7"));
  EXPECT_FALSE(kumaDpVersionCompatible("2.14.3", "2.17.0"));
  EXPECT_FALSE(kumaDpVersionCompatible("2.14.3", "1.14.0"));
  EXPECT_FALSE(kumaDpVersionCompatible("2.14.3", "2.14.0-rc1"));  // no prerelease in the range
  EXPECT_TRUE(kumaDpVersionCompatible("2.14.3", "0.0.0-preview.abc"));
  EXPECT_TRUE(kumaDpVersionCompatible("2.14.3", "dev"));  // unparsable: some dev build
  EXPECT_TRUE(kumaDpVersionCompatible("2.1.0", "2.0.0"));
}

TEST_F(InsightTrackerTest, CountsSentAckedAndRejectedPerTypeOnFlushOnly) {
  auto t = tracker();
  ASSERT_TRUE(t->onStreamOpen(7, node("default.web-1"), {}).ok());
  ASSERT_TRUE(waitFor([](const auto& i) { return hasSubscriptions(i, 1); }).has_value());

  t->onRequest(7, kCds, false, false, "");  // subscription requests count nothing
  t->onResponse(7, kCds, "v1", 2);
  t->onRequest(7, kCds, true, false, "");
  t->onResponse(7, kEds, "v1", 2);
  t->onResponse(7, kEds, "v2", 2);
  t->onRequest(7, kEds, true, false, "");
  t->onRequest(7, kEds, true, false, "");
  t->onResponse(7, kLds, "v1", 1);
  t->onRequest(7, kLds, false, true, "listener rejected");
  t->onResponse(7, kRds, "v1", 1);
  t->onResponse(7, kSds, "v1", 1);  // only in the total
  t->onRequest(7, kSds, true, false, "");
  t->onResponse(99, kCds, "v1", 1);  // unknown stream: ignored

  // The interval (1h) has not elapsed: nothing written yet.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(insight()->subscriptions(0).status().total().responses_sent(), 0u);

  t->flush();
  auto found = insight();
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(found->subscriptions_size(), 1);
  const v1::DiscoverySubscriptionStatus& s = found->subscriptions(0).status();
  EXPECT_EQ(s.total().responses_sent(), 6u);
  EXPECT_EQ(s.total().responses_acknowledged(), 4u);
  EXPECT_EQ(s.total().responses_rejected(), 1u);
  EXPECT_EQ(s.cds().responses_sent(), 1u);
  EXPECT_EQ(s.cds().responses_acknowledged(), 1u);
  EXPECT_EQ(s.eds().responses_sent(), 2u);
  EXPECT_EQ(s.eds().responses_acknowledged(), 2u);
  EXPECT_EQ(s.lds().responses_sent(), 1u);
  EXPECT_EQ(s.lds().responses_acknowledged(), 0u);
  EXPECT_EQ(s.lds().responses_rejected(), 1u);
  EXPECT_EQ(s.rds().responses_sent(), 1u);
  EXPECT_EQ(s.rds().responses_rejected(), 0u);
  EXPECT_GT(t->stats().writes, 1u);
}

TEST_F(InsightTrackerTest, WritesChangesPeriodicallyWithoutFlush) {
  auto t = tracker(std::chrono::milliseconds(50));
  ASSERT_TRUE(t->onStreamOpen(1, node("default.web-1"), {}).ok());
  t->onResponse(1, kLds, "v1", 1);
  t->onRequest(1, kLds, true, false, "");
  EXPECT_TRUE(waitFor([](const auto& i) {
                return i.subscriptions_size() == 1 &&
                       i.subscriptions(0).status().lds().responses_acknowledged() == 1;
              }).has_value());
}

TEST_F(InsightTrackerTest, DisconnectSetsDisconnectTimeAndForgetsTheStream) {
  auto t = tracker();
  ASSERT_TRUE(t->onStreamOpen(3, node("default.web-1"), {}).ok());
  t->onResponse(3, kCds, "v1", 1);
  t->onStreamClosed(3, "default.web-1");
  auto found = waitFor([](const auto& i) {
    return i.subscriptions_size() == 1 && i.subscriptions(0).has_disconnect_time();
  });
  ASSERT_TRUE(found.has_value());
  const auto& sub = found->subscriptions(0);
  EXPECT_GE(sub.disconnect_time().seconds(), sub.connect_time().seconds());
  // The disconnect write carries the last counters too.
  EXPECT_EQ(sub.status().cds().responses_sent(), 1u);
  for (int i = 0; i < 100 && t->stats().streams != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(t->stats().streams, 0u);
  // Hooks of a closed stream change nothing.
  t->onResponse(3, kCds, "v2", 1);
  t->flush();
  EXPECT_EQ(insight()->subscriptions(0).status().cds().responses_sent(), 1u);
}

TEST_F(InsightTrackerTest, KeepsOnlyTheNewestSubscriptions) {
  auto t = tracker(std::chrono::hours(1), 2);
  std::vector<std::string> ids;
  for (int64_t stream = 1; stream <= 3; ++stream) {
    ASSERT_TRUE(t->onStreamOpen(stream, node("default.web-1"), {}).ok());
    t->onStreamClosed(stream, "default.web-1");
    t->flush();
    auto found = insight();
    ASSERT_TRUE(found.has_value());
    ids.push_back(found->subscriptions(found->subscriptions_size() - 1).id());
  }
  ASSERT_TRUE(t->onStreamOpen(4, node("default.web-1"), {}).ok());
  t->flush();
  auto found = insight();
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(found->subscriptions_size(), 2);
  EXPECT_EQ(found->subscriptions(0).id(), ids[2]);
  EXPECT_TRUE(found->subscriptions(0).has_disconnect_time());
  EXPECT_NE(found->subscriptions(1).id(), ids[2]);
  EXPECT_FALSE(found->subscriptions(1).has_disconnect_time());
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 3u);  // fresh id per stream
}

TEST_F(InsightTrackerTest, SubscriptionsStayInConnectOrderWhateverTheWriteOrder) {
  auto t = tracker();
  // Stream 20 connects first but stream 10 sorts first in the tracker.
  ASSERT_TRUE(t->onStreamOpen(20, node("default.web-1"), {}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(t->onStreamOpen(10, node("default.web-1"), {}).ok());
  t->onStreamClosed(20, "default.web-1");
  t->flush();
  auto found = waitFor([](const auto& i) { return hasSubscriptions(i, 2); });
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->subscriptions(0).has_disconnect_time());
  EXPECT_FALSE(found->subscriptions(1).has_disconnect_time());  // the live one is last
}

TEST_F(InsightTrackerTest, RestJsonShowsCountersAsStrings) {
  auto t = tracker();
  ASSERT_TRUE(t->onStreamOpen(1, node("default.web-1"), {}).ok());
  for (int i = 0; i < 3; ++i) {
    t->onResponse(1, kCds, "v", 1);
    t->onRequest(1, kCds, true, false, "");
  }
  t->flush();
  auto r = insightResource();
  ASSERT_NE(r, nullptr);
  const json rest = json::parse(model::toRestJson(*r).dump());
  EXPECT_EQ(rest["type"], "DataplaneInsight");
  EXPECT_EQ(rest["mesh"], "default");
  EXPECT_EQ(rest["name"], "web-1");
  const json& sub = rest["subscriptions"][0];
  EXPECT_EQ(sub["controlPlaneInstanceId"], "cp-test");
  EXPECT_TRUE(sub["connectTime"].is_string());
  EXPECT_FALSE(sub.contains("disconnectTime"));
  EXPECT_EQ(sub["status"]["total"]["responsesSent"], "3");
  EXPECT_EQ(sub["status"]["total"]["responsesAcknowledged"], "3");
  EXPECT_EQ(sub["status"]["cds"]["responsesSent"], "3");
  EXPECT_EQ(sub["status"]["rds"], json::object());
  EXPECT_EQ(sub["version"]["kumaDp"]["version"], "2.14.3");
}

TEST_F(InsightTrackerTest, NoInsightWithoutDataplaneOrValidNodeId) {
  auto t = tracker();
  ASSERT_TRUE(t->onStreamOpen(1, node("default.ghost"), {}).ok());
  ASSERT_TRUE(t->onStreamOpen(2, node("no-dot"), {}).ok());  // never refused by the tracker
  t->onResponse(2, kCds, "v1", 1);
  t->flush();
  EXPECT_EQ(insightResource("ghost"), nullptr);
  EXPECT_GE(t->stats().skippedWrites, 1u);
  EXPECT_EQ(t->stats().writeErrors, 0u);
  EXPECT_EQ(t->stats().streams, 1u);  // only the ghost; kept in case it registers later

  // Registered later: the next write creates the insight.
  put(dataplane("ghost"));
  t->onResponse(1, kCds, "v1", 1);
  t->flush();
  auto found = insight("ghost");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->subscriptions(0).status().cds().responses_sent(), 1u);

  // Deleted while connected: the insight goes with it and is not recreated.
  ASSERT_TRUE(manager_->remove(*registry_.byName("Dataplane"), {"ghost", "default"}).ok());
  t->onResponse(1, kCds, "v2", 1);
  t->flush();
  EXPECT_EQ(insightResource("ghost"), nullptr);
  t->onStreamClosed(1, "default.ghost");
  t->flush();
  EXPECT_EQ(t->stats().streams, 0u);
}

TEST_F(InsightTrackerTest, StopRecordsOpenStreamsAsDisconnectedAndIgnoresLaterHooks) {
  auto t = tracker();
  ASSERT_TRUE(t->onStreamOpen(1, node("default.web-1"), {}).ok());
  ASSERT_TRUE(waitFor([](const auto& i) { return hasSubscriptions(i, 1); }).has_value());
  t->onResponse(1, kEds, "v1", 1);
  t->stop();
  auto found = insight();
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->subscriptions(0).has_disconnect_time());
  EXPECT_EQ(found->subscriptions(0).status().eds().responses_sent(), 1u);
  ASSERT_TRUE(t->onStreamOpen(2, node("default.web-1"), {}).ok());
  t->flush();
  EXPECT_EQ(insight()->subscriptions_size(), 1);
  t->stop();  // idempotent
}

// --- CompositeCallbacks ---

class Recorder : public server::StreamCallbacks {
 public:
  Recorder(std::string name, std::vector<std::string>& log, absl::Status open = absl::OkStatus())
      : name_(std::move(name)), log_(log), open_(std::move(open)) {}
  absl::Status onStreamOpen(int64_t id, const envoy::config::core::v3::Node&,
                            const server::StreamInfo&) override {
    log_.push_back(name_ + ".open" + std::to_string(id));
    return open_;
  }
  void onRequest(int64_t id, const std::string&, bool isAck, bool, const std::string&) override {
    log_.push_back(name_ + (isAck ? ".ack" : ".req") + std::to_string(id));
  }
  void onResponse(int64_t id, const std::string&, const std::string&, size_t) override {
    log_.push_back(name_ + ".resp" + std::to_string(id));
  }
  void onStreamClosed(int64_t id, const std::string& nodeId) override {
    log_.push_back(name_ + ".close" + std::to_string(id) + ":" + nodeId);
  }

 private:
  std::string name_;
  std::vector<std::string>& log_;
  absl::Status open_;
};

TEST(CompositeCallbacks, CallsEveryMemberInOrder) {
  std::vector<std::string> log;
  Recorder a("a", log), b("b", log);
  CompositeCallbacks c({&a, nullptr, &b});
  ASSERT_TRUE(c.onStreamOpen(1, node("m.n"), {}).ok());
  c.onRequest(1, kCds, true, false, "");
  c.onResponse(1, kCds, "v", 1);
  c.onStreamClosed(1, "m.n");
  EXPECT_THAT(log, ::testing::ElementsAre("a.open1", "b.open1", "a.ack1", "b.ack1", "a.resp1",
                                          "b.resp1", "a.close1:m.n", "b.close1:m.n"));
}

TEST(CompositeCallbacks, FirstRefusalStopsAndClosesWhatOpened) {
  std::vector<std::string> log;
  Recorder a("a", log), b("b", log), c("c", log, absl::PermissionDeniedError("no")), d("d", log);
  CompositeCallbacks composite({&a, &b, &c, &d});
  const absl::Status status = composite.onStreamOpen(5, node("m.n"), {});
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message(), "no");
  EXPECT_THAT(
      log, ::testing::ElementsAre("a.open5", "b.open5", "c.open5", "b.close5:m.n", "a.close5:m.n"));
}

TEST(CompositeCallbacks, EmptyListAcceptsEverything) {
  CompositeCallbacks composite({});
  EXPECT_TRUE(composite.onStreamOpen(1, node("m.n"), {}).ok());
  composite.onStreamClosed(1, "m.n");
}

}  // namespace
}  // namespace kuma::xds::sync
