#include "source/plugins/policies/meshhttproute/meshhttproute.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kuma::policies::meshhttproute {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

// RFC 1123 subdomain: ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
bool isDns1123Subdomain(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('.', start);
    std::string_view label = s.substr(start, end == std::string_view::npos ? s.npos : end - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return false;
      }
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return true;
}

SchemaPtr hostnameSchema() {
  return withPattern(
      withLength(string(), 1, 253),
      StringPattern{"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                    isDns1123Subdomain});
}

SchemaPtr pathModifierSchema() {
  return object({
      required("type", enumOf({"ReplaceFullPath", "ReplacePrefixMatch"})),
      field("replaceFullPath", string()),
      field("replacePrefixMatch", string()),
  });
}

SchemaPtr ruleSchema() {
  SchemaPtr match = object({
      field("path", object({required("type", enumOf({"Exact", "PathPrefix", "RegularExpression"})),
                            required("value", withLength(string(), 1, std::nullopt))})),
      field("method", enumOf({"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
                              "TRACE"})),
      field("queryParams", arrayOf(object({required("type", enumOf({"Exact", "RegularExpression"})),
                                           required("name", withLength(string(), 1, std::nullopt)),
                                           required("value", string())}))),
      field("headers", arrayOf(headerMatchSchema())),
  });
  SchemaPtr filter = object({
      required("type", enumOf({"RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect",
                               "URLRewrite", "RequestMirror"})),
      field("requestHeaderModifier", headerModifierSchema(true)),
      field("responseHeaderModifier", headerModifierSchema(true)),
      field("requestRedirect",
            object({
                field("scheme", enumOf({"http", "https"})),
                field("hostname", hostnameSchema()),
                field("path", pathModifierSchema()),
                field("port", int32(1, 65535)),
                field("statusCode",
                      withDefault(withIntEnum(int32(), {301, 302, 303, 307, 308}), 302)),
            })),
      field("urlRewrite", object({
                              field("hostname", hostnameSchema()),
                              field("path", pathModifierSchema()),
                              field("hostToBackendHostname", boolean()),
                          })),
      field("requestMirror", object({
                                 required("backendRef", backendRefSchema()),
                                 field("percentage", intOrString()),
                             })),
  });
  return object({
      required("matches", arrayOf(match, 1)),
      required("default", object({
                              field("filters", arrayOf(filter)),
                              field("backendRefs", arrayOf(backendRefSchema())),
                          })),
  });
}

const std::vector<std::string_view> kBackendKinds = {kMeshService, kMeshServiceSubset,
                                                     kMeshExternalService, kMeshMultiZoneService};

void validateBackendRef(const PathBuilder& path, const nlohmann::json& ref,
                        const std::vector<std::string_view>& kinds, ValidationError& errors) {
  TargetRefOpts opts;
  opts.supportedKinds = kinds;
  opts.allowedInvalidNames = {"kuma.io/unresolved-backend"};
  errors.addAt(path, validateTargetRef(ref, opts));
  if (ref.value("kind", "") == kMeshMultiZoneService && member(ref, "port") == nullptr) {
    errors.addViolationAt(path.field("port"), "must be defined with kind MeshMultiZoneService");
  }
}

bool allMatchesArePrefix(const nlohmann::json& matches) {
  for (const auto& m : matches) {
    const nlohmann::json* p = member(m, "path");
    if (p == nullptr || p->value("type", "") != "PathPrefix") {
      return false;
    }
  }
  return true;
}

void validateHeaderModifier(const PathBuilder& path, const nlohmann::json& mod,
                            ValidationError& errors) {
  if (member(mod, "set") == nullptr && member(mod, "add") == nullptr &&
      member(mod, "remove") == nullptr) {
    errors.addViolationAt(path, "must have at least one defined: set, add, remove");
    return;
  }
  std::set<std::string> seen;
  for (const char* section : {"set", "add", "remove"}) {
    const nlohmann::json* items = member(mod, section);
    if (items == nullptr) {
      continue;
    }
    for (size_t i = 0; i < items->size(); ++i) {
      const nlohmann::json& item = (*items)[i];
      std::string name = item.is_string() ? item.get<std::string>() : item.value("name", "");
      if (!seen.insert(name).second) {
        errors.addViolationAt(path.field(section).index(i).field("name"), "duplicate header name");
      }
    }
  }
}

void validateMatches(const PathBuilder& path, const nlohmann::json& matches,
                     ValidationError& errors) {
  for (size_t i = 0; i < matches.size(); ++i) {
    const nlohmann::json& m = matches[i];
    PathBuilder mp = path.index(i);
    if (const nlohmann::json* p = member(m, "path")) {
      std::string type = p->value("type", "");
      std::string value = p->value("value", "");
      PathBuilder vp = mp.field("path").field("value");
      if (type == "PathPrefix" && value != "/") {
        if (absl::EndsWith(value, "/")) {
          errors.addViolationAt(vp,
                                "does not need a trailing slash because only a `/`-separated "
                                "prefix or an entire path is matched");
        }
        if (!absl::StartsWith(value, "/")) {
          errors.addViolationAt(vp, "must be an absolute path");
        }
      } else if (type == "Exact" && !absl::StartsWith(value, "/")) {
        errors.addViolationAt(vp, "must be an absolute path");
      }
    }
    if (const nlohmann::json* qps = member(m, "queryParams")) {
      std::set<std::string> names;
      for (size_t q = 0; q < qps->size(); ++q) {
        std::string name = (*qps)[q].value("name", "");
        if (!names.insert(name).second) {
          errors.addViolationAt(mp.field("queryParams").index(q).field("name"),
                                absl::StrCat("multiple entries for name ", name));
        }
      }
    }
    if (const nlohmann::json* headers = member(m, "headers")) {
      for (size_t h = 0; h < headers->size(); ++h) {
        const nlohmann::json& hm = (*headers)[h];
        std::string type = hm.value("type", "Exact");
        if ((type == "Present" || type == "Absent") && !hm.value("value", "").empty()) {
          errors.addViolationAt(mp.field("headers").index(h).field("value"), "must not be defined");
        }
      }
    }
  }
}

void validateFilters(const PathBuilder& path, const nlohmann::json& filters,
                     const nlohmann::json& matches, const std::string& top,
                     ValidationError& errors) {
  for (size_t i = 0; i < filters.size(); ++i) {
    const nlohmann::json& f = filters[i];
    PathBuilder fp = path.index(i);
    std::string type = f.value("type", "");
    if (type == "RequestHeaderModifier" || type == "ResponseHeaderModifier") {
      const char* name =
          type == "RequestHeaderModifier" ? "requestHeaderModifier" : "responseHeaderModifier";
      if (const nlohmann::json* mod = member(f, name)) {
        validateHeaderModifier(fp.field(name), *mod, errors);
      } else {
        errors.addViolationAt(fp.field(name), "must be defined");
      }
    } else if (type == "RequestRedirect" || type == "URLRewrite") {
      const char* name = type == "RequestRedirect" ? "requestRedirect" : "urlRewrite";
      const nlohmann::json* conf = member(f, name);
      if (conf == nullptr) {
        errors.addViolationAt(fp.field(name), "must be defined");
        continue;
      }
      const nlohmann::json* p = member(*conf, "path");
      if (p != nullptr && member(*p, "replacePrefixMatch") != nullptr &&
          !allMatchesArePrefix(matches)) {
        errors.addViolationAt(fp.field(name).field("path").field("replacePrefixMatch"),
                              "can only appear if all matches match a path prefix");
      }
      if (type == "URLRewrite" && conf->value("hostToBackendHostname", false)) {
        if (top != kMeshGateway) {
          errors.addViolationAt(fp.field(name).field("hostToBackendHostname"),
                                "can only be set with MeshGateway");
        }
        if (member(*conf, "hostname") != nullptr) {
          errors.addViolationAt(fp.field(name).field("hostToBackendHostname"),
                                "cannot be set together with hostname");
        }
      }
    } else if (type == "RequestMirror") {
      const nlohmann::json* mirror = member(f, "requestMirror");
      if (mirror == nullptr) {
        errors.addViolationAt(fp.field("requestMirror"), "must be defined");
        continue;
      }
      if (const nlohmann::json* ref = member(*mirror, "backendRef")) {
        TargetRefOpts opts;
        opts.supportedKinds = {kMeshService, kMeshServiceSubset};
        errors.addAt(fp.field("requestMirror").field("backendRef"), validateTargetRef(*ref, opts));
      }
      validatePercentageOrNil(fp.field("requestMirror"), *mirror, "percentage", errors);
    }
  }
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  validateTopTargetRef(
      spec,
      {{kMesh, kMeshSubset, kMeshService, kMeshServiceSubset, kDataplane, kMeshGateway},
       true,
       false,
       {},
       {}},
      errors);
  std::string top = topLevelKind(spec);
  const nlohmann::json* tos = member(spec, "to");
  if (tos == nullptr) {
    return;
  }
  PathBuilder toPath = PathBuilder("spec").field("to");
  for (size_t t = 0; t < tos->size(); ++t) {
    const nlohmann::json& to = (*tos)[t];
    PathBuilder tp = toPath.index(t);
    TargetRefOpts toOpts;
    toOpts.supportedKinds = destinationKinds(top == kMeshGateway, /*withMesh=*/false);
    const nlohmann::json* ref = member(to, "targetRef");
    errors.addAt(tp.field("targetRef"),
                 validateTargetRef(ref != nullptr ? *ref : nlohmann::json::object(), toOpts));
    if (top != kMeshGateway && arraySize(to, "hostnames") > 0) {
      errors.addViolationAt(tp.field("hostnames"), "must not be defined");
    }
    const nlohmann::json* rules = member(to, "rules");
    if (rules == nullptr) {
      continue;
    }
    for (size_t r = 0; r < rules->size(); ++r) {
      const nlohmann::json& rule = (*rules)[r];
      PathBuilder rp = tp.field("rules").index(r);
      const nlohmann::json emptyArray = nlohmann::json::array();
      const nlohmann::json* matches = member(rule, "matches");
      validateMatches(rp.field("matches"), matches != nullptr ? *matches : emptyArray, errors);
      const nlohmann::json* def = member(rule, "default");
      if (def == nullptr) {
        continue;
      }
      const nlohmann::json* filters = member(*def, "filters");
      if (filters != nullptr) {
        validateFilters(rp.field("default").field("filters"), *filters,
                        matches != nullptr ? *matches : emptyArray, top, errors);
      }
      const nlohmann::json* backends = member(*def, "backendRefs");
      if ((backends == nullptr || backends->empty()) && top == kMeshGateway) {
        bool redirect = false;
        if (filters != nullptr) {
          for (const auto& f : *filters) {
            redirect = redirect || f.value("type", "") == "RequestRedirect";
          }
        }
        if (!redirect) {
          errors.addViolationAt(rp.field("default").field("backendRefs"), "must not be empty");
        }
      }
      if (backends != nullptr) {
        for (size_t b = 0; b < backends->size(); ++b) {
          validateBackendRef(rp.field("default").field("backendRefs").index(b), (*backends)[b],
                             kBackendKinds, errors);
        }
      }
    }
  }
}

}  // namespace

namespace {
// Kuma's MeshHTTPRouteResource.Deprecations (api/v1alpha1/deprecated.go).
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  return topLevelTargetRefDeprecations(spec);
}
}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshHTTPRoute", "meshhttproutes", "mhttpr", "Mesh HTTP Route", "Mesh HTTP Routes"},
      .to = true,
      .schema = object({
          field("targetRef", targetRefSchema()),
          field("to", arrayOf(object({
                          required("targetRef", targetRefSchema()),
                          field("hostnames", arrayOf(string())),
                          required("rules", arrayOf(ruleSchema())),
                      }))),
      }),
      .validate = validate,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshhttproute
