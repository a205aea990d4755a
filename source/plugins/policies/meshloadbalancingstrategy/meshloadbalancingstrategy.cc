#include "source/plugins/policies/meshloadbalancingstrategy/meshloadbalancingstrategy.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kuma::policies::meshloadbalancingstrategy {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

SchemaPtr hashPoliciesSchema() {
  SchemaPtr nonEmpty = withLength(string(), 1, std::nullopt);
  return arrayOf(object({
      required("type", enumOf({"Header", "Cookie", "Connection", "SourceIP", "QueryParameter",
                               "FilterState"})),
      field("terminal", boolean()),
      field("header", object({required("name", nonEmpty)})),
      field("cookie", object({required("name", nonEmpty), field("ttl", duration()),
                              field("path", string())})),
      field("connection", object({field("sourceIP", boolean())})),
      field("queryParameter", object({required("name", nonEmpty)})),
      field("filterState", object({required("key", nonEmpty)})),
  }));
}

SchemaPtr confSchema() {
  return object({
      field(
          "localityAwareness",
          object({
              field("disabled", boolean()),
              field("localZone",
                    object({field("affinityTags", arrayOf(object({required("key", string()),
                                                                  field("weight", int32())})))})),
              field("crossZone",
                    object({
                        field("failover",
                              arrayOf(object({
                                  field("from", object({required("zones", arrayOf(string()))})),
                                  required(
                                      "to", object({required("type", enumOf({"None", "Only", "Any",
                                                                             "AnyExcept"})),
                                                    field("zones", arrayOf(string()))})),
                              }))),
                        field("failoverThreshold", object({required("percentage", intOrString())})),
                    })),
          })),
      field("loadBalancer",
            object({
                required("type",
                         enumOf({"RoundRobin", "LeastRequest", "RingHash", "Random", "Maglev"})),
                field("roundRobin", object({})),
                field("leastRequest", object({field("choiceCount", int32(2, std::nullopt)),
                                              field("activeRequestBias", intOrString())})),
                field("ringHash", object({
                                      field("hashFunction", enumOf({"XXHash", "MurmurHash2"})),
                                      field("minRingSize", int32(1, 8000000)),
                                      field("maxRingSize", int32(1, 8000000)),
                                      field("hashPolicies", hashPoliciesSchema()),
                                  })),
                field("random", object({})),
                field("maglev", object({field("tableSize", int32(1, 5000011)),
                                        field("hashPolicies", hashPoliciesSchema())})),
            })),
      field("hashPolicies", hashPoliciesSchema()),
  });
}

void validateHashPolicies(const PathBuilder& path, const nlohmann::json* policies,
                          ValidationError& errors) {
  if (policies == nullptr) {
    return;
  }
  for (size_t i = 0; i < policies->size(); ++i) {
    const nlohmann::json& p = (*policies)[i];
    std::string type = p.value("type", "");
    const char* needed = type == "Header"           ? "header"
                         : type == "Cookie"         ? "cookie"
                         : type == "QueryParameter" ? "queryParameter"
                         : type == "FilterState"    ? "filterState"
                                                    : nullptr;
    if (needed != nullptr && member(p, needed) == nullptr) {
      errors.addViolationAt(path.index(i).field(needed), "must be defined");
    }
  }
}

void validateConf(const PathBuilder& path, const nlohmann::json* conf, ValidationError& errors) {
  if (conf == nullptr) {
    return;
  }
  if (const nlohmann::json* lb = member(*conf, "loadBalancer")) {
    PathBuilder lp = path.field("loadBalancer");
    if (const nlohmann::json* rh = member(*lb, "ringHash")) {
      auto minSize = rh->value("minRingSize", int64_t{0});
      auto maxSize = rh->value("maxRingSize", int64_t{0});
      if (minSize > 0 && maxSize > 0 && minSize > maxSize) {
        errors.addViolationAt(lp.field("ringHash").field("minRingSize"),
                              "must be less than or equal to maxRingSize");
      }
      validateHashPolicies(lp.field("ringHash").field("hashPolicies"), member(*rh, "hashPolicies"),
                           errors);
    }
    if (const nlohmann::json* mg = member(*lb, "maglev")) {
      validateHashPolicies(lp.field("maglev").field("hashPolicies"), member(*mg, "hashPolicies"),
                           errors);
    }
    if (const nlohmann::json* lr = member(*lb, "leastRequest")) {
      if (const nlohmann::json* bias = member(*lr, "activeRequestBias")) {
        auto v = decimalOf(*bias);
        PathBuilder bp = lp.field("leastRequest").field("activeRequestBias");
        if (!v) {
          errors.addViolationAt(bp, "string must be a valid number");
        } else if (*v < 0) {
          errors.addViolationAt(bp, "must be greater or equal then: 0");
        }
      }
    }
  }
  validateHashPolicies(path.field("hashPolicies"), member(*conf, "hashPolicies"), errors);
  if (const nlohmann::json* la = member(*conf, "localityAwareness")) {
    const nlohmann::json* cz = member(*la, "crossZone");
    const nlohmann::json* failover = cz != nullptr ? member(*cz, "failover") : nullptr;
    PathBuilder cp = path.field("localityAwareness").field("crossZone");
    if (failover != nullptr) {
      for (size_t i = 0; i < failover->size(); ++i) {
        const nlohmann::json* to = member((*failover)[i], "to");
        if (to == nullptr) {
          continue;
        }
        std::string type = to->value("type", "");
        size_t zones = arraySize(*to, "zones");
        PathBuilder zp = cp.field("failover").index(i).field("to").field("zones");
        if ((type == "Only" || type == "AnyExcept") && zones == 0) {
          errors.addViolationAt(zp, absl::StrCat("must be defined when type is ", type));
        }
        if ((type == "None" || type == "Any") && zones > 0) {
          errors.addViolationAt(zp, absl::StrCat("must be empty when type is ", type));
        }
      }
    }
    if (cz != nullptr) {
      if (const nlohmann::json* ft = member(*cz, "failoverThreshold")) {
        validatePercentage(cp.field("failoverThreshold"), *ft, "percentage", false, errors);
      }
    }
  }
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  validateTopTargetRef(
      spec,
      {{kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset, kDataplane},
       true,
       false,
       {}},
      errors);
  if (arraySize(spec, "to") == 0) {
    errors.addViolationAt(PathBuilder("spec").field("to"), "needs at least one item");
  }
  TargetRefOpts toOpts;
  toOpts.supportedKinds = destinationKinds(topLevelKind(spec) == kMeshGateway);
  validateTargetedItems(spec, "to", toOpts, validateConf, errors);
}

}  // namespace

namespace {
// Kuma's MeshLoadBalancingStrategyResource.Deprecations (api/v1alpha1/deprecated.go).
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  std::vector<std::string> out;
  for (size_t i = 0; i < arraySize(spec, "to"); ++i) {
    const nlohmann::json* conf = member(spec["to"][i], "default");
    const nlohmann::json* lb = conf == nullptr ? nullptr : member(*conf, "loadBalancer");
    const nlohmann::json* type = lb == nullptr ? nullptr : member(*lb, "type");
    if (type == nullptr || (*type != "RingHash" && *type != "Maglev")) {
      continue;
    }
    const std::string key = *type == "RingHash" ? "ringHash" : "maglev";
    const nlohmann::json* hash = member(*lb, key);
    const nlohmann::json* policies = hash == nullptr ? nullptr : member(*hash, "hashPolicies");
    if (policies == nullptr) {
      continue;
    }
    out.push_back(absl::StrFormat(
        "configuration 'spec.to[%d].default.loadBalancer.%s.hashPolicies' is deprecated, use "
        "'spec.to[%d].default.hashPolicies' instead",
        i, key, i));
    if (!policies->is_array()) {
      continue;
    }
    for (size_t j = 0; j < policies->size(); ++j) {
      const nlohmann::json* policyType = member((*policies)[j], "type");
      if (policyType != nullptr && *policyType == "SourceIP") {
        out.push_back(absl::StrFormat(
            "SourceIP type for 'spec.to[%d].default.loadBalancer.%s.hashPolicies[%d].type' is "
            "deprecated, use Connection instead",
            i, key, j));
      }
    }
  }
  for (std::string& w : topLevelTargetRefDeprecations(spec)) {
    out.push_back(std::move(w));
  }
  return out;
}
}  // namespace

PolicyDefinition definition() {
  PolicyDefinition d;
  d.name = "MeshLoadBalancingStrategy";
  d.wsPath = "meshloadbalancingstrategies";
  d.shortName = "mlbs";
  d.singularDisplayName = "Mesh Load Balancing Strategy";
  d.pluralDisplayName = "Mesh Load Balancing Strategies";
  d.flags.hasToTargetRef = true;
  d.isOutbound = true;
  d.schema = object({
      field("targetRef", targetRefSchema()),
      field("to", arrayOf(targetedItemSchema(confSchema(), false))),
  });
  d.validate = validate;
  d.deprecations = deprecations;
  return d;
}

}  // namespace kuma::policies::meshloadbalancingstrategy
