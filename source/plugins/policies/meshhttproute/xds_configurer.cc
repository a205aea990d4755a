#include "source/plugins/policies/meshhttproute/xds_configurer.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/rules.h"
#include "source/plugins/policies/core/target_ref.h"
#include "source/xds/context/mesh_context.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "source/xds/envoy/destination.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::meshhttproute {
namespace {

using nlohmann::json;
namespace cluster_v3 = envoy::config::cluster::v3;
namespace core_v3 = envoy::config::core::v3;
namespace endpoint_v3 = envoy::config::endpoint::v3;
namespace route_v3 = envoy::config::route::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;

constexpr char kServiceTag[] = "kuma.io/service";

std::string stringMember(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// ---- Kuma's HashMatches: Go's encoding/json of []Match ----

// A JSON string as Go's encoder writes it (HTML-safe: <, > and & escaped, as are U+2028/9).
void goString(std::string& out, const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '<':
      case '>':
      case '&':
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else if (c == 0xe2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(s[i + 2]) == 0xa8 ||
                    static_cast<unsigned char>(s[i + 2]) == 0xa9)) {
          out += static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
          i += 2;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// `"key":"value"` for the present string members, in Kuma's struct field order.
void goFields(std::string& out, const json& obj,
              const std::vector<std::pair<std::string_view, bool>>& fields) {
  bool first = true;
  for (const auto& [key, omitEmpty] : fields) {
    const std::string value = stringMember(obj, key);
    if (omitEmpty && value.empty()) {
      continue;
    }
    if (!first) {
      out += ',';
    }
    first = false;
    goString(out, std::string(key));
    out += ':';
    goString(out, value);
  }
}

void goMatch(std::string& out, const json& match) {
  out += '{';
  bool first = true;
  const auto sep = [&] {
    if (!first) {
      out += ',';
    }
    first = false;
  };
  if (const json* path = member(match, "path"); path != nullptr) {
    sep();
    out += "\"path\":{";
    goFields(out, *path, {{"value", false}, {"type", false}});
    out += '}';
  }
  if (const json* method = member(match, "method"); method != nullptr && method->is_string()) {
    sep();
    out += "\"method\":";
    goString(out, method->get<std::string>());
  }
  for (const auto& [key, fields] :
       std::vector<std::pair<std::string_view, std::vector<std::pair<std::string_view, bool>>>>{
           {"queryParams", {{"type", false}, {"name", false}, {"value", false}}},
           {"headers", {{"type", true}, {"name", false}, {"value", true}}}}) {
    const json* items = member(match, key);
    if (items == nullptr || !items->is_array()) {
      continue;
    }
    sep();
    goString(out, std::string(key));
    out += ":[";
    for (size_t i = 0; i < items->size(); ++i) {
      if (i > 0) {
        out += ',';
      }
      out += '{';
      goFields(out, (*items)[i], fields);
      out += '}';
    }
    out += ']';
  }
  out += '}';
}

// ---- Kuma's CompareMatch (Gateway API precedence) ----

int pathTypeRank(const std::string& type) {
  if (type == "Exact") {
    return 0;
  }
  if (type == "PathPrefix") {
    return 1;
  }
  return 2;  // RegularExpression
}

int comparePath(const json* a, const json* b) {
  if (a != nullptr && b == nullptr) {
    return -1;
  }
  if (a == nullptr && b != nullptr) {
    return 1;
  }
  if (a == nullptr) {
    return 0;
  }
  const std::string ta = stringMember(*a, "type");
  const std::string tb = stringMember(*b, "type");
  if (ta == tb) {
    if (ta == "Exact") {
      return 0;
    }
    // A longer prefix (or regex) is a more specific match: it sorts first.
    const size_t la = stringMember(*a, "value").size();
    const size_t lb = stringMember(*b, "value").size();
    return la == lb ? 0 : (la > lb ? -1 : 1);
  }
  const int ra = pathTypeRank(ta);
  const int rb = pathTypeRank(tb);
  return ra == rb ? 0 : (ra < rb ? -1 : 1);
}

int compareCount(size_t a, size_t b) {
  // cmp.Compare(len(b), len(a)): the match with more header / query matches sorts first.
  return a == b ? 0 : (a > b ? -1 : 1);
}

int compareMatch(const json& a, const json& b) {
  if (int p = comparePath(member(a, "path"), member(b, "path")); p != 0) {
    return p;
  }
  const bool ma = member(a, "method") != nullptr;
  const bool mb = member(b, "method") != nullptr;
  if (ma != mb) {
    return ma ? -1 : 1;
  }
  if (int h = compareCount(arraySize(a, "headers"), arraySize(b, "headers")); h != 0) {
    return h;
  }
  return compareCount(arraySize(a, "queryParams"), arraySize(b, "queryParams"));
}

// ---- routes ----

const json& catchAllMatch() {
  static const json kCatchAll = json::parse(R"({"path": {"type": "PathPrefix", "value": "/"}})");
  return kCatchAll;
}

struct Route {
  std::string name;
  json match;
  json filters = json::array();
  std::vector<Backend> split;
};

// Kuma's prepareRoutes + generateFromService for one destination: the routes with their splits
// (routes whose split is empty are dropped) and every backend a cluster is needed for (splits and
// mirrors), in first-use order.
struct Plan {
  std::vector<Route> routes;
  std::vector<Backend> clusters;
};

bool httpBackend(const xds::OutboundTarget& target, const Backend& b) {
  if (b.service == target.service || target.mesh == nullptr) {
    return xds::isHttpProtocol(target.protocol);
  }
  return xds::isHttpProtocol(target.mesh->protocol(b.service));
}

void addCluster(Plan& plan, const Backend& b) {
  for (const Backend& c : plan.clusters) {
    if (c.clusterName == b.clusterName) {
      return;
    }
  }
  plan.clusters.push_back(b);
}

std::optional<Plan> planRoutes(const json& conf, const xds::OutboundTarget& target) {
  const json* rules = conf.is_object() ? member(conf, "rules") : nullptr;
  if (rules == nullptr || !rules->is_array() || rules->empty() ||
      !xds::isHttpProtocol(target.protocol)) {
    return std::nullopt;
  }
  struct Prepared {
    std::string name;
    json match;
    json filters;
    std::vector<json> refs;
  };
  std::vector<Prepared> prepared;
  for (const json& rule : *rules) {
    const json* matches = member(rule, "matches");
    if (matches == nullptr || !matches->is_array()) {
      continue;
    }
    const json* def = member(rule, "default");
    const json* filters = def != nullptr ? member(*def, "filters") : nullptr;
    const json* refs = def != nullptr ? member(*def, "backendRefs") : nullptr;
    const std::string name = hashMatches(*matches);
    for (const json& match : *matches) {
      Prepared p;
      p.name = name;
      p.match = match;
      p.filters = filters != nullptr && filters->is_array() ? *filters : json::array();
      if (refs != nullptr && refs->is_array()) {
        p.refs.assign(refs->begin(), refs->end());
      }
      prepared.push_back(std::move(p));
    }
  }
  std::stable_sort(prepared.begin(), prepared.end(), [](const Prepared& a, const Prepared& b) {
    return compareMatch(a.match, b.match) < 0;
  });
  const bool hasCatchAll = std::any_of(prepared.begin(), prepared.end(), [](const Prepared& p) {
    return p.match == catchAllMatch();
  });
  if (!hasCatchAll) {
    Prepared p;
    p.match = catchAllMatch();
    p.name = hashMatches(json::array({catchAllMatch()}));
    p.filters = json::array();
    prepared.push_back(std::move(p));
  }

  Plan plan;
  for (Prepared& p : prepared) {
    if (member(p.match, "path") == nullptr) {
      p.match["path"] = catchAllMatch()["path"];
    }
    std::vector<Backend> resolved;
    bool anyResolved = false;
    for (const json& ref : p.refs) {
      anyResolved = anyResolved || resolvesAsBackend(ref);
      if (auto b = legacyBackend(ref, target.service, target.clusterName)) {
        resolved.push_back(*std::move(b));
      }
    }
    if (!anyResolved) {
      // Kuma's DefaultBackendRef: the destination itself, weight 100.
      resolved.push_back(Backend{target.service, {}, target.clusterName, 100});
    }
    Route route;
    route.name = p.name;
    route.match = p.match;
    route.filters = p.filters;
    for (Backend& b : resolved) {
      if (b.weight == 0 || !httpBackend(target, b)) {
        continue;
      }
      addCluster(plan, b);
      route.split.push_back(std::move(b));
    }
    if (route.split.empty()) {
      continue;
    }
    for (const json& filter : route.filters) {
      if (stringMember(filter, "type") != "RequestMirror") {
        continue;
      }
      const json* mirror = member(filter, "requestMirror");
      const json* ref = mirror != nullptr ? member(*mirror, "backendRef") : nullptr;
      if (ref == nullptr) {
        continue;
      }
      if (auto b = legacyBackend(*ref, target.service, target.clusterName);
          b && b->weight != 0 && httpBackend(target, *b)) {
        addCluster(plan, *b);
      }
    }
    plan.routes.push_back(std::move(route));
  }
  return plan;
}

struct EnvoyMatch {
  route_v3::RouteMatch match;
  bool prefixMatch = false;
};

std::vector<EnvoyMatch> envoyMatches(const json& match) {
  std::vector<EnvoyMatch> out;
  const json* path = member(match, "path");
  const std::string type = path != nullptr ? stringMember(*path, "type") : std::string();
  const std::string value = path != nullptr ? stringMember(*path, "value") : std::string();
  if (path == nullptr) {
    out.emplace_back();
  } else if (type == "Exact") {
    out.emplace_back().match.set_path(value);
  } else if (type == "PathPrefix") {
    if (value == "/") {
      out.emplace_back().match.set_prefix(value);
    } else {
      // Path-separated prefix semantics: the prefix itself, and everything below it.
      const std::string trimmed(absl::StripSuffix(value, "/"));
      out.emplace_back().match.set_path(trimmed);
      out.emplace_back().match.set_prefix(trimmed + "/");
    }
  } else {
    out.emplace_back().match.mutable_safe_regex()->set_regex(value);
  }
  for (EnvoyMatch& m : out) {
    m.prefixMatch = type == "PathPrefix";
    if (const json* method = member(match, "method"); method != nullptr && method->is_string()) {
      auto* h = m.match.add_headers();
      h->set_name(":method");
      h->mutable_string_match()->set_exact(method->get<std::string>());
    }
    if (const json* params = member(match, "queryParams");
        params != nullptr && params->is_array()) {
      std::set<std::string> seen;
      for (const json& q : *params) {
        const std::string name = stringMember(q, "name");
        if (!seen.insert(name).second) {
          continue;
        }
        auto* qp = m.match.add_query_parameters();
        qp->set_name(name);
        if (stringMember(q, "type") == "RegularExpression") {
          qp->mutable_string_match()->mutable_safe_regex()->set_regex(stringMember(q, "value"));
        } else {
          qp->mutable_string_match()->set_exact(stringMember(q, "value"));
        }
      }
    }
    if (const json* headers = member(match, "headers"); headers != nullptr && headers->is_array()) {
      std::set<std::string> seen;
      for (const json& h : *headers) {
        const std::string name = stringMember(h, "name");
        if (!seen.insert(name).second) {
          continue;
        }
        std::string htype = stringMember(h, "type");
        const std::string hvalue = stringMember(h, "value");
        auto* hm = m.match.add_headers();
        hm->set_name(name);
        if (htype.empty() || htype == "Exact") {
          hm->mutable_string_match()->set_exact(hvalue);
        } else if (htype == "Present") {
          hm->set_present_match(true);
        } else if (htype == "RegularExpression") {
          hm->mutable_string_match()->mutable_safe_regex()->set_regex(hvalue);
        } else if (htype == "Absent") {
          hm->set_present_match(false);
        } else if (htype == "Prefix") {
          if (hvalue.empty()) {
            hm->set_present_match(true);  // an empty prefix is not allowed by Envoy
          } else {
            hm->mutable_string_match()->set_prefix(hvalue);
          }
        }
      }
    }
  }
  return out;
}

void headerModifiers(const json& mod,
                     google::protobuf::RepeatedPtrField<core_v3::HeaderValueOption>& add,
                     google::protobuf::RepeatedPtrField<std::string>& remove) {
  for (const auto& [key, action] :
       {std::pair{"set", core_v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD},
        std::pair{"add", core_v3::HeaderValueOption::APPEND_IF_EXISTS_OR_ADD}}) {
    const json* items = member(mod, key);
    if (items == nullptr || !items->is_array()) {
      continue;
    }
    for (const json& item : *items) {
      auto* option = add.Add();
      option->set_append_action(action);
      option->mutable_header()->set_key(stringMember(item, "name"));
      option->mutable_header()->set_value(stringMember(item, "value"));
    }
  }
  if (const json* items = member(mod, "remove"); items != nullptr && items->is_array()) {
    for (const json& item : *items) {
      if (item.is_string()) {
        *remove.Add() = item.get<std::string>();
      }
    }
  }
}

envoy::type::matcher::v3::RegexMatchAndSubstitute regexRewrite(const std::string& substitution) {
  envoy::type::matcher::v3::RegexMatchAndSubstitute r;
  r.mutable_pattern()->set_regex(".*");
  r.set_substitution(substitution);
  return r;
}

// Kuma's ConvertPercentage of a RequestMirror percentage (int or decimal string).
std::optional<envoy::type::v3::FractionalPercent> mirrorPercentage(const json& value) {
  double v = 0;
  if (value.is_number()) {
    v = value.get<double>();
  } else if (!value.is_string() || !absl::SimpleAtod(value.get<std::string>(), &v)) {
    return std::nullopt;
  }
  envoy::type::v3::FractionalPercent p;
  if (std::floor(v) == v) {
    p.set_numerator(static_cast<uint32_t>(v));
    p.set_denominator(envoy::type::v3::FractionalPercent::HUNDRED);
  } else if (std::floor(v * 100) == v * 100) {
    p.set_numerator(static_cast<uint32_t>(v * 100));
    p.set_denominator(envoy::type::v3::FractionalPercent::TEN_THOUSAND);
  } else {
    p.set_numerator(static_cast<uint32_t>(std::round(v * 10000)));
    p.set_denominator(envoy::type::v3::FractionalPercent::MILLION);
  }
  return p;
}

route_v3::RedirectAction::RedirectResponseCode redirectCode(int code) {
  switch (code) {
    case 301:
      return route_v3::RedirectAction::MOVED_PERMANENTLY;
    case 303:
      return route_v3::RedirectAction::SEE_OTHER;
    case 307:
      return route_v3::RedirectAction::TEMPORARY_REDIRECT;
    case 308:
      return route_v3::RedirectAction::PERMANENT_REDIRECT;
    default:
      return route_v3::RedirectAction::FOUND;  // 0 and 302
  }
}

// One Envoy route of `route` for one of its matches, over `base` (the catch-all route as every
// other plugin configured it: its route action's timeouts and retries apply to every route).
route_v3::Route envoyRoute(const Route& route, const EnvoyMatch& m, const route_v3::Route& base,
                           const xds::OutboundTarget& target) {
  route_v3::Route r = base;
  r.set_name(route.name);
  *r.mutable_match() = m.match;
  route_v3::RouteAction* action = r.mutable_route();
  action->clear_cluster_specifier();
  if (!action->has_timeout()) {
    action->mutable_timeout();  // Kuma's route action starts with a 0s timeout
  }
  if (route.split.size() == 1) {
    action->set_cluster(route.split.front().clusterName);
  } else {
    auto* weighted = action->mutable_weighted_clusters();
    for (const Backend& b : route.split) {
      auto* c = weighted->add_clusters();
      c->set_name(b.clusterName);
      c->mutable_weight()->set_value(b.weight);
    }
  }
  for (const json& filter : route.filters) {
    const std::string type = stringMember(filter, "type");
    if (type == "RequestHeaderModifier") {
      if (const json* mod = member(filter, "requestHeaderModifier")) {
        headerModifiers(*mod, *r.mutable_request_headers_to_add(),
                        *r.mutable_request_headers_to_remove());
      }
    } else if (type == "ResponseHeaderModifier") {
      if (const json* mod = member(filter, "responseHeaderModifier")) {
        headerModifiers(*mod, *r.mutable_response_headers_to_add(),
                        *r.mutable_response_headers_to_remove());
      }
    } else if (type == "RequestRedirect") {
      const json* redirect = member(filter, "requestRedirect");
      if (redirect == nullptr) {
        continue;
      }
      route_v3::RedirectAction action;
      if (const json* host = member(*redirect, "hostname"); host != nullptr && host->is_string()) {
        action.set_host_redirect(host->get<std::string>());
      }
      if (const json* port = member(*redirect, "port"); port != nullptr && port->is_number()) {
        action.set_port_redirect(port->get<uint32_t>());
      }
      if (const json* scheme = member(*redirect, "scheme");
          scheme != nullptr && scheme->is_string()) {
        action.set_scheme_redirect(scheme->get<std::string>());
      }
      if (const json* path = member(*redirect, "path")) {
        const std::string ptype = stringMember(*path, "type");
        if (ptype == "ReplaceFullPath") {
          *action.mutable_regex_rewrite() = regexRewrite(stringMember(*path, "replaceFullPath"));
        } else if (ptype == "ReplacePrefixMatch" && m.prefixMatch) {
          const std::string prefix = stringMember(*path, "replacePrefixMatch");
          if (!m.match.path().empty()) {
            *action.mutable_regex_rewrite() = regexRewrite(prefix);
          } else if (!m.match.prefix().empty()) {
            action.set_prefix_rewrite(prefix);
          }
        }
      }
      const json* code = member(*redirect, "statusCode");
      action.set_response_code(
          redirectCode(code != nullptr && code->is_number_integer() ? code->get<int>() : 0));
      *r.mutable_redirect() = std::move(action);
    } else if (type == "URLRewrite" && r.has_route()) {
      const json* rewrite = member(filter, "urlRewrite");
      if (rewrite == nullptr) {
        continue;
      }
      // hostToBackendHostname is MeshGateway-only (rejected for sidecars by validation).
      if (const json* host = member(*rewrite, "hostname"); host != nullptr && host->is_string()) {
        r.mutable_route()->set_host_rewrite_literal(host->get<std::string>());
      }
      if (const json* path = member(*rewrite, "path")) {
        const std::string ptype = stringMember(*path, "type");
        if (ptype == "ReplaceFullPath") {
          *r.mutable_route()->mutable_regex_rewrite() =
              regexRewrite(stringMember(*path, "replaceFullPath"));
        } else if (ptype == "ReplacePrefixMatch" && m.prefixMatch) {
          const std::string prefix = stringMember(*path, "replacePrefixMatch");
          if (!m.match.path().empty()) {
            *r.mutable_route()->mutable_regex_rewrite() = regexRewrite(prefix);
          } else if (!m.match.prefix().empty()) {
            r.mutable_route()->set_prefix_rewrite(prefix);
          }
        }
      }
    } else if (type == "RequestMirror" && r.has_route()) {
      const json* mirror = member(filter, "requestMirror");
      const json* ref = mirror != nullptr ? member(*mirror, "backendRef") : nullptr;
      if (ref == nullptr) {
        continue;
      }
      auto b = legacyBackend(*ref, target.service, target.clusterName);
      if (!b || b->weight == 0 || !httpBackend(target, *b)) {
        continue;  // Kuma made no cluster for it
      }
      auto* policy = r.mutable_route()->add_request_mirror_policies();
      policy->set_cluster(b->clusterName);
      if (const json* pct = member(*mirror, "percentage")) {
        if (auto fraction = mirrorPercentage(*pct)) {
          *policy->mutable_runtime_fraction()->mutable_default_value() = *fraction;
        }
      }
    }
  }
  return r;
}

}  // namespace

std::string splitClusterName(const std::string& service, const Tags& tags) {
  Tags all = tags;
  all[kServiceTag] = service;
  return xds::destinationClusterName(all);
}

std::string hashMatches(const json& matches) {
  std::string out = "[";
  if (matches.is_array()) {
    for (size_t i = 0; i < matches.size(); ++i) {
      if (i > 0) {
        out += ',';
      }
      goMatch(out, matches[i]);
    }
  }
  out += ']';
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(out.data()), out.size(), digest);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), SHA256_DIGEST_LENGTH));
}

std::optional<Backend> legacyBackend(const json& backendRef, const std::string& destination,
                                     const std::string& destinationCluster) {
  const BackendRef ref = parseBackendRef(backendRef);
  const TargetRef& t = ref.targetRef;
  const bool legacy = (t.kind == kMeshService && t.sectionName.empty() && !ref.port) ||
                      t.kind == kMeshServiceSubset;
  if (!legacy || t.name.empty()) {
    return std::nullopt;
  }
  Backend b;
  b.service = t.name;
  b.tags = t.tags;
  b.tags.erase(kServiceTag);
  b.weight = ref.weight;
  b.clusterName = b.service == destination && b.tags.empty() ? destinationCluster
                                                             : splitClusterName(b.service, b.tags);
  return b;
}

bool resolvesAsBackend(const json& backendRef) {
  const BackendRef ref = parseBackendRef(backendRef);
  const TargetRef& t = ref.targetRef;
  const bool real = (t.kind == kMeshService && (!t.sectionName.empty() || ref.port)) ||
                    t.kind == kMeshExternalService || t.kind == kMeshMultiZoneService;
  if (!real) {
    return true;
  }
  return t.labels.empty() && !t.name.empty();
}

absl::Status provideBackendClusters(const xds::OutboundTarget& target,
                                    const std::vector<Backend>& backends,
                                    xds::OutboundResources& res) {
  const cluster_v3::Cluster* main = nullptr;
  for (const auto& c : res.clusters) {
    if (c->name() == target.clusterName) {
      main = c.get();
    }
  }
  if (main == nullptr || target.mesh == nullptr) {
    return absl::InternalError(
        absl::StrCat("destination cluster ", target.clusterName, " missing"));
  }
  std::vector<std::unique_ptr<cluster_v3::Cluster>> clusters;
  std::vector<std::unique_ptr<endpoint_v3::ClusterLoadAssignment>> endpoints;
  bool mainUsed = false;
  std::set<std::string> done;
  for (const Backend& b : backends) {
    if (b.clusterName == target.clusterName) {
      mainUsed = true;
      continue;
    }
    if (!done.insert(b.clusterName).second) {
      continue;
    }
    auto c = std::make_unique<cluster_v3::Cluster>(*main);
    c->set_name(b.clusterName);
    if (absl::Status s = xds::retargetUpstreamMtls(*c, target.mesh->meshName(), b.service, b.tags);
        !s.ok()) {
      return s;
    }
    clusters.push_back(std::move(c));
    endpoints.push_back(std::make_unique<endpoint_v3::ClusterLoadAssignment>(
        xds::loadAssignment(target.mesh->endpoints(b.service), b.clusterName, b.tags)));
    if (b.service != target.service) {
      res.services.insert(b.service);
    }
  }
  if (!mainUsed) {
    std::erase_if(res.clusters, [&](const auto& c) { return c->name() == target.clusterName; });
    std::erase_if(res.endpoints,
                  [&](const auto& e) { return e->cluster_name() == target.clusterName; });
  }
  for (auto& c : clusters) {
    res.clusters.push_back(std::move(c));
  }
  for (auto& e : endpoints) {
    res.endpoints.push_back(std::move(e));
  }
  return absl::OkStatus();
}

json combineRules(const std::vector<const json*>& specs, const std::string& service) {
  std::vector<const json*> items;
  for (const json* spec : specs) {
    const json* to = spec != nullptr ? member(*spec, "to") : nullptr;
    if (to == nullptr || !to->is_array()) {
      continue;
    }
    for (const json& item : *to) {
      const json* ref = member(item, "targetRef");
      if (coversDestination(parseTargetRef(ref != nullptr ? *ref : json()), service)) {
        items.push_back(&item);
      }
    }
  }
  if (items.empty()) {
    return nullptr;
  }
  return mergeToItems(items);
}

json mergeToItems(const std::vector<const json*>& items) {
  // Every item's rules, each item's reversed (Kuma's GetDefault), in precedence order; then
  // merged by matches: a later rule with equal matches merges over the earlier one and takes
  // its place; finally reversed back, so the first rule of the highest-precedence item comes
  // first.
  std::vector<const json*> all;
  for (const json* item : items) {
    const json* rules = item != nullptr ? member(*item, "rules") : nullptr;
    if (rules == nullptr || !rules->is_array()) {
      continue;
    }
    for (auto it = rules->rbegin(); it != rules->rend(); ++it) {
      all.push_back(&*it);
    }
  }
  struct Acc {
    json matches;
    std::vector<const json*> defaults;
    bool skip = false;
  };
  std::vector<Acc> acc;
  for (const json* rule : all) {
    const json* matches = member(*rule, "matches");
    const json key = matches != nullptr ? *matches : json();
    const json* def = member(*rule, "default");
    std::vector<const json*> defaults;
    for (Acc& a : acc) {
      if (!a.skip && a.matches == key) {
        defaults = a.defaults;
        a.skip = true;
      }
    }
    defaults.push_back(def);
    acc.push_back(Acc{key, std::move(defaults), false});
  }
  json rules = json::array();
  for (auto it = acc.rbegin(); it != acc.rend(); ++it) {
    if (it->skip) {
      continue;
    }
    json merged = json::object();
    for (const json* d : it->defaults) {
      if (d != nullptr) {
        merged.merge_patch(*d);
      }
    }
    rules.push_back(json{{"matches", it->matches}, {"default", std::move(merged)}});
  }
  return json{{"rules", std::move(rules)}};
}

std::vector<const json*> selectedSpecs(const xds::ProxyContext& proxy,
                                       std::string_view policyType) {
  std::vector<const json*> out;
  if (proxy.mesh == nullptr || proxy.dataplane == nullptr) {
    return out;
  }
  ProxyView view;
  view.name = proxy.dataplane->meta.name;
  view.labels = proxy.dataplane->meta.labels;
  if (const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane)) {
    for (const auto& inbound : spec->networking().inbound()) {
      view.inboundTags.emplace_back(inbound.tags().begin(), inbound.tags().end());
    }
  }
  for (const xds::PolicyEntry& e : proxy.mesh->policies(policyType)) {
    if (selectsProxy(e.targetRef, view)) {
      out.push_back(e.spec);
    }
  }
  return out;
}

std::string_view XdsConfigurer::policyType() const {
  return kMeshHTTPRoute;
}

int XdsConfigurer::order() const {
  return 100;  // Kuma's MeshHTTPRoute order
}

std::optional<json> XdsConfigurer::destinationConf(const std::vector<const json*>& specs,
                                                   const std::string& service) const {
  return combineRules(specs, service);
}

absl::Status XdsConfigurer::configureOutboundResources(const json& conf,
                                                       const xds::OutboundTarget& target,
                                                       xds::OutboundResources& res) const {
  std::optional<Plan> plan = planRoutes(conf, target);
  if (!plan) {
    return absl::OkStatus();
  }
  return provideBackendClusters(target, plan->clusters, res);
}

absl::Status XdsConfigurer::configureOutboundHcm(const json& conf,
                                                 const xds::OutboundTarget& target,
                                                 hcm_v3::HttpConnectionManager& hcm) const {
  std::optional<Plan> plan = planRoutes(conf, target);
  if (!plan || hcm.route_config().virtual_hosts_size() != 1 ||
      hcm.route_config().virtual_hosts(0).routes_size() != 1) {
    return absl::OkStatus();
  }
  auto* vh = hcm.mutable_route_config()->mutable_virtual_hosts(0);
  const route_v3::Route base = vh->routes(0);
  vh->clear_routes();
  for (const Route& route : plan->routes) {
    for (const EnvoyMatch& m : envoyMatches(route.match)) {
      *vh->add_routes() = envoyRoute(route, m, base, target);
    }
  }
  return absl::OkStatus();
}

// Kuma generates no outbound listener for an HTTP destination whose routes all ended up without
// a backend (every split empty); its clusters are gone already (the shared hook kept none).
absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const json*>& specs,
                                  xds::ResourceSet& resources) const {
  if (specs.empty() || proxy.mesh == nullptr) {
    return absl::OkStatus();
  }
  const std::string listenerType =
      xds::ResourceSet::typeUrlOf<envoy::config::listener::v3::Listener>();
  for (const std::string& name : resources.names(listenerType)) {
    if (!absl::StartsWith(name, "outbound:") || absl::StartsWith(name, "outbound:passthrough")) {
      continue;
    }
    const auto* l = resources.find<envoy::config::listener::v3::Listener>(name);
    Tags tags;
    if (auto md = l->metadata().filter_metadata().find("io.kuma.tags");
        md != l->metadata().filter_metadata().end()) {
      for (const auto& [k, v] : md->second.fields()) {
        tags[k] = v.string_value();
      }
    }
    auto svc = tags.find(kServiceTag);
    if (svc == tags.end()) {
      continue;
    }
    xds::OutboundTarget target;
    target.proxy = &proxy;
    target.mesh = proxy.mesh;
    target.service = svc->second;
    target.protocol = proxy.mesh->protocol(target.service);
    target.clusterName = xds::destinationClusterName(tags);
    std::optional<Plan> plan = planRoutes(combineRules(specs, target.service), target);
    if (plan && plan->routes.empty()) {
      resources.remove(listenerType, name);
    }
  }
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshhttproute
