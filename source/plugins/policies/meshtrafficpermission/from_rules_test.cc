// Kuma's "from rules" for MeshTrafficPermission (spec §3.7 step 4): tag subsets of the from[]
// targetRefs, grouping of intersecting subsets, negated combinations and merge order. Expected
// rules are derived by hand from the algorithm's description, not from the implementation.

#include "source/plugins/policies/meshtrafficpermission/xds/from_rules.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kuma::policies::mtp {
namespace {

using nlohmann::json;
using Tags = std::map<std::string, std::string>;

FromItem item(Subset subset, const std::string& action) {
  return {std::move(subset), json{{"action", action}}};
}

TargetRef ref(std::string kind, std::string name = "", Tags tags = {}) {
  TargetRef r;
  r.kind = std::move(kind);
  r.name = std::move(name);
  r.tags = std::move(tags);
  return r;
}

Tag pos(std::string k, std::string v) {
  return {std::move(k), std::move(v), false};
}
Tag neg(std::string k, std::string v) {
  return {std::move(k), std::move(v), true};
}

// "{subset}:action" per rule, in order.
std::vector<std::string> render(const std::vector<FromRule>& rules) {
  std::vector<std::string> out;
  for (const auto& r : rules) {
    out.push_back(toString(r.subset) + ":" + r.conf.value("action", std::string("?")));
  }
  return out;
}

TEST(MtpSubsetOf, TargetRefKinds) {
  EXPECT_EQ(subsetOf(ref("Mesh")), Subset{});
  EXPECT_EQ(subsetOf(ref("MeshService", "web")), (Subset{pos("kuma.io/service", "web")}));
  EXPECT_EQ(subsetOf(ref("MeshSubset", "", {{"version", "v1"}, {"kuma.io/zone", "east"}})),
            (Subset{pos("kuma.io/zone", "east"), pos("version", "v1")}));
  EXPECT_EQ(subsetOf(ref("MeshServiceSubset", "web", {{"version", "v2"}})),
            (Subset{pos("kuma.io/service", "web"), pos("version", "v2")}));
  EXPECT_FALSE(subsetOf(ref("MeshGateway", "gw")).has_value());
  EXPECT_FALSE(subsetOf(ref("Nonsense")).has_value());
}

TEST(MtpSubset, ContainsAndIntersects) {
  const Subset web{pos("kuma.io/service", "web")};
  const Subset notWeb{neg("kuma.io/service", "web")};
  const Subset api{pos("kuma.io/service", "api")};
  const Subset notApi{neg("kuma.io/service", "api")};
  EXPECT_TRUE(contains({}, web));  // the whole mesh contains everything
  EXPECT_TRUE(contains(web, web));
  EXPECT_FALSE(contains(web, notWeb));
  EXPECT_FALSE(contains(web, {}));      // {} has clients that are not web
  EXPECT_TRUE(contains(notApi, web));   // web clients are not api clients
  EXPECT_FALSE(contains(notWeb, web));  // web clients are web
  EXPECT_TRUE(contains(notWeb, notWeb));
  EXPECT_FALSE(contains(notWeb, notApi));
  EXPECT_FALSE(contains(Subset{pos("team", "a")}, web));  // key missing from the inner subset

  EXPECT_TRUE(intersects({}, web));
  EXPECT_FALSE(intersects(web, api));
  EXPECT_TRUE(intersects(web, Subset{pos("team", "a")}));
  EXPECT_FALSE(
      intersects(Subset{pos("team", "a")}, Subset{pos("team", "b"), pos("kuma.io/zone", "east")}));
  EXPECT_TRUE(intersects(web, notWeb));  // negations are ignored
}

TEST(MtpFromRules, EmptyInputGivesNoRules) {
  EXPECT_TRUE(buildFromRules({}, true).empty());
  EXPECT_TRUE(buildFromRules({}, false).empty());
}

TEST(MtpFromRules, MeshOnlyGivesOneCatchAllRule) {
  auto rules = buildFromRules({item({}, "Allow")}, true);
  EXPECT_EQ(render(rules), (std::vector<std::string>{"{}:Allow"}));
}

TEST(MtpFromRules, LaterItemWinsOnMerge) {
  // Two Mesh items: merged in order, the last one wins.
  auto rules = buildFromRules({item({}, "Allow"), item({}, "Deny")}, true);
  EXPECT_EQ(render(rules), (std::vector<std::string>{"{}:Deny"}));
}

TEST(MtpFromRules, ServiceExceptionProducesNegation) {
  // Mesh Allow + web Deny: web clients are denied, every other client allowed.
  auto rules =
      buildFromRules({item({}, "Allow"), item({pos("kuma.io/service", "web")}, "Deny")}, true);
  EXPECT_EQ(render(rules), (std::vector<std::string>{"{kuma.io/service=web}:Deny",
                                                     "{kuma.io/service!=web}:Allow"}));
}

TEST(MtpFromRules, ServiceAloneHasNoCatchAll) {
  // Only a web item: the negated combination has no item, so it yields no rule.
  auto rules = buildFromRules({item({pos("kuma.io/service", "web")}, "Allow")}, true);
  EXPECT_EQ(render(rules), (std::vector<std::string>{"{kuma.io/service=web}:Allow"}));
}

TEST(MtpFromRules, MultiTagSubsetEnumeratesEveryCombination) {
  auto rules = buildFromRules(
      {item({}, "Deny"), item({pos("team", "a"), pos("zone", "east")}, "Allow")}, true);
  // Combinations in counter order (team is bit 0): {!team,zone}, {team,!zone}, {!team,!zone},
  // then {team,zone}; stable-sorted by positive tags.
  EXPECT_EQ(render(rules), (std::vector<std::string>{
                               "{team=a, zone=east}:Allow",
                               "{team!=a, zone=east}:Deny",
                               "{team=a, zone!=east}:Deny",
                               "{team!=a, zone!=east}:Deny",
                           }));
}

TEST(MtpFromRules, CliquesVersusConnectedComponents) {
  // x=1 and x=2 never intersect; both intersect the Mesh item.
  const std::vector<FromItem> items = {item({}, "Allow"), item({pos("x", "1")}, "Deny"),
                                       item({pos("x", "2")}, "Deny")};
  // Maximal cliques {0,1} and {0,2}; group "0:2" sorts before "0:1" (descending).
  EXPECT_EQ(render(buildFromRules(items, true)),
            (std::vector<std::string>{"{x=2}:Deny", "{x=1}:Deny", "{x!=2}:Allow", "{x!=1}:Allow"}));
  // One component {0,1,2}: tags [x=1, x=2]; {x=1, x=2} is contradictory and skipped.
  EXPECT_EQ(render(buildFromRules(items, false)),
            (std::vector<std::string>{"{x=2}:Deny", "{x=1}:Deny", "{x!=1, x!=2}:Allow"}));
}

TEST(MtpFromRules, ConfsAreMergePatched) {
  std::vector<FromItem> items = {{{}, json{{"action", "Allow"}, {"extra", 1}}},
                                 {{}, json{{"action", "Deny"}}}};
  auto rules = buildFromRules(items, true);
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].conf, (json{{"action", "Deny"}, {"extra", 1}}));
}

TEST(MtpFromRules, DisjointGroupsKeepTheirOwnTags) {
  // web and api never intersect: two groups, each with its own negation.
  auto rules = buildFromRules({item({pos("kuma.io/service", "web")}, "Allow"),
                               item({pos("kuma.io/service", "api")}, "Deny")},
                              true);
  // Groups "1" then "0" (descending); each yields only its positive rule.
  EXPECT_EQ(render(rules), (std::vector<std::string>{"{kuma.io/service=api}:Deny",
                                                     "{kuma.io/service=web}:Allow"}));
}

}  // namespace
}  // namespace kuma::policies::mtp
