// Proves the shared Envoy API proto library links into every build flavour and that its
// generated code round-trips through JSON (what the xDS server and debug endpoints rely on).
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace {

TEST(EnvoyProtos, ClusterRoundTripsThroughJson) {
  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name("localhost:8080");
  cluster.set_type(envoy::config::cluster::v3::Cluster::STATIC);
  cluster.mutable_connect_timeout()->set_seconds(10);
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(cluster, &json).ok());
  envoy::config::cluster::v3::Cluster back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  EXPECT_EQ(back.name(), "localhost:8080");
  EXPECT_EQ(back.connect_timeout().seconds(), 10);
  EXPECT_EQ(envoy::service::discovery::v3::AggregatedDiscoveryService::service_full_name(),
            std::string("envoy.service.discovery.v3.AggregatedDiscoveryService"));
}

}  // namespace
