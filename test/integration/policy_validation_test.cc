// End to end through the real kuma-cp binary: which `to[].targetRef` kinds each policy accepts
// under which top-level targetRef kind, with Kuma 2.14.3's answers
// (testdata/kuma-2.14.3-targetref-matrix.json: every PUT with the status and body Kuma gave for
// it, recorded on a fresh mesh). Kuma's validators decide the kinds per policy and per top-level
// kind (route-level MeshTimeout and MeshRetry, MeshLoadBalancingStrategy's loadBalancer rule,
// MeshFaultInjection and MeshRateLimit `to` only for gateways), so the whole matrix is compared.
// The legacy ProxyTemplate's validation too (testdata/kuma-2.14.3-proxytemplate-validation.json:
// selectors, profiles, raw resources, every modification kind and operation, Envoy values with
// Go durations and Anys), and the legacy VirtualOutbound's
// (testdata/kuma-2.14.3-virtualoutbound-validation.json: selectors, parameters, the host and port
// templates pre-evaluated, Go template errors, create then update, an unknown mesh).
#include <cstdlib>
#include <string>

#include "nlohmann/json.hpp"
#include "test/integration/kuma_cp_start.h"
#include "test/integration/recorded_answers.h"

namespace kuma::test {
namespace {

using nlohmann::json;

// Every recorded PUT of `env`'s file (path, body, Kuma's status and answer) into a fresh mesh;
// returns how many were refused.
size_t replayRecorded(const char* env, size_t atLeast) {
  const char* reference = std::getenv(env);
  EXPECT_NE(reference, nullptr) << env;
  if (reference == nullptr) {
    return 0;
  }
  const json cases = json::parse(readFile(reference));
  EXPECT_GE(cases.size(), atLeast);
  auto cp = startCp({});
  EXPECT_NE(cp, nullptr);
  if (cp == nullptr || cases.empty()) {
    return 0;
  }
  const std::string mesh = cases[0]["body"]["mesh"];
  const RawReply created = call(cp->apiPort(), "PUT", "/meshes/" + mesh,
                                json({{"type", "Mesh"}, {"name", mesh}}).dump());
  EXPECT_TRUE(created.status == 201 || created.status == 200) << created.raw;  // or the default
  size_t refused = 0;
  for (const json& c : cases) {
    const std::string path = c["path"];
    SCOPED_TRACE(path + " " + c["body"].dump());
    const RawReply reply = call(cp->apiPort(), "PUT", path, c["body"].dump());
    EXPECT_EQ(reply.status, c["status"].get<int>()) << reply.raw;
    const json ours = json::parse(reply.raw.empty() ? "{}" : reply.raw, nullptr, false);
    EXPECT_EQ(ours, c["answer"]) << reply.raw;
    refused += reply.status >= 400 ? 1 : 0;
  }
  return refused;
}

TEST(PolicyValidationTest, TargetRefKindsAsKuma) {
  EXPECT_GE(replayRecorded("KUMA_TARGETREF_MATRIX", 160), 90u);
}

TEST(PolicyValidationTest, ProxyTemplateAsKuma) {
  EXPECT_GE(replayRecorded("KUMA_PROXYTEMPLATE_CASES", 20), 14u);
}

TEST(PolicyValidationTest, VirtualOutboundAsKuma) {
  EXPECT_GE(replayRecorded("KUMA_VIRTUALOUTBOUND_CASES", 29), 20u);
}

}  // namespace
}  // namespace kuma::test
