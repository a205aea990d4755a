// End to end through a real kuma-cp: the service-discovery controllers of a Universal zone.
// A Mesh with `meshServices.mode: Exclusive` and one Dataplane get the MeshService, VIP,
// hostnames and status Kuma 2.14.3 gave for the same requests (its answers below, times left
// out); the intervals are shortened through Kuma's own settings.

#include <algorithm>
#include <chrono>
#include <regex>
#include <thread>

#include "test/integration/api_test_base.h"

namespace kuma::test {
namespace {

using nlohmann::json;

class MeshServiceControllersTest : public ApiTest {
 protected:
  static void SetUpTestSuite() {
    KumaCp::Options options;
    options.env = {{"KUMA_MESH_SERVICE_GENERATION_INTERVAL", "200ms"},
                   {"KUMA_MESH_SERVICE_DELETION_GRACE_PERIOD", "1s"},
                   {"KUMA_IPAM_ALLOCATION_INTERVAL", "200ms"},
                   {"KUMA_CORE_RESOURCES_STATUS_MESH_SERVICE_INTERVAL", "200ms"},
                   {"KUMA_CORE_RESOURCES_STATUS_MESH_MULTI_ZONE_SERVICE_INTERVAL", "200ms"}};
    startKumaCp(std::move(options));
  }

  static void withoutTimes(json& body) {
    body.erase("creationTime");
    body.erase("modificationTime");
  }

  static void createMeshAndBackend(const std::string& mesh) {
    ASSERT_EQ(put("/meshes/" + mesh,
                  {{"type", "Mesh"}, {"name", mesh}, {"meshServices", {{"mode", "Exclusive"}}}})
                  .status,
              201);
    json dataplane = json::parse(R"({"type": "Dataplane", "name": "backend-1",
      "labels": {"team": "a"},
      "networking": {"address": "127.0.0.2", "inbound": [
        {"port": 8080, "tags": {"kuma.io/service": "backend", "kuma.io/protocol": "http",
                                "version": "v1"}},
        {"port": 9090, "name": "metrics", "tags": {"kuma.io/service": "backend"}},
        {"port": 7070, "tags": {"kuma.io/service": "other_svc"}}]}})");
    dataplane["mesh"] = mesh;
    HttpReply r = put("/meshes/" + mesh + "/dataplanes/backend-1", dataplane);
    ASSERT_EQ(r.status, 201) << r.raw;
  }
};

TEST_F(MeshServiceControllersTest, GeneratedMeshServiceAsKumaAnswers) {
  createMeshAndBackend("ms");
  HttpReply r = getUntil("/meshes/ms/meshservices/backend", [](const json& b) {
    const json& status = b["status"];
    return b["spec"]["state"] == "Available" && status.contains("vips") &&
           status.contains("addresses") && b["spec"].contains("identities");
  });
  ASSERT_EQ(r.status, 200) << r.raw;
  json body = r.body;
  withoutTimes(body);
  EXPECT_EQ(body, json::parse(R"({
   "type": "MeshService", "mesh": "ms", "name": "backend",
   "labels": {"kuma.io/display-name": "backend", "kuma.io/env": "universal",
    "kuma.io/managed-by": "meshservice-generator", "kuma.io/mesh": "ms",
    "kuma.io/origin": "zone", "kuma.io/zone": "default"},
   "kri": "kri_msvc_ms_default__backend_",
   "snis": [{"port": 8080, "sni": "sni.msvc.ms.default.backend.8080"},
            {"port": 9090, "sni": "sni.msvc.ms.default.backend.metrics"}],
   "spec": {"state": "Available",
    "selector": {"dataplaneTags": {"kuma.io/service": "backend"}},
    "ports": [{"name": "8080", "port": 8080, "targetPort": 8080, "appProtocol": "http"},
              {"name": "metrics", "port": 9090, "targetPort": 9090, "appProtocol": "tcp"}],
    "identities": [{"type": "ServiceTag", "value": "backend"},
                   {"type": "ServiceTag", "value": "other_svc"}]},
   "status": {
    "addresses": [{"hostname": "backend.svc.mesh.local", "origin": "HostnameGenerator",
                   "hostnameGeneratorRef": {"coreName": "local-universal-mesh-service"}}],
    "vips": [{"ip": "241.0.0.0"}],
    "tls": {"status": "NotReady"},
    "hostnameGenerators": [{"hostnameGeneratorRef": {"coreName": "local-universal-mesh-service"},
      "conditions": [{"type": "Generated", "status": "True", "reason": "Generated",
                      "message": ""}]}],
    "dataplaneProxies": {"healthy": 1, "total": 1}}})"));
  // Only the DNS-1035 service names: other_svc has no MeshService.
  EXPECT_EQ(get("/meshes/ms/meshservices/other_svc").status, 404);

  // The Dataplanes it selects, in Kuma's two spellings of the route.
  for (const char* path : {"/meshes/ms/meshservices/backend/_dataplanes",
                           "/meshes/ms/meshservices/backend/_resources/dataplanes"}) {
    r = get(path);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body, json::parse(R"({"items": [{"labels": {"kuma.io/env": "universal",
      "kuma.io/mesh": "ms", "kuma.io/origin": "zone", "kuma.io/proxy-type": "sidecar",
      "kuma.io/zone": "default", "team": "a"}, "mesh": "ms", "name": "backend-1",
      "type": "Dataplane"}], "total": 1})"));
  }
  r = get("/meshes/ms/meshservices/backend/_hostnames");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, json::parse(R"({"items": [{"hostname": "backend.svc.mesh.local",
                                               "zones": [{"name": "default"}]}], "total": 1})"));
  r = get("/meshes/ms/meshservices/nope/_hostnames");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["title"], "could not retrieve service");
  r = get("/meshes/ms/dataplanes/backend-1/_hostnames");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["title"],
            "only \"meshservices,meshexternalservices,meshmultizoneservices\" are available for "
            "inspection");
  EXPECT_EQ(r.body["detail"], "Resource is not valid");
}

TEST_F(MeshServiceControllersTest, RestUpdateKeepsTheStatusAndMultiZoneServicesMatch) {
  createMeshAndBackend("keep");
  HttpReply r = getUntil("/meshes/keep/meshservices/backend",
                         [](const json& b) { return b["status"].contains("vips"); });
  ASSERT_EQ(r.status, 200) << r.raw;
  const json vips = r.body["status"]["vips"];
  // A manual MeshService of the same mesh: a VIP of its own, and an update through REST (which
  // carries no status) leaves the controllers' status in place.
  json manual = json::parse(R"({"type": "MeshService", "mesh": "keep", "name": "manual",
                               "spec": {"ports": [{"port": 80}]}})");
  ASSERT_EQ(put("/meshes/keep/meshservices/manual", manual).status, 201);
  r = getUntil("/meshes/keep/meshservices/manual", [](const json& b) {
    return b["status"].contains("vips") && b["status"].contains("addresses");
  });
  ASSERT_TRUE(r.body["status"].contains("vips")) << r.raw;
  const json before = r.body["status"];
  EXPECT_NE(before["vips"], vips);
  manual["labels"] = {{"team", "b"}};
  ASSERT_EQ(put("/meshes/keep/meshservices/manual", manual).status, 200);
  r = get("/meshes/keep/meshservices/manual");
  EXPECT_EQ(r.body["labels"]["team"], "b");
  EXPECT_EQ(r.body["status"]["vips"], before["vips"]);
  EXPECT_EQ(r.body["status"]["addresses"], before["addresses"]);

  // Kuma 2.14.3's status of a MeshMultiZoneService selecting the generated MeshService.
  ASSERT_EQ(put("/meshes/keep/meshmultizoneservices/mz",
                json::parse(R"({"type": "MeshMultiZoneService", "mesh": "keep", "name": "mz",
      "spec": {"selector": {"meshService": {"matchLabels": {"kuma.io/display-name": "backend",
                                                            "kuma.io/mesh": "keep"}}},
               "ports": [{"port": 80}]}})"))
                .status,
            201);
  r = getUntil("/meshes/keep/meshmultizoneservices/mz", [](const json& b) {
    return b["status"].contains("vips") && b["status"].contains("conditions");
  });
  EXPECT_EQ(r.body["status"], json::parse(R"j({"vips": [{"ip": "243.0.0.0"}],
    "meshServices": [{"name": "backend", "namespace": "", "zone": "default", "mesh": "keep"}],
    "conditions": [{"type": "MeshServicesMatched", "status": "True", "reason": "MatchesFound",
                    "message": "Matched 1 MeshService(s)"}]})j"))
      << r.raw;
  r = get("/meshes/keep/meshmultizoneservices/mz/_hostnames");
  EXPECT_EQ(r.body, json::parse(R"({"items": null, "total": 0})"));
}

TEST_F(MeshServiceControllersTest, DeletedAfterTheGracePeriod) {
  createMeshAndBackend("grace");
  ASSERT_EQ(getUntil("/meshes/grace/meshservices/backend", [](const json&) { return true; }).status,
            200);
  ASSERT_EQ(del("/meshes/grace/dataplanes/backend-1").status, 200);
  HttpReply r = getUntil("/meshes/grace/meshservices/backend", [](const json& b) {
    return b["labels"].contains("kuma.io/deletion-grace-period-started-at");
  });
  ASSERT_TRUE(r.body["labels"].contains("kuma.io/deletion-grace-period-started-at")) << r.raw;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (get("/meshes/grace/meshservices/backend").status == 200 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(get("/meshes/grace/meshservices/backend").status, 404);
}

// meshService.labelPropagation through Kuma's env: the Dataplane's labels and inbound tags reach
// the generated MeshService with Kuma's tracking labels; a key that is no valid label value is
// dropped and counted.
class MeshServiceLabelPropagationTest : public MeshServiceControllersTest {
 protected:
  static void SetUpTestSuite() {
    KumaCp::Options options;
    options.env = {{"KUMA_MESH_SERVICE_GENERATION_INTERVAL", "200ms"},
                   {"KUMA_MESH_SERVICE_LABEL_PROPAGATION_ENABLED", "true"},
                   {"KUMA_MESH_SERVICE_LABEL_PROPAGATION_ALLOWED_LABEL_KEYS", "team,version,note"}};
    startKumaCp(std::move(options));
  }
};

TEST_F(MeshServiceLabelPropagationTest, DataplaneLabelsReachTheGeneratedMeshService) {
  ASSERT_EQ(put("/meshes/lp",
                {{"type", "Mesh"}, {"name", "lp"}, {"meshServices", {{"mode", "Exclusive"}}}})
                .status,
            201);
  json dataplane = json::parse(R"({"type": "Dataplane", "mesh": "lp", "name": "backend-1",
    "labels": {"team": "a", "cost-center": "x"},
    "networking": {"address": "127.0.0.2", "inbound": [
      {"port": 8080, "tags": {"kuma.io/service": "backend", "version": "v1"}}]}})");
  // A tag value of 64 characters is a valid tag but no valid label value.
  dataplane["networking"]["inbound"][0]["tags"]["note"] = std::string(64, 'n');
  ASSERT_EQ(put("/meshes/lp/dataplanes/backend-1", dataplane).status, 201);
  HttpReply r = getUntil("/meshes/lp/meshservices/backend",
                         [](const json& b) { return b["labels"].contains("team"); });
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["labels"], json::parse(R"({"kuma.io/display-name": "backend",
    "kuma.io/env": "universal", "kuma.io/managed-by": "meshservice-generator",
    "kuma.io/mesh": "lp", "kuma.io/origin": "zone", "kuma.io/zone": "default",
    "team": "a", "version": "v1", "kuma.io/pkey-ca8b22d0db83a22d": "",
    "kuma.io/pkey-5ca4f3850ccc331a": ""})"))
      << r.raw;
  httplib::Client diagnostics("127.0.0.1", cp_->diagnosticsPort());
  auto metrics = diagnostics.Get("/metrics");
  ASSERT_TRUE(metrics);
  const std::regex dropped(
      "component_meshservice_generator_dropped_labels_total\\{reason=\"invalid\"[^}]*\\} [1-9]");
  EXPECT_TRUE(std::regex_search(metrics->body, dropped))
      << metrics->body.substr(0, std::min<size_t>(metrics->body.size(), 2000));
}

}  // namespace
}  // namespace kuma::test
