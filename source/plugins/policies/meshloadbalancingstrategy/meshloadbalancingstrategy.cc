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

void validateConf(const PathBuilder& path, const nlohmann::json* conf, std::string_view /*top*/,
                  ValidationError& errors) {
  if (conf == nullptr) {
    return;
  }
  if (const nlohmann::json* lb = member(*conf, "loadBalancer")) {
    PathBuilder lp = path.field("loadBalancer");
    if (const nlohmann::json* rh = member(*lb, "ringHash")) {
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
    // Kuma's validateLocalZone: non-empty keys, weights > 0, all or none weighted.
    const nlohmann::json* lz = member(*la, "localZone");
    const nlohmann::json* affinity = lz != nullptr ? member(*lz, "affinityTags") : nullptr;
    if (affinity != nullptr && affinity->is_array()) {
      PathBuilder ap = path.field("localityAwareness").field("localZone").field("affinityTags");
      size_t weighted = 0;
      for (size_t i = 0; i < affinity->size(); ++i) {
        const nlohmann::json& tag = (*affinity)[i];
        const nlohmann::json* key = member(tag, "key");
        if (key != nullptr && key->is_string() && key->get<std::string>().empty()) {
          errors.addViolationAt(ap.index(i).field("key"), "must not be empty");
        }
        if (const nlohmann::json* weight = member(tag, "weight")) {
          if (weight->is_number_integer() && weight->get<int64_t>() <= 0) {
            errors.addViolationAt(ap.index(i).field("weight"), "must be greater than 0");
          }
          ++weighted;
        }
      }
      if (weighted > 0 && weighted != affinity->size()) {
        errors.addViolationAt(ap, "all or none affinity tags should have weight");
      }
    }
    const nlohmann::json* cz = member(*la, "crossZone");
    const nlohmann::json* failover = cz != nullptr ? member(*cz, "failover") : nullptr;
    PathBuilder cp = path.field("localityAwareness").field("crossZone");
    if (failover != nullptr) {
      for (size_t i = 0; i < failover->size(); ++i) {
        if (const nlohmann::json* from = member((*failover)[i], "from")) {
          PathBuilder fp = cp.field("failover").index(i).field("from").field("zones");
          const nlohmann::json* zones = member(*from, "zones");
          if (zones == nullptr || !zones->is_array()) {
            // required by the schema
          } else if (zones->empty()) {
            errors.addViolationAt(fp, "must not be empty");
          } else {
            for (size_t z = 0; z < zones->size(); ++z) {
              if ((*zones)[z].is_string() && (*zones)[z].get<std::string>().empty()) {
                errors.addViolationAt(fp.index(z), "must not be empty");
              }
            }
          }
        }
        const nlohmann::json* to = member((*failover)[i], "to");
        if (to == nullptr) {
          continue;
        }
        std::string type = to->value("type", "");
        size_t zones = arraySize(*to, "zones");
        PathBuilder zp = cp.field("failover").index(i).field("to").field("zones");
        if ((type == "Only" || type == "AnyExcept") && zones == 0) {
          errors.addViolationAt(zp, absl::StrCat("must not be empty when type is ", type));
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
// Kuma's validateTo: under a top-level MeshGateway only Mesh when the item sets a loadBalancer
// (with Kuma's odd text naming the top-level kind), else no MeshHTTPRoute; elsewhere also
// MeshHTTPRoute. Never MeshExternalService.
TargetRefOpts toTargetRefOpts(std::string_view top, const nlohmann::json& item) {
  TargetRefOpts opts;
  if (top == kMeshGateway) {
    const nlohmann::json* conf = member(item, "default");
    if (conf != nullptr && member(*conf, "loadBalancer") != nullptr) {
      opts.supportedKinds = {kMesh};
      opts.supportedKindsError =
          "value 'MeshGateway' is not supported, only Mesh is allowed if loadBalancer is set";
    } else {
      opts.supportedKinds = {kMesh, kMeshService, kMeshMultiZoneService};
    }
  } else {
    opts.supportedKinds = {kMesh, kMeshService, kMeshMultiZoneService, kMeshHTTPRoute};
  }
  return opts;
}

// The rest of Kuma's validateTo item check and its validateConf(conf, to): a
// MeshExternalService only under a top-level Mesh; a MeshHTTPRoute item takes hashPolicies only.
void validateToItem(const PathBuilder& path, const nlohmann::json& item, std::string_view top,
                    ValidationError& errors) {
  const nlohmann::json* ref = member(item, "targetRef");
  const std::string kind = parseTargetRef(ref != nullptr ? *ref : nlohmann::json()).kind;
  if (kind == kMeshExternalService && top != kMesh) {
    errors.addViolationAt(path.field("targetRef").field("kind"),
                          "kind MeshExternalService is only allowed with targetRef.kind: Mesh as "
                          "it is configured on the Zone Egress and shared by all clients in the "
                          "mesh");
  }
  const nlohmann::json* conf = member(item, "default");
  const PathBuilder confPath = path.field("default");
  if (kind != kMeshHTTPRoute) {
    validateConf(confPath, conf, top, errors);
    return;
  }
  if (conf == nullptr) {
    return;
  }
  validateHashPolicies(confPath.field("hashPolicies"), member(*conf, "hashPolicies"), errors);
  for (const char* field : {"loadBalancer", "localityAwareness"}) {
    if (member(*conf, field) != nullptr) {
      errors.addViolationAt(
          confPath.field(field),
          "field is not allowed when targetRef.kind is MeshHTTPRoute, only hashPolicies is "
          "supported");
    }
  }
}

}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshLoadBalancingStrategy", "meshloadbalancingstrategies", "mlbs",
                "Mesh Load Balancing Strategy", "Mesh Load Balancing Strategies"},
      .topKinds = {kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset, kDataplane},
      .to = true,
      .toTargetRefOpts = toTargetRefOpts,
      .validateToItem = validateToItem,
      .conf = confSchema(),
      .validateConf = validateConf,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshloadbalancingstrategy
