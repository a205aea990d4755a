// End to end through the real kuma-cp binary and a connected kuma-dp + Envoy: MeshInsight,
// ServiceInsight and GlobalInsight (`kumactl inspect meshes|services`, the GUI's home page). The
// expected answers in testdata/inspect/insight_*.json and global_insight.json were recorded from
// Kuma 2.14.3 ($ORACLE/bin/kuma-cp, built as docs/conformance.md says, memory store, Universal)
// after the PUTs of testdata/inspect/insights_resources.json with Dataplane web-1 connected
// (kuma-dp 2.14.3 and the pinned Envoy). Compared as parsed JSON; times are not compared.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/integration/kuma_cp_start.h"
#include "test/integration/kuma_dp_start.h"
#include "test/integration/recorded_answers.h"

namespace kuma::test {
namespace {

using nlohmann::json;

class InsightsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    envoy_ = std::getenv("KUMA_ENVOY_BINARY") != nullptr ? std::getenv("KUMA_ENVOY_BINARY") : "";
    ASSERT_FALSE(envoy_.empty()) << "KUMA_ENVOY_BINARY is not set";
    dir_ = makeTempDir("insights-api");
    cp_ = startCp({{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "none"}});
    ASSERT_NE(cp_, nullptr);
    const json resources = json::parse(readFile(testdata("insights_resources.json")));
    for (const auto& r : resources) {
      RawReply reply = call(cp_->apiPort(), "PUT", r["path"], r["body"].dump());
      ASSERT_TRUE(reply.status == 200 || reply.status == 201) << r["path"] << ": " << reply.raw;
      if (r["body"]["name"] == "web-1") {
        webYaml_ = r["body"].dump();  // JSON is YAML
      }
    }
    ASSERT_FALSE(webYaml_.empty());
  }
  void TearDown() override {
    if (dp_.process) {
      EXPECT_EQ(dp_.process->stop(SIGTERM, std::chrono::seconds(15)), 0) << dp_.process->output();
    }
  }

  std::string envoy_;
  std::string dir_;
  std::string webYaml_;
  std::unique_ptr<KumaCp> cp_;
  KumaDpProcess dp_;
};

TEST_F(InsightsApiTest, AnswerAsKumaWithAConnectedProxy) {
  // Before any proxy connects every Dataplane is offline.
  {
    json insight = json::parse(call(cp_->apiPort(), "GET", "/mesh-insights/default").raw);
    EXPECT_EQ(insight["dataplanes"]["offline"], 3) << insight.dump(1);
    EXPECT_FALSE(insight["dataplanes"].contains("online"));
  }
  dp_ = startKumaDp(*cp_, envoy_, dir_, "web-1", webYaml_);
  ASSERT_TRUE(dp_.process);
  // The insight follows within metrics.mesh.minResyncInterval (1s) of the connection.
  ASSERT_TRUE(eventually(
      [&] {
        json insight =
            json::parse(call(cp_->apiPort(), "GET", "/mesh-insights/default").raw, nullptr, false);
        return insight.is_object() && insight["dataplanes"].value("online", 0) == 1 &&
               insight["dpVersions"]["envoy"].size() == 2;
      },
      std::chrono::seconds(60)))
      << dp_.process->output();

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"insight_mesh_default", "/mesh-insights/default"},
      {"insight_mesh_empty", "/mesh-insights/empty"},
      {"insight_meshes", "/mesh-insights"},
      {"insight_meshes_page", "/mesh-insights?size=1"},
      {"insight_mesh_missing", "/mesh-insights/nope"},
      {"insight_services_default", "/meshes/default/service-insights"},
      {"insight_service_web", "/meshes/default/service-insights/web"},
      {"insight_service_unknown", "/meshes/default/service-insights/nope"},
      {"insight_services_missing_mesh", "/meshes/nope/service-insights"},
      {"global_insight", "/global-insight"},
  };
  for (const auto& [name, path] : cases) {
    SCOPED_TRACE(name + " " + path);
    json expected = json::parse(readFile(testdata(name + ".json")));
    const int expectedStatus = expected.contains("status") && expected["status"].is_number()
                                   ? expected["status"].get<int>()
                                   : 200;
    RawReply reply = call(cp_->apiPort(), "GET", path);
    EXPECT_EQ(reply.status, expectedStatus) << reply.raw;
    json ours = json::parse(reply.raw, nullptr, false);
    ASSERT_FALSE(ours.is_discarded()) << reply.raw;
    for (json* body : {&ours, &expected}) {
      if (body->contains("next") && (*body)["next"].is_string()) {
        std::string link = (*body)["next"];
        (*body)["next"] = link.substr(link.find('/', std::string("http://").size()));
      }
    }
    dropTimes(ours);
    dropTimes(expected);
    EXPECT_EQ(ours, expected) << "kuma-cpp:\n" << ours.dump(1) << "\nKuma:\n" << expected.dump(1);
  }
}

}  // namespace
}  // namespace kuma::test
