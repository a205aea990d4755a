// End to end through the real kuma-cp binary: what `kumactl export` and `kumactl apply` need
// from the REST API (Kuma 2.14.3's app/kumactl/cmd/export and cmd/apply), without kumactl.
//  - GET /_resources answers as Kuma 2.14.3 for every type we serve (testdata recorded from it);
//  - a Mesh with `mtls.skipValidation` is accepted before the secrets its CA names;
//  - an export of a populated control plane, applied into a fresh one, gives the same resources.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/integration/kuma_cp_start.h"

namespace kuma::test {
namespace {

using nlohmann::json;

struct Reply {
  int status = 0;
  json body;
  std::string raw;
};

// A REST client for one control plane.
class Rest {
 public:
  explicit Rest(uint16_t port) : port_(port) {}

  Reply call(const std::string& method, const std::string& path, const json& body = nullptr) {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(std::chrono::seconds(10));
    httplib::Result res = method == "PUT"
                              ? client.Put(path, body.dump(), "application/json")
                              : (method == "DELETE" ? client.Delete(path) : client.Get(path));
    Reply out;
    if (!res) {
      ADD_FAILURE() << method << " " << path << ": " << httplib::to_string(res.error());
      return out;
    }
    out.status = res->status;
    out.raw = res->body;
    out.body = json::parse(res->body, nullptr, false);
    return out;
  }
  Reply get(const std::string& path) { return call("GET", path); }
  Reply put(const std::string& path, const json& body) { return call("PUT", path, body); }

  /** Every item of a list, following `next` (the path part of it) as kumactl's store does. */
  std::vector<json> listAll(const std::string& path) {
    std::vector<json> items;
    std::string next = path + "?size=2";  // small pages: the paging is exercised too
    for (int page = 0; page < 1000 && !next.empty(); ++page) {
      Reply r = get(next);
      EXPECT_EQ(r.status, 200) << next << ": " << r.raw;
      if (r.status != 200) {
        break;
      }
      for (const auto& item : r.body["items"]) {
        items.push_back(item);
      }
      next.clear();
      if (r.body["next"].is_string()) {
        const std::string link = r.body["next"];
        const size_t hostEnd = link.find('/', std::string("http://").size());
        next = link.substr(hostEnd);
      }
    }
    return items;
  }

 private:
  uint16_t port_;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---- GET /_resources ----

TEST(KumactlExportTest, ResourceTypesAnswerAsKuma) {
  const char* reference = std::getenv("KUMA_RESOURCES_REFERENCE");
  ASSERT_NE(reference, nullptr);
  const auto kuma = nlohmann::ordered_json::parse(readFile(reference));
  std::map<std::string, nlohmann::ordered_json> kumaByName;
  for (const auto& r : kuma["resources"]) {
    kumaByName[r["name"]] = r;
  }
  auto cp = startCp({});
  ASSERT_NE(cp, nullptr);
  Rest rest(cp->apiPort());
  const Reply reply = rest.get("/_resources");
  ASSERT_EQ(reply.status, 200);
  // Member order too: compare the serialized form of each entry.
  const auto ours = nlohmann::ordered_json::parse(reply.raw);
  ASSERT_EQ(ours.size(), 1u);
  std::vector<std::string> names;
  size_t federated = 0;
  for (const auto& r : ours["resources"]) {
    const std::string name = r["name"];
    names.push_back(name);
    auto it = kumaByName.find(name);
    ASSERT_NE(it, kumaByName.end()) << name << " is not a Kuma 2.14.3 type";
    EXPECT_EQ(r.dump(), it->second.dump());
    federated += r["includeInFederation"].get<bool>() ? 1 : 0;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  // The types kumactl's default export profile needs are there and federated.
  for (const char* name : {"Mesh", "Secret", "GlobalSecret", "MeshTimeout", "TrafficPermission"}) {
    EXPECT_TRUE(kumaByName.at(name)["includeInFederation"].get<bool>()) << name;
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  EXPECT_GE(federated, 20u);
}

TEST(KumactlExportTest, ReadOnlyApiServerMarksEveryTypeReadOnly) {
  auto cp = startCp({{"KUMA_API_SERVER_READ_ONLY", "true"}});
  ASSERT_NE(cp, nullptr);
  Rest rest(cp->apiPort());
  const Reply reply = rest.get("/_resources");
  ASSERT_EQ(reply.status, 200);
  bool sawFederated = false;
  for (const auto& r : reply.body["resources"]) {
    EXPECT_TRUE(r["readOnly"].get<bool>()) << r["name"];
    sawFederated = sawFederated || r["includeInFederation"].get<bool>();
  }
  EXPECT_TRUE(sawFederated);  // Kuma: the read-only server does not change the federation flag
  const Reply policies = rest.get("/policies");
  for (const auto& p : policies.body["policies"]) {
    EXPECT_TRUE(p["readOnly"].get<bool>()) << p["name"];
  }
}

// ---- skipValidation ----

json providedMesh(const std::string& name, bool skipValidation) {
  json mtls = {
      {"enabledBackend", "ca-1"},
      {"backends",
       {{{"name", "ca-1"},
         {"type", "provided"},
         {"conf",
          {{"cert", {{"secret", name + ".cert"}}}, {"key", {{"secret", name + ".key"}}}}}}}}};
  if (skipValidation) {
    mtls["skipValidation"] = true;
  }
  return {{"type", "Mesh"}, {"name", name}, {"mtls", mtls}};
}

TEST(KumactlExportTest, SkipValidationAcceptsAProvidedCaBeforeItsSecrets) {
  auto cp = startCp({});
  ASSERT_NE(cp, nullptr);
  Rest rest(cp->apiPort());
  // Without skipValidation the CA plugin loads the secrets: refused.
  const Reply refused = rest.put("/meshes/strict", providedMesh("strict", false));
  EXPECT_EQ(refused.status, 400) << refused.raw;
  EXPECT_TRUE(absl::StrContains(refused.raw, "mtls.backends[0].conf")) << refused.raw;
  EXPECT_EQ(rest.get("/meshes/strict").status, 404);

  // With it, as Kuma's ValidateMTLSBackends: the CA plugin's check is skipped.
  const Reply created = rest.put("/meshes/imported", providedMesh("imported", true));
  ASSERT_EQ(created.status, 201) << created.raw;
  const Reply mesh = rest.get("/meshes/imported");
  ASSERT_EQ(mesh.status, 200);
  EXPECT_EQ(mesh.body["mtls"]["skipValidation"], true);
  EXPECT_EQ(mesh.body["mtls"]["backends"][0]["type"], "provided");
  // Also an update, and also a conf that names no data source at all (Kuma accepts both).
  json empty = providedMesh("imported", true);
  empty["mtls"]["backends"][0]["conf"] = json::object();
  EXPECT_EQ(rest.put("/meshes/imported", empty).status, 200);
  // The spec's own checks still apply: an unknown backend type is refused.
  json unknown = providedMesh("other", true);
  unknown["mtls"]["backends"][0]["type"] = "nope";
  EXPECT_EQ(rest.put("/meshes/other", unknown).status, 400);
  // Without skipValidation again, the update is checked (the secrets are still missing).
  EXPECT_EQ(rest.put("/meshes/imported", providedMesh("imported", false)).status, 400);
  // (ExportThenApplyIntoAFreshControlPlane applies the secrets afterwards and checks that the
  // Mesh then validates without skipValidation.)
}

// ---- export, then apply into a fresh control plane ----

// What `kumactl export` selects and how it orders it (app/kumactl/cmd/export/export.go).
struct ExportOptions {
  std::string profile = "federation";  // kumactl's default
  bool includeAdmin = false;
};

bool isMigrationProfile(const std::string& profile) {
  return profile == "federation" || profile == "federation-with-policies";
}

// kumactl knows AdminOnly from its own registry: Secret and GlobalSecret in Kuma 2.14.
bool adminOnly(const std::string& type) {
  return type == "Secret" || type == "GlobalSecret";
}

std::vector<json> exportTypes(Rest& rest, const ExportOptions& opts) {
  const Reply types = rest.get("/_resources");
  EXPECT_EQ(types.status, 200);
  std::vector<json> out;
  for (const auto& t : types.body["resources"]) {
    const std::string name = t["name"];
    if (adminOnly(name) && !isMigrationProfile(opts.profile) && !opts.includeAdmin) {
      continue;
    }
    const bool federated = t["includeInFederation"].get<bool>();
    const bool targetRef = t.contains("policy") && t["policy"]["isTargetRef"].get<bool>();
    if (opts.profile == "federation" && (!federated || targetRef || name == "MeshGateway")) {
      continue;
    }
    if (opts.profile == "federation-with-policies" && !federated) {
      continue;
    }
    if (opts.profile == "no-dataplanes" && (name == "Dataplane" || name == "DataplaneInsight")) {
      continue;
    }
    out.push_back(t);
  }
  auto priority = [](const json& t) {
    const std::string name = t["name"];
    return name == "Mesh" ? 0 : name == "Secret" ? 1 : name == "GlobalSecret" ? 99 : 50;
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const json& a, const json& b) { return priority(a) < priority(b); });
  return out;
}

// kumactl's changeBuiltinBackendsToProvided plus skipCreatingInitialPolicies.
json exportedMesh(json mesh) {
  mesh["skipCreatingInitialPolicies"] = json::array({"*"});
  if (mesh.contains("mtls") && mesh["mtls"].contains("backends")) {
    for (auto& backend : mesh["mtls"]["backends"]) {
      if (backend["type"] != "builtin") {
        continue;
      }
      const std::string prefix = mesh["name"].get<std::string>() + ".ca-builtin-";
      const std::string backendName = backend["name"];
      backend["type"] = "provided";
      backend["conf"] = {{"cert", {{"secret", prefix + "cert-" + backendName}}},
                         {"key", {{"secret", prefix + "key-" + backendName}}}};
      mesh["mtls"]["skipValidation"] = true;
    }
  }
  return mesh;
}

// The export: resources in kumactl's order (Mesh, then the rest; user token signing keys last).
std::vector<json> exportResources(Rest& rest, const ExportOptions& opts) {
  std::vector<json> meshes = rest.listAll("/meshes");
  std::vector<json> first;
  std::vector<json> dependent;
  std::vector<json> last;
  for (const json& type : exportTypes(rest, opts)) {
    const std::string name = type["name"];
    const std::string path = type["path"];
    if (type["scope"] == "Global") {
      for (json& item : rest.listAll("/" + path)) {
        if (name == "Mesh") {
          first.push_back(exportedMesh(item));
          continue;
        }
        if (name == "GlobalSecret") {
          const std::string n = item["name"];
          if (n == "envoy-admin-ca" || n == "inter-cp-ca") {
            continue;
          }
          if (absl::StartsWith(n, "user-token-signing-key")) {
            last.push_back(item);
            continue;
          }
        }
        dependent.push_back(item);
      }
    } else {
      for (const json& mesh : meshes) {
        for (json& item : rest.listAll("/meshes/" + mesh["name"].get<std::string>() + "/" + path)) {
          dependent.push_back(item);
        }
      }
    }
  }
  std::vector<json> all = first;
  all.insert(all.end(), dependent.begin(), dependent.end());
  all.insert(all.end(), last.begin(), last.end());
  if (isMigrationProfile(opts.profile)) {
    for (json& r : all) {
      if (r.contains("labels")) {
        r["labels"].erase("kuma.io/origin");
      }
    }
  }
  return all;
}

// kumactl apply's upsert through its remote store: GET, then PUT of {type, mesh, name, labels}
// plus the spec (Flat types: every other member; new policies: `spec`).
void applyResources(Rest& rest, const std::vector<json>& resources, const json& types) {
  std::map<std::string, std::string> pathOf;
  std::map<std::string, bool> globalScope;
  for (const auto& t : types["resources"]) {
    pathOf[t["name"]] = t["path"];
    globalScope[t["name"]] = t["scope"] == "Global";
  }
  for (const json& r : resources) {
    const std::string type = r["type"];
    ASSERT_TRUE(pathOf.count(type)) << type;
    const std::string name = r["name"];
    const std::string url = globalScope[type] ? "/" + pathOf[type] + "/" + name
                                              : "/meshes/" + r["mesh"].get<std::string>() + "/" +
                                                    pathOf[type] + "/" + name;
    json body = r;
    for (const char* generated : {"creationTime", "modificationTime", "kri"}) {
      body.erase(generated);
    }
    const Reply existing = rest.get(url);
    ASSERT_TRUE(existing.status == 200 || existing.status == 404) << url << ": " << existing.raw;
    const Reply put = rest.put(url, body);
    EXPECT_EQ(put.status, existing.status == 200 ? 200 : 201) << url << ": " << put.raw;
  }
}

json withoutTimes(json r) {
  r.erase("creationTime");
  r.erase("modificationTime");
  return r;
}

std::string key(const json& r) {
  return r["type"].get<std::string>() + "/" + r.value("mesh", "") + "/" +
         r["name"].get<std::string>();
}

json populatedMeshes() {
  return json::array({
      {{"type", "Mesh"},
       {"name", "demo"},
       {"mtls",
        {{"enabledBackend", "ca-1"}, {"backends", {{{"name", "ca-1"}, {"type", "builtin"}}}}}}},
      {{"type", "Mesh"}, {"name", "plain"}},
  });
}

void populate(Rest& rest) {
  for (const json& mesh : populatedMeshes()) {
    const Reply r = rest.put("/meshes/" + mesh["name"].get<std::string>(), mesh);
    ASSERT_EQ(r.status, 201) << r.raw;
  }
  const std::vector<std::pair<std::string, json>> resources = {
      {"/meshes/demo/meshtimeouts/web-timeout",
       {{"type", "MeshTimeout"},
        {"mesh", "demo"},
        {"name", "web-timeout"},
        {"labels", {{"team", "web"}}},
        {"spec",
         {{"targetRef", {{"kind", "Mesh"}}},
          {"to", {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"idleTimeout", "20s"}}}}}}}}}},
      {"/meshes/demo/meshtrafficpermissions/allow-all",
       {{"type", "MeshTrafficPermission"},
        {"mesh", "demo"},
        {"name", "allow-all"},
        {"spec",
         {{"targetRef", {{"kind", "Mesh"}}},
          {"from", {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"action", "Allow"}}}}}}}}}},
      {"/meshes/demo/meshretries/web-retry",
       {{"type", "MeshRetry"},
        {"mesh", "demo"},
        {"name", "web-retry"},
        {"spec",
         {{"targetRef", {{"kind", "Mesh"}}},
          {"to",
           {{{"targetRef", {{"kind", "MeshService"}, {"name", "web"}}},
             {"default", {{"http", {{"numRetries", 3}}}}}}}}}}}},
      {"/meshes/demo/traffic-permissions/legacy-allow",
       {{"type", "TrafficPermission"},
        {"mesh", "demo"},
        {"name", "legacy-allow"},
        {"sources", {{{"match", {{"kuma.io/service", "*"}}}}}},
        {"destinations", {{{"match", {{"kuma.io/service", "*"}}}}}}}},
      {"/meshes/demo/external-services/httpbin",
       {{"type", "ExternalService"},
        {"mesh", "demo"},
        {"name", "httpbin"},
        {"networking", {{"address", "httpbin.org:443"}}},
        {"tags", {{"kuma.io/service", "httpbin"}}}}},
      {"/meshes/demo/dataplanes/web-1",
       {{"type", "Dataplane"},
        {"mesh", "demo"},
        {"name", "web-1"},
        {"networking",
         {{"address", "127.0.0.1"},
          {"inbound",
           {{{"port", 8080}, {"servicePort", 18080}, {"tags", {{"kuma.io/service", "web"}}}}}}}}}},
      {"/meshes/demo/secrets/user-secret",
       {{"type", "Secret"}, {"mesh", "demo"}, {"name", "user-secret"}, {"data", "c2VjcmV0"}}},
      {"/globalsecrets/user-global",
       {{"type", "GlobalSecret"}, {"name", "user-global"}, {"data", "Z2xvYmFs"}}},
  };
  for (const auto& [path, body] : resources) {
    const Reply r = rest.put(path, body);
    ASSERT_EQ(r.status, 201) << path << ": " << r.raw;
  }
}

// Exports from `source` with `opts`, applies into a fresh control plane, and compares every
// exported type on both sides.
void roundTrip(Rest& source, const ExportOptions& opts) {
  SCOPED_TRACE("profile " + opts.profile + (opts.includeAdmin ? " --include-admin" : ""));
  const std::vector<json> exported = exportResources(source, opts);
  ASSERT_FALSE(exported.empty());
  std::set<std::string> exportedTypes;
  std::map<std::string, json> expected;
  for (const json& r : exported) {
    exportedTypes.insert(r["type"]);
    expected[key(r)] = r;
  }
  auto fresh = startCp({});
  ASSERT_NE(fresh, nullptr);
  Rest target(fresh->apiPort());
  const Reply types = target.get("/_resources");
  ASSERT_EQ(types.status, 200);
  applyResources(target, exported, types.body);
  if (::testing::Test::HasFatalFailure()) {
    return;
  }

  // Every exported resource is on the target as exported (labels recomputed by the target:
  // `kuma.io/origin` comes back on migration profiles), and the target has nothing else of
  // the exported types except what every control plane creates for itself.
  for (const json& t : exportTypes(target, opts)) {
    const std::string type = t["name"];
    if (!exportedTypes.count(type)) {
      continue;
    }
    // GET /{path}: a global list, or a mesh-scoped type across every mesh.
    const std::vector<json> items = target.listAll("/" + t["path"].get<std::string>());
    std::set<std::string> seen;
    for (const json& item : items) {
      const std::string k = key(item);
      if (type == "GlobalSecret" &&
          (item["name"] == "envoy-admin-ca" || item["name"] == "inter-cp-ca")) {
        continue;  // each control plane's own, left out of exports
      }
      seen.insert(k);
      auto it = expected.find(k);
      ASSERT_NE(it, expected.end()) << "only on the target: " << k;
      json want = withoutTimes(it->second);
      json got = withoutTimes(item);
      if (isMigrationProfile(opts.profile) && got.contains("labels")) {
        got["labels"].erase("kuma.io/origin");
      }
      // The target's REST API computes labels on every write, also for what the source
      // generated without labels (its CA and signing-key Secrets), as Kuma 2.14.3 does.
      if (got.contains("labels")) {
        for (const char* computed :
             {"kuma.io/mesh", "kuma.io/origin", "kuma.io/zone", "kuma.io/env"}) {
          if (!want.contains("labels") || !want["labels"].contains(computed)) {
            got["labels"].erase(computed);
          }
        }
        if (got["labels"].empty()) {
          got.erase("labels");
        }
        // The KRI names the zone label the target computed (Kuma's does the same).
        if (!want.contains("labels") || !want["labels"].contains("kuma.io/zone")) {
          if (auto zone = item.find("labels"); zone != item.end() &&
                                               zone->contains("kuma.io/zone") &&
                                               got.contains("kri") && want.contains("kri")) {
            std::string kri = got["kri"];
            const std::string segment = "_" + (*zone)["kuma.io/zone"].get<std::string>() + "_";
            if (size_t at = kri.find(segment, std::string("kri_").size());
                at != std::string::npos) {
              kri.replace(at, segment.size(), "__");
              got["kri"] = kri;
            }
          }
        }
      }
      if (want.contains("labels") && want["labels"].empty()) {
        want.erase("labels");  // a federation export strips the only (computed) label
      }
      EXPECT_EQ(got, want) << k;
    }
    for (const auto& [k, r] : expected) {
      if (r["type"] == type) {
        EXPECT_TRUE(seen.count(k)) << "not applied: " << k;
      }
    }
  }
  // With its CA secrets applied after it, the imported mTLS mesh validates without
  // skipValidation too: the provided CA loads and checks the exported builtin pair.
  if (expected.count("Secret/demo/demo.ca-builtin-cert-ca-1")) {
    json mesh = withoutTimes(expected.at("Mesh//demo"));
    mesh.erase("kri");
    mesh["mtls"].erase("skipValidation");
    const Reply strict = target.put("/meshes/demo", mesh);
    EXPECT_EQ(strict.status, 200) << strict.raw;
  }
}

// Kuma's managers store what they generate without labels; its REST API computes them.
TEST(KumactlExportTest, GeneratedSecretsCarryNoLabels) {
  auto cp = startCp({});
  ASSERT_NE(cp, nullptr);
  Rest rest(cp->apiPort());
  ASSERT_EQ(rest.put("/meshes/demo", populatedMeshes()[0]).status, 201);
  for (const char* path :
       {"/meshes/demo/secrets/demo.ca-builtin-cert-ca-1",
        "/meshes/demo/secrets/demo.ca-builtin-key-ca-1",
        "/meshes/demo/secrets/dataplane-token-signing-key-demo-1",
        "/meshes/default/secrets/dataplane-token-signing-key-default-1",
        "/globalsecrets/envoy-admin-ca", "/globalsecrets/zone-token-signing-key-1"}) {
    const Reply r = rest.get(path);
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_FALSE(r.body.contains("labels")) << path << ": " << r.body["labels"];
  }
  // Written through the REST API: Kuma's computed labels (GlobalSecret has Secret's KDS flags).
  ASSERT_EQ(rest.put("/meshes/demo/secrets/user",
                     {{"type", "Secret"}, {"mesh", "demo"}, {"name", "user"}, {"data", "YQ=="}})
                .status,
            201);
  EXPECT_EQ(rest.get("/meshes/demo/secrets/user").body["labels"],
            json({{"kuma.io/env", "universal"},
                  {"kuma.io/mesh", "demo"},
                  {"kuma.io/origin", "zone"},
                  {"kuma.io/zone", "default"}}));
  ASSERT_EQ(rest.put("/globalsecrets/user",
                     {{"type", "GlobalSecret"}, {"name", "user"}, {"data", "YQ=="}})
                .status,
            201);
  EXPECT_EQ(rest.get("/globalsecrets/user").body["labels"], json({{"kuma.io/env", "universal"},
                                                                  {"kuma.io/origin", "zone"},
                                                                  {"kuma.io/zone", "default"}}));
  // An update through the REST API computes them too (as Kuma's updateResource).
  const Reply signingKey = rest.get("/meshes/demo/secrets/dataplane-token-signing-key-demo-1");
  json body = withoutTimes(signingKey.body);
  ASSERT_EQ(rest.put("/meshes/demo/secrets/dataplane-token-signing-key-demo-1", body).status, 200);
  EXPECT_EQ(rest.get("/meshes/demo/secrets/dataplane-token-signing-key-demo-1")
                .body["labels"]["kuma.io/origin"],
            "zone");
}

TEST(KumactlExportTest, ExportThenApplyIntoAFreshControlPlane) {
  auto cp = startCp({});
  ASSERT_NE(cp, nullptr);
  Rest source(cp->apiPort());
  populate(source);
  if (HasFatalFailure()) {
    return;
  }
  // The builtin CA's secrets exist before the export.
  ASSERT_EQ(source.get("/meshes/demo/secrets/demo.ca-builtin-cert-ca-1").status, 200);

  roundTrip(source, {});  // kumactl's default: --profile federation
  roundTrip(source, {"all", false});
  roundTrip(source, {"all", true});
  roundTrip(source, {"federation-with-policies", false});
  roundTrip(source, {"no-dataplanes", true});
}

// ---- deprecation warnings (kumactl apply prints them) ----

// Every case (testdata recorded from Kuma 2.14.3) answers the same `warnings` on create and on
// update; a resource without deprecations answers `{}`.
TEST(KumactlExportTest, WritesAnswerKumasDeprecationWarnings) {
  const char* reference = std::getenv("KUMA_WARNINGS_REFERENCE");
  ASSERT_NE(reference, nullptr);
  const json cases = json::parse(readFile(reference));
  ASSERT_GE(cases.size(), 15u);
  auto cp = startCp({});
  ASSERT_NE(cp, nullptr);
  Rest rest(cp->apiPort());
  ASSERT_EQ(rest.put("/meshes/demo", {{"type", "Mesh"}, {"name", "demo"}}).status, 201);
  size_t withWarnings = 0;
  for (const json& c : cases) {
    const std::string path = c["path"];
    for (int expected : {201, 200}) {
      const Reply r = rest.put(path, c["body"]);
      ASSERT_EQ(r.status, expected) << path << ": " << r.raw;
      if (c["warnings"].empty()) {
        EXPECT_EQ(r.body, json::object()) << path;
      } else {
        EXPECT_EQ(r.body, json({{"warnings", c["warnings"]}})) << path;
      }
    }
    withWarnings += c["warnings"].empty() ? 0 : 1;
  }
  EXPECT_GE(withWarnings, 12u);
}

}  // namespace
}  // namespace kuma::test
