// The generated CRDs (`kuma-cp install crds`) against Kuma 2.14's own CRD files
// ($KUMA_CRDS_REFERENCE_DIR, ../shared/reference/kuma-2.14/raw/crds): names, group, versions,
// scope, categories, short names, printer columns, the schema's top-level properties, which
// specs are kept whole, and for the policies the whole spec schema apart from the differences
// docs/kubernetes.md lists.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "source/common/json_yaml.h"
#include "source/plugins/k8s/crds.h"
#include "source/server/all_types.h"

namespace kuma::k8s {
namespace {

std::map<std::string, nlohmann::json> referenceByKind() {
  std::map<std::string, nlohmann::json> out;
  const char* dir = std::getenv("KUMA_CRDS_REFERENCE_DIR");
  if (dir == nullptr) {
    return out;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") {
      continue;
    }
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto doc = common::parseYaml(text.str());
    if (doc.ok() && doc->is_object() && doc->value("kind", "") == "CustomResourceDefinition") {
      out[(*doc)["spec"]["names"]["kind"].get<std::string>()] = *doc;
    }
  }
  return out;
}

std::map<std::string, nlohmann::json> generatedByKind() {
  std::map<std::string, nlohmann::json> out;
  for (const nlohmann::ordered_json& crd : generateCrds(server::allTypes())) {
    out[crd["spec"]["names"]["kind"].get<std::string>()] = nlohmann::json::parse(crd.dump());
  }
  return out;
}

std::set<std::string> keysOf(const nlohmann::json& object) {
  std::set<std::string> keys;
  if (object.is_object()) {
    for (const auto& [key, value] : object.items()) {
      keys.insert(key);
    }
  }
  return keys;
}

const nlohmann::json& schemaOf(const nlohmann::json& crd) {
  return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
}

/** A schema without what the generator has no source for: descriptions and examples. */
nlohmann::json structural(const nlohmann::json& schema) {
  if (schema.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : schema.items()) {
      if (key == "description" || key == "example") {
        continue;
      }
      out[key] = key == "properties" ? nlohmann::json::object() : structural(value);
      if (key == "properties") {
        for (const auto& [name, property] : value.items()) {
          out[key][name] = structural(property);
        }
      }
    }
    return out;
  }
  if (schema.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : schema) {
      out.push_back(structural(item));
    }
    return out;
  }
  return schema;
}

/** Every path where two structural schemas differ ("spec.to[].default.x: type"), sorted. */
void diffSchemas(const nlohmann::json& ours, const nlohmann::json& theirs, const std::string& path,
                 std::vector<std::string>& out) {
  if (ours.is_object() && theirs.is_object()) {
    std::set<std::string> keys = keysOf(ours);
    for (const auto& key : keysOf(theirs)) {
      keys.insert(key);
    }
    for (const std::string& key : keys) {
      const bool inOurs = ours.contains(key);
      const bool inTheirs = theirs.contains(key);
      if (key == "properties" && inOurs && inTheirs) {
        std::set<std::string> names = keysOf(ours[key]);
        for (const auto& name : keysOf(theirs[key])) {
          names.insert(name);
        }
        for (const std::string& name : names) {
          const std::string sub = path + "." + name;
          if (!ours[key].contains(name)) {
            out.push_back(sub + ": only in Kuma");
          } else if (!theirs[key].contains(name)) {
            out.push_back(sub + ": only in kuma-cpp");
          } else {
            diffSchemas(ours[key][name], theirs[key][name], sub, out);
          }
        }
      } else if (key == "items" && inOurs && inTheirs) {
        diffSchemas(ours[key], theirs[key], path + "[]", out);
      } else if (key == "additionalProperties" && inOurs && inTheirs) {
        diffSchemas(ours[key], theirs[key], path + "{}", out);
      } else if (!inOurs || !inTheirs || ours[key] != theirs[key]) {
        out.push_back(path + ": " + key);
      }
    }
    return;
  }
  if (ours != theirs) {
    out.push_back(path + ": value");
  }
}

class CrdsReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reference_ = referenceByKind();
    ASSERT_GE(reference_.size(), 50u) << "Kuma's CRDs not found in $KUMA_CRDS_REFERENCE_DIR";
    generated_ = generatedByKind();
    ASSERT_FALSE(generated_.empty());
  }
  std::map<std::string, nlohmann::json> reference_;
  std::map<std::string, nlohmann::json> generated_;
};

TEST_F(CrdsReferenceTest, EveryGeneratedCrdIsOneOfKumas) {
  for (const auto& [kind, crd] : generated_) {
    EXPECT_EQ(reference_.count(kind), 1u) << kind << " has no CRD in Kuma 2.14";
  }
}

TEST_F(CrdsReferenceTest, NamesGroupScopeAndVersionsAsKuma) {
  for (const auto& [kind, ours] : generated_) {
    if (reference_.count(kind) == 0) {
      continue;
    }
    const nlohmann::json& theirs = reference_.at(kind);
    SCOPED_TRACE(kind);
    EXPECT_EQ(ours["apiVersion"], theirs["apiVersion"]);
    EXPECT_EQ(ours["metadata"]["name"], theirs["metadata"]["name"]);
    EXPECT_EQ(ours["spec"]["group"], theirs["spec"]["group"]);
    EXPECT_EQ(ours["spec"]["scope"], theirs["spec"]["scope"]);
    EXPECT_EQ(ours["spec"]["names"], theirs["spec"]["names"]);
    ASSERT_EQ(ours["spec"]["versions"].size(), theirs["spec"]["versions"].size());
    for (size_t i = 0; i < ours["spec"]["versions"].size(); ++i) {
      const nlohmann::json& v = ours["spec"]["versions"][i];
      const nlohmann::json& r = theirs["spec"]["versions"][i];
      EXPECT_EQ(v["name"], r["name"]);
      EXPECT_EQ(v["served"], r["served"]);
      EXPECT_EQ(v["storage"], r["storage"]);
      EXPECT_EQ(v.value("subresources", nlohmann::json()),
                r.value("subresources", nlohmann::json()));
      EXPECT_EQ(v.value("additionalPrinterColumns", nlohmann::json::array()),
                r.value("additionalPrinterColumns", nlohmann::json::array()));
    }
  }
}

TEST_F(CrdsReferenceTest, TopLevelSchemaAsKuma) {
  for (const auto& [kind, ours] : generated_) {
    if (reference_.count(kind) == 0) {
      continue;
    }
    SCOPED_TRACE(kind);
    const nlohmann::json& a = schemaOf(ours);
    const nlohmann::json& b = schemaOf(reference_.at(kind));
    EXPECT_EQ(a["type"], b["type"]);
    EXPECT_EQ(keysOf(a["properties"]), keysOf(b["properties"]));
    for (const char* member : {"spec", "status"}) {
      if (!a["properties"].contains(member) || !b["properties"].contains(member)) {
        continue;
      }
      const nlohmann::json& x = a["properties"][member];
      const nlohmann::json& y = b["properties"][member];
      EXPECT_EQ(x.value("x-kubernetes-preserve-unknown-fields", false),
                y.value("x-kubernetes-preserve-unknown-fields", false))
          << member;
      EXPECT_EQ(keysOf(x.value("properties", nlohmann::json::object())),
                keysOf(y.value("properties", nlohmann::json::object())))
          << member;
      EXPECT_EQ(x.value("required", nlohmann::json()), y.value("required", nlohmann::json()))
          << member;
    }
  }
}

TEST_F(CrdsReferenceTest, StatusSchemaAsKuma) {
  for (const auto& [kind, ours] : generated_) {
    if (reference_.count(kind) == 0 || !schemaOf(ours)["properties"].contains("status")) {
      continue;
    }
    SCOPED_TRACE(kind);
    if (!schemaOf(reference_.at(kind))["properties"].contains("status")) {
      ADD_FAILURE() << "a status where Kuma's CRD has none";
      continue;
    }
    EXPECT_EQ(structural(schemaOf(ours)["properties"]["status"]),
              structural(schemaOf(reference_.at(kind))["properties"]["status"]));
  }
}

// The whole spec schema of every policy, apart from what docs/kubernetes.md lists as the known
// differences (kept here, so that a new difference, or one that went away, fails the test).
TEST_F(CrdsReferenceTest, PolicySpecSchemasAsKuma) {
  const std::set<std::string> known = {
#include "test/plugins/k8s/crds_known_differences.inc"
  };
  std::set<std::string> found;
  for (const auto& [kind, ours] : generated_) {
    // (DataplaneInsight's CRD has a `status` and no `spec`.)
    if (reference_.count(kind) == 0 || !schemaOf(ours)["properties"].contains("spec") ||
        !schemaOf(ours)["properties"]["spec"].contains("properties")) {
      continue;
    }
    std::vector<std::string> diffs;
    diffSchemas(structural(schemaOf(ours)["properties"]["spec"]),
                structural(schemaOf(reference_.at(kind))["properties"]["spec"]), kind + ".spec",
                diffs);
    found.insert(diffs.begin(), diffs.end());
  }
  std::vector<std::string> unexpected;
  std::vector<std::string> gone;
  for (const std::string& d : found) {
    if (known.count(d) == 0) {
      unexpected.push_back(d);
    }
  }
  for (const std::string& d : known) {
    if (found.count(d) == 0) {
      gone.push_back(d);
    }
  }
  std::string report;
  for (const std::string& d : unexpected) {
    report += "  \"" + d + "\",\n";
  }
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " new differences:\n" << report;
  std::string goneReport;
  for (const std::string& d : gone) {
    goneReport += "  " + d + "\n";
  }
  EXPECT_TRUE(gone.empty()) << "known differences that are gone (remove them):\n" << goneReport;
}

}  // namespace
}  // namespace kuma::k8s
