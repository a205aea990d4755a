#include "gtest/gtest.h"
#include "test/xds/server/ads_test_util.h"

namespace kuma::xds::server::testing {
namespace {

SnapshotSpec baseSpec() {
  return {
      {kClusterType, {"c1", {{"a", "1"}, {"b", "1"}}}},
      {kEndpointType, {"e1", {{"a", "1"}, {"b", "1"}}}},
      {kListenerType, {"l1", {{"inbound", "1"}}}},
  };
}

TEST(XdsAdsSotwTest, InitialFetchFiltersByNameAndAckCausesNoResend) {
  AdsFixture f;
  f.cache.setSnapshot("default.dp-1", makeSnapshot(baseSpec()));
  auto client = openSotw(f);

  ASSERT_TRUE(client->send(sotwRequest(kClusterType, {}, "", "", "default.dp-1")));
  auto cds = client->next();
  ASSERT_TRUE(cds);
  EXPECT_EQ(cds->type_url(), kClusterType);
  EXPECT_EQ(cds->version_info(), "c1");
  EXPECT_FALSE(cds->nonce().empty());
  EXPECT_EQ(cds->control_plane().identifier(), "cp-test");
  EXPECT_EQ(resourceNames(*cds), (std::vector<std::string>{"a", "b"}));
  for (const auto& any : cds->resources()) {
    EXPECT_EQ(any.type_url(), kClusterType);
  }
  ASSERT_TRUE(client->send(ack(*cds)));

  ASSERT_TRUE(client->send(sotwRequest(kEndpointType, {"b"})));
  auto eds = client->next();
  ASSERT_TRUE(eds);
  EXPECT_EQ(eds->type_url(), kEndpointType);
  EXPECT_EQ(resourceNames(*eds), (std::vector<std::string>{"b"}));
  EXPECT_NE(eds->nonce(), cds->nonce());
  ASSERT_TRUE(client->send(ack(*eds, {"b"})));

  ASSERT_TRUE(client->send(sotwRequest(kListenerType)));
  auto lds = client->next();
  ASSERT_TRUE(lds);
  EXPECT_EQ(lds->version_info(), "l1");
  EXPECT_EQ(resourceNames(*lds), (std::vector<std::string>{"inbound"}));
  ASSERT_TRUE(client->send(ack(*lds)));

  EXPECT_FALSE(client->next(300ms)) << "an ACK must not trigger a resend";
  AdsServerStats stats = f.ads->stats();
  EXPECT_EQ(stats.acks, 3u);
  EXPECT_EQ(stats.responses, 3u);
  EXPECT_EQ(stats.streamsActive, 1u);
  std::lock_guard<std::mutex> lock(f.callbacks.mu);
  ASSERT_EQ(f.callbacks.opened.size(), 1u);
  EXPECT_EQ(f.callbacks.opened[0].second, "default.dp-1");
  EXPECT_EQ(f.callbacks.responses, 3u);
}

TEST(XdsAdsSotwTest, SnapshotChangePushesOnlyChangedTypes) {
  AdsFixture f;
  f.cache.setSnapshot("n", makeSnapshot(baseSpec()));
  auto client = openSotw(f);
  ASSERT_TRUE(client->send(sotwRequest(kClusterType, {}, "", "", "n")));
  auto cds = client->next();
  ASSERT_TRUE(cds);
  ASSERT_TRUE(client->send(ack(*cds)));
  ASSERT_TRUE(client->send(sotwRequest(kEndpointType, {"a"})));
  auto eds = client->next();
  ASSERT_TRUE(eds);
  ASSERT_TRUE(client->send(ack(*eds, {"a"})));
  EXPECT_FALSE(client->next(200ms));

  SnapshotSpec spec = baseSpec();
  spec[kClusterType] = {"c2", {{"a", "2"}}};
  f.cache.setSnapshot("n", makeSnapshot(spec));
  auto pushed = client->next();
  ASSERT_TRUE(pushed);
  EXPECT_EQ(pushed->type_url(), kClusterType);
  EXPECT_EQ(pushed->version_info(), "c2");
  EXPECT_EQ(resourceNames(*pushed), (std::vector<std::string>{"a"}));
  ASSERT_TRUE(client->send(ack(*pushed)));
  EXPECT_FALSE(client->next(300ms)) << "EDS did not change and must not be resent";
}

TEST(XdsAdsSotwTest, NoSnapshotYetRespondsWhenOneArrives) {
  AdsFixture f;
  auto client = openSotw(f);
  ASSERT_TRUE(client->send(sotwRequest(kClusterType, {}, "", "", "late")));
  EXPECT_FALSE(client->next(200ms));
  f.cache.setSnapshot("late", makeSnapshot(baseSpec()));
  auto cds = client->next();
  ASSERT_TRUE(cds);
  EXPECT_EQ(cds->version_info(), "c1");
  // A type the snapshot lacks is not answered.
  ASSERT_TRUE(client->send(ack(*cds)));
  ASSERT_TRUE(client->send(sotwRequest(kSecretType, {"s"})));
  EXPECT_FALSE(client->next(200ms));
}

TEST(XdsAdsSotwTest, NackIsNotAnsweredWithTheSameVersionAndDelaysTheNext) {
  const auto backoff = 400ms;
  AdsFixture f(backoff);
  f.cache.setSnapshot("n", makeSnapshot(baseSpec()));
  auto client = openSotw(f);
  ASSERT_TRUE(client->send(sotwRequest(kClusterType, {}, "", "", "n")));
  auto cds = client->next();
  ASSERT_TRUE(cds);

  auto nackedAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(client->send(nack(*cds, "", "Unsupported type STATIC")));
  EXPECT_FALSE(client->next(150ms)) << "the rejected version must not be resent";

  SnapshotSpec spec = baseSpec();
  spec[kClusterType] = {"c2", {{"a", "fixed"}}};
  f.cache.setSnapshot("n", makeSnapshot(spec));
  auto fixed = client->next(3s);
  auto receivedAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->version_info(), "c2");
  EXPECT_GE(receivedAt - nackedAt, backoff);
  ASSERT_TRUE(client->send(ack(*fixed)));

  AdsServerStats stats = f.ads->stats();
  EXPECT_EQ(stats.nacks, 1u);
  std::this_thread::sleep_for(100ms);  // let the ACK arrive
  EXPECT_EQ(f.ads->stats().acks, 1u);
  std::lock_guard<std::mutex> lock(f.callbacks.mu);
  ASSERT_EQ(f.callbacks.requests.size(), 3u);
  EXPECT_FALSE(f.callbacks.requests[0].isAck || f.callbacks.requests[0].isNack);
  EXPECT_TRUE(f.callbacks.requests[1].isNack);
  EXPECT_EQ(f.callbacks.requests[1].errorDetail, "Unsupported type STATIC");
  EXPECT_TRUE(f.callbacks.requests[2].isAck);
}

TEST(XdsAdsSotwTest, StaleNonceIsIgnored) {
  AdsFixture f;
  f.cache.setSnapshot("n", makeSnapshot(baseSpec()));
  auto client = openSotw(f);
  ASSERT_TRUE(client->send(sotwRequest(kClusterType, {}, "", "", "n")));
  auto first = client->next();
  ASSERT_TRUE(first);

  // The snapshot changes while the response is unacknowledged: nothing is pushed yet.
  SnapshotSpec spec = baseSpec();
  spec[kClusterType] = {"c2", {{"a", "2"}}};
  f.cache.setSnapshot("n", makeSnapshot(spec));
  EXPECT_FALSE(client->next(200ms));

  ASSERT_TRUE(client->send(sotwRequest(kClusterType, {}, "c1", "no-such-nonce")));
  EXPECT_FALSE(client->next(200ms));
  EXPECT_EQ(f.ads->stats().staleRequests, 1u);

  ASSERT_TRUE(client->send(ack(*first)));
  auto second = client->next();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->version_info(), "c2");
  EXPECT_NE(second->nonce(), first->nonce());
  std::lock_guard<std::mutex> lock(f.callbacks.mu);
  EXPECT_EQ(f.callbacks.requests.size(), 2u) << "stale requests are not reported";
}

TEST(XdsAdsSotwTest, ChangeOfRequestedNamesResends) {
  AdsFixture f;
  f.cache.setSnapshot("n", makeSnapshot(baseSpec()));
  auto client = openSotw(f);
  ASSERT_TRUE(client->send(sotwRequest(kEndpointType, {"a"}, "", "", "n")));
  auto first = client->next();
  ASSERT_TRUE(first);
  EXPECT_EQ(resourceNames(*first), (std::vector<std::string>{"a"}));

  ASSERT_TRUE(client->send(ack(*first, {"a", "b"})));
  auto second = client->next();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->version_info(), first->version_info());
  EXPECT_EQ(resourceNames(*second), (std::vector<std::string>{"a", "b"}));

  ASSERT_TRUE(client->send(ack(*second, {"a", "b", "missing"})));
  auto third = client->next();
  ASSERT_TRUE(third);
  EXPECT_EQ(resourceNames(*third), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(client->send(ack(*third, {"a", "b", "missing"})));
  EXPECT_FALSE(client->next(200ms));
}

TEST(XdsAdsSotwTest, BadFirstRequestsEndTheStream) {
  AdsFixture f;
  {
    auto client = openSotw(f);
    ASSERT_TRUE(client->send(sotwRequest(kClusterType)));  // no node
    auto status = client->waitDone();
    ASSERT_TRUE(status);
    EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    auto client = openSotw(f);
    ASSERT_TRUE(client->send(sotwRequest("", {}, "", "", "n")));  // no type URL
    auto status = client->waitDone();
    ASSERT_TRUE(status);
    EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status->error_message().find("type_url"), std::string::npos);
  }
  {
    auto client = openSotw(f);
    ASSERT_TRUE(client->send(sotwRequest(kClusterType, {}, "", "", "n")));
    ASSERT_TRUE(client->send(sotwRequest(kListenerType, {}, "", "", "other")));
    auto status = client->waitDone();
    ASSERT_TRUE(status);
    EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status->error_message().find("node id may not change"), std::string::npos);
  }
  EXPECT_GE(f.ads->stats().streamsRejected, 1u);
}

}  // namespace
}  // namespace kuma::xds::server::testing
