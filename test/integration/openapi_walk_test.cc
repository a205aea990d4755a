// Walks Kuma 2.14's OpenAPI document (../shared/reference/kuma-2.14/openapi.yaml, read from there,
// not copied) against the real kuma-cp binary: every operation is called with its path
// parameters filled in (mesh `default`, Dataplane `web-1`, KRIs of existing objects, a name that
// does not exist for writes, so that nothing is changed) and an operation counts as implemented
// when the answer is not go-restful's "404: Page Not Found" for an unknown route (a 404 for a
// missing object is an answer). GET answers must not be 5xx, except the three that ask the
// proxy's Envoy admin, which is not connected here (Kuma answers 500 too). The operations still
// missing are listed; their number may only go down (kMaxMissing).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "source/common/json_yaml.h"
#include "test/integration/kuma_cp_start.h"

namespace kuma::test {
namespace {

using nlohmann::json;

// Operations of the document this control plane does not serve yet: the CRUD of the types it does
// not model (MeshGateway, ZoneIngress and ZoneEgress, which issue 16 and the gateway work own: 4
// operations each, docs/status.md).
constexpr int kMaxMissing = 12;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(OpenApiWalkTest, EveryOperationIsRouted) {
  const char* file = std::getenv("KUMA_OPENAPI_FILE");
  ASSERT_NE(file, nullptr);
  auto doc = common::parseYaml(readFile(file));
  ASSERT_TRUE(doc.ok()) << doc.status();
  ASSERT_TRUE((*doc)["paths"].is_object());

  auto cp = startCp({});
  ASSERT_NE(cp, nullptr);
  httplib::Client client("127.0.0.1", cp->apiPort());
  client.set_read_timeout(std::chrono::seconds(10));
  auto put = client.Put("/meshes/default/dataplanes/web-1",
                        R"({"type":"Dataplane","mesh":"default","name":"web-1","networking":)"
                        R"({"address":"127.0.0.1","inbound":[{"port":34901,"servicePort":34902,)"
                        R"("tags":{"kuma.io/service":"web"}}]}})",
                        "application/json");
  ASSERT_TRUE(put && put->status == 201) << (put ? put->body : "no answer");

  // Path parameters: existing objects where GET reads them.
  const std::map<std::string, std::string> params = {
      {"mesh", "default"},
      {"name", "web-1"},
      {"resourceType", "dataplanes"},
      {"resourceName", "web-1"},
      {"policyType", "meshtimeouts"},
      {"policyName", "mesh-timeout-all-default"},
      {"serviceType", "meshservices"},
      {"serviceName", "web"},
      {"kri", "kri_dp_default_default__web-1_"},
      {"inbound-kri", "kri_dp_default_default__web-1_34901"},
      {"outbound-kri", "kri_msvc_default_default__web_"},
      {"route-kri", "kri_mhttpr_default_default__route_"},
      {"zone", "default"},
      {"id", "default"},
  };
  int operations = 0;
  std::vector<std::string> missing;
  std::vector<std::string> serverErrors;
  for (const auto& [rawPath, item] : doc->at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      if (method != "get" && method != "put" && method != "delete" && method != "post" &&
          method != "patch") {
        continue;
      }
      ++operations;
      std::string path = rawPath;
      for (const auto& [k, v] : params) {
        // Writes address a name that does not exist, so that nothing is changed.
        const std::string value = method != "get" && (k == "name" || k == "resourceName")
                                      ? std::string("openapi-walk-nonexistent")
                                      : v;
        absl::StrReplaceAll({{"{" + k + "}", value}}, &path);
      }
      // The other `{...}` parameters of mesh-scoped resource types are names.
      for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{')) {
        const size_t close = path.find('}', open);
        ASSERT_NE(close, std::string::npos) << rawPath;
        path.replace(open, close - open + 1, "openapi-walk-nonexistent");
      }
      httplib::Result res = method == "get"      ? client.Get(path)
                            : method == "delete" ? client.Delete(path)
                            : method == "put"    ? client.Put(path, "{}", "application/json")
                            : method == "post"   ? client.Post(path, "{}", "application/json")
                                                 : client.Patch(path, "{}", "application/json");
      const std::string label = method + " " + rawPath;
      ASSERT_TRUE(res) << label << ": " << httplib::to_string(res.error());
      const json body = json::parse(res->body, nullptr, false);
      const bool routeMissing = res->status == 404 && body.is_object() &&
                                body.value("detail", "") == "404: Page Not Found";
      if (routeMissing) {
        missing.push_back(label);
        continue;
      }
      const bool viaEnvoyAdmin = rawPath.ends_with("/xds") || rawPath.ends_with("/stats") ||
                                 rawPath.ends_with("/clusters");
      if (method == "get" && res->status >= 500 && !viaEnvoyAdmin) {
        serverErrors.push_back(label + ": " + res->body.substr(0, 200));
      }
    }
  }
  std::string list;
  for (const auto& m : missing) {
    list += "  " + m + "\n";
  }
  std::cout << operations << " operations in Kuma 2.14's OpenAPI document, " << missing.size()
            << " not routed here:\n"
            << list;
  EXPECT_EQ(operations, 141);
  EXPECT_LE(static_cast<int>(missing.size()), kMaxMissing) << list;
  std::cout << missing.size() << " of " << operations << " operations answer 404" << std::endl;
  EXPECT_TRUE(serverErrors.empty()) << serverErrors.front();
}

}  // namespace
}  // namespace kuma::test
