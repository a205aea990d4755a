// The resource YAML examples of the Kuma 2.14 spec (../shared/spec/kuma-2.14.md §3.3, §3.4) apply
// unchanged through the real REST API, exactly as `kumactl apply -f` sends them.
#include <fstream>
#include <regex>
#include <sstream>

#include "source/common/json_yaml.h"
#include "test/integration/api_test_base.h"

namespace kuma::test {
namespace {

std::vector<std::string> yamlBlocks(const std::string& markdown) {
  std::vector<std::string> out;
  std::istringstream in(markdown);
  std::string line;
  std::string current;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "```yaml") {
      inside = true;
      current.clear();
    } else if (inside && line == "```") {
      inside = false;
      out.push_back(current);
    } else if (inside) {
      current += line + "\n";
    }
  }
  return out;
}

class SpecExamplesTest : public ApiTest {};

TEST_F(SpecExamplesTest, DataplaneAndMeshExamplesApplyUnchanged) {
  const char* specPath = std::getenv("KUMA_SPEC_FILE");
  ASSERT_NE(specPath, nullptr);
  std::ifstream file(specPath);
  ASSERT_TRUE(file.good()) << specPath;
  std::stringstream ss;
  ss << file.rdbuf();
  int applied = 0;
  for (const std::string& yaml : yamlBlocks(ss.str())) {
    // Only resource examples (other blocks are Envoy bootstraps, config snippets, ...).
    if (yaml.rfind("type: Dataplane\n", 0) != 0 && yaml.rfind("type: Mesh\n", 0) != 0) {
      continue;
    }
    auto parsed = common::parseYaml(yaml);
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << yaml;
    if (!parsed->is_object() || !parsed->contains("type")) {
      continue;
    }
    const std::string type = (*parsed)["type"];
    const std::string name = (*parsed)["name"];
    std::string path;
    if (type == "Mesh") {
      path = "/meshes/" + name;
    } else if (type == "Dataplane") {
      path = "/meshes/" + (*parsed)["mesh"].get<std::string>() + "/dataplanes/" + name;
    } else {
      continue;
    }
    // kumactl sends JSON; YAML bodies are accepted too: apply each example both ways.
    HttpReply r = call("PUT", path, yaml, {}, "application/yaml");
    EXPECT_EQ(r.status, 201) << path << "\n" << r.raw << "\n" << yaml;
    HttpReply again = put(path, *parsed);
    EXPECT_EQ(again.status, 200) << path << "\n" << again.raw;
    HttpReply got = get(path);
    ASSERT_EQ(got.status, 200) << path;
    EXPECT_EQ(got.body["name"], name);
    if (type == "Dataplane") {
      EXPECT_EQ(got.body["networking"]["address"], (*parsed)["networking"]["address"]);
    }
    ++applied;
  }
  // §3.3 has three Dataplane examples and §3.4 one Mesh example.
  EXPECT_GE(applied, 4);
}

}  // namespace
}  // namespace kuma::test
