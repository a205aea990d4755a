#include "source/plugins/policies/core/policy.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "source/common/go_duration.h"
#include "source/core/resources/validation_helpers.h"
#include "source/plugins/policies/core/schema_spec.h"

namespace kuma::policies {

using validators::PathBuilder;
using validators::ValidationError;

model::ResourceTypeDescriptor makeDescriptor(const PolicyDefinition& def) {
  if (def.descriptor) {
    return def.descriptor();
  }
  model::ResourceTypeDescriptor d;
  d.name = def.name;
  d.wsPath = def.wsPath;
  d.shortName = def.shortName;
  d.singularDisplayName = def.singularDisplayName;
  d.pluralDisplayName = def.pluralDisplayName;
  d.scope = def.scope;
  d.format = model::SpecFormat::SpecStatus;
  d.isPolicy = def.isPolicy;
  d.providedByZone = def.providedByZone;
  d.includeInFederation = def.includeInFederation;
  d.isInbound = def.isInbound;
  d.isOutbound = def.isOutbound;
  d.policy = def.flags;
  d.policy.isTargetRef = def.isPolicy;
  SchemaPtr schema = def.schema;
  if (SchemaPtr status = def.statusSchema) {
    d.parseSpec = [schema, status](const nlohmann::json& object) {
      return SchemaSpec::parseWithStatus(*schema, *status, object);
    };
    d.emptySpec = [status]() -> model::SpecConstSharedPtr {
      ValidationError unused;
      return std::make_shared<const SchemaSpec>(
          nlohmann::ordered_json::object(),
          normalize(*status, nlohmann::json::object(), validators::PathBuilder("status"), unused));
    };
  } else {
    d.parseSpec = [schema](const nlohmann::json& object) {
      return SchemaSpec::parse(*schema, object);
    };
    d.emptySpec = [] { return SchemaSpec::empty(); };
  }
  if (auto deprecations = def.deprecations) {
    d.deprecations = [deprecations](const model::Resource& resource) {
      const SchemaSpec* spec = schemaSpecOf(resource);
      return spec == nullptr ? std::vector<std::string>{} : deprecations(spec->spec());
    };
  } else if (auto ofResource = def.resourceDeprecations) {
    d.deprecations = ofResource;
  }
  auto validate = def.validate;
  auto validateResource = def.validateResource;
  d.validate = [validate, validateResource](const model::Resource& resource,
                                            ValidationError& errors) {
    if (validateResource) {
      validateResource(resource, errors);
    }
    const SchemaSpec* spec = schemaSpecOf(resource);
    if (spec == nullptr) {
      errors.addViolation("spec", "must be a policy spec");
      return;
    }
    if (validate) {
      validate(spec->spec(), errors);
    }
  };
  return d;
}

std::vector<std::string> topLevelTargetRefDeprecations(const nlohmann::json& spec) {
  const nlohmann::json* ref = member(spec, "targetRef");
  const nlohmann::json* kind = ref == nullptr ? nullptr : member(*ref, "kind");
  if (kind == nullptr || !kind->is_string()) {
    return {};
  }
  const std::string& k = kind->get_ref<const std::string&>();
  if (k == "MeshService" || k == "MeshServiceSubset" || k == "MeshSubset") {
    return {absl::StrCat(k,
                         " value for 'targetRef.kind' is deprecated, use Dataplane with labels "
                         "instead")};
  }
  if (k == "MeshHTTPRoute") {
    return {
        "MeshHTTPRoute value for 'targetRef.kind' is deprecated, use MeshHTTPRoute in "
        "spec.to[].targetRef"};
  }
  return {};
}

std::vector<std::string> fromAndTargetRefDeprecations(const nlohmann::json& spec,
                                                      const char* fromWarning,
                                                      std::vector<std::string> own) {
  std::vector<std::string> out;
  if (fromWarning != nullptr && arraySize(spec, "from") > 0) {
    out.emplace_back(fromWarning);
  }
  for (std::string& w : own) {
    out.push_back(std::move(w));
  }
  for (std::string& w : topLevelTargetRefDeprecations(spec)) {
    out.push_back(std::move(w));
  }
  return out;
}

// ---- schema pieces ----

namespace {
// ^[a-z0-9!#$%&'*+\-.^_`|~]+$
bool isHeaderNameChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
    return true;
  }
  std::string_view extra = "!#$%&'*+-.^_`|~";
  return extra.find(c) != std::string_view::npos;
}
}  // namespace

SchemaPtr headerNameSchema() {
  static const SchemaPtr schema =
      withPattern(withLength(string(), 1, 256),
                  StringPattern{"^[a-z0-9!#$%&'*+\\-.^_\\x60|~]+$", [](std::string_view s) {
                                  if (s.empty()) {
                                    return false;
                                  }
                                  for (char c : s) {
                                    if (!isHeaderNameChar(c)) {
                                      return false;
                                    }
                                  }
                                  return true;
                                }});
  return schema;
}

SchemaPtr headerModifierSchema(bool withRemove) {
  SchemaPtr kv = object({required("name", headerNameSchema()), required("value", string())});
  std::vector<SchemaField> fields = {field("set", arrayOf(kv, std::nullopt, 16)),
                                     field("add", arrayOf(kv, std::nullopt, 16))};
  if (withRemove) {
    fields.push_back(field("remove", arrayOf(string(), std::nullopt, 16)));
  }
  return object(std::move(fields));
}

SchemaPtr headerMatchSchema() {
  static const SchemaPtr schema = object({
      field("type",
            withDefault(enumOf({"Exact", "Present", "RegularExpression", "Absent", "Prefix"}),
                        "Exact")),
      required("name", headerNameSchema()),
      field("value", string()),
  });
  return schema;
}

SchemaPtr ruleMatchesSchema() {
  static const SchemaPtr schema = arrayOf(object({
      field("spiffeID",
            object({required("type", enumOf({"Exact", "Prefix"})), required("value", string())})),
      field("sni", object({required("type", enumOf({"Exact"})), required("value", string())})),
  }));
  return schema;
}

SchemaPtr targetedItemSchema(SchemaPtr conf, bool defaultRequired) {
  return object(
      {required("targetRef", targetRefSchema()),
       defaultRequired ? required("default", std::move(conf)) : field("default", std::move(conf))});
}

SchemaPtr ruleItemSchema(SchemaPtr conf, bool defaultRequired) {
  return object({field("matches", ruleMatchesSchema()), defaultRequired
                                                            ? required("default", std::move(conf))
                                                            : field("default", std::move(conf))});
}

// ---- JSON access ----

const nlohmann::json* member(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) {
    return nullptr;
  }
  auto it = obj.find(std::string(key));
  if (it == obj.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

size_t arraySize(const nlohmann::json& obj, std::string_view key) {
  const nlohmann::json* v = member(obj, key);
  return v != nullptr && v->is_array() ? v->size() : 0;
}

SectionSizes validateSections(const nlohmann::json& spec, validators::ValidationError& errors) {
  const validators::PathBuilder root("spec");
  const SectionSizes sizes{arraySize(spec, "to"), arraySize(spec, "from"),
                           arraySize(spec, "rules")};
  if (sizes.to == 0 && sizes.from == 0 && sizes.rules == 0) {
    errors.addViolationAt(root, "at least one of 'from', 'to' or 'rules' has to be defined");
  }
  if (sizes.rules > 0 && (sizes.to > 0 || sizes.from > 0)) {
    errors.addViolationAt(root, "fields 'to' and 'from' must be empty when 'rules' is defined");
  }
  return sizes;
}

std::vector<std::string_view> destinationKinds(bool meshOnly, bool withMesh) {
  if (meshOnly) {
    return {kMesh};
  }
  std::vector<std::string_view> kinds;
  if (withMesh) {
    kinds.push_back(kMesh);
  }
  kinds.insert(kinds.end(), {kMeshService, kMeshExternalService, kMeshMultiZoneService});
  return kinds;
}

TargetRefOpts routeAwareDestinationOpts(std::string_view top, const nlohmann::json& /*item*/) {
  TargetRefOpts opts;
  if (top == kMeshGateway || top == kMeshHTTPRoute) {
    opts.supportedKinds = {kMesh, kMeshExternalService};
  } else {
    opts.supportedKinds = destinationKinds(false);
    opts.supportedKinds.push_back(kMeshHTTPRoute);
  }
  return opts;
}

std::string topLevelKind(const nlohmann::json& spec) {
  const nlohmann::json* ref = member(spec, "targetRef");
  return parseTargetRef(ref != nullptr ? *ref : nlohmann::json()).kind;
}

std::optional<std::chrono::nanoseconds> durationMember(const nlohmann::json& obj,
                                                       std::string_view key) {
  const nlohmann::json* v = member(obj, key);
  if (v == nullptr || !v->is_string()) {
    return std::nullopt;
  }
  auto d = common::parseGoDuration(v->get_ref<const std::string&>());
  if (!d.ok()) {
    return std::nullopt;
  }
  return *d;
}

// ---- value validators ----

void validateDurationNotNegativeOrNil(const PathBuilder& path, const nlohmann::json& obj,
                                      std::string_view key, ValidationError& errors) {
  auto d = durationMember(obj, key);
  if (d && d->count() < 0) {
    errors.addViolationAt(path.field(key), "must not be negative when defined");
  }
}

void validateDurationGreaterThanZeroOrNil(const PathBuilder& path, const nlohmann::json& obj,
                                          std::string_view key, ValidationError& errors) {
  auto d = durationMember(obj, key);
  if (d && d->count() <= 0) {
    errors.addViolationAt(path.field(key), "must be greater than zero when defined");
  }
}

void validateDurationGreaterThanZero(const PathBuilder& path, const nlohmann::json& obj,
                                     std::string_view key, ValidationError& errors) {
  auto d = durationMember(obj, key);
  if (!d || d->count() <= 0) {
    errors.addViolationAt(path.field(key), "must be defined and greater than zero");
  }
}

void validateValueGreaterThanZeroOrNil(const PathBuilder& path, const nlohmann::json& obj,
                                       std::string_view key, ValidationError& errors) {
  const nlohmann::json* v = member(obj, key);
  if (v != nullptr && v->is_number() && v->get<double>() <= 0) {
    errors.addViolationAt(path.field(key), "must be greater than zero when defined");
  }
}

std::optional<double> decimalOf(const nlohmann::json& value) {
  if (value.is_number()) {
    return value.get<double>();
  }
  if (!value.is_string()) {
    return std::nullopt;
  }
  const std::string& s = value.get_ref<const std::string&>();
  if (s.empty()) {
    return std::nullopt;
  }
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E';
    if (!ok) {
      return std::nullopt;
    }
  }
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(d)) {
    return std::nullopt;
  }
  return d;
}

namespace {
void checkPercentage(const PathBuilder& path, const nlohmann::json& value, bool allowZero,
                     ValidationError& errors) {
  std::optional<double> d = decimalOf(value);
  if (!d) {
    errors.addViolationAt(path, "string must be a valid number");
    return;
  }
  if (*d < 0 || *d > 100) {
    errors.addViolationAt(path, "must be in inclusive range [0.0, 100.0]");
  } else if (!allowZero && *d == 0) {
    errors.addViolationAt(path, "must be greater than 0");
  }
}
}  // namespace

void validatePercentage(const PathBuilder& path, const nlohmann::json& obj, std::string_view key,
                        bool allowZero, ValidationError& errors) {
  const nlohmann::json* v = member(obj, key);
  if (v == nullptr) {
    errors.addViolationAt(path.field(key), "must be defined");
    return;
  }
  checkPercentage(path.field(key), *v, allowZero, errors);
}

void validatePercentageOrNil(const PathBuilder& path, const nlohmann::json& obj,
                             std::string_view key, ValidationError& errors) {
  if (const nlohmann::json* v = member(obj, key)) {
    checkPercentage(path.field(key), *v, true, errors);
  }
}

void validateIntPercentageOrNil(const PathBuilder& path, const nlohmann::json& obj,
                                std::string_view key, ValidationError& errors) {
  const nlohmann::json* v = member(obj, key);
  if (v != nullptr && v->is_number() && (v->get<double>() < 0 || v->get<double>() > 100)) {
    errors.addViolationAt(path.field(key), "must be in inclusive range [0, 100]");
  }
}

void validateStatusCode(const PathBuilder& path, const nlohmann::json& obj, std::string_view key,
                        ValidationError& errors) {
  const nlohmann::json* v = member(obj, key);
  if (v == nullptr || !v->is_number() || v->get<double>() < 100 || v->get<double>() >= 600) {
    errors.addViolationAt(path.field(key), "must be in inclusive range [100, 599]");
  }
}

void validateTopTargetRef(const nlohmann::json& spec, const TargetRefOpts& opts,
                          ValidationError& errors) {
  if (const nlohmann::json* ref = member(spec, "targetRef")) {
    errors.addAt(PathBuilder("spec").field("targetRef"), validateTargetRef(*ref, opts));
  }
}

void validateTargetedItems(const nlohmann::json& spec, std::string_view section,
                           const TargetRefOpts& opts, const ConfValidator& conf,
                           ValidationError& errors) {
  const nlohmann::json* items = member(spec, section);
  if (items == nullptr || !items->is_array()) {
    return;
  }
  for (size_t i = 0; i < items->size(); ++i) {
    PathBuilder path = PathBuilder("spec").field(section).index(i);
    const nlohmann::json& item = (*items)[i];
    const nlohmann::json* ref = member(item, "targetRef");
    errors.addAt(path.field("targetRef"),
                 validateTargetRef(ref != nullptr ? *ref : nlohmann::json::object(), opts));
    if (conf) {
      conf(path.field("default"), member(item, "default"), errors);
    }
  }
}

void validateRuleItems(const nlohmann::json& spec, const ConfValidator& conf,
                       ValidationError& errors) {
  const nlohmann::json* items = member(spec, "rules");
  if (items == nullptr || !items->is_array() || !conf) {
    return;
  }
  for (size_t i = 0; i < items->size(); ++i) {
    PathBuilder path = PathBuilder("spec").field("rules").index(i);
    conf(path.field("default"), member((*items)[i], "default"), errors);
  }
}

// ---- the policy definition helper ----

PolicyDefinition targetedPolicy(TargetedPolicy policy) {
  PolicyDefinition d;
  d.name = policy.names.name;
  d.wsPath = policy.names.wsPath;
  d.shortName = policy.names.shortName;
  d.singularDisplayName = policy.names.singular;
  d.pluralDisplayName = policy.names.plural;
  d.flags.hasToTargetRef = policy.to;
  d.flags.hasFromTargetRef = policy.from;
  d.flags.hasRulesTargetRef = policy.rules;
  d.flags.isFromAsRules = policy.fromAsRules;
  d.isInbound = policy.from || policy.rules;
  d.isOutbound = policy.to;
  d.schema = policy.schema;
  if (d.schema == nullptr) {
    std::vector<SchemaField> fields = {field("targetRef", targetRefSchema())};
    if (policy.from) {
      fields.push_back(
          field("from", arrayOf(targetedItemSchema(policy.conf, policy.defaultRequired))));
    }
    if (policy.to) {
      fields.push_back(
          field("to", arrayOf(targetedItemSchema(policy.conf, policy.defaultRequired))));
    }
    if (policy.rules) {
      fields.push_back(
          field("rules", arrayOf(ruleItemSchema(policy.conf, policy.ruleDefaultRequired))));
    }
    d.schema = object(std::move(fields));
  }
  d.deprecations = policy.deprecations;
  d.validate = policy.validate;
  if (!d.validate) {
    auto shape = std::make_shared<const TargetedPolicy>(std::move(policy));
    d.validate = [shape](const nlohmann::json& spec, ValidationError& errors) {
      validateTargetedPolicy(*shape, spec, errors);
    };
  }
  return d;
}

void validateTargetedPolicy(const TargetedPolicy& policy, const nlohmann::json& spec,
                            ValidationError& errors) {
  const bool inbound = policy.from || policy.rules;
  validateTopTargetRef(spec, {policy.topKinds, true, inbound, {}, {}}, errors);
  const std::string top = topLevelKind(spec);
  const bool httpRouteOnTop =
      top == kMeshHTTPRoute && std::find(policy.topKinds.begin(), policy.topKinds.end(),
                                         kMeshHTTPRoute) != policy.topKinds.end();
  const bool underGateway = top == kMeshGateway || httpRouteOnTop;
  ConfValidator conf;
  if (policy.validateConf) {
    conf = [&policy, &top](const PathBuilder& path, const nlohmann::json* c, ValidationError& e) {
      policy.validateConf(path, c, top, e);
    };
  }
  auto validateTo = [&] {
    if (!policy.to) {
      return;
    }
    const nlohmann::json* topRef = member(spec, "targetRef");
    if (policy.toOnlyWithGateways && arraySize(spec, "to") > 0 &&
        !includesGateways(parseTargetRef(topRef != nullptr ? *topRef : nlohmann::json()))) {
      errors.addViolationAt(PathBuilder("spec").field("to"), "must not be defined");
      return;
    }
    if (!policy.toTargetRefOpts && !policy.validateToItem) {
      TargetRefOpts toOpts;
      toOpts.supportedKinds =
          policy.toKinds.has_value() ? *policy.toKinds : destinationKinds(underGateway);
      validateTargetedItems(spec, "to", toOpts, conf, errors);
      return;
    }
    const nlohmann::json* items = member(spec, "to");
    for (size_t i = 0; items != nullptr && items->is_array() && i < items->size(); ++i) {
      const PathBuilder path = PathBuilder("spec").field("to").index(i);
      const nlohmann::json& item = (*items)[i];
      TargetRefOpts toOpts;
      if (policy.toTargetRefOpts) {
        toOpts = policy.toTargetRefOpts(top, item);
      } else {
        toOpts.supportedKinds =
            policy.toKinds.has_value() ? *policy.toKinds : destinationKinds(underGateway);
      }
      const nlohmann::json* ref = member(item, "targetRef");
      errors.addAt(path.field("targetRef"),
                   validateTargetRef(ref != nullptr ? *ref : nlohmann::json::object(), toOpts));
      if (policy.validateToItem) {
        policy.validateToItem(path, item, top, errors);
      } else if (conf) {
        conf(path.field("default"), member(item, "default"), errors);
      }
    }
  };
  if (!inbound) {
    if (arraySize(spec, "to") == 0) {
      errors.addViolationAt(PathBuilder("spec").field("to"), "needs at least one item");
    }
  } else {
    const SectionSizes sections = validateSections(spec, errors);
    if (policy.toBeforeFrom) {
      validateTo();
    }
    if (policy.from) {
      if (underGateway && !policy.fromUnderGateways && sections.from > 0) {
        errors.addViolationAt(PathBuilder("spec").field("from"), "must not be defined");
      } else {
        validateTargetedItems(spec, "from", {policy.fromKinds, false, true, {}, {}}, conf, errors);
      }
    }
  }
  if (!inbound || !policy.toBeforeFrom) {
    validateTo();
  }
  if (policy.rules) {
    validateRuleItems(spec, conf, errors);
  }
}

void validateTlsVersionOrder(const PathBuilder& path, const nlohmann::json& version,
                             ValidationError& errors) {
  static const std::map<std::string, int, std::less<>> order = {
      {"TLS10", 0}, {"TLS11", 1}, {"TLS12", 2}, {"TLS13", 3}};
  const nlohmann::json* min = member(version, "min");
  const nlohmann::json* max = member(version, "max");
  if (min == nullptr || max == nullptr || !min->is_string() || !max->is_string()) {
    return;
  }
  auto lo = order.find(min->get_ref<const std::string&>());
  auto hi = order.find(max->get_ref<const std::string&>());
  if (lo != order.end() && hi != order.end() && lo->second > hi->second) {
    errors.addViolationAt(path.field("min"), "min version must be lower than max");
  }
}

nlohmann::json mergedDefault(const std::vector<const nlohmann::json*>& specs) {
  nlohmann::json conf = nlohmann::json::object();
  for (const nlohmann::json* spec : specs) {
    if (const nlohmann::json* d = member(*spec, "default")) {
      conf.merge_patch(*d);
    }
  }
  return conf;
}

void validateOtelBackendRefOrEndpoint(const validators::PathBuilder& path,
                                      const nlohmann::json& otel, bool hostPort,
                                      validators::ValidationError& errors) {
  const nlohmann::json* ep = member(otel, "endpoint");
  const std::string endpoint =
      ep != nullptr && ep->is_string() ? ep->get<std::string>() : std::string();
  const nlohmann::json* ref = member(otel, "backendRef");
  if (!endpoint.empty() && ref != nullptr) {
    errors.addViolationAt(path,
                          "openTelemetry must have only one type defined: endpoint, backendRef");
  } else if (endpoint.empty() && ref == nullptr) {
    errors.addViolationAt(path,
                          "openTelemetry must have exactly one defined: endpoint, backendRef");
  } else if (ref != nullptr) {
    const nlohmann::json* kind = member(*ref, "kind");
    if (kind == nullptr || *kind != "MeshOpenTelemetryBackend") {
      errors.addViolationAt(path.field("backendRef").field("kind"),
                            "kind must be one of: MeshOpenTelemetryBackend");
    }
    const nlohmann::json* labels = member(*ref, "labels");
    if (labels == nullptr || labels->empty()) {
      errors.addViolationAt(path.field("backendRef"),
                            "backendRef must have exactly one defined: labels");
    }
  } else if (endpoint.find_first_of("/?#") != std::string::npos) {
    errors.addViolationAt(path.field("endpoint"), "must be in host:port format, not a URL");
  } else if (std::string host, port; hostPort && !resources::splitHostPort(endpoint, host, port)) {
    errors.addViolationAt(path.field("endpoint"), "must be in host:port format");
  }
}

std::vector<std::string> otelBackendPolicyDeprecations(const nlohmann::json& spec) {
  std::vector<std::string> out;
  const nlohmann::json* conf = member(spec, "default");
  const nlohmann::json* backends = conf == nullptr ? nullptr : member(*conf, "backends");
  if (backends != nullptr && backends->is_array()) {
    for (const nlohmann::json& backend : *backends) {
      const nlohmann::json* otel = member(backend, "openTelemetry");
      const nlohmann::json* ep = otel == nullptr ? nullptr : member(*otel, "endpoint");
      if (ep != nullptr && ep->is_string() && !ep->get<std::string>().empty() &&
          member(*otel, "backendRef") == nullptr) {
        out.emplace_back(
            "openTelemetry.endpoint is deprecated, use openTelemetry.backendRef with a "
            "MeshOpenTelemetryBackend resource instead");
        break;
      }
    }
  }
  for (std::string& w : topLevelTargetRefDeprecations(spec)) {
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace kuma::policies
