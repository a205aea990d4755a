#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "source/common/json_yaml.h"
#include "api/mesh/v1alpha1/retry.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/dataplane.h"
#include "source/core/resources/mesh.h"
#include "source/core/resources/mesh_types.h"
#include "source/core/resources/policies.h"
#include "source/core/validators/validation_error.h"

namespace kuma::resources {
namespace {

using model::Resource;
using model::ResourceTypeDescriptor;
using validators::ValidationError;
using validators::Violation;

std::string readFixture(const std::string& name) {
  const char* root = std::getenv("KUMA_SOURCE_DIR");
  const std::string dir = root != nullptr ? root : ".";
  std::ifstream in(dir + "/test/core/resources/testdata/" + name);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class MeshTypesTest : public ::testing::Test {
 protected:
  MeshTypesTest() { registerMeshTypes(registry_); }

  nlohmann::json load(const std::string& fixture) {
    auto json = common::parseYaml(readFixture(fixture));
    EXPECT_TRUE(json.ok()) << json.status();
    return json.ok() ? *json : nlohmann::json();
  }

  // Parses a REST object of the type named by its "type" key into a Resource.
  Resource parse(const nlohmann::json& object) {
    Resource r;
    r.descriptor = registry_.byName(object.value("type", ""));
    EXPECT_NE(r.descriptor, nullptr) << object.dump();
    if (r.descriptor == nullptr) {
      return r;
    }
    r.meta.name = object.value("name", "");
    r.meta.mesh = object.value("mesh", "");
    auto spec = r.descriptor->parseSpec(object);
    EXPECT_TRUE(spec.ok()) << spec.status();
    r.spec = spec.ok() ? *spec : r.descriptor->emptySpec();
    return r;
  }

  Resource parseFixture(const std::string& fixture) { return parse(load(fixture)); }

  std::vector<Violation> violations(const Resource& r) {
    ValidationError errors;
    r.descriptor->validate(r, errors);
    return errors.violations();
  }

  model::TypeRegistry registry_;
};

// --- descriptors -------------------------------------------------------------------------------

struct DescriptorCase {
  std::string name;
  std::string path;
  std::string shortName;
  std::string singular;
  std::string plural;
  model::Scope scope;
  bool readOnly;
  bool adminOnly;
  bool isPolicy;
  bool providedByZone;
  bool isProxy;
};

TEST_F(MeshTypesTest, DescriptorsMatchKuma) {
  using model::Scope;
  const std::vector<DescriptorCase> cases = {
      {"Mesh", "meshes", "m", "Mesh", "Meshes", Scope::Global, false, false, false, false, false},
      {"Dataplane", "dataplanes", "dp", "Dataplane", "Dataplanes", Scope::Mesh, false, false, false,
       true, true},
      {"DataplaneInsight", "dataplane-insights", "", "Dataplane Insight", "Dataplane Insights",
       Scope::Mesh, true, false, false, true, false},
      {"Secret", "secrets", "", "Secret", "Secrets", Scope::Mesh, false, true, false, true, false},
      // Kuma's GlobalSecret copies Secret's KDS flags: computed origin/zone/env labels.
      {"GlobalSecret", "globalsecrets", "", "Global Secret", "Global Secrets", Scope::Global, false,
       true, false, true, false},
      {"ExternalService", "external-services", "", "External Service", "External Services",
       Scope::Mesh, false, false, false, false, false},
      {"TrafficPermission", "traffic-permissions", "", "Traffic Permission", "Traffic Permissions",
       Scope::Mesh, false, false, true, false, false},
      {"TrafficRoute", "traffic-routes", "", "Traffic Route", "Traffic Routes", Scope::Mesh, false,
       false, true, false, false},
      {"HealthCheck", "health-checks", "", "Health Check", "Health Checks", Scope::Mesh, false,
       false, true, false, false},
      {"CircuitBreaker", "circuit-breakers", "", "Circuit Breaker", "Circuit Breakers", Scope::Mesh,
       false, false, true, false, false},
      {"Timeout", "timeouts", "", "Timeout", "Timeouts", Scope::Mesh, false, false, true, false,
       false},
      {"Retry", "retries", "", "Retry", "Retries", Scope::Mesh, false, false, true, false, false},
      {"FaultInjection", "fault-injections", "", "Fault Injection", "Fault Injections", Scope::Mesh,
       false, false, true, false, false},
      {"TrafficTrace", "traffic-traces", "", "Traffic Trace", "Traffic Traces", Scope::Mesh, false,
       false, true, false, false},
      {"RateLimit", "rate-limits", "", "Rate Limit", "Rate Limits", Scope::Mesh, false, false, true,
       false, false},
      {"TrafficLog", "traffic-logs", "", "Traffic Log", "Traffic Logs", Scope::Mesh, false, false,
       true, false, false},
      {"VirtualOutbound", "virtual-outbounds", "", "Virtual Outbound", "Virtual Outbounds",
       Scope::Mesh, false, false, true, false, false},
      // Kuma's system Zone (as a zone control plane keeps it) and the global one's ZoneInsight.
      {"Zone", "zones", "z", "Zone", "Zones", Scope::Global, false, false, false, true, false},
      {"ZoneInsight", "zone-insights", "", "Zone Insight", "Zone Insights", Scope::Global, true,
       false, false, true, false},
      // Kuma's system Config: no REST path (WsPath ""), found by name only.
      {"Config", "", "", "Config", "Configs", Scope::Global, false, false, false, true, false},
  };
  EXPECT_EQ(registry_.all().size(), cases.size());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const ResourceTypeDescriptor* d = registry_.byName(c.name);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(registry_.byPath(c.path), c.path.empty() ? nullptr : d);
    EXPECT_EQ(d->shortName, c.shortName);
    EXPECT_EQ(d->singularDisplayName, c.singular);
    EXPECT_EQ(d->pluralDisplayName, c.plural);
    EXPECT_EQ(d->scope, c.scope);
    EXPECT_EQ(d->format, model::SpecFormat::Flat);
    EXPECT_EQ(d->readOnly, c.readOnly);
    EXPECT_EQ(d->adminOnly, c.adminOnly);
    EXPECT_EQ(d->isPolicy, c.isPolicy);
    EXPECT_FALSE(d->policy.isTargetRef);
    EXPECT_EQ(d->providedByZone, c.providedByZone);
    EXPECT_EQ(d->isProxy, c.isProxy);
    // Kuma: synced global -> zones and not read-only (GET /_resources, kumactl export); the
    // zone's own state is not.
    EXPECT_EQ(d->includeInFederation, c.name != "Dataplane" && c.name != "DataplaneInsight" &&
                                          c.name != "Zone" && c.name != "ZoneInsight");
    EXPECT_TRUE(d->parseSpec && d->emptySpec && d->validate);
    EXPECT_EQ(d->emptySpec()->toJson(), nlohmann::ordered_json::object());
  }
  EXPECT_EQ(registry_.byPath("global-secrets"), registry_.byName("GlobalSecret"));
}

// --- valid fixtures ----------------------------------------------------------------------------

TEST_F(MeshTypesTest, ValidFixturesHaveNoViolations) {
  for (const std::string fixture :
       {"dataplane_example_1.yaml", "dataplane_example_2.yaml", "dataplane_example_3.yaml",
        "mesh_example.yaml", "secret_valid.yaml", "global_secret_valid.yaml",
        "dataplane_insight_valid.yaml", "external_service_valid.yaml",
        "traffic_permission_valid.yaml", "traffic_route_valid.yaml", "health_check_valid.yaml",
        "circuit_breaker_valid.yaml", "timeout_valid.yaml", "retry_valid.yaml",
        "fault_injection_valid.yaml", "traffic_trace_valid.yaml", "rate_limit_valid.yaml",
        "traffic_log_valid.yaml", "virtual_outbound_valid.yaml"}) {
    SCOPED_TRACE(fixture);
    Resource r = parseFixture(fixture);
    ASSERT_NE(r.descriptor, nullptr);
    EXPECT_THAT(violations(r), ::testing::IsEmpty());
  }
}

// Kuma's RateLimitValidator (answer of Kuma 2.14.3 for the same RateLimit with an ExternalService
// `httpbin` in the mesh: the violation once per offending destination).
TEST(RateLimitExternalServices, OnlyTheServiceTagSelectsAnExternalService) {
  mesh::v1alpha1::RateLimit spec;
  auto destination = [&](std::map<std::string, std::string> tags) {
    spec.add_destinations()->mutable_match()->insert(tags.begin(), tags.end());
  };
  destination({{"kuma.io/service", "httpbin"}, {"version", "v1"}});
  destination({{"kuma.io/service", "*"}, {"version", "v1"}});
  destination({{"kuma.io/service", "httpbin"}});
  destination({{"kuma.io/service", "web"}, {"version", "v1"}});
  ValidationError errors;
  resources::validateRateLimitForExternalServices(spec, {"httpbin"}, errors);
  const Violation expected{"ratelimit",
                           "RateLimit applied to external service only supports kuma.io/service "
                           "as destination match"};
  EXPECT_THAT(errors.violations(), ::testing::ElementsAre(expected, expected));
  ValidationError none;
  resources::validateRateLimitForExternalServices(spec, {}, none);
  EXPECT_TRUE(none.violations().empty());
}

// Kuma reads legacy specs with jsonpb, whose Durations are Go duration strings: "200ms" and
// "1m30s" are accepted as well as proto JSON's "0.2s", at any depth.
TEST_F(MeshTypesTest, LegacyDurationsAcceptGoDurationStrings) {
  Resource r = parse(nlohmann::json::parse(R"({"type": "Retry", "mesh": "default", "name": "r",
    "sources": [{"match": {"kuma.io/service": "*"}}],
    "destinations": [{"match": {"kuma.io/service": "*"}}],
    "conf": {"http": {"perTryTimeout": "200ms", "backOff": {"baseInterval": "1m30s",
                                                            "maxInterval": "0.5s"}},
             "grpc": {"perTryTimeout": "-1.5us"}}})"));
  const auto* spec = model::protoSpecOf<mesh::v1alpha1::Retry>(r);
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->conf().http().per_try_timeout().seconds(), 0);
  EXPECT_EQ(spec->conf().http().per_try_timeout().nanos(), 200000000);
  EXPECT_EQ(spec->conf().http().back_off().base_interval().seconds(), 90);
  EXPECT_EQ(spec->conf().http().back_off().max_interval().nanos(), 500000000);
  EXPECT_EQ(spec->conf().grpc().per_try_timeout().nanos(), -1500);
}

TEST_F(MeshTypesTest, ParsedFixturesCarryTheirFields) {
  Resource dp = parseFixture("dataplane_example_1.yaml");
  const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dp);
  ASSERT_NE(spec, nullptr);
  ASSERT_EQ(spec->networking().inbound_size(), 1);
  const auto& inbound = spec->networking().inbound(0);
  EXPECT_EQ(inbound.service_port(), 18080u);
  EXPECT_EQ(inbound.service_probe().interval().seconds(), 1);
  EXPECT_EQ(inbound.service_probe().unhealthy_threshold().value(), 1u);
  EXPECT_TRUE(inbound.service_probe().has_tcp());
  EXPECT_EQ(spec->networking().outbound(1).backend_ref().port(), 80u);
  EXPECT_EQ(spec->probes().endpoints(0).inbound_path(), "/health");
  EXPECT_EQ(spec->metrics().conf().fields().at("port").number_value(), 5670);

  Resource tp = parseFixture("dataplane_example_2.yaml");
  const auto* tpSpec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(tp);
  ASSERT_NE(tpSpec, nullptr);
  EXPECT_EQ(tpSpec->networking().transparent_proxying().ip_family_mode(),
            mesh::v1alpha1::Dataplane::Networking::TransparentProxying::DualStack);
  EXPECT_EQ(tpSpec->networking().transparent_proxying().reachable_backends().refs(0).port().value(),
            80u);

  Resource mesh = parseFixture("mesh_example.yaml");
  const auto* meshSpec = model::protoSpecOf<mesh::v1alpha1::Mesh>(mesh);
  ASSERT_NE(meshSpec, nullptr);
  EXPECT_EQ(meshSpec->mtls().backends(0).dp_cert().rotation().expiration(), "1d");
  EXPECT_EQ(meshSpec->mtls().backends(0).dp_cert().request_timeout().seconds(), 10);
  EXPECT_TRUE(meshSpec->networking().outbound().has_passthrough());
  EXPECT_TRUE(meshSpec->networking().outbound().passthrough().value());
  EXPECT_DOUBLE_EQ(meshSpec->tracing().backends(0).sampling().value(), 100.0);
  EXPECT_EQ(meshSpec->skip_creating_initial_policies(0), "*");
}

// --- invalid fixtures --------------------------------------------------------------------------

struct InvalidCase {
  std::string fixture;
  std::vector<Violation> expected;
};

TEST_F(MeshTypesTest, InvalidFixturesReportEveryViolation) {
  const std::string protoHint = "Allowed values: grpc, http, http2, kafka, tcp";
  const std::string kindHint =
      "invalid value. Available values are: MeshExternalService,MeshMultiZoneService,MeshService";
  const std::string range = "port must be in the range [1, 65535]";
  const std::vector<InvalidCase> cases = {
      {"dataplane_invalid_many.yaml",
       {
           {"networking.admin.port", "must differ from outbound"},
           {"networking.address", "must not be 0.0.0.0 or ::"},
           {"networking.inbound[0].port", range},
           {"networking.inbound[0].servicePort", range},
           {"networking.inbound[0].serviceAddress", "serviceAddress has to be valid IP address"},
           {"networking.inbound[0].address", "address has to be valid IP address"},
           {"networking.inbound[0].protocol", "has an invalid value \"smtp\". " + protoHint},
           {"networking.inbound[0].tags[\"kuma.io/protocol\"]",
            "tag \"kuma.io/protocol\" has an invalid value \"smtp\". " + protoHint},
           {"networking.inbound[0].tags[\"bad key!\"]",
            "tag name must consist of alphanumeric characters, dots, dashes, slashes and "
            "underscores"},
           {"networking.inbound[0].tags[\"version\"]",
            "tag value must consist of alphanumeric characters, dots, dashes and underscores"},
           {"networking.inbound[0].serviceProbe.interval", "must have a positive value"},
           {"networking.inbound[0].serviceProbe.unhealthyThreshold", "must have a positive value"},
           {"networking.inbound[0].tags[\"kuma.io/service\"]", "tag has to exist"},
           {"networking.inbound[1].serviceAddress",
            "serviceAddress and servicePort has to differ from address and port"},
           {"networking.inbound[1].tags[\"empty\"]", "tag value must be non-empty"},
           {"networking.outbound[0].tags", "mandatory tag \"kuma.io/service\" is missing"},
           {"networking.outbound[1].port", range},
           {"networking.outbound[1].address", "address has to be valid IP address"},
           {"networking.outbound[1].backendRef.kind", kindHint},
           {"networking.outbound[1].backendRef", "either 'name' or 'labels' should be specified"},
           {"networking.outbound[1].backendRef.port", range},
           {"networking.outbound[1].backendRef",
            "both backendRef and tags/service cannot be defined"},
           {"networking.transparentProxing.reachableBackends.refs[0].kind", kindHint},
           {"networking.transparentProxing.reachableBackends.refs[0].name",
            "name or labels are required"},
           {"networking.transparentProxing.reachableBackends.refs[1].labels",
            "labels cannot be defined when name is specified"},
           {"probes.port", range},
           {"probes.endpoints[0].inboundPort", range},
           {"probes.endpoints[0].inboundPath", "should be a valid URL Path"},
           {"probes.endpoints[0].path", "should be a valid URL Path"},
           {"metrics.type", "unknown backend type. Available backends: \"prometheus\""},
       }},
      {"dataplane_invalid_gateway.yaml",
       {
           {"networking.inbound", "inbound cannot be defined for delegated gateways"},
           {"networking.gateway.tags[\"kuma.io/protocol\"]",
            "other values than tcp are not allowed, provided value \"http\""},
           {"networking.gateway.tags", "mandatory tag \"kuma.io/service\" is missing"},
       }},
      {"dataplane_invalid_builtin_gateway.yaml",
       {
           {"networking.outbound", "outbound cannot be defined for builtin gateways"},
           {"networking.probes", "probes cannot be defined for builtin gateways"},
       }},
      {"dataplane_invalid_empty.yaml", {{"networking", "must be defined"}}},
      // The CA plugins' checks (unknown type, a provided CA's cert/key) are Kuma's mesh
      // manager's, run only for an otherwise valid spec: none here (mesh_invalid_ca.yaml).
      {"mesh_invalid.yaml",
       {
           {"mtls.backends", "cannot have more than 1 backends"},
           {"mtls.backends[0].dpCert.rotation.expiration", "has to be a valid format"},
           {"mtls.backends[1].name", "\"ca-1\" name is already used for another backend"},
           {"mtls.enabledBackend", "has to be set to one of the backends in the mesh"},
           {"logging.backends[0].conf.address", "has to be in format of HOST:PORT"},
           {"logging.backends[1].conf.path", "cannot be empty"},
           {"tracing.backends[0].sampling", "has to be in [0.0 - 100.0] range"},
           {"tracing.backends[0].conf.url", "port has to be explicitly specified"},
           {"tracing.backends[1].name", "cannot be empty"},
           {"tracing.backends[1].type",
            "unknown backend type. Available backends: \"zipkin\", \"datadog\""},
           {"tracing.defaultBackend", "has to be set to one of the tracing backend in mesh"},
           {"metrics.backends[0].type", "unknown backend type. Available backends: \"prometheus\""},
           {"metrics.enabledBackend", "has to be set to one of the backends in the mesh"},
       }},
      {"mesh_invalid_ca.yaml",
       {{"mtls.backends[0].type", "could not find installed plugin for this type"}}},
      {"mesh_invalid_provided_ca.yaml",
       {
           {"mtls.backends[0].conf.cert", "has to be defined"},
           {"mtls.backends[0].conf.key", "has to be defined"},
       }},
      {"secret_invalid.yaml", {{"data", "cannot be empty"}}},
      {"global_secret_invalid.yaml", {{"data", "cannot be empty"}}},
      {"external_service_invalid.yaml",
       {
           {"networking.address", "address has to be in format of HOST:PORT"},
           {"tags", "mandatory tag \"kuma.io/service\" is missing"},
       }},
      {"traffic_permission_invalid.yaml",
       {
           {"sources[0].match", "must have at least one tag"},
           {"destinations[0].match[\"version\"]",
            "tag value must consist of alphanumeric characters, dots, dashes, slashes and "
            "underscores or be \"*\""},
           {"destinations[0].match", "mandatory tag \"kuma.io/service\" is missing"},
       }},
      {"traffic_route_invalid.yaml",
       {
           {"sources", "must have at least one element"},
           {"destinations[0].match", "must consist of exactly one tag \"kuma.io/service\""},
           {"destinations[0].match[\"version\"]", "tag \"version\" is not allowed"},
           {"conf", "\"split\" cannot be defined at the same time as \"destination\""},
           {"conf.split[0].weight", "needs to be defined"},
           {"conf.split", "there must be at least one split entry with weight above 0"},
           {"conf.loadBalancer.ringHash.hashFunction", "must have a valid hash function"},
       }},
      {"health_check_invalid.yaml",
       {
           {"conf.interval", "must have a positive value"},
           {"conf.timeout", "must have a positive value"},
           {"conf.unhealthyThreshold", "must have a positive value"},
       }},
      {"circuit_breaker_invalid.yaml",
       {{"conf.maxEjectionPercent", "has to be in [0 - 100] range"}}},
      {"timeout_invalid.yaml",
       {
           {"sources", "must have at least one element"},
           {"conf", "has to be defined"},
       }},
      {"retry_invalid.yaml",
       {
           {"conf.http.numRetries", "has to be greater than 0 when defined"},
           {"conf.http.retriableMethods[0]", "field cannot be empty"},
           {"conf.grpc.retryOn", "repeated value \"cancelled\" at indexes [0, 1]"},
           {"conf.grpc.backOff.baseInterval", "has to be defined"},
           {"conf.tcp.maxConnectAttempts", "has to be greater than 0"},
       }},
      {"fault_injection_invalid.yaml",
       {
           {"sources[0].match", "must have at least one tag"},
           {"destinations[0].match", "protocol must be specified"},
           {"destinations[1].match[\"kuma.io/protocol\"]",
            "must be one of the [http, http2, grpc]"},
           {"conf.delay.percentage", "has to be in [0.0 - 100.0] range"},
           {"conf.delay.value", "cannot be empty"},
           {"conf.abort.httpStatus", "http status code is incorrect"},
           {"conf.responseBandwidth.percentage", "cannot be empty"},
           {"conf.responseBandwidth.limit", "has to be in kbps/mbps/gbps units"},
       }},
      {"traffic_trace_invalid.yaml",
       {
           {"selectors[0].match", "must have at least one tag"},
           {"selectors[1].match[\"kuma.io/service\"]", "tag value must be non-empty"},
       }},
      // Checked against Kuma 2.14.3's REST answer for the same resource.
      {"rate_limit_invalid.yaml",
       {
           {"sources[0].match", "must have at least one tag"},
           {"destinations[0].match[\"kuma.io/service\"]", "tag value must be non-empty"},
           {"conf.http.requests", "requests must be set"},
           {"conf.http.interval", "interval must be set"},
           {"conf.http.onRateLimit.header[\"1\"]", "key must be set"},
           {"conf.http.onRateLimit.header[\"2\"]", "value must be set"},
       }},
      {"rate_limit_invalid_no_conf.yaml",
       {
           {"sources", "must have at least one element"},
           {"conf", "must have conf"},
       }},
      {"traffic_log_invalid.yaml",
       {
           {"sources[0].match", "mandatory tag \"kuma.io/service\" is missing"},
           {"sources[1].match", "must have at least one tag"},
           {"sources[1].match", "mandatory tag \"kuma.io/service\" is missing"},
           {"destinations[0].match", "must consist of exactly one tag \"kuma.io/service\""},
           {"destinations[0].match[\"version\"]", "tag \"version\" is not allowed"},
       }},
      // Kuma's VirtualOutbound validator (wording recorded from Kuma 2.14.3).
      {"virtual_outbound_invalid.yaml",
       {
           {"selectors[0].match", "must have at least one tag"},
           {"conf.parameters[1].name", "name is already used"},
           {"conf.parameters[1].tagKey", "must be a valid tag name"},
           {"conf.host",
            "template pre evaluation failed with error=\"failed compiling gotemplate "
            "error=\\\"template: :1: unclosed action\\\"\""},
           {"conf.port",
            "template pre evaluation failed with error=\"evaluation of template returned a port "
            "outside of the range [1..65535] result=70000\""},
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.fixture);
    Resource r = parseFixture(c.fixture);
    ASSERT_NE(r.descriptor, nullptr);
    EXPECT_THAT(violations(r), ::testing::ElementsAreArray(c.expected));
  }
}

TEST_F(MeshTypesTest, InvalidDataplaneAsStatusCarriesAllViolations) {
  Resource r = parseFixture("dataplane_invalid_many.yaml");
  ValidationError errors;
  r.descriptor->validate(r, errors);
  const absl::Status status = errors.toStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  auto back = ValidationError::fromStatus(status);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->violations().size(), 30u);
  EXPECT_THAT(errors.toString(), ::testing::HasSubstr("networking.address: must not be 0.0.0.0"));
}

TEST_F(MeshTypesTest, MalformedSpecsAreRejectedByTheParser) {
  const auto* insight = registry_.byName("DataplaneInsight");
  EXPECT_EQ(insight->parseSpec(load("dataplane_insight_invalid.yaml")).status().code(),
            absl::StatusCode::kInvalidArgument);
  const auto* dp = registry_.byName("Dataplane");
  EXPECT_FALSE(
      dp->parseSpec(nlohmann::json::parse(R"({"networking":{"inbound":[{"port":"x"}]}})")).ok());
  // Like Go's protojson with DiscardUnknown, unknown enum names are dropped (zero value).
  auto unknownEnum =
      dp->parseSpec(nlohmann::json::parse(R"({"networking":{"gateway":{"type":"NOPE"}}})"));
  ASSERT_TRUE(unknownEnum.ok());
  EXPECT_EQ((*unknownEnum)->toJson(),
            nlohmann::ordered_json::parse(R"({"networking":{"gateway":{}}})"));
  // Unknown fields and meta keys are ignored.
  EXPECT_TRUE(
      dp->parseSpec(nlohmann::json::parse(R"({"type":"Dataplane","kri":"x","foo":1})")).ok());
}

// Found by test/fuzz/rest_codec_fuzz.cc: a key or string that is not UTF-8 (which the YAML reader
// let through) made the jsonpb adapter throw instead of answering InvalidArgument.
TEST_F(MeshTypesTest, NonUtf8IsRejectedByTheParser) {
  const auto* dp = registry_.byName("Dataplane");
  nlohmann::json badKey = nlohmann::json::parse(R"({"networking":{"address":"10.0.0.1"}})");
  badKey["networking"]["gatewa\xday"] = nlohmann::json::object();
  nlohmann::json badValue = nlohmann::json::parse(R"({"networking":{}})");
  badValue["networking"]["address"] = "10.0.0.\xff";
  for (const nlohmann::json& spec : {badKey, badValue}) {
    auto parsed = dp->parseSpec(spec);
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << parsed.status();
    EXPECT_THAT(parsed.status().message(), ::testing::HasSubstr("invalid UTF-8"));
  }
}

// --- jsonpb round trip -------------------------------------------------------------------------

TEST_F(MeshTypesTest, JsonRoundTripIsStable) {
  for (const std::string fixture :
       {"dataplane_example_1.yaml", "dataplane_example_2.yaml", "dataplane_example_3.yaml",
        "mesh_example.yaml", "secret_valid.yaml", "dataplane_insight_valid.yaml",
        "external_service_valid.yaml", "traffic_route_valid.yaml", "health_check_valid.yaml",
        "circuit_breaker_valid.yaml", "timeout_valid.yaml", "retry_valid.yaml",
        "fault_injection_valid.yaml", "traffic_trace_valid.yaml", "rate_limit_valid.yaml",
        "traffic_log_valid.yaml", "virtual_outbound_valid.yaml"}) {
    SCOPED_TRACE(fixture);
    Resource first = parseFixture(fixture);
    ASSERT_NE(first.spec, nullptr);
    const nlohmann::ordered_json printed = first.spec->toJson();
    auto again = first.descriptor->parseSpec(nlohmann::json::parse(printed.dump()));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(first.spec->equals(**again)) << printed.dump();
    EXPECT_EQ((*again)->toJson(), printed);
  }
}

TEST_F(MeshTypesTest, JsonUsesKumaSpelling) {
  const auto dp = parseFixture("dataplane_example_1.yaml").spec->toJson();
  const auto& inbound = dp["networking"]["inbound"][0];
  EXPECT_EQ(inbound["servicePort"], 18080);
  EXPECT_EQ(inbound["serviceProbe"]["unhealthyThreshold"], 1);
  EXPECT_EQ(inbound["serviceProbe"]["interval"], "1s");
  EXPECT_FALSE(inbound.contains("service_port"));
  std::vector<std::string> tagOrder;
  for (const auto& [k, _] : inbound["tags"].items()) {
    tagOrder.push_back(k);
  }
  // Map keys print sorted (Go protojson), whatever the input order.
  EXPECT_THAT(tagOrder, ::testing::ElementsAre("kuma.io/protocol", "kuma.io/service", "version"));
  EXPECT_FALSE(inbound.contains("state"));  // Ready is the zero value
  EXPECT_EQ(dp["networking"]["advertisedAddress"], "1.2.3.4");
  EXPECT_EQ(dp["networking"]["outbound"][1]["backendRef"]["kind"], "MeshService");

  const auto tp = parseFixture("dataplane_example_2.yaml").spec->toJson();
  const auto& proxying = tp["networking"]["transparentProxying"];
  EXPECT_EQ(proxying["redirectPortInbound"], 15006);
  EXPECT_EQ(proxying["ipFamilyMode"], "DualStack");
  EXPECT_EQ(proxying["reachableBackends"]["refs"][0]["port"], 80);

  const auto gw = parseFixture("dataplane_example_3.yaml").spec->toJson();
  EXPECT_FALSE(gw["networking"]["gateway"].contains("type"));  // DELEGATED is the zero value

  const auto mesh = parseFixture("mesh_example.yaml").spec->toJson();
  EXPECT_EQ(mesh["mtls"]["backends"][0]["dpCert"]["requestTimeout"], "10s");
  EXPECT_FALSE(mesh["mtls"].contains("skipValidation"));
  EXPECT_EQ(mesh["networking"]["outbound"]["passthrough"], true);
  EXPECT_FALSE(mesh.contains("routing") && mesh["routing"].size() > 0);
  EXPECT_EQ(mesh["skipCreatingInitialPolicies"][0], "*");
  EXPECT_EQ(mesh["meshServices"], nlohmann::ordered_json::object());

  const auto insight = parseFixture("dataplane_insight_valid.yaml").spec->toJson();
  const auto& sub = insight["subscriptions"][0];
  EXPECT_EQ(sub["status"]["total"]["responsesSent"], "12");
  EXPECT_EQ(sub["controlPlaneInstanceId"], "cp-1");
  EXPECT_EQ(sub["connectTime"], "2024-01-02T03:04:05Z");
  EXPECT_EQ(sub["version"]["kumaDp"]["kumaCpCompatible"], true);
  EXPECT_EQ(insight["mTLS"]["certificateRegenerations"], 2);
  EXPECT_EQ(insight["metadata"]["foo"], "bar");

  const auto secret = parseFixture("secret_valid.yaml").spec->toJson();
  EXPECT_EQ(secret, nlohmann::ordered_json::parse(R"({"data":"c2VjcmV0"})"));

  const auto es = parseFixture("external_service_valid.yaml").spec->toJson();
  EXPECT_EQ(es["networking"]["disableHostDNSEntry"], true);
  EXPECT_EQ(es["networking"]["tls"]["serverName"], "httpbin.org");
  EXPECT_EQ(es["networking"]["tls"]["allowRenegotiation"], false);

  const auto retry = parseFixture("retry_valid.yaml").spec->toJson();
  EXPECT_EQ(retry["conf"]["http"]["backOff"]["baseInterval"], "0.025s");
  EXPECT_EQ(retry["conf"]["http"]["retriableMethods"][1], "POST");
}

// --- defaults ----------------------------------------------------------------------------------

TEST_F(MeshTypesTest, DataplaneDefaultsAddZoneTag) {
  Resource r = parseFixture("dataplane_example_1.yaml");
  model::DefaultingContext ctx;
  ctx.zone = "zone-1";
  auto defaulted = r.descriptor->applyDefaults(r, ctx);
  ASSERT_NE(defaulted, nullptr);
  const auto json = defaulted->toJson();
  EXPECT_EQ(json["networking"]["inbound"][0]["tags"]["kuma.io/zone"], "zone-1");
  EXPECT_EQ(json["networking"]["inbound"][0]["tags"]["kuma.io/service"], "backend");
  // Applying again changes nothing.
  r.spec = defaulted;
  EXPECT_EQ(r.descriptor->applyDefaults(r, ctx), nullptr);

  Resource gw = parseFixture("dataplane_example_3.yaml");
  auto gwDefaulted = gw.descriptor->applyDefaults(gw, ctx);
  ASSERT_NE(gwDefaulted, nullptr);
  EXPECT_EQ(gwDefaulted->toJson()["networking"]["gateway"]["tags"]["kuma.io/zone"], "zone-1");

  // Tag-less inbounds stay tag-less.
  Resource bare = parse(nlohmann::json::parse(
      R"({"type":"Dataplane","networking":{"address":"1.1.1.1","inbound":[{"port":1}]}})"));
  EXPECT_EQ(bare.descriptor->applyDefaults(bare, ctx), nullptr);
}

TEST_F(MeshTypesTest, ProbedInboundsStartNotReady) {
  Resource r = parseFixture("dataplane_example_1.yaml");
  const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(r);
  auto changed = dataplaneWithProbedInboundsNotReady(*spec);
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->networking().inbound(0).state(),
            mesh::v1alpha1::Dataplane::Networking::Inbound::NotReady);
  EXPECT_TRUE(changed->networking().inbound(0).has_health());
  EXPECT_FALSE(dataplaneWithProbedInboundsNotReady(*changed).has_value());
}

TEST_F(MeshTypesTest, MeshDefaultsPrometheusBackends) {
  Resource r = parse(nlohmann::json::parse(
      R"({"type":"Mesh","name":"m1","metrics":{"enabledBackend":"p","backends":[
            {"name":"p","type":"prometheus"},
            {"name":"q","type":"prometheus","conf":{"port":1234,"skipMTLS":true}}]}})"));
  auto defaulted = r.descriptor->applyDefaults(r, {});
  ASSERT_NE(defaulted, nullptr);
  const auto json = defaulted->toJson();
  const auto& p = json["metrics"]["backends"][0]["conf"];
  EXPECT_EQ(p["port"], 5670);
  EXPECT_EQ(p["path"], "/metrics");
  EXPECT_EQ(p["tags"]["kuma.io/service"], "dataplane-metrics");
  EXPECT_EQ(p["tls"]["mode"], "activeMTLSBackend");
  const auto& q = json["metrics"]["backends"][1]["conf"];
  EXPECT_EQ(q["port"], 1234);
  EXPECT_EQ(q["tls"]["mode"], "disabled");
  r.spec = defaulted;
  EXPECT_EQ(r.descriptor->applyDefaults(r, {}), nullptr);

  Resource plain = parseFixture("dataplane_example_3.yaml");
  Resource noMetrics = parse(nlohmann::json::parse(R"({"type":"Mesh","name":"m2"})"));
  EXPECT_EQ(noMetrics.descriptor->applyDefaults(noMetrics, {}), nullptr);
}

TEST_F(MeshTypesTest, MeshUpdateCannotSwitchCaWhileMtlsEnabled) {
  auto mesh = [&](const std::string& enabled) {
    nlohmann::json j = {{"type", "Mesh"}, {"name", "m"}};
    j["mtls"] = {
        {"backends", {{{"name", "a"}, {"type", "builtin"}}, {{"name", "b"}, {"type", "builtin"}}}}};
    if (!enabled.empty()) {
      j["mtls"]["enabledBackend"] = enabled;
    }
    return parse(j);
  };
  const absl::Status forbidden = validateMeshUpdate(mesh("a"), mesh("b"));
  ASSERT_EQ(forbidden.code(), absl::StatusCode::kInvalidArgument);
  auto v = ValidationError::fromStatus(forbidden);
  ASSERT_TRUE(v.has_value());
  EXPECT_THAT(v->violations(),
              ::testing::ElementsAre(Violation{
                  "mtls.enabledBackend",
                  "Changing CA when mTLS is enabled is forbidden. Disable mTLS first and then "
                  "change the CA"}));
  EXPECT_TRUE(validateMeshUpdate(mesh("a"), mesh("a")).ok());
  EXPECT_TRUE(validateMeshUpdate(mesh(""), mesh("b")).ok());
  EXPECT_TRUE(validateMeshUpdate(mesh("a"), mesh("")).ok());
}

TEST_F(MeshTypesTest, MeshNameFeedsBuiltinCaSecretName) {
  Resource r = parse(nlohmann::json::parse(
      R"({"type":"Mesh","name":"demo","mtls":{"enabledBackend":"CA_1","backends":[{"name":"CA_1","type":"builtin"}]}})"));
  const auto v = violations(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "mtls.backends[0].name");
}

// --- helpers for the REST layer ----------------------------------------------------------------

TEST_F(MeshTypesTest, DataplaneTagFilterAndGatewayCheck) {
  Resource dp = parseFixture("dataplane_example_1.yaml");
  EXPECT_TRUE(dataplaneMatchesTag(dp, "kuma.io/service", "back"));
  EXPECT_TRUE(dataplaneMatchesTag(dp, "version", "*"));
  EXPECT_FALSE(dataplaneMatchesTag(dp, "version", "v2"));
  EXPECT_FALSE(dataplaneMatchesTag(dp, "team", "*"));
  EXPECT_EQ(dataplaneIsGateway(dp), std::optional<bool>(false));

  Resource gw = parseFixture("dataplane_example_3.yaml");
  EXPECT_TRUE(dataplaneMatchesTag(gw, "kuma.io/service", "edge"));
  EXPECT_EQ(dataplaneIsGateway(gw), std::optional<bool>(true));

  Resource mesh = parseFixture("mesh_example.yaml");
  EXPECT_FALSE(dataplaneMatchesTag(mesh, "kuma.io/service", "*"));
  EXPECT_EQ(dataplaneIsGateway(mesh), std::nullopt);
}

TEST_F(MeshTypesTest, InsightSpecCanBeBuilt) {
  mesh::v1alpha1::DataplaneInsight insight;
  auto* sub = insight.add_subscriptions();
  sub->set_id("s1");
  sub->mutable_status()->mutable_total()->set_responses_sent(18446744073709551615ull);
  auto spec = makeDataplaneInsightSpec(insight);
  const auto json = spec->toJson();
  EXPECT_EQ(json["subscriptions"][0]["status"]["total"]["responsesSent"], "18446744073709551615");
  auto parsed = registry_.byName("DataplaneInsight")->parseSpec(nlohmann::json::parse(json.dump()));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(spec->equals(**parsed));
}

}  // namespace
}  // namespace kuma::resources
