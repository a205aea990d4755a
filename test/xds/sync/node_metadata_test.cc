// parseNodeDataplane / parseNodeProxyMetadata: what kuma-cp reads from an ADS Node (spec §6.1).
#include "source/xds/sync/node_metadata.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "source/server/all_types.h"

namespace kuma::xds::sync {
namespace {

using ::testing::HasSubstr;

envoy::config::core::v3::Node node(const std::string& json) {
  envoy::config::core::v3::Node out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &out).ok()) << json;
  return out;
}

const model::ResourceTypeDescriptor* dataplaneType() {
  return server::allTypes().byName("Dataplane");
}

TEST(NodeMetadataTest, IdentityWithoutResource) {
  auto parsed = parseNodeDataplane(node(R"({"id":"default.dp-1","metadata":{}})"), dataplaneType());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->mesh, "default");
  EXPECT_EQ(parsed->name, "dp-1");
  EXPECT_FALSE(parsed->dataplane.has_value());
}

TEST(NodeMetadataTest, DataplaneFromYamlOrJson) {
  for (const char* resource :
       {"type: Dataplane\\nmesh: default\\nname: dp-1\\nnetworking:\\n  address: 10.0.0.1\\n",
        R"({\"type\":\"Dataplane\",\"mesh\":\"default\",\"name\":\"dp-1\",)"
        R"(\"networking\":{\"address\":\"10.0.0.1\"}})"}) {
    auto parsed = parseNodeDataplane(
        node(std::string(R"({"id":"default.dp-1","metadata":{"dataplane.resource":")") + resource +
             "\"}}"),
        dataplaneType());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    ASSERT_TRUE(parsed->dataplane.has_value());
    EXPECT_EQ(parsed->dataplane->meta.mesh, "default");
    EXPECT_EQ(parsed->dataplane->meta.name, "dp-1");
    EXPECT_EQ(parsed->dataplane->descriptor, dataplaneType());
  }
}

TEST(NodeMetadataTest, NoDataplaneTypeIgnoresTheResource) {
  auto parsed = parseNodeDataplane(
      node(R"({"id":"default.dp-1","metadata":{"dataplane.resource":"not: [valid"}})"), nullptr);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->dataplane.has_value());
}

TEST(NodeMetadataTest, Refusals) {
  auto noMetadata = parseNodeDataplane(node(R"({"id":"default.dp-1"})"), dataplaneType());
  EXPECT_EQ(noMetadata.status().message(), "metadata in xDS Node cannot be nil");
  auto badId = parseNodeDataplane(node(R"({"id":"dp-1","metadata":{}})"), dataplaneType());
  EXPECT_THAT(badId.status().message(), HasSubstr("invalid node id \"dp-1\""));
  auto badResource = parseNodeDataplane(
      node(R"({"id":"default.dp-1","metadata":{"dataplane.resource":"{"}})"), dataplaneType());
  EXPECT_THAT(badResource.status().message(),
              HasSubstr("invalid dataplane.resource in node metadata"));
  auto mismatch = parseNodeDataplane(
      node(R"({"id":"default.dp-2","metadata":{"dataplane.resource":)"
           R"("{\"type\":\"Dataplane\",\"mesh\":\"default\",\"name\":\"dp-1\"}"}})"),
      dataplaneType());
  EXPECT_EQ(mismatch.status().message(),
            "dataplane.resource default.dp-1 does not match node id default.dp-2");
  for (const auto& s :
       {noMetadata.status(), badId.status(), badResource.status(), mismatch.status()}) {
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  }
}

TEST(NodeMetadataTest, ProxyMetadata) {
  const NodeProxyMetadata m = parseNodeProxyMetadata(node(R"({"id":"default.dp-1","metadata":{
      "dataplane.admin.port":"9903","dataplane.admin.address":"0.0.0.0",
      "dataplane.readinessReporter.port":9904,"features":["feature-reuse-port"],
      "workdir":"/var/run/kuma-dp"}})"));
  EXPECT_EQ(m.adminPort, 9903u);
  EXPECT_EQ(m.workdir, "/var/run/kuma-dp");
  EXPECT_EQ(m.adminAddress, "0.0.0.0");
  EXPECT_EQ(m.readinessPort, 9904u);
  EXPECT_TRUE(m.reusePort);

  const NodeProxyMetadata none = parseNodeProxyMetadata(node(R"({"id":"default.dp-1",
      "metadata":{"dataplane.admin.port":"x","features":"feature-reuse-port"}})"));
  EXPECT_FALSE(none.adminPort.has_value());
  EXPECT_FALSE(none.adminAddress.has_value());
  EXPECT_FALSE(none.readinessPort.has_value());
  EXPECT_FALSE(none.reusePort);
  EXPECT_FALSE(none.workdir.has_value());
}

// What the DNS generator needs (spec §7.3): the Envoy DNS port, the work dir, the features.
TEST(NodeMetadataTest, DnsMetadata) {
  const NodeProxyMetadata m = parseNodeProxyMetadata(node(R"({"id":"default.dp-1","metadata":{
      "dataplane.dns.port":"15054","workdir":"/tmp/dp","ipv6Enabled":false,
      "features":["feature-embedded-dns","feature-bind-outbounds"]}})"));
  EXPECT_EQ(m.dnsPort, 15054u);
  EXPECT_EQ(m.workDir, "/tmp/dp");
  ASSERT_TRUE(m.ipv6Enabled.has_value());
  EXPECT_FALSE(*m.ipv6Enabled);
  EXPECT_TRUE(m.embeddedDns);
  EXPECT_TRUE(m.bindOutbounds);

  const NodeProxyMetadata none = parseNodeProxyMetadata(node(R"({"id":"default.dp-1",
      "metadata":{"dataplane.dns.port":70000,"ipv6Enabled":"yes"}})"));
  EXPECT_EQ(none.dnsPort, 0u) << "not a port";
  EXPECT_FALSE(none.ipv6Enabled.has_value());
  EXPECT_FALSE(none.embeddedDns);
}

// Found by test/fuzz/node_metadata_fuzz.cc (UBSan float-cast-overflow): a numeric port outside
// uint32_t was converted with an undefined cast.
TEST(NodeMetadataTest, NumericPortsOutOfRangeAreIgnored) {
  for (const char* bad : {"-10", "1e300", "-1e300", "4294967296", "9901.5"}) {
    const NodeProxyMetadata m = parseNodeProxyMetadata(
        node(absl::StrCat(R"({"id":"default.dp-1","metadata":{"dataplane.admin.port":)", bad,
                          R"(,"dataplane.readinessReporter.port":)", bad, "}}")));
    EXPECT_FALSE(m.adminPort.has_value()) << bad;
    EXPECT_FALSE(m.readinessPort.has_value()) << bad;
  }
  envoy::config::core::v3::Node nan = node(R"({"id":"default.dp-1","metadata":{}})");
  (*nan.mutable_metadata()->mutable_fields())["dataplane.admin.port"].set_number_value(
      std::numeric_limits<double>::quiet_NaN());
  EXPECT_FALSE(parseNodeProxyMetadata(nan).adminPort.has_value());
  const NodeProxyMetadata edge =
      parseNodeProxyMetadata(node(R"({"id":"default.dp-1","metadata":{"dataplane.admin.port":0,)"
                                  R"("dataplane.readinessReporter.port":4294967295}})"));
  EXPECT_EQ(edge.adminPort, 0u);
  EXPECT_EQ(edge.readinessPort, 4294967295u);
}

}  // namespace
}  // namespace kuma::xds::sync
