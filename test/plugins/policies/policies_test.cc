// Tests for the Mesh* policy types: fixture-driven validation (every policy has valid and
// invalid fixtures under testdata/<policy>/, invalid ones carry the exact expected violations
// in <name>.violations.yaml), JSON/YAML round trips, the §10 default policies and registration.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "source/common/json_yaml.h"
#include "source/core/model/registry.h"
#include "source/core/validators/validation_error.h"
#include "source/plugins/policies/core/schema_spec.h"
#include "source/plugins/policies/core/target_ref.h"
#include "source/plugins/policies/register.h"

namespace kuma::policies {
namespace {

namespace fs = std::filesystem;
using validators::ValidationError;
using validators::Violation;

// Each policy folder keeps its fixtures: source/plugins/policies/<policy>/testdata.
fs::path policiesDir() {
  const char* root = std::getenv("KUMA_SOURCE_DIR");
  fs::path base = root != nullptr ? fs::path(root) : fs::current_path();
  return base / "source/plugins/policies";
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const model::TypeRegistry& registry() {
  static const model::TypeRegistry* r = [] {
    auto* reg = new model::TypeRegistry();
    registerPolicies(*reg);
    return reg;
  }();
  return *r;
}

struct Outcome {
  bool parsed = false;
  std::vector<Violation> violations;
  model::SpecConstSharedPtr spec;
};

// Runs the REST input pipeline: parse (schema) then, when that succeeds, the validator.
Outcome run(const nlohmann::json& object) {
  Outcome out;
  const model::ResourceTypeDescriptor* d = registry().byName(object.value("type", ""));
  EXPECT_NE(d, nullptr) << "unknown type in " << object.dump();
  if (d == nullptr) {
    return out;
  }
  auto spec = d->parseSpec(object);
  if (!spec.ok()) {
    auto verr = ValidationError::fromStatus(spec.status());
    EXPECT_TRUE(verr.has_value()) << "not a validation status: " << spec.status();
    if (verr) {
      out.violations = verr->violations();
    }
    return out;
  }
  out.parsed = true;
  out.spec = *spec;
  model::Resource resource;
  resource.descriptor = d;
  resource.meta.name = object.value("name", "");
  resource.meta.mesh = object.value("mesh", "");
  resource.spec = *spec;
  ValidationError errors;
  d->validate(resource, errors);
  out.violations = errors.violations();
  return out;
}

Outcome runYaml(const std::string& yaml) {
  auto json = common::parseYaml(yaml);
  EXPECT_TRUE(json.ok()) << json.status();
  return json.ok() ? run(*json) : Outcome{};
}

std::string describe(const std::vector<Violation>& violations) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : violations) {
    out.push_back({{"field", v.field}, {"message", v.message}});
  }
  return common::toYaml(out);
}

struct Fixture {
  std::string policy;
  fs::path path;
};

std::vector<Fixture> allFixtures() {
  std::vector<Fixture> out;
  for (const auto& folder : fs::directory_iterator(policiesDir())) {
    const std::string dir = folder.path().filename().string();
    fs::path p = folder.path() / "testdata";
    if (!fs::exists(p)) {
      continue;
    }
    for (const auto& entry : fs::directory_iterator(p)) {
      std::string name = entry.path().filename().string();
      if (entry.path().extension() == ".yaml" && name.find(".violations.") == std::string::npos) {
        out.push_back({dir, entry.path()});
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Fixture& a, const Fixture& b) { return a.path < b.path; });
  return out;
}

// The folder of every registered Mesh* policy type: its name in lower case.
std::vector<std::string> policyDirs() {
  std::vector<std::string> out;
  for (const model::ResourceTypeDescriptor* d : registry().all()) {
    if (d->isPolicy && d->name.rfind("Mesh", 0) == 0) {
      out.push_back(absl::AsciiStrToLower(d->name));
    }
  }
  return out;
}

TEST(PoliciesFixtures, EveryPolicyHasValidAndInvalidFixtures) {
  ASSERT_GE(policyDirs().size(), 11u);
  for (const auto& dir : policyDirs()) {
    int valid = 0;
    int invalid = 0;
    for (const auto& f : allFixtures()) {
      if (f.policy != dir) {
        continue;
      }
      std::string name = f.path.filename().string();
      valid += name.rfind("valid", 0) == 0;
      invalid += name.rfind("invalid", 0) == 0;
    }
    EXPECT_GE(valid, 1) << dir;
    EXPECT_GE(invalid, 1) << dir;
  }
}

TEST(PoliciesFixtures, ViolationsMatchExactly) {
  std::vector<Fixture> fixtures = allFixtures();
  ASSERT_GE(fixtures.size(), 22u) << "testdata not found under " << policiesDir();
  for (const auto& f : fixtures) {
    SCOPED_TRACE(f.path.string());
    auto object = common::parseYaml(readFile(f.path));
    ASSERT_TRUE(object.ok()) << object.status();
    Outcome outcome = run(*object);
    std::string name = f.path.filename().string();
    if (name.rfind("valid", 0) == 0) {
      EXPECT_TRUE(outcome.parsed);
      EXPECT_TRUE(outcome.violations.empty()) << describe(outcome.violations);
      continue;
    }
    fs::path expectedPath = f.path;
    expectedPath.replace_extension(".violations.yaml");
    if (!fs::exists(expectedPath)) {
      ADD_FAILURE() << "missing " << expectedPath << "; actual:\n" << describe(outcome.violations);
      continue;
    }
    auto expected = common::parseYaml(readFile(expectedPath));
    ASSERT_TRUE(expected.ok()) << expected.status();
    std::vector<Violation> want;
    for (const auto& v : *expected) {
      want.push_back({v.at("field").get<std::string>(), v.at("message").get<std::string>()});
    }
    EXPECT_FALSE(want.empty());
    EXPECT_EQ(outcome.violations, want) << "actual:\n" << describe(outcome.violations);
    // Schema-level fixtures are rejected by the parser, semantic ones by the validator.
    EXPECT_EQ(outcome.parsed, name.rfind("invalid-schema", 0) != 0);
  }
}

TEST(PoliciesFixtures, ValidFixturesRoundTripThroughJsonAndYaml) {
  for (const auto& f : allFixtures()) {
    if (f.path.filename().string().rfind("valid", 0) != 0) {
      continue;
    }
    SCOPED_TRACE(f.path.string());
    Outcome first = runYaml(readFile(f.path));
    ASSERT_TRUE(first.parsed);
    auto object = common::parseYaml(readFile(f.path));
    ASSERT_TRUE(object.ok());
    // JSON: re-parse our own output.
    nlohmann::json again = nlohmann::json::parse(first.spec->toJson().dump());
    again["type"] = (*object)["type"];
    Outcome second = run(again);
    ASSERT_TRUE(second.parsed);
    EXPECT_TRUE(second.violations.empty());
    EXPECT_TRUE(first.spec->equals(*second.spec));
    EXPECT_EQ(first.spec->toJson().dump(), second.spec->toJson().dump());
    // YAML: emit and re-read.
    auto yaml = common::parseYaml(common::toYaml(first.spec->toJson()));
    ASSERT_TRUE(yaml.ok()) << yaml.status();
    (*yaml)["type"] = (*object)["type"];
    Outcome third = run(*yaml);
    ASSERT_TRUE(third.parsed);
    EXPECT_TRUE(first.spec->equals(*third.spec));
  }
}

TEST(SchemaSpec, NormalizesDurationsDropsUnknownFieldsAndNulls) {
  Outcome o = runYaml(R"(
type: MeshTimeout
mesh: default
name: t
kri: ignored
spec:
  unknownTop: 1
  targetRef:
    kind: Mesh
    extra: x
  to:
    - targetRef:
        kind: Mesh
      default:
        idleTimeout: 2h
        connectionTimeout: 90s
        http:
          requestTimeout: 1.5s
          streamIdleTimeout: null
          maxStreamDuration: 0s
status:
  whatever: true
)");
  ASSERT_TRUE(o.parsed);
  EXPECT_TRUE(o.violations.empty()) << describe(o.violations);
  nlohmann::ordered_json j = o.spec->toJson();
  EXPECT_EQ(j.dump(), R"({"spec":{"targetRef":{"kind":"Mesh"},"to":[{"targetRef":{"kind":"Mesh"},)"
                      R"("default":{"connectionTimeout":"1m30s","idleTimeout":"2h0m0s","http":)"
                      R"({"requestTimeout":"1.5s","maxStreamDuration":"0s"}}}]}})");
  const auto* spec = dynamic_cast<const SchemaSpec*>(o.spec.get());
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->spec()["to"][0]["default"]["idleTimeout"], "2h0m0s");
}

TEST(SchemaSpec, MissingSpecIsEmptyAndNonObjectSpecIsAViolation) {
  const auto* d = registry().byName("MeshTimeout");
  ASSERT_NE(d, nullptr);
  auto empty = d->parseSpec(nlohmann::json{{"type", "MeshTimeout"}, {"name", "x"}});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->toJson().dump(), R"({"spec":{}})");
  EXPECT_TRUE((*empty)->equals(*d->emptySpec()));

  auto bad = d->parseSpec(nlohmann::json{{"type", "MeshTimeout"}, {"spec", "nope"}});
  ASSERT_FALSE(bad.ok());
  auto verr = ValidationError::fromStatus(bad.status());
  ASSERT_TRUE(verr.has_value());
  EXPECT_EQ(verr->violations(),
            (std::vector<Violation>{{"", "spec in body must be of type object: \"string\""}}));

  EXPECT_FALSE(d->parseSpec(nlohmann::json::array()).ok());
}

TEST(SchemaSpec, AppliesSchemaDefaults) {
  Outcome o = runYaml(R"(
type: MeshHTTPRoute
mesh: default
name: r
spec:
  to:
    - targetRef: {kind: MeshService, name: b}
      rules:
        - matches:
            - headers:
                - name: x-a
                  value: b
          default:
            filters:
              - type: RequestRedirect
                requestRedirect:
                  scheme: https
            backendRefs:
              - kind: MeshService
                name: b
)");
  ASSERT_TRUE(o.parsed);
  EXPECT_TRUE(o.violations.empty()) << describe(o.violations);
  const auto& spec = dynamic_cast<const SchemaSpec&>(*o.spec).spec();
  const auto& rule = spec["to"][0]["rules"][0];
  EXPECT_EQ(rule["matches"][0]["headers"][0]["type"], "Exact");
  EXPECT_EQ(rule["default"]["filters"][0]["requestRedirect"]["statusCode"], 302);
  EXPECT_EQ(rule["default"]["backendRefs"][0]["weight"], 1);
}

TEST(SchemaSpec, EqualsComparesNormalizedContent) {
  Outcome a = runYaml(
      "type: MeshRetry\nname: a\nspec:\n  to:\n  - targetRef: {kind: Mesh}\n"
      "    default: {http: {perTryTimeout: 60s}}\n");
  Outcome b = runYaml(
      "type: MeshRetry\nname: b\nspec:\n  to:\n  - default: {http: "
      "{perTryTimeout: 1m}}\n    targetRef: {kind: Mesh}\n");
  Outcome c = runYaml(
      "type: MeshRetry\nname: c\nspec:\n  to:\n  - targetRef: {kind: Mesh}\n"
      "    default: {http: {perTryTimeout: 61s}}\n");
  ASSERT_TRUE(a.parsed && b.parsed && c.parsed);
  EXPECT_TRUE(a.spec->equals(*b.spec));
  EXPECT_FALSE(a.spec->equals(*c.spec));
}

// §10: the default policies created for every mesh must parse and validate.
TEST(DefaultPolicies, ParseAndValidate) {
  const std::vector<std::string> defaults = {
      R"(
type: MeshTimeout
mesh: default
name: mesh-timeout-all-default
spec:
  targetRef:
    kind: Mesh
    proxyTypes: [Sidecar]
  from:
    - targetRef: {kind: Mesh}
      default:
        connectionTimeout: 10s
        idleTimeout: 2h0m0s
        http: {requestTimeout: 0s, streamIdleTimeout: 1h0m0s, maxStreamDuration: 0s}
  to:
    - targetRef: {kind: Mesh}
      default:
        connectionTimeout: 5s
        idleTimeout: 1h0m0s
        http: {requestTimeout: 15s, streamIdleTimeout: 30m0s}
)",
      R"(
type: MeshTimeout
mesh: default
name: mesh-gateways-timeout-all-default
spec:
  targetRef:
    kind: Mesh
    proxyTypes: [Gateway]
  from:
    - targetRef: {kind: Mesh}
      default:
        idleTimeout: 5m0s
        http: {streamIdleTimeout: 5s, requestHeadersTimeout: 500ms}
  to:
    - targetRef: {kind: Mesh}
      default:
        idleTimeout: 1h0m0s
        http: {streamIdleTimeout: 5s}
)",
      R"(
type: MeshCircuitBreaker
mesh: default
name: mesh-circuit-breaker-all-default
spec:
  targetRef: {kind: Mesh}
  to:
    - targetRef: {kind: Mesh}
      default:
        connectionLimits: {maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3}
)",
      R"(
type: MeshRetry
mesh: default
name: mesh-retry-all-default
spec:
  targetRef: {kind: Mesh}
  to:
    - targetRef: {kind: Mesh}
      default:
        tcp: {maxConnectAttempt: 5}
        http:
          numRetries: 5
          perTryTimeout: 16s
          backOff: {baseInterval: 25ms, maxInterval: 250ms}
        grpc:
          numRetries: 5
          perTryTimeout: 16s
          backOff: {baseInterval: 25ms, maxInterval: 250ms}
)"};
  for (const auto& yaml : defaults) {
    SCOPED_TRACE(yaml);
    Outcome o = runYaml(yaml);
    ASSERT_TRUE(o.parsed) << describe(o.violations);
    EXPECT_TRUE(o.violations.empty()) << describe(o.violations);
  }
  Outcome timeout = runYaml(defaults[0]);
  const auto& spec = dynamic_cast<const SchemaSpec&>(*timeout.spec).spec();
  EXPECT_EQ(spec["from"][0]["default"]["idleTimeout"], "2h0m0s");
  EXPECT_EQ(spec["from"][0]["default"]["http"]["requestTimeout"], "0s");
  EXPECT_EQ(spec["to"][0]["default"]["http"]["streamIdleTimeout"], "30m0s");
  EXPECT_EQ(spec["targetRef"]["proxyTypes"], nlohmann::json::array({"Sidecar"}));
}

TEST(Registration, DescriptorsMatchKuma) {
  struct Want {
    std::string name, path, shortName, singular;
    bool to, from, rules, fromAsRules;
  };
  const std::vector<Want> wants = {
      {"MeshTrafficPermission", "meshtrafficpermissions", "mtp", "Mesh Traffic Permission", false,
       true, true, false},
      {"MeshTimeout", "meshtimeouts", "mt", "Mesh Timeout", true, true, true, true},
      {"MeshRetry", "meshretries", "mr", "Mesh Retry", true, false, false, false},
      {"MeshCircuitBreaker", "meshcircuitbreakers", "mcb", "Mesh Circuit Breaker", true, true, true,
       true},
      {"MeshHealthCheck", "meshhealthchecks", "mhc", "Mesh Health Check", true, false, false,
       false},
      {"MeshHTTPRoute", "meshhttproutes", "mhttpr", "Mesh HTTP Route", true, false, false, false},
      {"MeshTCPRoute", "meshtcproutes", "mtcpr", "Mesh TCP Route", true, false, false, false},
      {"MeshLoadBalancingStrategy", "meshloadbalancingstrategies", "mlbs",
       "Mesh Load Balancing Strategy", true, false, false, false},
      {"MeshRateLimit", "meshratelimits", "mrl", "Mesh Rate Limit", true, true, true, true},
      {"MeshFaultInjection", "meshfaultinjections", "mfi", "Mesh Fault Injection", true, true, true,
       false},
      {"MeshAccessLog", "meshaccesslogs", "mal", "Mesh Access Log", true, true, true, true},
      {"MeshTrace", "meshtraces", "mtr", "Mesh Trace", false, false, false, false},
      {"MeshTLS", "meshtlses", "mtls", "Mesh TLS", false, true, true, true},
      {"MeshPassthrough", "meshpassthroughs", "mp", "Mesh Passthrough", false, false, false, false},
      {"MeshProxyPatch", "meshproxypatches", "mpp", "Mesh Proxy Patch", false, false, false, false},
      {"MeshMetric", "meshmetrics", "mm", "Mesh Metric", false, false, false, false},
  };
  // Plus MeshOpenTelemetryBackend, a resource of a policy folder that is not a policy, and the
  // legacy ProxyTemplate, a proto-based policy its folder defines.
  EXPECT_EQ(registry().all().size(), wants.size() + 2);
  const model::ResourceTypeDescriptor* pt = registry().byPath("proxytemplates");
  ASSERT_NE(pt, nullptr);
  EXPECT_EQ(pt->name, "ProxyTemplate");
  EXPECT_EQ(pt->shortName, "");
  EXPECT_EQ(pt->singularDisplayName, "Proxy Template");
  EXPECT_EQ(pt->pluralDisplayName, "Proxy Templates");
  EXPECT_EQ(pt->format, model::SpecFormat::Flat);
  EXPECT_TRUE(pt->isPolicy);
  EXPECT_FALSE(pt->policy.isTargetRef);
  EXPECT_FALSE(pt->providedByZone);
  EXPECT_TRUE(pt->includeInFederation);
  const model::ResourceTypeDescriptor* motb = registry().byPath("meshopentelemetrybackends");
  ASSERT_NE(motb, nullptr);
  EXPECT_EQ(motb->name, "MeshOpenTelemetryBackend");
  EXPECT_EQ(motb->shortName, "motb");
  EXPECT_EQ(motb->singularDisplayName, "Mesh OpenTelemetry Backend");
  EXPECT_EQ(motb->pluralDisplayName, "Mesh OpenTelemetry Backends");
  EXPECT_EQ(motb->scope, model::Scope::Mesh);
  EXPECT_FALSE(motb->isPolicy);
  EXPECT_FALSE(motb->policy.isTargetRef);
  EXPECT_TRUE(motb->providedByZone);
  EXPECT_TRUE(motb->includeInFederation);
  for (const auto& w : wants) {
    SCOPED_TRACE(w.name);
    const model::ResourceTypeDescriptor* d = registry().byPath(w.path);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->name, w.name);
    EXPECT_EQ(d->shortName, w.shortName);
    EXPECT_EQ(d->singularDisplayName, w.singular);
    EXPECT_EQ(d->scope, model::Scope::Mesh);
    EXPECT_EQ(d->format, model::SpecFormat::SpecStatus);
    EXPECT_TRUE(d->isPolicy);
    EXPECT_TRUE(d->providedByZone);
    EXPECT_TRUE(d->policy.isTargetRef);
    EXPECT_EQ(d->policy.hasToTargetRef, w.to);
    EXPECT_EQ(d->policy.hasFromTargetRef, w.from);
    EXPECT_EQ(d->policy.hasRulesTargetRef, w.rules);
    EXPECT_EQ(d->policy.isFromAsRules, w.fromAsRules);
    EXPECT_EQ(d->isInbound, w.from || w.rules);
    EXPECT_EQ(d->isOutbound, w.to);
    EXPECT_TRUE(d->parseSpec && d->emptySpec && d->validate);
  }
  EXPECT_EQ(registry().byName("MeshTimeout")->pluralDisplayName, "Mesh Timeouts");
  EXPECT_EQ(registry().byName("MeshRetry")->pluralDisplayName, "Mesh Retries");
}

TEST(Registration, ValidateRejectsForeignSpec) {
  struct OtherSpec : model::Spec {
    nlohmann::ordered_json toJson() const override { return {}; }
    bool equals(const model::Spec&) const override { return false; }
  };
  model::Resource r;
  r.descriptor = registry().byName("MeshTimeout");
  r.spec = std::make_shared<OtherSpec>();
  ValidationError errors;
  r.descriptor->validate(r, errors);
  EXPECT_EQ(errors.violations(), (std::vector<Violation>{{"spec", "must be a policy spec"}}));
}

TEST(TargetRefView, ParsesAllFields) {
  TargetRef ref = parseTargetRef(nlohmann::json::parse(
      R"({"kind":"Dataplane","name":"dp-1","namespace":"ns","labels":{"app":"web"},)"
      R"("sectionName":"http","proxyTypes":["Sidecar"],"tags":{"a":"b"},"mesh":"m"})"));
  EXPECT_EQ(ref.kind, "Dataplane");
  EXPECT_EQ(ref.name, "dp-1");
  EXPECT_EQ(ref.ns, "ns");
  EXPECT_EQ(ref.labels.at("app"), "web");
  EXPECT_EQ(ref.sectionName, "http");
  EXPECT_EQ(ref.proxyTypes, std::vector<std::string>{"Sidecar"});
  EXPECT_EQ(ref.tags.at("a"), "b");
  EXPECT_EQ(ref.mesh, "m");
  EXPECT_EQ(parseTargetRef(nlohmann::json()).kind, "Mesh");
  EXPECT_EQ(targetRefKindOrder("Mesh"), 1);
  EXPECT_EQ(targetRefKindOrder("MeshHTTPRoute"), 9);
  EXPECT_EQ(targetRefKindOrder("Nope"), 0);

  BackendRef b = parseBackendRef(
      nlohmann::json::parse(R"({"kind":"MeshService","name":"x","port":80,"weight":5})"));
  EXPECT_EQ(b.targetRef.name, "x");
  EXPECT_EQ(b.weight, 5u);
  EXPECT_EQ(b.port, 80u);
  EXPECT_EQ(parseBackendRef(nlohmann::json::parse(R"({"kind":"MeshService"})")).weight, 1u);
}

}  // namespace
}  // namespace kuma::policies
