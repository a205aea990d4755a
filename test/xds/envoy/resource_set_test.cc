// ResourceSet: what plugins edit. A finished (shared) resource stays the very same object until
// someone asks for it mutably; then that proxy's set gets a private copy and the shared object is
// left untouched. finalize() serializes what was edited and drops empty types.

#include "source/xds/envoy/resource_set.h"

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "gtest/gtest.h"
#include "source/xds/envoy/envoy_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;

Cluster cluster(const std::string& name) {
  Cluster c;
  c.set_name(name);
  return c;
}

TEST(ResourceSet, TypeUrlsAndNamesComeFromTheMessages) {
  EXPECT_EQ(ResourceSet::typeUrlOf<Cluster>(), kClusterType);
  EXPECT_EQ(ResourceSet::typeUrlOf<ClusterLoadAssignment>(), kEndpointType);
  ResourceSet rs;
  ClusterLoadAssignment cla;
  cla.set_cluster_name("backend");
  rs.add(cla);
  rs.add(cluster("backend"));
  EXPECT_TRUE(rs.contains(kEndpointType, "backend"));
  EXPECT_TRUE(rs.contains(kClusterType, "backend"));
  EXPECT_FALSE(rs.contains(kListenerType, "backend"));
}

TEST(ResourceSet, SharedEntriesAreCopiedOnFirstMutableAccessOnly) {
  const ResourceConstSharedPtr shared = makeResource("api", cluster("api"));
  const std::string before = shared->serialized;
  ResourceSet untouched;
  untouched.addShared(kClusterType, shared);
  ResourceSet edited;
  edited.addShared(kClusterType, shared);

  EXPECT_TRUE(edited.isShared(kClusterType, "api"));
  EXPECT_FALSE(edited.isShared(kClusterType, "nope"));
  Cluster* c = edited.find<Cluster>("api");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(edited.isShared(kClusterType, "api"));  // a private copy now
  EXPECT_TRUE(edited.contains(kClusterType, "api"));
  edited.add(cluster("own"));
  EXPECT_FALSE(edited.isShared(kClusterType, "own"));  // finished, but the proxy's own
  ResourceSet replaced;
  replaced.addShared(kClusterType, shared);
  replaced.add(cluster("api"));
  EXPECT_FALSE(replaced.isShared(kClusterType, "api"));
  replaced.addShared(kClusterType, shared);
  EXPECT_TRUE(replaced.remove(kClusterType, "api"));
  EXPECT_FALSE(replaced.isShared(kClusterType, "api"));
  c->set_lb_policy(Cluster::RANDOM);
  EXPECT_EQ(edited.find<Cluster>("api"), c);  // the same private copy
  EXPECT_EQ(edited.find<Cluster>("nope"), nullptr);
  EXPECT_EQ(edited.find<Listener>("api"), nullptr);  // other type, same name

  auto a = untouched.finalize();
  auto b = edited.finalize();
  EXPECT_EQ(a.at(kClusterType).at("api").get(), shared.get());
  EXPECT_NE(b.at(kClusterType).at("api").get(), shared.get());
  EXPECT_EQ(shared->serialized, before);
  Cluster out;
  ASSERT_TRUE(out.ParseFromString(b.at(kClusterType).at("api")->serialized));
  EXPECT_EQ(out.lb_policy(), Cluster::RANDOM);
}

// The policy extension configs the plugins write by hand render as JSON (inspect API, tests).
TEST(ResourceSet, PolicyExtensionConfigsRenderAsJson) {
  Cluster c;
  c.set_name("api");
  auto* sink = c.add_health_checks()->add_event_logger();
  sink->set_name("envoy.health_check.event_sinks.file");
  sink->mutable_typed_config()->set_type_url(
      "type.googleapis.com/envoy.extensions.health_check.event_sinks.file.v3."
      "HealthCheckEventFileSink");
  sink->mutable_typed_config()->set_value(std::string("\x0a\x06/tmp/x", 8));
  auto json = resourceToJson(kClusterType, c.SerializeAsString());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find("\"eventLogPath\": \"/tmp/x\""), std::string::npos) << *json;
}

TEST(ResourceSet, AddReplacesRemoveDeletesAndEmptyTypesDisappear) {
  ResourceSet rs;
  rs.addShared(kClusterType, makeResource("a", cluster("a")));
  Cluster replacement = cluster("a");
  replacement.set_alt_stat_name("mine");
  rs.add(replacement);  // a message replaces the shared entry of the same name
  rs.add(cluster("b"));
  rs.addShared(kClusterType, makeResource("b", cluster("b")));  // and the other way round
  EXPECT_EQ(rs.names(kClusterType), (std::vector<std::string>{"a", "b"}));
  Listener l;
  l.set_name("outbound:1");
  rs.add(l);
  EXPECT_TRUE(rs.remove(kListenerType, "outbound:1"));
  EXPECT_FALSE(rs.remove(kListenerType, "outbound:1"));
  auto out = rs.finalize();
  EXPECT_FALSE(out.contains(kListenerType));
  ASSERT_EQ(out.at(kClusterType).size(), 2u);
  Cluster a;
  ASSERT_TRUE(a.ParseFromString(out.at(kClusterType).at("a")->serialized));
  EXPECT_EQ(a.alt_stat_name(), "mine");
  EXPECT_TRUE(rs.finalize().empty());  // finalize leaves the set empty
}

}  // namespace
}  // namespace kuma::xds
