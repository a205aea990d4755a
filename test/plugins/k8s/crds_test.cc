// kuma-cp install crds: the CRDs generated from the type registry and the policy schemas.
#include "source/plugins/k8s/crds.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "source/common/json_yaml.h"
#include "source/server/all_types.h"

namespace kuma::k8s {
namespace {

using Json = nlohmann::ordered_json;

std::map<std::string, Json> crdsByKind() {
  std::map<std::string, Json> out;
  for (const Json& crd : generateCrds(server::allTypes())) {
    out[crd["spec"]["names"]["kind"].get<std::string>()] = crd;
  }
  return out;
}

TEST(CrdsTest, OneCrdPerTypeExceptNativeKubernetesObjects) {
  const auto crds = crdsByKind();
  for (const model::ResourceTypeDescriptor* type : server::allTypes().all()) {
    const bool native =
        type->name == "Secret" || type->name == "GlobalSecret" || type->name == "Config";
    EXPECT_EQ(crds.count(type->name), native ? 0u : 1u) << type->name;
  }
  EXPECT_EQ(crds.size(), server::allTypes().all().size() - 3);
}

TEST(CrdsTest, NamesScopeAndVersion) {
  const auto crds = crdsByKind();
  const Json& timeout = crds.at("MeshTimeout");
  EXPECT_EQ(timeout["apiVersion"], "apiextensions.k8s.io/v1");
  EXPECT_EQ(timeout["kind"], "CustomResourceDefinition");
  EXPECT_EQ(timeout["metadata"]["name"], "meshtimeouts.kuma.io");
  EXPECT_EQ(timeout["spec"]["group"], "kuma.io");
  EXPECT_EQ(timeout["spec"]["scope"], "Namespaced");
  EXPECT_EQ(timeout["spec"]["names"]["plural"], "meshtimeouts");
  EXPECT_EQ(timeout["spec"]["names"]["singular"], "meshtimeout");
  EXPECT_EQ(timeout["spec"]["names"]["listKind"], "MeshTimeoutList");
  EXPECT_EQ(timeout["spec"]["names"]["shortNames"], Json::array({"mt"}));
  EXPECT_EQ(timeout["spec"]["names"]["categories"], Json::array({"kuma"}));
  ASSERT_EQ(timeout["spec"]["versions"].size(), 1u);
  EXPECT_EQ(timeout["spec"]["versions"][0]["name"], "v1alpha1");
  EXPECT_EQ(timeout["spec"]["versions"][0]["served"], true);
  EXPECT_EQ(timeout["spec"]["versions"][0]["storage"], true);

  EXPECT_EQ(crds.at("Mesh")["spec"]["scope"], "Cluster");
  EXPECT_EQ(crds.at("Mesh")["spec"]["names"]["plural"], "meshes");
  EXPECT_EQ(crds.at("Dataplane")["spec"]["scope"], "Namespaced");
  // Legacy mesh-scoped policies are cluster-scoped custom resources with a `mesh` field.
  EXPECT_EQ(crds.at("TrafficPermission")["spec"]["scope"], "Cluster");
  EXPECT_EQ(crds.at("TrafficPermission")["spec"]["names"]["plural"], "trafficpermissions");
  EXPECT_FALSE(crds.at("TrafficPermission")["spec"]["names"].contains("shortNames"));
  EXPECT_EQ(crds.at("DataplaneInsight")["spec"]["names"]["plural"], "dataplaneinsights");
}

TEST(CrdsTest, PolicySpecSchemaComesFromThePolicySchema) {
  const auto crds = crdsByKind();
  const Json& schema = crds.at("MeshTimeout")["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
  EXPECT_FALSE(schema["properties"].contains("mesh"));
  const Json& spec = schema["properties"]["spec"];
  EXPECT_EQ(spec["type"], "object");
  EXPECT_FALSE(spec.contains("x-kubernetes-preserve-unknown-fields"));
  const Json& to = spec["properties"]["to"];
  EXPECT_EQ(to["type"], "array");
  EXPECT_EQ(to["items"]["required"], Json::array({"targetRef"}));
  EXPECT_EQ(to["items"]["properties"]["default"]["properties"]["connectionTimeout"]["type"],
            "string");
  const Json& kind = spec["properties"]["targetRef"]["properties"]["kind"];
  EXPECT_EQ(kind["type"], "string");
  EXPECT_NE(std::find(kind["enum"].begin(), kind["enum"].end(), "MeshService"), kind["enum"].end());
  const Json& columns = crds.at("MeshTimeout")["spec"]["versions"][0]["additionalPrinterColumns"];
  ASSERT_EQ(columns.size(), 2u);
  EXPECT_EQ(columns[0]["jsonPath"], ".spec.targetRef.kind");
}

TEST(CrdsTest, ProtobufTypesKeepTheirSpecWhole) {
  const auto crds = crdsByKind();
  const Json& props =
      crds.at("Mesh")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
  EXPECT_TRUE(props.contains("mesh"));
  EXPECT_EQ(props["spec"]["x-kubernetes-preserve-unknown-fields"], true);
  const Json& insight =
      crds.at("DataplaneInsight")["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
  EXPECT_FALSE(insight["properties"].contains("spec"));
  EXPECT_EQ(insight["properties"]["status"]["x-kubernetes-preserve-unknown-fields"], true);
}

TEST(CrdsTest, YamlRoundTrips) {
  const std::vector<Json> crds = generateCrds(server::allTypes());
  const std::string yaml = crdsYaml(crds);
  ASSERT_EQ(yaml.rfind("---\n", 0), 0u);
  size_t start = 4;
  size_t index = 0;
  while (start < yaml.size()) {
    size_t end = yaml.find("\n---\n", start);
    const std::string doc = yaml.substr(start, end == std::string::npos ? end : end + 1 - start);
    auto parsed = common::parseYaml(doc);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    ASSERT_LT(index, crds.size());
    EXPECT_EQ(*parsed, nlohmann::json::parse(crds[index].dump())) << index;
    ++index;
    start = end == std::string::npos ? yaml.size() : end + 5;
  }
  EXPECT_EQ(index, crds.size());
}

}  // namespace
}  // namespace kuma::k8s
