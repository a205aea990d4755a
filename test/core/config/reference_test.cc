// Checks the field table against Kuma 2.14's own kuma-cp.defaults.yaml (read at test time from
// the reference tree): every compiled-in default, every env var name, and coverage of the keys.

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "source/common/go_duration.h"
#include "source/common/json_yaml.h"
#include "source/core/config/fields.h"
#include "source/core/config/loader.h"

namespace kuma::config {
namespace {

std::string referencePath() {
  if (const char* dir = std::getenv("KUMA_SOURCE_DIR"); dir != nullptr) {
    std::string p = std::string(dir) + "/../shared/reference/kuma-2.14/raw/kuma-cp.yaml";
    if (std::ifstream(p).good()) {
      return p;
    }
  }
  return KUMA_REFERENCE_CP_YAML;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string lower(std::string s) {
  return absl::AsciiStrToLower(s);
}

// The `# ENV: NAME` comment of every key line, by lower-cased dotted path. Kuma's file is not
// uniform ("# ENV : X", "# ENV X", a lower-case name), so the match is lenient; envconfig
// upper-cases tags, so names are upper-cased.
std::map<std::string, std::string> envComments(const std::string& text) {
  static const std::regex kKeyLine(R"(^(\s*)([^\s#:-][^:]*):(\s.*|$))");
  static const std::regex kEnv(R"(#\s*ENV\s*:?\s*([A-Za-z0-9_]+))");
  std::map<std::string, std::string> out;
  std::vector<std::pair<size_t, std::string>> stack;  // (indent, key)
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    const std::string line(raw);
    std::smatch m;
    if (!std::regex_match(line, m, kKeyLine)) {
      continue;
    }
    const size_t indent = m[1].length();
    while (!stack.empty() && stack.back().first >= indent) {
      stack.pop_back();
    }
    stack.emplace_back(indent, m[2].str());
    std::vector<std::string> keys;
    for (const auto& [i, k] : stack) {
      keys.push_back(k);
    }
    const std::string rest = m[3].str();
    std::smatch e;
    if (std::regex_search(rest, e, kEnv)) {
      out[lower(absl::StrJoin(keys, "."))] = absl::AsciiStrToUpper(e[1].str());
    }
  }
  return out;
}

// Case-insensitive lookup of a dotted path in the reference document.
const nlohmann::json* lookup(const nlohmann::json& doc, const std::string& path) {
  const nlohmann::json* node = &doc;
  for (absl::string_view segment : absl::StrSplit(path, '.')) {
    if (!node->is_object()) {
      return nullptr;
    }
    const nlohmann::json* next = nullptr;
    for (const auto& [k, v] : node->items()) {
      if (absl::EqualsIgnoreCase(k, segment)) {
        next = &v;
        break;
      }
    }
    if (next == nullptr) {
      return nullptr;
    }
    node = next;
  }
  return node;
}

// The reference value in the shape FieldDescriptor::toJson() produces.
nlohmann::json normalize(const FieldDescriptor& f, const nlohmann::json& v) {
  switch (f.kind) {
    case FieldKind::String:
      if (v.is_null()) {
        return "";
      }
      return v.is_string() ? v : nlohmann::json(v.dump());
    case FieldKind::Duration: {
      auto d = v.is_string() ? common::parseGoDuration(v.get<std::string>())
                             : absl::StatusOr<Duration>(Duration(v.get<int64_t>()));
      EXPECT_TRUE(d.ok()) << f.path << ": " << v.dump();
      return d.ok() ? nlohmann::json(d->count()) : nlohmann::json();
    }
    case FieldKind::StringList:
    case FieldKind::PortList:
    case FieldKind::PublicKeys: {
      if (v.is_null()) {
        return nlohmann::json::array();
      }
      if (f.kind != FieldKind::StringList) {
        return v;
      }
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : v) {
        out.push_back(item.is_string() ? item : nlohmann::json(item.dump()));
      }
      return out;
    }
    case FieldKind::StringMap:
      return v.is_null() ? nlohmann::json::object() : v;
    default:
      return v;
  }
}

nlohmann::json actualValue(const FieldDescriptor& f, const KumaCpConfig& cfg) {
  nlohmann::json v = nlohmann::json::parse(f.toJson(cfg).dump());
  if (f.kind == FieldKind::Duration) {
    auto d = common::parseGoDuration(v.get<std::string>());
    EXPECT_TRUE(d.ok()) << f.path;
    return d.ok() ? nlohmann::json(d->count()) : nlohmann::json();
  }
  return v;
}

// Collects the reference's leaves that no table entry covers.
void collectLeaves(const nlohmann::json& node, const std::string& prefix,
                   std::vector<std::string>& leaves) {
  for (const auto& [k, v] : node.items()) {
    const std::string path = prefix.empty() ? k : prefix + "." + k;
    bool covered = false;
    for (const FieldDescriptor& f : configFields()) {
      if (absl::EqualsIgnoreCase(f.path, path)) {
        covered = true;
        break;
      }
    }
    if (covered) {
      leaves.push_back("+" + path);
    } else if (v.is_object() && !v.empty()) {
      collectLeaves(v, path, leaves);
    } else {
      leaves.push_back("-" + path);
    }
  }
}

class ReferenceConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    text_ = readFile(referencePath());
    ASSERT_FALSE(text_.empty()) << "cannot read " << referencePath();
    auto doc = common::parseYaml(text_);
    ASSERT_TRUE(doc.ok()) << doc.status();
    doc_ = *doc;
    ASSERT_TRUE(doc_.is_object());
  }

  std::string text_;
  nlohmann::json doc_;
};

TEST_F(ReferenceConfigTest, EveryDefaultEqualsKumasDefault) {
  const KumaCpConfig defaults;
  int compared = 0;
  for (const FieldDescriptor& f : configFields()) {
    const nlohmann::json* ref = lookup(doc_, f.path);
    if (ref == nullptr) {
      continue;  // keys Kuma has but does not list in its defaults file
    }
    ++compared;
    EXPECT_EQ(actualValue(f, defaults), normalize(f, *ref)) << f.path;
  }
  EXPECT_GE(compared, 200);
}

TEST_F(ReferenceConfigTest, EnvNamesMatchKumasComments) {
  // The three places where the defaults file's comment is wrong (spec §2.2-2.5).
  const std::map<std::string, std::string> corrections = {
      {"store.postgres.tls.capath", "KUMA_STORE_POSTGRES_TLS_CA_PATH"},
      {"apiserver.https.tlscafile", "KUMA_API_SERVER_HTTPS_TLS_CA_FILE"},
      {"dnsserver.servicevipport", "KUMA_DNS_SERVER_SERVICE_VIP_PORT"},
  };
  const auto comments = envComments(text_);
  ASSERT_GE(comments.size(), 200u);
  int checked = 0;
  std::set<std::string> corrected;
  for (const FieldDescriptor& f : configFields()) {
    auto it = comments.find(lower(f.path));
    if (it == comments.end()) {
      continue;
    }
    ++checked;
    auto fix = corrections.find(lower(f.path));
    if (fix != corrections.end()) {
      EXPECT_NE(f.envVar, it->second) << f.path << ": the comment was expected to be wrong";
      EXPECT_EQ(f.envVar, fix->second) << f.path;
      corrected.insert(fix->first);
    } else {
      EXPECT_EQ(f.envVar, it->second) << f.path;
    }
  }
  EXPECT_EQ(corrected.size(), corrections.size());
  // Every commented key is in the table.
  for (const auto& [path, env] : comments) {
    bool found = false;
    for (const FieldDescriptor& f : configFields()) {
      found = found || lower(f.path) == path;
    }
    EXPECT_TRUE(found) << "reference key " << path << " (" << env << ") is not implemented";
  }
  EXPECT_GE(checked, 200);
}

TEST_F(ReferenceConfigTest, CoverageOfReferenceKeys) {
  std::vector<std::string> leaves;
  collectLeaves(doc_, "", leaves);
  std::vector<std::string> missing;
  int implemented = 0;
  for (const std::string& l : leaves) {
    if (l[0] == '+') {
      ++implemented;
    } else {
      missing.push_back(l.substr(1));
    }
  }
  std::cout << "reference keys implemented: " << implemented
            << ", not implemented: " << missing.size()
            << (missing.empty() ? "" : " (" + absl::StrJoin(missing, ", ") + ")") << "\n";
  EXPECT_GE(implemented, 200);
  EXPECT_TRUE(missing.empty()) << absl::StrJoin(missing, "\n");
}

TEST_F(ReferenceConfigTest, LoadingKumasDefaultsFileChangesNothing) {
  auto loaded = loadConfig(referencePath(), {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->warnings.empty()) << absl::StrJoin(loaded->warnings, "\n");
  const KumaCpConfig defaults;
  for (const FieldDescriptor& f : configFields()) {
    EXPECT_EQ(f.toJson(loaded->config), f.toJson(defaults)) << f.path;
  }
}

}  // namespace
}  // namespace kuma::config
