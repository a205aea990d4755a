#include "source/plugins/policies/meshratelimit/meshratelimit.h"

#include <chrono>

#include "absl/strings/str_format.h"

namespace kuma::policies::meshratelimit {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

SchemaPtr confSchema() {
  SchemaPtr rate = object({required("num", int32()), required("interval", duration())});
  return object({field(
      "local",
      object({
          field("http",
                object({
                    field("disabled", boolean()),
                    field("requestRate", rate),
                    field("onRateLimit", object({field("status", int32()),
                                                 field("headers", headerModifierSchema(false))})),
                })),
          field("tcp", object({field("disabled", boolean()), field("connectionRate", rate)})),
      }))});
}

void validateRate(const PathBuilder& path, const nlohmann::json& rate, ValidationError& errors) {
  const nlohmann::json* num = member(rate, "num");
  if (num == nullptr || num->get<int64_t>() <= 0) {
    errors.addViolationAt(path.field("num"), "must be defined and greater than zero");
  }
  auto interval = durationMember(rate, "interval");
  if (!interval || *interval < std::chrono::milliseconds(50)) {
    errors.addViolationAt(path.field("interval"), "must be greater than or equal to: 50ms");
  }
}

void validateConf(const PathBuilder& path, const nlohmann::json* conf, std::string_view /*top*/,
                  ValidationError& errors) {
  const nlohmann::json* local = conf != nullptr ? member(*conf, "local") : nullptr;
  if (local == nullptr) {
    errors.addViolationAt(path.field("local"), "must be defined");
    return;
  }
  PathBuilder lp = path.field("local");
  const nlohmann::json* http = member(*local, "http");
  const nlohmann::json* tcp = member(*local, "tcp");
  if (http == nullptr && tcp == nullptr) {
    errors.addViolationAt(lp, "must have at least one defined: http, tcp");
  }
  if (http != nullptr && !http->value("disabled", false)) {
    if (const nlohmann::json* rate = member(*http, "requestRate")) {
      validateRate(lp.field("http").field("requestRate"), *rate, errors);
    } else {
      errors.addViolationAt(lp.field("http").field("requestRate"), "must be defined");
    }
    if (const nlohmann::json* on = member(*http, "onRateLimit")) {
      if (member(*on, "status") != nullptr) {
        validateStatusCode(lp.field("http").field("onRateLimit"), *on, "status", errors);
      }
    }
  }
  if (tcp != nullptr && !tcp->value("disabled", false)) {
    if (const nlohmann::json* rate = member(*tcp, "connectionRate")) {
      validateRate(lp.field("tcp").field("connectionRate"), *rate, errors);
    } else {
      errors.addViolationAt(lp.field("tcp").field("connectionRate"), "must be defined");
    }
  }
}

}  // namespace

namespace {
// Kuma's MeshRateLimitResource.Deprecations (api/v1alpha1/deprecated.go): `from`, and an
// onRateLimit status below 400 in from, rules and to.
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  std::vector<std::string> out;
  auto statusBelow400 = [](const nlohmann::json& item) {
    const nlohmann::json* conf = member(item, "default");
    const nlohmann::json* local = conf == nullptr ? nullptr : member(*conf, "local");
    const nlohmann::json* http = local == nullptr ? nullptr : member(*local, "http");
    const nlohmann::json* on = http == nullptr ? nullptr : member(*http, "onRateLimit");
    const nlohmann::json* status = on == nullptr ? nullptr : member(*on, "status");
    return status != nullptr && status->is_number() && status->get<double>() < 400;
  };
  auto section = [&](const char* name) {
    for (size_t i = 0; i < arraySize(spec, name); ++i) {
      if (statusBelow400(spec[name][i])) {
        out.push_back(absl::StrFormat(
            "'spec.%s[%d].default.local.http.requestRate.status' must be 400 or higher. Please "
            "update your configuration.",
            name, i));
      }
    }
  };
  section("from");
  section("rules");
  section("to");
  return fromAndTargetRefDeprecations(spec, kFromDeprecatedUseRules, std::move(out));
}
}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshRateLimit", "meshratelimits", "mrl", "Mesh Rate Limit", "Mesh Rate Limits"},
      .topKinds = {kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset,
                   kMeshHTTPRoute, kDataplane},
      .to = true,
      .from = true,
      .rules = true,
      .fromAsRules = true,
      .toKinds = std::vector<std::string_view>{kMesh},
      .toOnlyWithGateways = true,
      .fromUnderGateways = true,
      .conf = confSchema(),
      .validateConf = validateConf,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshratelimit
