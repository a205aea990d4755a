// End to end through a real kuma-cp: the identity types (Workload, MeshIdentity, MeshTrust) over
// REST and their controllers. Expected answers are Kuma 2.14.3's to the same requests (checked
// side by side against its kuma-cp, memory store, zone `zone-1`); the intervals are shortened
// through Kuma's own settings.

#include "test/integration/api_test_base.h"

namespace kuma::test {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::Pair;

class IdentityTypesApiTest : public ApiTest {
 protected:
  static void SetUpTestSuite() {
    KumaCp::Options options;
    options.env = {{"KUMA_MULTIZONE_ZONE_NAME", "zone-1"},
                   {"KUMA_RUNTIME_UNIVERSAL_WORKLOAD_GENERATION_INTERVAL", "200ms"},
                   {"KUMA_CORE_RESOURCES_STATUS_WORKLOAD_INTERVAL", "200ms"},
                   {"KUMA_CORE_RESOURCES_STATUS_MESH_IDENTITY_INTERVAL", "200ms"}};
    startKumaCp(std::move(options));
  }

  static json withoutTimes(json body) {
    body.erase("creationTime");
    body.erase("modificationTime");
    return body;
  }

  static HttpReply putIdentity(const std::string& name, const json& spec) {
    return put("/meshes/default/meshidentities/" + name,
               {{"type", "MeshIdentity"}, {"mesh", "default"}, {"name", name}, {"spec", spec}});
  }
  static HttpReply putTrust(const std::string& name, const json& spec) {
    return put("/meshes/default/meshtrusts/" + name,
               {{"type", "MeshTrust"}, {"mesh", "default"}, {"name", name}, {"spec", spec}});
  }
};

constexpr char kPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

TEST_F(IdentityTypesApiTest, ResourcesIndexListsTheTypesAsKuma) {
  HttpReply r = get("/_resources");
  ASSERT_EQ(r.status, 200) << r.raw;
  std::map<std::string, json> byName;
  for (const json& t : r.body["resources"]) {
    byName[t["name"].get<std::string>()] = t;
  }
  const std::vector<std::tuple<std::string, std::string, std::string, bool>> want = {
      {"MeshIdentity", "meshidentities", "mid", true},
      {"MeshTrust", "meshtrusts", "mtrust", true},
      {"Workload", "workloads", "wl", false},
  };
  for (const auto& [name, path, shortName, federated] : want) {
    ASSERT_TRUE(byName.contains(name)) << name;
    EXPECT_EQ(byName[name]["path"], path);
    EXPECT_EQ(byName[name]["shortName"], shortName);
    EXPECT_EQ(byName[name]["scope"], "Mesh");
    EXPECT_EQ(byName[name]["includeInFederation"], federated) << name;
  }
}

TEST_F(IdentityTypesApiTest, MeshIdentityValidationAsKuma) {
  HttpReply r = putIdentity("b", json::parse(R"({"spiffeID": {"trustDomain": "{{ .Mesh ",
      "path": "{{"}, "provider": {"type": "Bundled"}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body["title"], "Could not process a resource");
  EXPECT_THAT(violations(r.body),
              ElementsAre(Pair("spec.spiffeID.trustDomain",
                               "couldn't parse template: template: :1: unclosed action"),
                          Pair("spec.spiffeID.path",
                               "couldn't parse template: template: :1: unclosed action"),
                          Pair("spec.provider.bundled", "configuration needs to be defined")));
  r = putIdentity("c", json::parse(R"({"provider": {"type": "Foo"}})"));
  EXPECT_THAT(violations(r.body),
              ElementsAre(Pair("spec.provider.type",
                               "in body should be one of [Bundled Spire Extension]")));
  r = putIdentity("d", json::parse(R"({"provider": {"type": "Bundled", "bundled": {
      "ca": {"certificate": {"type": "File", "file": {"path": "../x"}},
             "privateKey": {"type": "Secret"}},
      "certificateParameters": {"expiry": "-1s"}}}})"));
  EXPECT_THAT(violations(r.body),
              ElementsAre(Pair("spec.provider.bundled.ca.certificate.file.path",
                               "file path contains directory traversal sequence: ../x"),
                          Pair("spec.provider.bundled.ca.privateKey.secretRef", "must be defined"),
                          Pair("spec.provider.bundled.certificateParameters.expiry",
                               "must not be negative when defined")));
  r = putIdentity("e", json::parse(R"({"provider": {"type": "Spire",
      "spire": {"agent": {"timeout": "-1s"}}}})"));
  EXPECT_THAT(violations(r.body), ElementsAre(Pair("spec.provider.spire.agent.spire.agent.timeout",
                                                   "must not be negative when defined")));
  r = putIdentity("f", json::parse(R"({"provider": {"type": "Extension", "extension": {}}})"));
  EXPECT_THAT(violations(r.body),
              ElementsAre(Pair("spec.provider.extension.name", "in body is required")));
  r = putIdentity("h", json::parse(R"({"selector": {"dataplane": {"matchLabels": {"app": 1}}}})"));
  EXPECT_THAT(violations(r.body), ElementsAre(Pair("spec.selector.dataplane.matchLabels.app",
                                                   "in body must be of type string: \"number\"")));
}

TEST_F(IdentityTypesApiTest, MeshIdentityStoredAsKumaWithItsConditions) {
  HttpReply r = putIdentity("g", json::parse(R"({
      "selector": {"dataplane": {"matchLabels": {"app": "x"}}},
      "spiffeID": {"trustDomain": "{{ .Mesh }}.{{ .Zone }}.mesh.local",
                   "path": "/ns/{{ .Namespace }}/sa/{{ .ServiceAccount }}/{{ label \"x\" }}"},
      "provider": {"type": "Bundled", "bundled": {"meshTrustCreation": "Enabled",
        "insecureAllowSelfSigned": true, "autogenerate": {"enabled": true},
        "certificateParameters": {"expiry": "24h"}}}})"));
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body, json::object());
  r = getUntil("/meshes/default/meshidentities/g",
               [](const json& b) { return b["status"].contains("conditions"); });
  ASSERT_EQ(r.status, 200) << r.raw;
  // Kuma 2.14.3's answer: the default mesh has no Exclusive MeshServices.
  EXPECT_EQ(withoutTimes(r.body), json::parse(R"({
    "type": "MeshIdentity", "mesh": "default", "name": "g",
    "labels": {"kuma.io/env": "universal", "kuma.io/mesh": "default", "kuma.io/origin": "zone",
               "kuma.io/zone": "zone-1"},
    "kri": "kri_mid_default_zone-1__g_",
    "spec": {"selector": {"dataplane": {"matchLabels": {"app": "x"}}},
             "spiffeID": {"trustDomain": "{{ .Mesh }}.{{ .Zone }}.mesh.local",
                          "path": "/ns/{{ .Namespace }}/sa/{{ .ServiceAccount }}/{{ label \"x\" }}"},
             "provider": {"type": "Bundled", "bundled": {"meshTrustCreation": "Enabled",
               "insecureAllowSelfSigned": true, "autogenerate": {"enabled": true},
               "certificateParameters": {"expiry": "24h0m0s"}}}},
    "status": {"conditions": [
      {"type": "DependenciesReady", "status": "False", "reason": "MeshServicesDisabled",
       "message": "MeshIdentity requires MeshServices to be enabled on the mesh. To enable, set `spec.meshServices.mode: Exclusive` on the mesh."},
      {"type": "Ready", "status": "False", "reason": "Failure",
       "message": "One of initialization steps failed"}]}})"));
  EXPECT_EQ(del("/meshes/default/meshidentities/g").status, 200);
}

TEST_F(IdentityTypesApiTest, MeshTrustValidationAndDeprecationAsKuma) {
  HttpReply r = putTrust("t1", json::object());
  EXPECT_THAT(violations(r.body), ElementsAre(Pair("spec.caBundles", "in body is required"),
                                              Pair("spec.trustDomain", "in body is required")));
  r = putTrust("t2", {{"trustDomain", ""},
                      {"caBundles", json::parse(R"([{"type": "Pem", "pem": {"value": "xx"}},
                                                    {"type": "Pem"}])")}});
  EXPECT_THAT(
      violations(r.body),
      ElementsAre(Pair("spec.caBundles[0].pem.value", "provided certificate has incorrect format"),
                  Pair("spec.caBundles[1].pem", "must be defined"),
                  Pair("spec.trustDomain", "trustDomain needs to be defined")));
  // A private key is not a CA bundle.
  r = putTrust("t5", {{"trustDomain", "a"},
                      {"caBundles",
                       {{{"type", "Pem"},
                         {"pem",
                          {{"value",
                            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE "
                            "KEY-----\n"}}}}}}});
  EXPECT_THAT(violations(r.body), ElementsAre(Pair("spec.caBundles[0].pem.value",
                                                   "provided certificate has incorrect format")));
  r = putTrust("t3", {{"origin", {{"kri", "x"}}},
                      {"trustDomain", "a.b"},
                      {"caBundles", {{{"type", "Pem"}, {"pem", {{"value", kPem}}}}}}});
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body, json::parse(R"({"warnings": ["setting spec.origin field is deprecated"]})"));
  r = get("/meshes/default/meshtrusts/t3");
  EXPECT_EQ(r.body["kri"], "kri_mtrust_default_zone-1__t3_");
  EXPECT_EQ(r.body["status"], json::object());
  EXPECT_EQ(r.body["spec"]["caBundles"][0]["pem"]["value"], kPem);
}

TEST_F(IdentityTypesApiTest, WorkloadsFollowTheDataplanes) {
  // Kuma refuses a new Dataplane whose kuma.io/workload label is not a DNS-1035 label.
  HttpReply r = put("/meshes/default/dataplanes/dp-bad", json::parse(R"({"type": "Dataplane",
      "mesh": "default", "name": "dp-bad", "labels": {"kuma.io/workload": "Bad_Name"},
      "networking": {"address": "127.0.0.1", "inbound": [{"port": 1236, "servicePort": 1235,
        "tags": {"kuma.io/service": "web"}}]}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body["title"], "Bad Request");
  EXPECT_EQ(r.body["detail"],
            "bad request: labels[\"kuma.io/workload\"]: must be a valid DNS-1035 label (at most 63 "
            "characters, matching regex [a-z]([-a-z0-9]*[a-z0-9])?): a DNS-1035 label must "
            "consist of lower case alphanumeric characters or '-', start with an alphabetic "
            "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
            "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");

  // A hand-made Workload no Dataplane names is deleted by the generator, as in Kuma.
  ASSERT_EQ(put("/meshes/default/workloads/manual",
                {{"type", "Workload"}, {"mesh", "default"}, {"name", "manual"}, {"spec", {}}})
                .status,
            201);
  for (const auto& [name, port, state] : std::vector<std::tuple<std::string, int, std::string>>{
           {"dp-1", 1234, "Ready"}, {"dp-3", 1237, "NotReady"}}) {
    r = put("/meshes/default/dataplanes/" + name,
            {{"type", "Dataplane"},
             {"mesh", "default"},
             {"name", name},
             {"labels", {{"kuma.io/workload", "wl-a"}}},
             {"networking",
              {{"address", "127.0.0.1"},
               {"inbound",
                {{{"port", port},
                  {"servicePort", 1235},
                  {"state", state},
                  {"tags", {{"kuma.io/service", "web"}}}}}}}}});
    ASSERT_EQ(r.status, 201) << r.raw;
  }
  r = getUntil("/meshes/default/workloads/wl-a",
               [](const json& b) { return b["status"]["dataplaneProxies"]["total"] == 2; });
  ASSERT_EQ(r.status, 200) << r.raw;
  // Kuma 2.14.3's answer for the same Dataplanes.
  EXPECT_EQ(withoutTimes(r.body), json::parse(R"({
    "type": "Workload", "mesh": "default", "name": "wl-a", "kri": "kri_wl_default_zone-1__wl-a_",
    "labels": {"kuma.io/env": "universal", "kuma.io/managed-by": "workload-generator",
               "kuma.io/mesh": "default", "kuma.io/zone": "zone-1"},
    "spec": {}, "status": {"dataplaneProxies": {"connected": 0, "healthy": 1, "total": 2}}})"));
  r = getUntil("/meshes/default/workloads", [](const json& b) { return b["total"] == 1; });
  EXPECT_EQ(r.body["items"][0]["name"], "wl-a");

  // Without Dataplanes the Workload goes.
  EXPECT_EQ(del("/meshes/default/dataplanes/dp-1").status, 200);
  EXPECT_EQ(del("/meshes/default/dataplanes/dp-3").status, 200);
  r = getUntil("/meshes/default/workloads", [](const json& b) { return b["total"] == 0; });
  EXPECT_EQ(r.body["total"], 0) << r.raw;
}

}  // namespace
}  // namespace kuma::test
