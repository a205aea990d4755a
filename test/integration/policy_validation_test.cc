// End to end through the real kuma-cp binary: which `to[].targetRef` kinds each policy accepts
// under which top-level targetRef kind, with Kuma 2.14.3's answers
// (testdata/kuma-2.14.3-targetref-matrix.json: every PUT with the status and body Kuma gave for
// it, recorded on a fresh mesh). Kuma's validators decide the kinds per policy and per top-level
// kind (route-level MeshTimeout and MeshRetry, MeshLoadBalancingStrategy's loadBalancer rule,
// MeshFaultInjection and MeshRateLimit `to` only for gateways), so the whole matrix is compared.
#include <cstdlib>
#include <string>

#include "nlohmann/json.hpp"
#include "test/integration/kuma_cp_start.h"
#include "test/integration/recorded_answers.h"

namespace kuma::test {
namespace {

using nlohmann::json;

TEST(PolicyValidationTest, TargetRefKindsAsKuma) {
  const char* reference = std::getenv("KUMA_TARGETREF_MATRIX");
  ASSERT_NE(reference, nullptr);
  const json cases = json::parse(readFile(reference));
  ASSERT_GE(cases.size(), 160u);
  auto cp = startCp({});
  ASSERT_NE(cp, nullptr);
  const std::string mesh = cases[0]["body"]["mesh"];
  const RawReply created = call(cp->apiPort(), "PUT", "/meshes/" + mesh,
                                json({{"type", "Mesh"}, {"name", mesh}}).dump());
  ASSERT_EQ(created.status, 201) << created.raw;
  size_t refused = 0;
  for (const json& c : cases) {
    const std::string path = c["path"];
    SCOPED_TRACE(path + " " + c["body"]["spec"].dump());
    const RawReply reply = call(cp->apiPort(), "PUT", path, c["body"].dump());
    EXPECT_EQ(reply.status, c["status"].get<int>()) << reply.raw;
    const json ours = json::parse(reply.raw.empty() ? "{}" : reply.raw, nullptr, false);
    EXPECT_EQ(ours, c["answer"]) << reply.raw;
    refused += reply.status >= 400 ? 1 : 0;
  }
  EXPECT_GE(refused, 90u);
}

}  // namespace
}  // namespace kuma::test
