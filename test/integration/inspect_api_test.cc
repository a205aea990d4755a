// End to end through the real kuma-cp binary: Kuma 2.14's inspect API. The expected answers in
// testdata/inspect/ were recorded from Kuma 2.14.3 ($ORACLE/bin/kuma-cp, built as
// docs/conformance.md says, memory store, Universal) after the same PUTs
// (testdata/inspect/inspect_resources.json, in order): `paths.txt` names each answer file and the
// request that produced it. Compared as parsed JSON (member order aside), status code included;
// creation and modification times are not compared.
#include <algorithm>
#include <cstdlib>
#include <utility>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/integration/kuma_cp_start.h"
#include "test/integration/recorded_answers.h"

namespace kuma::test {
namespace {

using nlohmann::json;

// Kuma sorts a `_rules` answer's toResourceRules by the resource's name only, from a map: two
// ports of one service come in either order. Both sides are put in (name, section) order.
void sortResourceRules(json& body) {
  if (!body.is_object() || !body.contains("rules") || !body["rules"].is_array()) {
    return;
  }
  for (json& rule : body["rules"]) {
    if (!rule.is_object() || !rule.contains("toResourceRules")) {
      continue;
    }
    json& list = rule["toResourceRules"];
    std::stable_sort(list.begin(), list.end(), [](const json& a, const json& b) {
      return std::make_pair(a["resourceMeta"].value("name", ""),
                            a.value("resourceSectionName", "")) <
             std::make_pair(b["resourceMeta"].value("name", ""),
                            b.value("resourceSectionName", ""));
    });
  }
}

// Kuma builds the legacy `rules` answer from a map of policy types and sorts it by name and type
// only: entries of two policy types for one name come in either order. Both sides are put in
// (name, type, policyType) order; a type's own entries keep theirs.
void sortRuleAttachments(json& body) {
  if (!body.is_object() || !body.contains("items") || !body.contains("total") ||
      !body["items"].is_array()) {
    return;
  }
  json& items = body["items"];
  std::stable_sort(items.begin(), items.end(), [](const json& a, const json& b) {
    auto key = [](const json& e) {
      return std::make_tuple(e.value("name", ""), e.value("type", ""), e.value("policyType", ""));
    };
    return key(a) < key(b);
  });
}

class InspectApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cp_ = startCp({});
    ASSERT_NE(cp_, nullptr);
    const json resources = json::parse(readFile(testdata("inspect_resources.json")));
    ASSERT_FALSE(resources.empty());
    for (const auto& r : resources) {
      RawReply reply = call(cp_->apiPort(), "PUT", r["path"], r["body"].dump());
      ASSERT_TRUE(reply.status == 200 || reply.status == 201) << r["path"] << ": " << reply.raw;
    }
  }

  std::unique_ptr<KumaCp> cp_;
};

TEST_F(InspectApiTest, AnswersAsKuma) {
  std::ifstream paths(testdata("paths.txt"));
  std::string name;
  std::string path;
  int compared = 0;
  while (paths >> name >> path) {
    SCOPED_TRACE(name + " " + path);
    json expected = json::parse(readFile(testdata(name + ".json")));
    const int expectedStatus = expected.contains("status") && expected["status"].is_number()
                                   ? expected["status"].get<int>()
                                   : 200;
    RawReply reply = call(cp_->apiPort(), "GET", path);
    EXPECT_EQ(reply.status, expectedStatus) << reply.raw;
    json ours = json::parse(reply.raw, nullptr, false);
    ASSERT_FALSE(ours.is_discarded()) << reply.raw;
    // `next` links name the server's own address.
    for (json* body : {&ours, &expected}) {
      if (body->contains("next") && (*body)["next"].is_string()) {
        std::string link = (*body)["next"];
        (*body)["next"] = link.substr(link.find('/', std::string("http://").size()));
      }
    }
    dropTimes(ours);
    dropTimes(expected);
    sortResourceRules(ours);
    sortResourceRules(expected);
    if (path.ends_with("/rules")) {
      sortRuleAttachments(ours);
      sortRuleAttachments(expected);
    }
    EXPECT_EQ(ours, expected) << "kuma-cpp:\n" << ours.dump(1) << "\nKuma:\n" << expected.dump(1);
    ++compared;
  }
  EXPECT_GE(compared, 107);
}

// Hostile path parameters: bounded answers with Kuma's error body, never a 5xx.
TEST_F(InspectApiTest, HostileInspectPaths) {
  const std::string longKri = "kri_mt_default_default__" + std::string(3000, 'a') + "_";
  for (const std::string& path :
       {std::string("/_kri/") + std::string(3000, '_'), std::string("/_kri/") + longKri,
        std::string("/_kri/kri_%00_default_default__x_"), std::string("/_kri/kri_mt______"),
        std::string("/meshes/default/dataplanes/web-1/_inbounds/%ff/_policies"),
        std::string("/meshes/default/dataplanes/web-1/_outbounds/x/_routes/y/_policies"),
        std::string("/meshes/routes/dataplanes/client/_outbounds/") + std::string(3000, '_') +
            "/_routes",
        std::string("/meshes/routes/dataplanes/client/_outbounds/") + longKri + "/_policies" +
            std::string(5000, 'x'),
        std::string("/meshes/routes/dataplanes/client/_outbounds/"
                    "kri_msvc_routes_default__backend_http/_routes/%00/_policies"),
        // An inbound the Dataplane does not have (Kuma answers 500; 404 here).
        std::string("/meshes/layout/dataplanes/rb/_inbounds/kri_dp_layout_default__rb_9/_policies"),
        std::string("/meshes/default/meshtimeouts/mt-all/_resources/dataplanes?size=100000"),
        std::string("/meshes/default/meshtimeouts/mt-all/_resources/dataplanes?offset=-1")}) {
    SCOPED_TRACE(path.substr(0, 80));
    RawReply reply = call(cp_->apiPort(), "GET", path);
    EXPECT_GE(reply.status, 400);
    EXPECT_LT(reply.status, 500);
    json body = json::parse(reply.raw, nullptr, false);
    ASSERT_TRUE(body.is_object()) << reply.raw.substr(0, 200);
    EXPECT_EQ(body["type"], "/std-errors");
    EXPECT_LT(reply.raw.size(), 20000u);
  }
  // A well-formed KRI of any length names nothing: the mesh's rules, bounded.
  RawReply longOutbound =
      call(cp_->apiPort(), "GET",
           "/meshes/routes/dataplanes/client/_outbounds/kri_msvc_routes_default__" +
               std::string(3000, 'b') + "_http/_policies");
  EXPECT_EQ(longOutbound.status, 200) << longOutbound.raw.substr(0, 200);
  EXPECT_LT(longOutbound.raw.size(), 20000u);
  // Methods other than GET are refused.
  RawReply put = call(cp_->apiPort(), "PUT", "/meshes/default/dataplanes/web-1/_rules", "{}");
  EXPECT_EQ(put.status, 405);
}

}  // namespace
}  // namespace kuma::test
