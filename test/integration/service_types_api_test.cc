// End to end through a real kuma-cp: the service-discovery types (MeshService,
// MeshExternalService, MeshMultiZoneService, HostnameGenerator, MeshZoneAddress) over REST.
// Expected answers are Kuma 2.14.3's to the same requests (checked side by side against its
// kuma-cp, memory store).

#include "test/integration/api_test_base.h"

namespace kuma::test {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::Pair;

// The controllers that fill a status (VIPs, hostnames, counters) are kept out of the way:
// these tests check what a REST write stores (meshservice_controllers_test.cc checks them).
class ServiceTypesApiTest : public ApiTest {
 protected:
  static void SetUpTestSuite() {
    KumaCp::Options options;
    options.env = {{"KUMA_MESH_SERVICE_GENERATION_INTERVAL", "1h"},
                   {"KUMA_IPAM_ALLOCATION_INTERVAL", "1h"},
                   {"KUMA_CORE_RESOURCES_STATUS_MESH_SERVICE_INTERVAL", "1h"},
                   {"KUMA_CORE_RESOURCES_STATUS_MESH_MULTI_ZONE_SERVICE_INTERVAL", "1h"}};
    startKumaCp(std::move(options));
  }
};

TEST_F(ServiceTypesApiTest, ResourcesIndexListsTheTypesAsKuma) {
  HttpReply r = get("/_resources");
  ASSERT_EQ(r.status, 200) << r.raw;
  std::map<std::string, json> byName;
  for (const json& t : r.body["resources"]) {
    byName[t["name"].get<std::string>()] = t;
  }
  const std::vector<std::tuple<std::string, std::string, std::string, std::string, bool>> want = {
      {"HostnameGenerator", "hostnamegenerators", "hg", "Global", true},
      {"MeshExternalService", "meshexternalservices", "extsvc", "Mesh", true},
      {"MeshMultiZoneService", "meshmultizoneservices", "mzsvc", "Mesh", true},
      {"MeshService", "meshservices", "msvc", "Mesh", false},
      {"MeshZoneAddress", "meshzoneaddresses", "mza", "Mesh", false},
  };
  for (const auto& [name, path, shortName, scope, federated] : want) {
    ASSERT_TRUE(byName.contains(name)) << name;
    const json& t = byName[name];
    EXPECT_EQ(t["path"], path);
    EXPECT_EQ(t["shortName"], shortName);
    EXPECT_EQ(t["scope"], scope);
    EXPECT_EQ(t["includeInFederation"], federated) << name;
    EXPECT_FALSE(t.contains("policy")) << name;
  }
}

TEST_F(ServiceTypesApiTest, DefaultHostnameGeneratorsExist) {
  HttpReply r = get("/hostnamegenerators/local-universal-mesh-service");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["labels"], json({{"kuma.io/origin", "zone"}}));
  EXPECT_EQ(r.body["kri"], "kri_hg____local-universal-mesh-service_");
  EXPECT_EQ(
      r.body["spec"],
      json::parse(R"({"selector": {"meshService": {"matchLabels": {"kuma.io/origin": "zone"}}},
                            "template": "{{ .DisplayName }}.svc.mesh.local"})"));
  r = get("/hostnamegenerators/local-mesh-external-service");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["spec"]["template"], "{{ .DisplayName }}.extsvc.mesh.local");
}

TEST_F(ServiceTypesApiTest, MeshServiceDefaultsSnisAndZeroStatus) {
  HttpReply r = put("/meshes/default/meshservices/backend",
                    json::parse(R"({"type": "MeshService", "mesh": "default", "name": "backend",
      "spec": {"selector": {"dataplaneTags": {"kuma.io/service": "backend"}},
               "ports": [{"port": 80, "targetPort": 8080, "appProtocol": "http", "name": "http"},
                         {"port": 81}]},
      "status": {"vips": [{"ip": "1.2.3.4"}]}})"));
  ASSERT_EQ(r.status, 201) << r.raw;
  r = get("/meshes/default/meshservices/backend");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["kri"], "kri_msvc_default_default__backend_");
  EXPECT_EQ(r.body["snis"],
            json::parse(R"([{"port": 80, "sni": "sni.msvc.default.default.backend.http"},
                                            {"port": 81, "sni": "sni.msvc.default.default.backend.81"}])"));
  EXPECT_EQ(r.body["spec"], json::parse(R"({"state": "Unavailable",
      "selector": {"dataplaneTags": {"kuma.io/service": "backend"}},
      "ports": [{"name": "http", "port": 80, "targetPort": 8080, "appProtocol": "http"},
                {"port": 81, "appProtocol": "tcp"}]})"));
  // A status is not written through REST; Go's zero value marshals the two structs.
  EXPECT_EQ(r.body["status"], json::parse(R"({"tls": {}, "dataplaneProxies": {}})"));
  // Key order is Kuma's: kri, snis, spec, status.
  EXPECT_LT(r.raw.find("\"snis\""), r.raw.find("\"spec\""));
  EXPECT_LT(r.raw.find("\"spec\""), r.raw.find("\"status\""));
}

TEST_F(ServiceTypesApiTest, MeshServiceValidationAndDeprecations) {
  HttpReply r = put("/meshes/default/meshservices/bad", json::parse(R"({"type": "MeshService",
      "mesh": "default", "name": "bad",
      "spec": {"selector": {"dataplaneTags": {"a": "b"}, "dataplaneRef": {"name": "x"}}}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_THAT(violations(r.body), ElementsAre(Pair("spec.selector",
                                                   "must specify only one of: dataplaneTags, "
                                                   "dataplaneRef, or dataplaneLabels")));
  r = put("/meshes/default/meshservices/bad",
          json::parse(R"({"type": "MeshService", "mesh": "default", "name": "bad",
                          "spec": {"state": "Weird"}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_THAT(violations(r.body),
              ElementsAre(Pair("spec.state", "in body should be one of [Available Unavailable]")));
  const std::string longName(64, 'a');
  r = put(
      "/meshes/default/meshservices/" + longName,
      {{"type", "MeshService"}, {"mesh", "default"}, {"name", longName}, {"spec", json::object()}});
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_THAT(violations(r.body),
              ElementsAre(Pair("name", "must not be longer than 63 characters")));

  r = put("/meshes/default/meshservices/web",
          json::parse(R"({"type": "MeshService", "mesh": "default", "name": "web",
                          "spec": {"ports": [{"port": 80, "name": "Http_X"}]}})"));
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(
      r.body["warnings"],
      json::array({"Invalid MeshService SNI (port \"Http_X\"): a lowercase RFC 1123 label must "
                   "consist of lower case alphanumeric characters or '-', and must start and "
                   "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
                   "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'). This is "
                   "deprecated."}));
  r = put(
      "/meshes/default/meshservices/9lives",
      json::parse(R"({"type": "MeshService", "mesh": "default", "name": "9lives", "spec": {}})"));
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["warnings"],
            json::array({"Invalid MeshService resource name: '9lives'. It does not conform to the "
                         "DNS format (RFC 1035). This is deprecated. Errors: a DNS-1035 label must "
                         "consist of lower case alphanumeric characters or '-', start with an "
                         "alphabetic character, and end with an alphanumeric character (e.g. "
                         "'my-name',  or 'abc-123', regex used for validation is "
                         "'[a-z]([-a-z0-9]*[a-z0-9])?')"}));
}

TEST_F(ServiceTypesApiTest, MeshExternalService) {
  HttpReply r =
      put("/meshes/default/meshexternalservices/httpbin",
          json::parse(R"({"type": "MeshExternalService", "mesh": "default", "name": "httpbin",
      "spec": {"match": {"port": 443}, "endpoints": [{"address": "httpbin.org", "port": 443}],
               "tls": {"enabled": true, "verification": {"serverName": "httpbin.org"}}}})"));
  ASSERT_EQ(r.status, 201) << r.raw;
  r = get("/meshes/default/meshexternalservices/httpbin");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["snis"],
            json::parse(R"([{"port": 443, "sni": "sni.extsvc.default.default.httpbin.443"}])"));
  EXPECT_EQ(r.body["spec"],
            json::parse(R"({"match": {"type": "HostnameGenerator", "port": 443, "protocol": "tcp"},
      "endpoints": [{"address": "httpbin.org", "port": 443}],
      "tls": {"enabled": true, "allowRenegotiation": false,
              "verification": {"mode": "Secured", "serverName": "httpbin.org"}}})"));
  EXPECT_EQ(r.body["status"], json::parse(R"({"vip": {}})"));

  r = put("/meshes/default/meshexternalservices/badx",
          json::parse(R"({"type": "MeshExternalService", "mesh": "default", "name": "badx",
      "spec": {"match": {"port": 443}, "endpoints": [{"address": "not a host!", "port": 443}],
               "tls": {"version": {"min": "TLS13", "max": "TLS12"},
                       "verification": {"serverName": "bad name!", "clientCert": {"secret": "x"}}}}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_THAT(
      violations(r.body),
      ElementsAre(
          Pair("spec.endpoints[0].address", "address has to be a valid IP or hostname"),
          Pair("spec.tls.version.min", "min version must be lower than max"),
          Pair("spec.tls.verification.serverName", "must be a valid DNS name"),
          Pair("spec.tls.verification.clientKey", "must be defined when clientCert is defined")));
  r = put("/meshes/default/meshexternalservices/bady",
          json::parse(R"({"type": "MeshExternalService", "mesh": "default", "name": "bady",
                          "spec": {"match": {"port": 70000, "protocol": "udp"}}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_THAT(
      violations(r.body),
      ElementsAre(Pair("spec.match.port", "in body should be less than or equal to 65535"),
                  Pair("spec.match.protocol", "in body should be one of [tcp grpc http http2]")));
  r = put("/meshes/default/meshexternalservices/badz",
          json::parse(
              R"({"type": "MeshExternalService", "mesh": "default", "name": "badz", "spec": {}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_THAT(violations(r.body), ElementsAre(Pair("spec.match", "in body is required")));
}

TEST_F(ServiceTypesApiTest, MeshMultiZoneService) {
  HttpReply r = put("/meshes/default/meshmultizoneservices/mz",
                    json::parse(R"({"type": "MeshMultiZoneService", "mesh": "default", "name": "mz",
      "spec": {"selector": {"meshService": {"matchLabels": {"kuma.io/display-name": "backend"}}},
               "ports": [{"port": 80, "appProtocol": "http"}]}})"));
  ASSERT_EQ(r.status, 201) << r.raw;
  r = get("/meshes/default/meshmultizoneservices/mz");
  ASSERT_EQ(r.status, 200) << r.raw;
  // Created on the global control plane in Kuma: no origin, zone or env labels.
  EXPECT_EQ(r.body["labels"], json({{"kuma.io/mesh", "default"}}));
  EXPECT_EQ(r.body["kri"], "kri_mzsvc_default___mz_");
  EXPECT_EQ(r.body["snis"], json::parse(R"([{"port": 80, "sni": "sni.mzsvc.default.mz.80"}])"));
  EXPECT_EQ(r.body["status"], json::object());

  r = put("/meshes/default/meshmultizoneservices/mzbad",
          json::parse(R"({"type": "MeshMultiZoneService", "mesh": "default", "name": "mzbad",
      "spec": {"selector": {"meshService": {}}, "ports": [{"port": 80, "name": "", "appProtocol": "udp"}]}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_THAT(violations(r.body),
              ElementsAre(Pair("spec.selector.meshService.matchLabels", "cannot be empty"),
                          Pair("spec.ports[0].name", "must not be empty"),
                          Pair("spec.ports[0].appProtocol",
                               "appProtocol must be one of: grpc, http, http2, kafka, tcp")));
  r = put("/meshes/default/meshmultizoneservices/mzbad2",
          json::parse(R"({"type": "MeshMultiZoneService", "mesh": "default", "name": "mzbad2",
      "spec": {"selector": {"meshService": {"matchLabels": {"a": "b"}}}, "ports": []}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_THAT(violations(r.body),
              ElementsAre(Pair("spec.ports", "in body should have at least 1 items")));
}

TEST_F(ServiceTypesApiTest, HostnameGeneratorTemplates) {
  HttpReply r =
      put("/hostnamegenerators/hg1", json::parse(R"({"type": "HostnameGenerator", "name": "hg1",
      "spec": {"selector": {"meshService": {"matchLabels": {"a": "b"}}},
               "template": "{{ .DisplayName }}.{{ .Zone }}.x.local"}})"));
  ASSERT_EQ(r.status, 201) << r.raw;
  r = get("/hostnamegenerators/hg1");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["labels"], json({{"kuma.io/env", "universal"},
                                    {"kuma.io/origin", "zone"},
                                    {"kuma.io/zone", "default"}}));
  EXPECT_FALSE(r.body.contains("mesh"));

  r = put("/hostnamegenerators/hg2", json::parse(R"({"type": "HostnameGenerator", "name": "hg2",
      "spec": {"template": "{{ .Foo }}.x"}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_THAT(
      violations(r.body),
      ElementsAre(Pair("spec.selector",
                       "exact one selector (meshService, meshExternalService) must be defined"),
                  Pair("spec.template",
                       "couldn't render template with stub values: template: :1:3: executing \"\" "
                       "at <.Foo>: can't evaluate field Foo in type struct { Name string; "
                       "DisplayName string; Namespace string; Mesh string; Zone string }")));
  r = put("/hostnamegenerators/hg4", json::parse(R"({"type": "HostnameGenerator", "name": "hg4",
      "spec": {"selector": {"meshService": {}}, "template": "UPPER.{{ .Name }}"}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_THAT(
      violations(r.body),
      ElementsAre(Pair("spec.template",
                       "template renders to \"UPPER.name\" which is not a valid DNS name: a "
                       "lowercase RFC 1123 subdomain must consist of lower case "
                       "alphanumeric characters, '-' or '.', and must start and end with "
                       "an alphanumeric character (e.g. 'example.com', regex used for "
                       "validation is "
                       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")));
}

TEST_F(ServiceTypesApiTest, MeshZoneAddress) {
  HttpReply r = put("/meshes/default/meshzoneaddresses/z1",
                    json::parse(R"({"type": "MeshZoneAddress", "mesh": "default", "name": "z1",
                                    "spec": {"address": "1.2.3.4", "port": 10001}})"));
  ASSERT_EQ(r.status, 201) << r.raw;
  r = get("/meshes/default/meshzoneaddresses/z1");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["spec"], json({{"address", "1.2.3.4"}, {"port", 10001}}));
  EXPECT_FALSE(r.body.contains("status"));
  EXPECT_FALSE(r.body.contains("snis"));
  r = put("/meshes/default/meshzoneaddresses/z2",
          json::parse(R"({"type": "MeshZoneAddress", "mesh": "default", "name": "z2",
                          "spec": {"address": "", "port": 0}})"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_THAT(violations(r.body),
              ::testing::UnorderedElementsAre(
                  Pair("spec.address", "in body should be at least 1 chars long"),
                  Pair("spec.port", "in body should be greater than or equal to 1")));
}

}  // namespace
}  // namespace kuma::test
