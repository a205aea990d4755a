// Every field of the table can be set through its environment variable, and the new value shows
// up at the field's path in toJson().

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/go_duration.h"
#include "source/core/config/fields.h"
#include "source/core/config/loader.h"

namespace kuma::config {
namespace {

using ::testing::HasSubstr;

const nlohmann::ordered_json* at(const nlohmann::ordered_json& root, const std::string& path) {
  const nlohmann::ordered_json* node = &root;
  for (absl::string_view segment : absl::StrSplit(path, '.')) {
    auto it = node->find(std::string(segment));
    if (it == node->end()) {
      return nullptr;
    }
    node = &*it;
  }
  return node;
}

// A valid value that differs from the default, as env text and as the expected JSON.
struct Sample {
  std::string env;
  nlohmann::ordered_json json;
};

Sample sampleFor(const FieldDescriptor& f, const KumaCpConfig& defaults, size_t i) {
  const nlohmann::ordered_json current = f.toJson(defaults);
  switch (f.kind) {
    case FieldKind::String: {
      const std::string v = absl::StrCat("value-", i, "-", absl::AsciiStrToLower(f.envVar));
      return {v, f.sensitive ? nlohmann::ordered_json(kSanitizedValue) : nlohmann::ordered_json(v)};
    }
    case FieldKind::Bool: {
      const bool v = !current.get<bool>();
      return {v ? "true" : "false", v};
    }
    case FieldKind::Integer: {
      const int64_t v = current.get<int64_t>() + 1;
      return {std::to_string(v), v};
    }
    case FieldKind::Duration: {
      const Duration d =
          *common::parseGoDuration(current.get<std::string>()) + Duration(1500000000);
      return {common::formatGoDuration(d), common::formatGoDuration(d)};
    }
    case FieldKind::StringList:
      return {absl::StrCat("a", i, ",b"),
              nlohmann::ordered_json::array({absl::StrCat("a", i), "b"})};
    case FieldKind::StringMap:
      return {"k1:v1,k2:v2", nlohmann::ordered_json{{"k1", "v1"}, {"k2", "v2"}}};
    case FieldKind::PortList:
      return {"1001,1002", nlohmann::ordered_json::array({1001, 1002})};
    case FieldKind::PublicKeys:
      break;
  }
  ADD_FAILURE() << f.path << " has an env var but no sample";
  return {};
}

TEST(ConfigFieldsTest, PathsAndEnvNamesAreUnique) {
  std::set<std::string> paths;
  std::set<std::string> envs;
  for (const FieldDescriptor& f : configFields()) {
    EXPECT_TRUE(paths.insert(absl::AsciiStrToLower(f.path)).second) << f.path;
    if (!f.envVar.empty()) {
      EXPECT_TRUE(envs.insert(f.envVar).second) << f.envVar;
      EXPECT_TRUE(absl::StartsWith(f.envVar, "KUMA_")) << f.envVar;
    } else {
      EXPECT_EQ(f.kind, FieldKind::PublicKeys) << f.path << " has no env var";
    }
  }
  EXPECT_GE(paths.size(), 250u);
  EXPECT_EQ(findField("xdsServer.nackBackoff")->envVar, "KUMA_XDS_SERVER_NACK_BACKOFF");
  EXPECT_EQ(findField("xdsServer.NACKBACKOFF"), nullptr);
}

TEST(ConfigEnvTest, EveryFieldIsSettableThroughItsEnvVar) {
  const KumaCpConfig defaults;
  const nlohmann::ordered_json before = toJson(defaults);
  Environment env;
  std::map<std::string, nlohmann::ordered_json> expected;
  size_t i = 0;
  for (const FieldDescriptor& f : configFields()) {
    if (f.envVar.empty()) {
      continue;
    }
    Sample s = sampleFor(f, defaults, i++);
    env[f.envVar] = s.env;
    expected[f.path] = s.json;
  }
  KumaCpConfig cfg;
  std::vector<std::string> warnings;
  ASSERT_TRUE(applyEnvironment(cfg, env, warnings).ok());
  EXPECT_TRUE(warnings.empty());
  const nlohmann::ordered_json after = toJson(cfg);
  for (const auto& [path, value] : expected) {
    const nlohmann::ordered_json* got = at(after, path);
    ASSERT_NE(got, nullptr) << path;
    EXPECT_EQ(*got, value) << path;
    const FieldDescriptor* f = findField(path);
    if (!f->sensitive) {
      EXPECT_NE(*got, *at(before, path)) << path << " did not change";
    }
  }
  EXPECT_GE(expected.size(), 250u);
}

TEST(ConfigEnvTest, GoParseBoolForms) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    KumaCpConfig cfg;
    std::vector<std::string> w;
    ASSERT_TRUE(applyEnvironment(cfg, {{"KUMA_API_SERVER_READ_ONLY", t}}, w).ok()) << t;
    EXPECT_TRUE(cfg.apiServer.readOnly) << t;
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    KumaCpConfig cfg;
    std::vector<std::string> w;
    ASSERT_TRUE(applyEnvironment(cfg, {{"KUMA_API_SERVER_HTTP_ENABLED", f}}, w).ok()) << f;
    EXPECT_FALSE(cfg.apiServer.http.enabled) << f;
  }
  for (const char* bad : {"yes", "on", "", "tRUE", "2"}) {
    KumaCpConfig cfg;
    std::vector<std::string> w;
    const absl::Status s = applyEnvironment(cfg, {{"KUMA_API_SERVER_READ_ONLY", bad}}, w);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()),
                HasSubstr(absl::StrCat("invalid value \"", bad,
                                       "\" for apiServer.readOnly (KUMA_API_SERVER_READ_ONLY): "
                                       "strconv.ParseBool: parsing \"",
                                       bad, "\": invalid syntax")));
  }
}

TEST(ConfigEnvTest, IntegersFollowParseIntBaseZero) {
  KumaCpConfig cfg;
  std::vector<std::string> w;
  ASSERT_TRUE(applyEnvironment(cfg,
                               {{"KUMA_DP_SERVER_PORT", "0x1000"},
                                {"KUMA_STORE_POSTGRES_MIN_OPEN_CONNECTIONS", "-3"},
                                {"KUMA_EVENT_BUS_BUFFER_SIZE", "0o17"},
                                {"KUMA_STORE_POSTGRES_PORT", "010"}},
                               w)
                  .ok());
  EXPECT_EQ(cfg.dpServer.port, 4096u);
  EXPECT_EQ(cfg.store.postgres.minOpenConnections, -3);
  EXPECT_EQ(cfg.eventBus.bufferSize, 15u);
  EXPECT_EQ(cfg.store.postgres.port, 8);

  for (const auto& [var, value, message] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"KUMA_DP_SERVER_PORT", "abc", "strconv.ParseUint: parsing \"abc\": invalid syntax"},
           {"KUMA_DP_SERVER_PORT", "-1", "strconv.ParseUint: parsing \"-1\": invalid syntax"},
           {"KUMA_DP_SERVER_PORT", "", "invalid syntax"},
           {"KUMA_DP_SERVER_PORT", "99999999999", "value out of range"},
           {"KUMA_STORE_POSTGRES_PORT", "1.5", "strconv.ParseInt: parsing \"1.5\": invalid syntax"},
           {"KUMA_STORE_POSTGRES_PORT", "0x", "invalid syntax"},
       }) {
    KumaCpConfig c;
    const absl::Status s = applyEnvironment(c, {{var, value}}, w);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << var << "=" << value;
    EXPECT_THAT(std::string(s.message()), HasSubstr(var)) << value;
    EXPECT_THAT(std::string(s.message()), HasSubstr(message)) << value;
  }
}

TEST(ConfigEnvTest, ListsAndMaps) {
  KumaCpConfig cfg;
  std::vector<std::string> w;
  ASSERT_TRUE(applyEnvironment(
                  cfg,
                  {{"KUMA_API_SERVER_CORS_ALLOWED_DOMAINS", "a.com, b.com"},
                   {"KUMA_PLUGIN_POLICIES_ENABLED", ""},
                   {"KUMA_RUNTIME_KUBERNETES_EXCEPTIONS_LABELS", "app:x,tier:*"},
                   {"KUMA_RUNTIME_KUBERNETES_SIDECAR_TRAFFIC_EXCLUDE_INBOUND_PORTS", "80,0x1bb"}},
                  w)
                  .ok());
  // Elements are not trimmed (envconfig).
  EXPECT_EQ(cfg.apiServer.corsAllowedDomains, (StringList{"a.com", " b.com"}));
  EXPECT_TRUE(cfg.policies.pluginPoliciesEnabled.empty());
  EXPECT_EQ(cfg.runtime.kubernetes.injector.exceptions.labels,
            (StringMap{{"app", "x"}, {"tier", "*"}}));
  EXPECT_EQ(cfg.runtime.kubernetes.injector.sidecarTraffic.excludeInboundPorts,
            (PortList{80, 443}));

  KumaCpConfig bad;
  const absl::Status s =
      applyEnvironment(bad, {{"KUMA_RUNTIME_KUBERNETES_EXCEPTIONS_LABELS", "a:b,c"}}, w);
  EXPECT_THAT(std::string(s.message()), HasSubstr("invalid map item: \"c\""));
  const absl::Status s2 = applyEnvironment(
      bad, {{"KUMA_RUNTIME_KUBERNETES_SIDECAR_TRAFFIC_EXCLUDE_INBOUND_PORTS", "80,x"}}, w);
  EXPECT_THAT(std::string(s2.message()),
              HasSubstr("runtime.kubernetes.injector.sidecarTraffic.excludeInboundPorts"));
}

TEST(ConfigEnvTest, InvalidDurationNamesKeyVarAndValue) {
  KumaCpConfig cfg;
  std::vector<std::string> w;
  const absl::Status s =
      applyEnvironment(cfg,
                       {{"KUMA_XDS_SERVER_DATAPLANE_CONFIGURATION_REFRESH_INTERVAL", "abc"},
                        {"KUMA_DP_SERVER_HDS_INTERVAL", "5"}},
                       w);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("invalid value \"abc\" for xdsServer.dataplaneConfigurationRefreshInterval "
                        "(KUMA_XDS_SERVER_DATAPLANE_CONFIGURATION_REFRESH_INTERVAL): time: invalid "
                        "duration \"abc\""));
  // Every bad variable is reported, not only the first.
  EXPECT_THAT(std::string(s.message()), HasSubstr("KUMA_DP_SERVER_HDS_INTERVAL"));
}

TEST(ConfigEnvTest, UnknownVariablesAreIgnoredAndDeprecatedOnesWarn) {
  KumaCpConfig cfg;
  std::vector<std::string> w;
  ASSERT_TRUE(applyEnvironment(cfg,
                               {{"KUMA_NOT_A_SETTING", "x"},
                                {"kuma_dp_server_port", "1"},
                                {"KUMA_METRICS_MESH_MIN_RESYNC_TIMEOUT", "1s"}},
                               w)
                  .ok());
  EXPECT_EQ(cfg.dpServer.port, 5678u);  // lookup is case-sensitive on the upper-cased name
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("KUMA_METRICS_MESH_MIN_RESYNC_TIMEOUT is deprecated"));
}

}  // namespace
}  // namespace kuma::config
