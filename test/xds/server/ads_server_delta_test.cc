#include "gtest/gtest.h"
#include "source/xds/server/server_state.h"
#include "test/xds/server/ads_test_util.h"

namespace kuma::xds::server::testing {
namespace {

DeltaDiscoveryRequest deltaRequest(const std::string& type, std::vector<std::string> subscribe = {},
                                   std::vector<std::string> unsubscribe = {},
                                   const std::string& nonce = "", const std::string& nodeId = "") {
  DeltaDiscoveryRequest r;
  r.set_type_url(type);
  for (auto& n : subscribe) {
    r.add_resource_names_subscribe(n);
  }
  for (auto& n : unsubscribe) {
    r.add_resource_names_unsubscribe(n);
  }
  r.set_response_nonce(nonce);
  if (!nodeId.empty()) {
    r.mutable_node()->set_id(nodeId);
  }
  return r;
}

DeltaDiscoveryRequest deltaAck(const DeltaDiscoveryResponse& response) {
  return deltaRequest(response.type_url(), {}, {}, response.nonce());
}

std::vector<std::string> removed(const DeltaDiscoveryResponse& response) {
  return {response.removed_resources().begin(), response.removed_resources().end()};
}

std::string versionOf(const std::string& name, const std::string& payload) {
  return internal::resourceVersion(*makeResource(name, payload));
}

TEST(XdsAdsDeltaTest, WildcardInitialThenIncrementalChanges) {
  AdsFixture f;
  f.cache.setSnapshot("n", makeSnapshot({{kClusterType, {"v1", {{"a", "1"}, {"b", "1"}}}}}));
  auto client = openDelta(f);
  ASSERT_TRUE(client->send(deltaRequest(kClusterType, {}, {}, "", "n")));
  auto first = client->next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->type_url(), kClusterType);
  EXPECT_EQ(first->system_version_info(), "v1");
  EXPECT_EQ(first->control_plane().identifier(), "cp-test");
  EXPECT_EQ(resourceNames(*first), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(first->resources(0).version(), versionOf("a", "1"));
  EXPECT_EQ(first->resources(0).version().size(), 16u);
  envoy::config::cluster::v3::Cluster cluster;
  ASSERT_TRUE(cluster.ParseFromString(first->resources(0).resource().value()));
  EXPECT_EQ(cluster.name(), "a");
  EXPECT_EQ(first->resources(0).resource().type_url(), kClusterType);
  EXPECT_TRUE(first->removed_resources().empty());
  ASSERT_TRUE(client->send(deltaAck(*first)));
  EXPECT_FALSE(client->next(200ms));

  // a changes, b goes away, c appears.
  f.cache.setSnapshot("n", makeSnapshot({{kClusterType, {"v2", {{"a", "2"}, {"c", "1"}}}}}));
  auto second = client->next();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->system_version_info(), "v2");
  EXPECT_EQ(resourceNames(*second), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(removed(*second), (std::vector<std::string>{"b"}));
  ASSERT_TRUE(client->send(deltaAck(*second)));

  // A new version whose resources are byte-identical sends nothing.
  f.cache.setSnapshot("n", makeSnapshot({{kClusterType, {"v3", {{"a", "2"}, {"c", "1"}}}}}));
  EXPECT_FALSE(client->next(300ms));
  EXPECT_EQ(f.ads->stats().acks, 2u);
}

TEST(XdsAdsDeltaTest, ReconnectWithInitialVersionsSendsOnlyTheDifference) {
  AdsFixture f;
  f.cache.setSnapshot("n",
                      makeSnapshot({{kClusterType, {"v1", {{"a", "1"}, {"b", "2"}, {"c", "1"}}}}}));
  auto client = openDelta(f);
  DeltaDiscoveryRequest request = deltaRequest(kClusterType, {}, {}, "", "n");
  (*request.mutable_initial_resource_versions())["a"] = versionOf("a", "1");  // up to date
  (*request.mutable_initial_resource_versions())["b"] = versionOf("b", "1");  // outdated
  (*request.mutable_initial_resource_versions())["gone"] = "0123456789abcdef";
  ASSERT_TRUE(client->send(request));
  auto response = client->next();
  ASSERT_TRUE(response);
  EXPECT_EQ(resourceNames(*response), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(removed(*response), (std::vector<std::string>{"gone"}));
  ASSERT_TRUE(client->send(deltaAck(*response)));
  EXPECT_FALSE(client->next(200ms));

  // Fully up to date on reconnect: one empty response (the client's initial fetch completes).
  client.reset();
  ASSERT_TRUE(f.callbacks.waitClosed(1, 5s));
  auto again = openDelta(f);
  DeltaDiscoveryRequest upToDate = deltaRequest(kClusterType, {}, {}, "", "n");
  (*upToDate.mutable_initial_resource_versions())["a"] = versionOf("a", "1");
  (*upToDate.mutable_initial_resource_versions())["b"] = versionOf("b", "2");
  (*upToDate.mutable_initial_resource_versions())["c"] = versionOf("c", "1");
  ASSERT_TRUE(again->send(upToDate));
  auto empty = again->next();
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->resources_size(), 0);
  EXPECT_EQ(empty->removed_resources_size(), 0);
  EXPECT_EQ(empty->system_version_info(), "v1");
}

TEST(XdsAdsDeltaTest, ExplicitSubscribeAndUnsubscribe) {
  AdsFixture f;
  f.cache.setSnapshot("n", makeSnapshot({{kEndpointType, {"e1", {{"a", "1"}, {"b", "1"}}}}}));
  auto client = openDelta(f);
  ASSERT_TRUE(client->send(deltaRequest(kEndpointType, {"a"}, {}, "", "n")));
  auto first = client->next();
  ASSERT_TRUE(first);
  EXPECT_EQ(resourceNames(*first), (std::vector<std::string>{"a"}));
  ASSERT_TRUE(client->send(deltaAck(*first)));

  ASSERT_TRUE(client->send(deltaRequest(kEndpointType, {"b"})));
  auto second = client->next();
  ASSERT_TRUE(second);
  EXPECT_EQ(resourceNames(*second), (std::vector<std::string>{"b"}));
  ASSERT_TRUE(client->send(deltaAck(*second)));

  ASSERT_TRUE(client->send(deltaRequest(kEndpointType, {}, {"a"})));
  EXPECT_FALSE(client->next(200ms)) << "unsubscribing needs no response";

  // a changes (not subscribed any more: nothing), b is deleted (subscribed: removed).
  f.cache.setSnapshot("n", makeSnapshot({{kEndpointType, {"e2", {{"a", "2"}}}}}));
  auto third = client->next();
  ASSERT_TRUE(third);
  EXPECT_TRUE(third->resources().empty());
  EXPECT_EQ(removed(*third), (std::vector<std::string>{"b"}));
  ASSERT_TRUE(client->send(deltaAck(*third)));

  // Subscribing to "*" turns the subscription into a wildcard one.
  ASSERT_TRUE(client->send(deltaRequest(kEndpointType, {"*"})));
  auto fourth = client->next();
  ASSERT_TRUE(fourth);
  EXPECT_EQ(resourceNames(*fourth), (std::vector<std::string>{"a"}));
  EXPECT_FALSE(client->next(200ms));
}

TEST(XdsAdsDeltaTest, NackIsNotRetriedAndDelaysTheNextResponse) {
  const auto backoff = 400ms;
  AdsFixture f(backoff);
  f.cache.setSnapshot("n", makeSnapshot({{kClusterType, {"v1", {{"a", "bad"}}}}}));
  auto client = openDelta(f);
  ASSERT_TRUE(client->send(deltaRequest(kClusterType, {}, {}, "", "n")));
  auto first = client->next();
  ASSERT_TRUE(first);
  DeltaDiscoveryRequest nack = deltaAck(*first);
  nack.mutable_error_detail()->set_message("invalid cluster");
  auto nackedAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(client->send(nack));
  EXPECT_FALSE(client->next(150ms));
  f.cache.setSnapshot("n", makeSnapshot({{kClusterType, {"v2", {{"a", "good"}}}}}));
  auto fixed = client->next(3s);
  ASSERT_TRUE(fixed);
  EXPECT_GE(std::chrono::steady_clock::now() - nackedAt, backoff);
  EXPECT_EQ(resourceNames(*fixed), (std::vector<std::string>{"a"}));
  EXPECT_EQ(f.ads->stats().nacks, 1u);
  std::lock_guard<std::mutex> lock(f.callbacks.mu);
  ASSERT_GE(f.callbacks.requests.size(), 2u);
  EXPECT_TRUE(f.callbacks.requests[1].isNack);
  EXPECT_EQ(f.callbacks.requests[1].errorDetail, "invalid cluster");
}

TEST(XdsAdsDeltaTest, MultipleTypesOnOneStreamAreOrdered) {
  AdsFixture f;
  auto client = openDelta(f);
  ASSERT_TRUE(client->send(deltaRequest(kListenerType, {}, {}, "", "n")));
  ASSERT_TRUE(client->send(deltaRequest(kClusterType)));
  std::this_thread::sleep_for(200ms);  // both subscriptions in place before the snapshot
  f.cache.setSnapshot("n", makeSnapshot({{kClusterType, {"c", {{"a", "1"}}}},
                                         {kListenerType, {"l", {{"x", "1"}}}}}));
  auto r1 = client->next();
  auto r2 = client->next();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->type_url(), kClusterType);
  EXPECT_EQ(r2->type_url(), kListenerType);
  EXPECT_NE(r1->nonce(), r2->nonce());
}

}  // namespace
}  // namespace kuma::xds::server::testing
