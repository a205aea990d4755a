// End to end through the real kuma-cp binary: resource CRUD over Kuma's REST API.
#include <thread>

#include "test/integration/api_test_base.h"

namespace kuma::test {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

json dataplane(const std::string& name, const std::string& service, int port,
               const std::string& mesh = "default") {
  return {{"type", "Dataplane"},
          {"mesh", mesh},
          {"name", name},
          {"networking",
           {{"address", "10.0.0.1"},
            {"inbound", {{{"port", port}, {"tags", {{"kuma.io/service", service}}}}}}}}};
}

class ResourcesApiTest : public ApiTest {};

TEST_F(ResourcesApiTest, IndexLooksLikeKuma) {
  const HttpReply r = get("/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["product"], "Kuma");
  EXPECT_EQ(r.body["version"], "2.14.3");
  for (const char* key : {"hostname", "instanceId", "clusterId", "gui"}) {
    EXPECT_TRUE(r.body[key].is_string()) << key;
  }
  EXPECT_EQ(r.body["gui"], "/gui");
}

TEST_F(ResourcesApiTest, DefaultMeshAndDefaultPoliciesExist) {
  HttpReply meshes = get("/meshes");
  ASSERT_EQ(meshes.status, 200);
  ASSERT_GE(meshes.body["total"].get<int>(), 1);
  EXPECT_EQ(get("/meshes/default").status, 200);
  const HttpReply timeouts = get("/meshes/default/meshtimeouts");
  ASSERT_EQ(timeouts.status, 200) << timeouts.raw;
  std::vector<std::string> names;
  for (const auto& item : timeouts.body["items"]) {
    names.push_back(item["name"]);
  }
  EXPECT_THAT(
      names, UnorderedElementsAre("mesh-gateways-timeout-all-default", "mesh-timeout-all-default"));
  const HttpReply timeout = get("/meshes/default/meshtimeouts/mesh-timeout-all-default");
  ASSERT_EQ(timeout.status, 200);
  EXPECT_EQ(timeout.body["spec"]["from"][0]["default"]["idleTimeout"], "2h0m0s");
  EXPECT_EQ(timeout.body["labels"]["kuma.io/origin"], "zone");
  EXPECT_EQ(timeout.body["labels"]["kuma.io/mesh"], "default");
  EXPECT_EQ(get("/meshes/default/meshretries/mesh-retry-all-default").status, 200);
  EXPECT_EQ(get("/meshes/default/meshcircuitbreakers/mesh-circuit-breaker-all-default").status,
            200);
  // The signing key exists but, as a Secret, only for the admin (loopback here).
  EXPECT_EQ(get("/meshes/default/secrets/dataplane-token-signing-key-default-1").status, 200);
}

TEST_F(ResourcesApiTest, MeshLifecycle) {
  EXPECT_EQ(get("/meshes/m1").status, 404);
  HttpReply created = put("/meshes/m1", {{"type", "Mesh"}, {"name", "m1"}});
  ASSERT_EQ(created.status, 201) << created.raw;
  EXPECT_EQ(created.body, json::object());
  HttpReply got = get("/meshes/m1");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body["type"], "Mesh");
  EXPECT_EQ(got.body["name"], "m1");
  EXPECT_FALSE(got.body.contains("mesh"));
  EXPECT_EQ(got.body["kri"], "kri_m____m1_");
  // A new mesh gets its own defaults.
  EXPECT_EQ(get("/meshes/m1/meshretries/mesh-retry-all-m1").status, 200);
  HttpReply updated = put(
      "/meshes/m1",
      {{"type", "Mesh"}, {"name", "m1"}, {"networking", {{"outbound", {{"passthrough", false}}}}}});
  ASSERT_EQ(updated.status, 200) << updated.raw;
  got = get("/meshes/m1");
  EXPECT_EQ(got.body["networking"]["outbound"]["passthrough"], false);
  EXPECT_NE(got.body["modificationTime"], "0001-01-01T00:00:00Z");
  // A mesh with dataplanes cannot be deleted.
  ASSERT_EQ(put("/meshes/m1/dataplanes/dp", dataplane("dp", "web", 8080, "m1")).status, 201);
  HttpReply refused = del("/meshes/m1");
  EXPECT_EQ(refused.status, 400) << refused.raw;
  EXPECT_THAT(violations(refused.body),
              Contains(Pair("mesh",
                            "unable to delete mesh, there are still some dataplanes "
                            "attached")));
  ASSERT_EQ(del("/meshes/m1/dataplanes/dp").status, 200);
  HttpReply deleted = del("/meshes/m1");
  ASSERT_EQ(deleted.status, 200) << deleted.raw;
  EXPECT_EQ(get("/meshes/m1").status, 404);
  // Its policies went with it.
  EXPECT_EQ(get("/meshes/m1/meshretries/mesh-retry-all-m1").status, 404);
  EXPECT_EQ(del("/meshes/m1").status, 404);
}

TEST_F(ResourcesApiTest, MeshCaCannotChangeWhileMtlsIsOn) {
  auto meshWithCa = [](const std::string& backend) {
    return json{
        {"type", "Mesh"},
        {"name", "ca-mesh"},
        {"mtls",
         {{"enabledBackend", backend}, {"backends", {{{"name", backend}, {"type", "builtin"}}}}}}};
  };
  ASSERT_EQ(put("/meshes/ca-mesh", meshWithCa("ca-1")).status, 201);
  HttpReply changed = put("/meshes/ca-mesh", meshWithCa("ca-2"));
  EXPECT_EQ(changed.status, 400) << changed.raw;
  EXPECT_EQ(changed.body["title"], "Failed to update a resource");  // Kuma's manager refuses it
  EXPECT_THAT(violations(changed.body),
              Contains(Pair("mtls.enabledBackend",
                            "Changing CA when mTLS is enabled is forbidden. Disable mTLS first and "
                            "then change the CA")));
  EXPECT_EQ(get("/meshes/ca-mesh").body["mtls"]["enabledBackend"], "ca-1");
  EXPECT_EQ(del("/meshes/ca-mesh").status, 200);
}

// Kuma 2.14.3's answer: the key is loaded first and its failure reported on cert and key, under
// the title of a write the manager refused.
TEST_F(ResourcesApiTest, ProvidedCaWithoutItsSecretsAnswersAsKuma) {
  const json mesh = json::parse(R"({"type": "Mesh", "name": "pca", "mtls": {
      "enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "provided",
        "conf": {"cert": {"secret": "pca-cert"}, "key": {"secret": "pca-key"}}}]}})");
  HttpReply r = put("/meshes/pca", mesh);
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body["title"], "Failed to create a resource");
  EXPECT_EQ(r.body["detail"], "Resource is not valid");
  const std::string message =
      "could not load data: resource not found: type=\"Secret\" name=\"pca-key\" mesh=\"pca\"";
  EXPECT_THAT(violations(r.body), ElementsAre(Pair("mtls.backends[0].conf.cert", message),
                                              Pair("mtls.backends[0].conf.key", message)));
  EXPECT_EQ(get("/meshes/pca").status, 404);
}

// Kuma's RateLimit and ExternalService managers: a RateLimit destination naming an
// ExternalService must select by kuma.io/service alone, whichever of the two comes first
// (Kuma 2.14.3's answers).
TEST_F(ResourcesApiTest, RateLimitsAndExternalServicesAnswerAsKuma) {
  auto rateLimit = [](const std::string& name, const std::string& service) {
    return json{{"type", "RateLimit"},
                {"mesh", "default"},
                {"name", name},
                {"sources", {{{"match", {{"kuma.io/service", "*"}}}}}},
                {"destinations", {{{"match", {{"kuma.io/service", service}, {"version", "1"}}}}}},
                {"conf", {{"http", {{"requests", 1}, {"interval", "1s"}}}}}};
  };
  ASSERT_EQ(put("/meshes/default/rate-limits/rl-es", rateLimit("rl-es", "es")).status, 201);
  const json es = json::parse(R"({"type": "ExternalService", "mesh": "default", "name": "es",
      "tags": {"kuma.io/service": "es"}, "networking": {"address": "example.com:443"}})");
  HttpReply r = put("/meshes/default/external-services/es", es);
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body["title"], "Failed to create a resource");
  EXPECT_THAT(violations(r.body),
              ElementsAre(Pair("externalservice",
                               "ExternalService would match RateLimit 'rl-es' which includes "
                               "incompatible destination matches")));
  ASSERT_EQ(del("/meshes/default/rate-limits/rl-es").status, 200);
  ASSERT_EQ(put("/meshes/default/external-services/es", es).status, 201);
  r = put("/meshes/default/rate-limits/rl-es", rateLimit("rl-es", "es"));
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body["title"], "Failed to create a resource");
  EXPECT_THAT(violations(r.body),
              ElementsAre(Pair("ratelimit",
                               "RateLimit applied to external service only supports "
                               "kuma.io/service as destination match")));
  EXPECT_EQ(del("/meshes/default/external-services/es").status, 200);
}

// Kuma's zone answer to a write of a read-only type.
TEST_F(ResourcesApiTest, ReadOnlyTypesAnswerAsKuma) {
  for (const char* method : {"PUT", "DELETE"}) {
    HttpReply r = call(method, "/meshes/default/dataplane-insights/x", "{}");
    EXPECT_EQ(r.status, 405) << r.raw;
    EXPECT_EQ(r.body["title"], "Method not allowed");
    EXPECT_EQ(r.body["detail"],
              "On zone control plane you can only modify zone resources with 'kumactl apply' or "
              "via the HTTP API. You can still use 'kumactl' or the HTTP API to modify the rest "
              "of the resource on the global control plane.\n");
  }
}

TEST_F(ResourcesApiTest, DataplaneCrudAndPagination) {
  for (int i = 1; i <= 3; ++i) {
    const std::string name = "page-dp-" + std::to_string(i);
    HttpReply r = put("/meshes/default/dataplanes/" + name,
                      dataplane(name, i == 2 ? "web" : "backend", 8080 + i));
    ASSERT_EQ(r.status, 201) << r.raw;
  }
  HttpReply one = get("/meshes/default/dataplanes/page-dp-1");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.body["networking"]["inbound"][0]["tags"]["kuma.io/zone"], "default");
  EXPECT_EQ(one.body["labels"]["kuma.io/proxy-type"], "sidecar");
  EXPECT_EQ(one.body["kri"], "kri_dp_default_default__page-dp-1_");

  HttpReply page = get("/meshes/default/dataplanes?name=page-dp&size=1");
  ASSERT_EQ(page.status, 200) << page.raw;
  EXPECT_EQ(page.body["total"], 3);
  ASSERT_EQ(page.body["items"].size(), 1u);
  EXPECT_EQ(page.body["items"][0]["name"], "page-dp-1");
  ASSERT_TRUE(page.body["next"].is_string());
  const std::string next = page.body["next"];
  EXPECT_NE(next.find("http://127.0.0.1:" + std::to_string(cp_->apiPort()) +
                      "/meshes/default/dataplanes?"),
            std::string::npos)
      << next;
  EXPECT_NE(next.find("offset=1"), std::string::npos);
  // Follow the links to the end.
  std::vector<std::string> seen = {page.body["items"][0]["name"]};
  std::string link = next;
  while (true) {
    const std::string path = link.substr(link.find("/meshes"));
    HttpReply p = get(path);
    ASSERT_EQ(p.status, 200);
    for (const auto& item : p.body["items"]) {
      seen.push_back(item["name"]);
    }
    if (p.body["next"].is_null()) {
      break;
    }
    link = p.body["next"];
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"page-dp-1", "page-dp-2", "page-dp-3"}));

  HttpReply byTag = get("/meshes/default/dataplanes?tag=kuma.io/service:we");
  ASSERT_EQ(byTag.status, 200);
  ASSERT_EQ(byTag.body["total"], 1);
  EXPECT_EQ(byTag.body["items"][0]["name"], "page-dp-2");

  EXPECT_EQ(get("/meshes/default/dataplanes?size=0").status, 400);
  HttpReply tooBig = get("/meshes/default/dataplanes?size=1001");
  EXPECT_EQ(tooBig.status, 400);
  EXPECT_THAT(violations(tooBig.body),
              Contains(Pair("size", "invalid page size of 1001. Maximum page size is 1000")));
  EXPECT_EQ(get("/meshes/default/dataplanes?size=abc").status, 400);
  EXPECT_EQ(get("/meshes/default/dataplanes?filter[name]=x").status, 400);

  // Update, then cross-mesh list and overview.
  json changed = dataplane("page-dp-1", "backend", 9090);
  changed["labels"] = {{"team", "a"}};
  ASSERT_EQ(put("/meshes/default/dataplanes/page-dp-1", changed).status, 200);
  EXPECT_EQ(get("/meshes/default/dataplanes/page-dp-1").body["networking"]["inbound"][0]["port"],
            9090);
  HttpReply byLabel = get("/dataplanes?filter%5Blabels.team%5D=a");
  ASSERT_EQ(byLabel.status, 200) << byLabel.raw;
  ASSERT_EQ(byLabel.body["total"], 1);
  EXPECT_EQ(byLabel.body["items"][0]["name"], "page-dp-1");
  HttpReply overview = get("/meshes/default/dataplanes/_overview?name=page-dp");
  ASSERT_EQ(overview.status, 200) << overview.raw;
  EXPECT_EQ(overview.body["total"], 3);
  EXPECT_EQ(overview.body["items"][0]["type"], "DataplaneOverview");
  EXPECT_TRUE(overview.body["items"][0]["dataplane"].contains("networking"));
  EXPECT_EQ(get("/meshes/default/dataplanes+insights/page-dp-2").status, 200);
  EXPECT_EQ(get("/dataplanes/_overview").status, 200);

  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(del("/meshes/default/dataplanes/page-dp-" + std::to_string(i)).status, 200);
  }
  EXPECT_EQ(get("/meshes/default/dataplanes/page-dp-1").status, 404);
}

TEST_F(ResourcesApiTest, GatewayFilter) {
  ASSERT_EQ(
      put("/meshes/default/dataplanes/gw-sidecar", dataplane("gw-sidecar", "gwtest", 8080)).status,
      201);
  const json edge = {
      {"type", "Dataplane"},
      {"mesh", "default"},
      {"name", "gw-edge"},
      {"networking",
       {{"address", "10.0.0.3"},
        {"gateway", {{"type", "DELEGATED"}, {"tags", {{"kuma.io/service", "gwtest-edge"}}}}}}}};
  ASSERT_EQ(put("/meshes/default/dataplanes/gw-edge", edge).status, 201);
  auto names = [](const std::string& query) {
    std::vector<std::string> out;
    const HttpReply reply = get("/meshes/default/dataplanes/_overview?name=gw-&" + query);
    for (const auto& item : reply.body["items"]) {
      out.push_back(item["name"]);
    }
    return out;
  };
  EXPECT_EQ(names("gateway=true"), std::vector<std::string>{"gw-edge"});
  EXPECT_EQ(names("gateway=delegated"), std::vector<std::string>{"gw-edge"});
  EXPECT_EQ(names("gateway=false"), std::vector<std::string>{"gw-sidecar"});
  EXPECT_TRUE(names("gateway=builtin").empty());
  EXPECT_EQ(names("tag=kuma.io/service:gwtest-edge"), std::vector<std::string>{"gw-edge"});
  EXPECT_EQ(names("tag=kuma.io/service:*").size(), 2u);
  EXPECT_EQ(get("/meshes/default/dataplanes?gateway=sometimes").status, 400);
  EXPECT_EQ(del("/meshes/default/dataplanes/gw-edge").status, 200);
  EXPECT_EQ(del("/meshes/default/dataplanes/gw-sidecar").status, 200);
}

TEST_F(ResourcesApiTest, InvalidDataplaneListsEveryBadField) {
  json dp = {
      {"type", "Dataplane"},
      {"mesh", "default"},
      {"name", "bad"},
      {"networking",
       {{"address", ""},
        {"inbound",
         {{{"port", 70000}, {"tags", {{"kuma.io/service", "web"}, {"kuma.io/protocol", "x"}}}}}}}}};
  HttpReply r = put("/meshes/default/dataplanes/bad", dp);
  ASSERT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.body["title"], "Could not process a resource");
  EXPECT_EQ(r.body["detail"], "Resource is not valid");
  const auto v = violations(r.body);
  EXPECT_THAT(v, Contains(Pair("networking.address", "address can't be empty")));
  EXPECT_THAT(v,
              Contains(Pair("networking.inbound[0].port", "port must be in the range [1, 65535]")));
  EXPECT_THAT(v,
              Contains(Pair("networking.inbound[0].tags[\"kuma.io/protocol\"]",
                            "tag \"kuma.io/protocol\" has an invalid value \"x\". Allowed values: "
                            "grpc, http, http2, kafka, tcp")));
  EXPECT_EQ(get("/meshes/default/dataplanes/bad").status, 404);
}

TEST_F(ResourcesApiTest, UrlAndBodyMustAgree) {
  HttpReply r = put("/meshes/default/dataplanes/a", dataplane("b", "web", 8080));
  ASSERT_EQ(r.status, 400);
  EXPECT_THAT(violations(r.body),
              Contains(Pair("name", "name from the URL has to be the same as in body")));
  json wrongType = dataplane("a", "web", 8080);
  wrongType["type"] = "Mesh";
  EXPECT_THAT(violations(put("/meshes/default/dataplanes/a", wrongType).body),
              Contains(Pair("type", "type from the URL has to be the same as in body")));
  json wrongMesh = dataplane("a", "web", 8080, "other");
  EXPECT_THAT(violations(put("/meshes/default/dataplanes/a", wrongMesh).body),
              Contains(Pair("mesh", "mesh from the URL has to be the same as in body")));
}

TEST_F(ResourcesApiTest, UnknownMeshIsNotFound) {
  HttpReply r = put("/meshes/nope/dataplanes/a", dataplane("a", "web", 8080, "nope"));
  EXPECT_EQ(r.status, 404) << r.raw;
  EXPECT_EQ(r.body["type"], "/std-errors");
  EXPECT_EQ(r.body["status"], 404);
  EXPECT_FALSE(r.body["title"].get<std::string>().empty());
  EXPECT_EQ(get("/meshes/nope/dataplanes").status, 404);
  EXPECT_EQ(get("/meshes/nope/dataplanes/a").status, 404);
  EXPECT_EQ(del("/meshes/nope/dataplanes/a").status, 404);
}

TEST_F(ResourcesApiTest, PoliciesCrud) {
  const json mt = {{"type", "MeshTimeout"},
                   {"mesh", "default"},
                   {"name", "web-timeouts"},
                   {"spec",
                    {{"targetRef", {{"kind", "Mesh"}}},
                     {"to",
                      {{{"targetRef", {{"kind", "MeshService"}, {"name", "web"}}},
                        {"default", {{"http", {{"requestTimeout", "2h"}}}}}}}}}}};
  ASSERT_EQ(put("/meshes/default/meshtimeouts/web-timeouts", mt).status, 201);
  HttpReply got = get("/meshes/default/meshtimeouts/web-timeouts");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body["spec"]["to"][0]["default"]["http"]["requestTimeout"], "2h0m0s");
  EXPECT_EQ(got.body["kri"].get<std::string>().rfind("kri_mt_default_default__web-timeouts", 0),
            0u);

  const json mtp = {
      {"type", "MeshTrafficPermission"},
      {"mesh", "default"},
      {"name", "allow-all"},
      {"spec",
       {{"targetRef", {{"kind", "Mesh"}}},
        {"from", {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"action", "Allow"}}}}}}}}};
  ASSERT_EQ(put("/meshes/default/meshtrafficpermissions/allow-all", mtp).status, 201);
  json deny = mtp;
  deny["spec"]["from"][0]["default"]["action"] = "Deny";
  ASSERT_EQ(put("/meshes/default/meshtrafficpermissions/allow-all", deny).status, 200);
  EXPECT_EQ(get("/meshes/default/meshtrafficpermissions/allow-all")
                .body["spec"]["from"][0]["default"]["action"],
            "Deny");
  json invalid = mtp;
  invalid["spec"]["from"][0]["default"]["action"] = "Maybe";
  HttpReply bad = put("/meshes/default/meshtrafficpermissions/allow-all", invalid);
  EXPECT_EQ(bad.status, 400);
  EXPECT_FALSE(violations(bad.body).empty());

  const json tp = {{"type", "TrafficPermission"},
                   {"mesh", "default"},
                   {"name", "tp-1"},
                   {"sources", {{{"match", {{"kuma.io/service", "*"}}}}}},
                   {"destinations", {{{"match", {{"kuma.io/service", "*"}}}}}}};
  ASSERT_EQ(put("/meshes/default/traffic-permissions/tp-1", tp).status, 201);
  EXPECT_EQ(get("/meshes/default/traffic-permissions").body["total"], 1);
  HttpReply all = get("/traffic-permissions");
  EXPECT_EQ(all.body["total"], 1);

  EXPECT_EQ(del("/meshes/default/meshtimeouts/web-timeouts").status, 200);
  EXPECT_EQ(del("/meshes/default/meshtrafficpermissions/allow-all").status, 200);
  EXPECT_EQ(del("/meshes/default/traffic-permissions/tp-1").status, 200);
  EXPECT_EQ(get("/meshes/default/meshtimeouts/web-timeouts").status, 404);
}

TEST_F(ResourcesApiTest, ConcurrentWritersLoseNothing) {
  ASSERT_EQ(put("/meshes/default/dataplanes/busy", dataplane("busy", "web", 8080)).status, 201);
  constexpr int kThreads = 6;
  constexpr int kWrites = 15;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        json dp = dataplane("busy", "web", 8080);
        dp["labels"] = {{"writer", std::to_string(t)}, {"seq", std::to_string(i)}};
        const int status = put("/meshes/default/dataplanes/busy", dp).status;
        if (status == 200) {
          ++ok;
        } else {
          EXPECT_EQ(status, 409);
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_GT(ok.load(), 0);
  HttpReply final = get("/meshes/default/dataplanes/busy");
  ASSERT_EQ(final.status, 200);
  EXPECT_TRUE(final.body["labels"].contains("writer"));
  EXPECT_EQ(del("/meshes/default/dataplanes/busy").status, 200);
}

TEST_F(ResourcesApiTest, MetadataEndpoints) {
  HttpReply resources = get("/_resources");
  ASSERT_EQ(resources.status, 200);
  bool sawDataplane = false;
  bool sawTimeout = false;
  for (const auto& r : resources.body["resources"]) {
    if (r["name"] == "Dataplane") {
      sawDataplane = true;
      EXPECT_EQ(r["path"], "dataplanes");
      EXPECT_EQ(r["scope"], "Mesh");
      EXPECT_EQ(r["shortName"], "dp");
    }
    if (r["name"] == "MeshTimeout") {
      sawTimeout = true;
      EXPECT_TRUE(r["policy"]["isTargetRef"].get<bool>());
    }
  }
  EXPECT_TRUE(sawDataplane);
  EXPECT_TRUE(sawTimeout);
  HttpReply policies = get("/policies");
  ASSERT_EQ(policies.status, 200);
  EXPECT_GE(policies.body["policies"].size(), 11u);
  HttpReply who = get("/who-am-i");
  EXPECT_EQ(who.body["name"], "mesh-system:admin");
  EXPECT_EQ(get("/config").status, 200);
  EXPECT_EQ(get("/no-such-thing").status, 404);
  EXPECT_EQ(call("POST", "/meshes", "{}").status, 405);
}

TEST_F(ResourcesApiTest, BadBodies) {
  HttpReply malformed = call("PUT", "/meshes/default/dataplanes/x", "{\"type\": ");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.body["title"], "Bad Request");
  HttpReply notObject = call("PUT", "/meshes/default/dataplanes/x", "[1,2]");
  EXPECT_EQ(notObject.status, 400);
  HttpReply wrongType =
      put("/meshes/default/dataplanes/x", {{"type", "Dataplane"},
                                           {"mesh", "default"},
                                           {"name", "x"},
                                           {"networking", {{"inbound", "not-a-list"}}}});
  EXPECT_EQ(wrongType.status, 400);
  const std::string huge(6 * 1024 * 1024, 'a');
  HttpReply tooLarge = call("PUT", "/meshes/default/dataplanes/x", huge);
  EXPECT_EQ(tooLarge.status, 413);
  // The server survived all of it.
  EXPECT_EQ(get("/meshes/default").status, 200);
}

TEST_F(ResourcesApiTest, SecretsAreAdminOnly) {
  const json secret = {
      {"type", "Secret"}, {"mesh", "default"}, {"name", "s1"}, {"data", "c2VjcmV0"}};
  ASSERT_EQ(put("/meshes/default/secrets/s1", secret).status, 201);
  HttpReply got = get("/meshes/default/secrets/s1");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body["data"], "c2VjcmV0");
  // Through a proxy the caller is no longer the local admin.
  const httplib::Headers proxied = {{"X-Forwarded-For", "192.0.2.1"}};
  HttpReply denied = call("GET", "/meshes/default/secrets/s1", "", proxied);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.body["title"], "Access Denied");
  EXPECT_EQ(call("GET", "/meshes/default/secrets", "", proxied).status, 403);
  EXPECT_EQ(call("GET", "/global-secrets", "", proxied).status, 403);
  // Non-admin resources stay readable.
  EXPECT_EQ(call("GET", "/meshes/default/dataplanes", "", proxied).status, 200);
  EXPECT_EQ(del("/meshes/default/secrets/s1").status, 200);
}

TEST_F(ResourcesApiTest, InspectDataplaneXdsConfig) {
  json dp = dataplane("inspect-1", "inspected", 8080);
  dp["networking"]["outbound"] = {{{"port", 10001}, {"tags", {{"kuma.io/service", "inspected"}}}}};
  ASSERT_EQ(put("/meshes/default/dataplanes/inspect-1", dp).status, 201);
  constexpr char kListener[] = "type.googleapis.com/envoy.config.listener.v3.Listener";
  constexpr char kCluster[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

  // Not connected: computed from the stored Dataplane and the mesh's current state.
  const HttpReply r = get("/meshes/default/dataplanes/inspect-1/_config");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["diff"], json::array());
  const json& inbound = r.body["xds"][kListener]["inbound:10.0.0.1:8080"];
  ASSERT_TRUE(inbound.is_object()) << r.raw;
  EXPECT_EQ(inbound["name"], "inbound:10.0.0.1:8080");
  EXPECT_EQ(inbound["address"]["socketAddress"]["portValue"], 8080);
  EXPECT_EQ(r.body["xds"][kListener]["outbound:127.0.0.1:10001"]["name"],
            "outbound:127.0.0.1:10001");
  EXPECT_EQ(r.body["xds"][kCluster]["inspected"]["name"], "inspected");
  EXPECT_EQ(r.body["xds"][kCluster]["localhost:8080"]["name"], "localhost:8080");

  // A change shows up at once (new inbound port).
  dp["networking"]["inbound"][0]["port"] = 9090;
  ASSERT_EQ(put("/meshes/default/dataplanes/inspect-1", dp).status, 200);
  const HttpReply changed = get("/meshes/default/dataplanes/inspect-1/_config?shadow=false");
  ASSERT_EQ(changed.status, 200) << changed.raw;
  EXPECT_TRUE(changed.body["xds"][kListener].contains("inbound:10.0.0.1:9090"));
  EXPECT_FALSE(changed.body["xds"][kListener].contains("inbound:10.0.0.1:8080"));

  // include=diff: against what a connected proxy has; none here, so everything is added.
  const HttpReply diff = get("/meshes/default/dataplanes/inspect-1/_config?include=diff");
  ASSERT_EQ(diff.status, 200) << diff.raw;
  ASSERT_TRUE(diff.body["diff"].is_array());
  ASSERT_FALSE(diff.body["diff"].empty());
  EXPECT_EQ(diff.body["diff"][0]["op"], "add");

  // Errors.
  const HttpReply unknown = get("/meshes/default/dataplanes/nope/_config");
  EXPECT_EQ(unknown.status, 404) << unknown.raw;
  EXPECT_EQ(unknown.body["status"], 404);
  EXPECT_EQ(unknown.body["detail"], "Not found");
  const HttpReply noMesh = get("/meshes/nope/dataplanes/inspect-1/_config");
  EXPECT_EQ(noMesh.status, 404);
  EXPECT_EQ(noMesh.body["title"], "Failed to retrieve Mesh");
  const HttpReply badShadow = get("/meshes/default/dataplanes/inspect-1/_config?shadow=maybe");
  EXPECT_EQ(badShadow.status, 400) << badShadow.raw;
  EXPECT_THAT(violations(badShadow.body), Contains(Pair("shadow", "must be a boolean")));
  const HttpReply badInclude = get("/meshes/default/dataplanes/inspect-1/_config?include=all");
  EXPECT_EQ(badInclude.status, 400) << badInclude.raw;
  EXPECT_THAT(violations(badInclude.body), Contains(Pair("include", "must be one of: diff")));
  EXPECT_EQ(call("POST", "/meshes/default/dataplanes/inspect-1/_config").status, 405);
  EXPECT_EQ(del("/meshes/default/dataplanes/inspect-1/_config").status, 405);
  EXPECT_EQ(del("/meshes/default/dataplanes/inspect-1").status, 200);
  EXPECT_EQ(get("/meshes/default/dataplanes/inspect-1/_config").status, 404);
}

}  // namespace
}  // namespace kuma::test
