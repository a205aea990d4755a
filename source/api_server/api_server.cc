#include "source/api_server/api_server.h"

#include <arpa/inet.h>

#include <charconv>
#include <optional>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "httplib.h"
#include "source/api_server/auth.h"
#include "source/api_server/errors.h"
#include "source/common/go_quote.h"
#include "source/common/http/bounded_server.h"
#include "source/common/http/http_listener.h"
#include "source/common/json_yaml.h"
#include "source/common/logging.h"
#include "source/core/manager/meta_validation.h"
#include "source/core/model/kri.h"
#include "source/core/model/proto_spec.h"
#include "source/core/model/rest_codec.h"
#include "source/core/resources/dataplane.h"
#include "source/gui/gui.h"

namespace kuma::api_server {
namespace {

constexpr size_t kDefaultPageSize = 100;
constexpr size_t kMaxPageSize = 1000;

struct Reply {
  int status = 200;
  std::string body;
  std::string contentType = "application/json";
};

// Strings from the store or the request are UTF-8 by the time they get here (the parsers check);
// replacing what is not keeps a reply from ever failing to render.
std::string render(const nlohmann::ordered_json& body) {
  return body.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Reply json(int status, const nlohmann::ordered_json& body) {
  return {status, render(body), "application/json"};
}

Reply error(const ErrorResponse& e) {
  return {e.status, render(e.body), "application/json"};
}

// go-restful's text for a verb a route does not take (Kuma sends it as plain text).
Reply methodNotAllowed() {
  return error(makeError(405, "Method Not Allowed", "405: Method Not Allowed"));
}

// Kuma's zoneReadOnlyMessage: a zone (or standalone Universal) control plane's answer to a write
// of a read-only type, and to every write with `apiServer.readOnly`.
constexpr char kZoneReadOnlyMessage[] =
    "On zone control plane you can only modify zone resources with 'kumactl apply' or via the "
    "HTTP API. You can still use 'kumactl' or the HTTP API to modify the rest of the resource on "
    "the global control plane.\n";

// go-restful's text for an unknown route, in Kuma's JSON error body.
Reply pageNotFound() {
  return error(makeError(404, "Not Found", "404: Page Not Found"));
}

Reply unsupportedMediaType() {
  return error(makeError(415, "Unsupported Media Type", "415: Unsupported Media Type"));
}

// The error body of an answer httplib gives before any handler runs (bad request line, URI or
// header line too long, body too large, unknown route).
ErrorResponse transportError(int status) {
  switch (status) {
    case 413:
      return makeError(413, "Request Entity Too Large",
                       "request body exceeds the maximum of 5 MiB");
    case 414:
      return makeError(414, "Request-URI Too Long",
                       absl::StrCat("request URI exceeds the maximum of ",
                                    CPPHTTPLIB_REQUEST_URI_MAX_LENGTH, " bytes"));
    case 404:
      return makeError(404, "Not Found", "404: Page Not Found");
    case 400:
      return makeError(400, "Bad Request",
                       absl::StrCat("malformed HTTP request line or header (each header line "
                                    "is limited to ",
                                    CPPHTTPLIB_HEADER_MAX_LENGTH, " bytes)"));
    default:
      return makeError(status, "Error", absl::StrCat("HTTP status ", status));
  }
}

// Go's url.QueryEscape.
std::string queryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The pagination/filter query of a list request.
struct ListQuery {
  size_t size = kDefaultPageSize;
  size_t offset = 0;
  std::string name;
  std::map<std::string, std::string> labels;
  std::vector<std::pair<std::string, std::string>> tags;  // Dataplanes: tag=k:v
  std::string gateway;  // Dataplanes: true|false|builtin|delegated
};

std::optional<size_t> parseSize(const std::string& s) {
  size_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

absl::StatusOr<ListQuery> parseListQuery(const httplib::Request& req) {
  ListQuery q;
  auto invalid = [](std::string detail, std::string field, std::string reason) {
    validators::ValidationError err;
    err.addViolation(field, reason);
    return err.toStatus(detail);
  };
  if (req.has_param("size")) {
    const std::string raw = req.get_param_value("size");
    const bool negative = !raw.empty() && raw[0] == '-';
    auto size = parseSize(negative ? raw.substr(1) : raw);
    if (!size.has_value()) {
      return invalid("Invalid page size", "size", "invalid format");
    }
    if (negative || *size == 0) {
      return invalid("Invalid page size", "size", "must be greater than 0");
    }
    if (*size > kMaxPageSize) {
      return invalid(
          "Invalid page size", "size",
          absl::StrCat("invalid page size of ", *size, ". Maximum page size is ", kMaxPageSize));
    }
    q.size = *size;
  }
  if (req.has_param("offset")) {
    const std::string raw = req.get_param_value("offset");
    if (!raw.empty()) {
      auto offset = parseSize(raw);
      if (!offset.has_value()) {
        return invalid("Invalid offset", "offset", "invalid format");
      }
      q.offset = *offset;
    }
  }
  q.name = req.get_param_value("name");
  for (const auto& [key, value] : req.params) {
    if (absl::StartsWith(key, "filter[")) {
      constexpr absl::string_view kLabels = "filter[labels.";
      if (!absl::StartsWith(key, kLabels) || key.back() != ']') {
        return invalid("Invalid filter", key, "filters are only supported on labels");
      }
      q.labels[key.substr(kLabels.size(), key.size() - kLabels.size() - 1)] = value;
    } else if (key == "tag") {
      const auto colon = value.find(':');
      if (colon == std::string::npos) {
        q.tags.emplace_back(value, "");
      } else {
        q.tags.emplace_back(value.substr(0, colon), value.substr(colon + 1));
      }
    } else if (key == "gateway") {
      if (value != "true" && value != "false" && value != "builtin" && value != "delegated") {
        return invalid("Invalid gateway filter", "gateway",
                       "must be one of: true, false, builtin, delegated");
      }
      q.gateway = value;
    }
  }
  return q;
}

bool dataplaneMatches(const model::Resource& r, const ListQuery& q) {
  if (!q.gateway.empty()) {
    const bool isGateway = resources::dataplaneIsGateway(r).value_or(false);
    const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(r);
    const bool builtin = dp != nullptr && resources::dataplaneIsBuiltinGateway(*dp);
    if ((q.gateway == "true" && !isGateway) || (q.gateway == "false" && isGateway) ||
        (q.gateway == "builtin" && !builtin) ||
        (q.gateway == "delegated" && (!isGateway || builtin))) {
      return false;
    }
  }
  for (const auto& [key, value] : q.tags) {
    if (!resources::dataplaneMatchesTag(r, key, value)) {
      return false;
    }
  }
  return true;
}

std::string nextLink(const httplib::Request& req, size_t offset, size_t size) {
  std::map<std::string, std::vector<std::string>> params;
  for (const auto& [k, v] : req.params) {
    params[k].push_back(v);
  }
  params["offset"] = {std::to_string(offset)};
  params["size"] = {std::to_string(size)};
  std::string query;
  for (const auto& [k, values] : params) {
    for (const auto& v : values) {
      absl::StrAppend(&query, query.empty() ? "" : "&", queryEscape(k), "=", queryEscape(v));
    }
  }
  std::string host = req.get_header_value("Host");
  return absl::StrCat("http://", host, req.path, "?", query);
}

// Kuma's PolicyDescription; members in the order Go's encoder writes them (field order).
nlohmann::ordered_json policyFlagsJson(const model::ResourceTypeDescriptor& d) {
  return {{"hasFromTargetRef", d.policy.hasFromTargetRef},
          {"hasRulesTargetRef", d.policy.hasRulesTargetRef},
          {"hasToTargetRef", d.policy.hasToTargetRef},
          {"isFromAsRules", d.policy.isFromAsRules},
          {"isTargetRef", d.policy.isTargetRef}};
}

// The request head is bounded (64 KiB, 10 s); a request past it gets 431 or 408 with Kuma's body.
std::unique_ptr<httplib::Server> boundedServer() {
  auto server = std::make_unique<http::BoundedServer>();
  server->setLimitAnswer([](int status, std::string_view reason) {
    const char* title = status == 431 ? "Request Header Fields Too Large" : "Request Timeout";
    return http::LimitAnswer{"application/json",
                             render(makeError(status, title, std::string(reason)).body)};
  });
  return server;
}

}  // namespace

// All request handling; separate from the component so that routing reads top-down.
class ApiServer::Handlers {
 public:
  Handlers(const ApiServerOptions& options, manager::ResourceManager& manager,
           const model::TypeRegistry& registry)
      : options_(options),
        manager_(manager),
        registry_(registry),
        insights_(options.insights, manager, registry),
        dataplane_(registry.byName("Dataplane")),
        mesh_(registry.byName("Mesh")) {
    if (options.guiEnabled) {
      gui_.emplace(options.guiBasePath);
    }
  }

  // The web GUI (docs/gui.md) under apiServer.gui.basePath: true when `req` was the GUI's and
  // `res` holds the answer. Disabled, those paths answer 404 like any unknown route.
  bool gui(const httplib::Request& req, httplib::Response& res) {
    if (!gui_.has_value() || !gui_->owns(req.path)) {
      return false;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      Reply r = methodNotAllowed();
      res.status = r.status;
      res.set_content(std::move(r.body), r.contentType);
      return true;
    }
    gui::GuiReply g = gui_->serve(req.path, req.get_header_value("If-None-Match"));
    res.status = g.status;
    for (const auto& [name, value] : g.headers) {
      res.set_header(name, value);
    }
    if (g.status != 304) {
      res.set_content(std::move(g.body), g.contentType);
    }
    return true;
  }

  Reply handle(const httplib::Request& req) {
    // go-restful's Consumes(application/json): a body of another type (or none) is refused before
    // routing. Bodies: PUT, POST and PATCH.
    if (!req.body.empty() && common::bodyFormatFor(req.get_header_value("Content-Type")) ==
                                 common::BodyFormat::Unsupported) {
      return unsupportedMediaType();
    }
    std::vector<std::string> seg;
    for (absl::string_view s : absl::StrSplit(req.path, '/', absl::SkipEmpty())) {
      seg.emplace_back(s);
    }
    const std::string& m = req.method;
    const bool isGet = m == "GET" || m == "HEAD";
    if (seg.empty()) {
      return isGet ? index() : methodNotAllowed();
    }
    if (seg.size() == 1) {
      if (seg[0] == "who-am-i") {
        return isGet ? whoAmI(req) : methodNotAllowed();
      }
      if (seg[0] == "config") {
        return isGet ? config() : methodNotAllowed();
      }
      if (seg[0] == "_resources") {
        return isGet ? resources() : methodNotAllowed();
      }
      if (seg[0] == "policies") {
        return isGet ? policies() : methodNotAllowed();
      }
    }
    if (seg.size() == 2 && seg[0] == "tokens" && seg[1] == "dataplane" &&
        options_.issueDataplaneToken) {
      return m == "POST" ? dataplaneToken(req) : methodNotAllowed();
    }
    if (seg[0] == "mesh-insights" && seg.size() <= 2) {
      if (!isGet) {
        return methodNotAllowed();
      }
      return seg.size() == 1 ? listMeshInsights(req) : getMeshInsight(seg[1]);
    }
    if (seg.size() == 1 && seg[0] == "global-insight") {
      if (!isGet) {
        return methodNotAllowed();
      }
      auto global = insights_.globalInsight();
      if (!global.ok()) {
        return error(errorFromStatus(global.status(), "Could not retrieve GlobalInsight"));
      }
      return json(200, *global);
    }
    if (seg.size() == 1 && seg[0] == "service-insights") {
      return isGet ? listServiceInsights(req, "") : methodNotAllowed();
    }
    if (seg.size() == 2 && seg[0] == "_kri") {
      return isGet ? byKri(req, seg[1]) : methodNotAllowed();
    }
    // Cross-mesh overview of dataplanes.
    if (seg.size() == 2 && seg[0] == "dataplanes" && seg[1] == "_overview" &&
        dataplane_ != nullptr) {
      return isGet ? listOverviews(req, *dataplane_, "") : methodNotAllowed();
    }
    // Global types with insights (Zone): `/<path>+insights`, `/<path>/_overview` and
    // `/<path>/{name}/_overview`.
    if (seg[0] != "meshes" && seg.size() <= 3) {
      const bool plus = seg.size() == 1 && absl::EndsWith(seg[0], "+insights");
      const model::ResourceTypeDescriptor* base = registry_.byPath(
          plus ? seg[0].substr(0, seg[0].size() - std::string_view("+insights").size()) : seg[0]);
      if (base != nullptr && base->scope == model::Scope::Global && !base->insightType.empty()) {
        if (plus || (seg.size() == 2 && seg[1] == "_overview")) {
          return isGet ? listOverviews(req, *base, "") : methodNotAllowed();
        }
        if (seg.size() == 3 && seg[2] == "_overview") {
          return isGet ? getOverview(req, *base, "", seg[1]) : methodNotAllowed();
        }
      }
    }
    if (seg[0] == "meshes" && seg.size() >= 3) {
      return meshScoped(req, seg);
    }
    const model::ResourceTypeDescriptor* d = registry_.byPath(seg[0]);
    if (d == nullptr || seg.size() > 2) {
      return pageNotFound();
    }
    if (seg.size() == 1) {
      // GET /{ws}: a global list, or a mesh-scoped type across every mesh.
      return isGet ? list(req, *d, "") : methodNotAllowed();
    }
    if (d->scope != model::Scope::Global) {
      return pageNotFound();
    }
    return item(req, *d, "", seg[1]);
  }

 private:
  Reply meshScoped(const httplib::Request& req, const std::vector<std::string>& seg) {
    const std::string& mesh = seg[1];
    const bool isGet = req.method == "GET" || req.method == "HEAD";
    std::string ws = seg[2];
    if (ws == "service-insights" && seg.size() <= 4) {
      if (!isGet) {
        return methodNotAllowed();
      }
      if (auto missing = requireMesh(mesh, dataplane_, req)) {
        return *missing;
      }
      if (seg.size() == 3) {
        return listServiceInsights(req, mesh);
      }
      auto one = insights_.serviceInsight(mesh, seg[3]);
      if (!one.ok()) {
        return error(errorFromStatus(one.status(), "Could not retrieve a resource"));
      }
      return json(200, *one);
    }
    bool overview = false;
    if (ws == "dataplanes+insights") {
      overview = true;
      ws = "dataplanes";
    }
    const model::ResourceTypeDescriptor* d = registry_.byPath(ws);
    if (d == nullptr || d->scope != model::Scope::Mesh) {
      return pageNotFound();
    }
    if (!overview) {
      if (std::optional<Reply> inspected = inspectRoute(req, seg, *d)) {
        return *inspected;
      }
    }
    if (seg.size() > 5) {
      return pageNotFound();
    }
    if (d == dataplane_ && seg.size() == 4 && seg[3] == "_overview") {
      overview = true;
    }
    if (d == dataplane_ && !overview && seg.size() == 5 && seg[4] == "_config") {
      if (auto missing = requireMesh(mesh, d, req)) {
        return *missing;
      }
      return isGet ? dataplaneConfig(req, mesh, seg[3]) : methodNotAllowed();
    }
    if (d == dataplane_ && !overview && seg.size() == 5 && options_.envoyAdmin &&
        (seg[4] == "xds" || seg[4] == "stats" || seg[4] == "clusters")) {
      return isGet ? envoyAdmin(req, mesh, seg[3], seg[4]) : methodNotAllowed();
    }
    if (d == dataplane_ && seg.size() == 5) {
      if (seg[4] != "_overview") {
        return pageNotFound();
      }
      overview = true;
    } else if (seg.size() == 5) {
      return pageNotFound();
    }
    if (auto missing = requireMesh(mesh, d, req)) {
      return *missing;
    }
    if (overview) {
      if (!isGet) {
        return methodNotAllowed();
      }
      if (seg.size() == 3 || (seg.size() == 4 && seg[3] == "_overview")) {
        return listOverviews(req, *d, mesh);
      }
      return getOverview(req, *d, mesh, seg[3]);
    }
    if (seg.size() == 3) {
      return isGet ? list(req, *d, mesh) : methodNotAllowed();
    }
    return item(req, *d, mesh, seg[3]);
  }

  // A page of computed items (insights) as a list answer: {total, items, next}.
  Reply pageOf(const httplib::Request& req, std::vector<nlohmann::ordered_json> all) {
    auto q = parseListQuery(req);
    if (!q.ok()) {
      return error(errorFromStatus(q.status(), "Could not retrieve resources"));
    }
    std::vector<nlohmann::ordered_json> matching;
    for (auto& item : all) {
      if (q->name.empty() || absl::StrContains(item.value("name", ""), q->name)) {
        matching.push_back(std::move(item));
      }
    }
    nlohmann::ordered_json items = nlohmann::ordered_json::array();
    for (size_t i = q->offset; i < matching.size() && i < q->offset + q->size; ++i) {
      items.push_back(std::move(matching[i]));
    }
    nlohmann::ordered_json body;
    body["total"] = matching.size();
    body["items"] = std::move(items);
    body["next"] = q->offset + q->size < matching.size()
                       ? nlohmann::ordered_json(nextLink(req, q->offset + q->size, q->size))
                       : nlohmann::ordered_json(nullptr);
    return json(200, body);
  }

  std::vector<std::string> meshNames() {
    std::vector<std::string> names;
    if (mesh_ == nullptr) {
      return names;
    }
    auto meshes = manager_.list(*mesh_, {});
    if (meshes.ok()) {
      for (const auto& m : meshes->items) {
        names.push_back(m->meta.name);
      }
    }
    return names;
  }

  // GET /mesh-insights: one MeshInsight per mesh (Kuma's resyncer, see insights.h).
  Reply listMeshInsights(const httplib::Request& req) {
    std::vector<nlohmann::ordered_json> all;
    for (const std::string& mesh : meshNames()) {
      auto insight = insights_.meshInsight(mesh);
      if (insight.ok()) {
        all.push_back(*std::move(insight));
      }
    }
    return pageOf(req, std::move(all));
  }

  Reply getMeshInsight(const std::string& mesh) {
    auto insight = insights_.meshInsight(mesh);
    if (!insight.ok()) {
      return error(errorFromStatus(insight.status(), "Could not retrieve a resource"));
    }
    return json(200, *insight);
  }

  // GET /meshes/{mesh}/service-insights (mesh empty: every mesh).
  Reply listServiceInsights(const httplib::Request& req, const std::string& mesh) {
    std::vector<nlohmann::ordered_json> all;
    for (const std::string& m : mesh.empty() ? meshNames() : std::vector<std::string>{mesh}) {
      auto services = insights_.serviceInsights(m);
      if (!services.ok()) {
        if (absl::IsNotFound(services.status())) {
          continue;
        }
        return error(errorFromStatus(services.status(), "Could not retrieve resources"));
      }
      for (auto& s : *services) {
        all.push_back(std::move(s));
      }
    }
    return pageOf(req, std::move(all));
  }

  // The inspect routes under /meshes/{mesh}/{ws}/{name}/...; nullopt: not one of them.
  std::optional<Reply> inspectRoute(const httplib::Request& req,
                                    const std::vector<std::string>& seg,
                                    const model::ResourceTypeDescriptor& d) {
    const bool isGet = req.method == "GET" || req.method == "HEAD";
    const std::string& mesh = seg[1];
    const std::string& name = seg.size() > 3 ? seg[3] : "";
    if (d.isPolicy && seg.size() == 6 && seg[4] == "_resources" && seg[5] == "dataplanes") {
      return isGet ? matchingDataplanes(req, d, mesh, name) : methodNotAllowed();
    }
    if (d.isPolicy && d.policy.isTargetRef && seg.size() == 5 && seg[4] == "dataplanes" &&
        options_.policySelects) {
      return isGet ? policyDataplanes(req, d, mesh, name) : methodNotAllowed();
    }
    if (d.isPolicy && !d.policy.isTargetRef && seg.size() == 5 && seg[4] == "dataplanes" &&
        options_.legacyPolicyDataplanes) {
      return isGet ? legacyPolicyDataplanes(req, d, mesh, name) : methodNotAllowed();
    }
    if (d.name == "MeshService" && options_.meshServiceSelects &&
        ((seg.size() == 5 && seg[4] == "_dataplanes") ||
         (seg.size() == 6 && seg[4] == "_resources" && seg[5] == "dataplanes"))) {
      return isGet ? matchingDataplanes(req, d, mesh, name) : methodNotAllowed();
    }
    if (seg.size() == 5 && seg[4] == "_hostnames" && options_.serviceHostnames) {
      return isGet ? serviceHostnames(d, mesh, name) : methodNotAllowed();
    }
    if (&d != dataplane_) {
      return std::nullopt;
    }
    if (seg.size() == 5 && seg[4] == "policies" && options_.dataplanePolicies) {
      return isGet ? matchedPolicies(req, mesh, name) : methodNotAllowed();
    }
    if (seg.size() == 5 && seg[4] == "_rules" && options_.dataplaneRules) {
      return isGet ? dataplaneRules(req, mesh, name) : methodNotAllowed();
    }
    if (seg.size() == 5 && seg[4] == "rules" && options_.dataplaneLegacyRules) {
      return isGet ? dataplaneLegacyRules(req, mesh, name) : methodNotAllowed();
    }
    // Kuma's MeshService-only views (`_layout`, `_policies` and below).
    using View = DataplanePolicyView::Kind;
    std::optional<View> view;  // unset: `_layout`
    std::vector<std::string> kris;
    if (seg.size() == 5 && (seg[4] == "_layout" || seg[4] == "_policies")) {
      view = seg[4] == "_layout" ? std::nullopt : std::optional<View>(View::kProxy);
    } else if (seg.size() == 7 && seg[4] == "_inbounds" && seg[6] == "_policies") {
      view = View::kInbound;
      kris = {seg[5]};
    } else if (seg.size() == 7 && seg[4] == "_outbounds" &&
               (seg[6] == "_policies" || seg[6] == "_routes")) {
      view = seg[6] == "_policies" ? View::kOutbound : View::kOutboundRoutes;
      kris = {seg[5]};
    } else if (seg.size() == 9 && seg[4] == "_outbounds" && seg[6] == "_routes" &&
               seg[8] == "_policies") {
      view = View::kRoute;
      kris = {seg[5], seg[7]};
    } else {
      return std::nullopt;
    }
    return isGet ? meshServiceView(req, mesh, name, view, kris) : methodNotAllowed();
  }

  // GET /meshes/{mesh}/{serviceType}/{name}/_hostnames: Kuma's InspectHostnames, each hostname
  // with the zone of the service (its `kuma.io/zone` label).
  Reply serviceHostnames(const model::ResourceTypeDescriptor& d, const std::string& mesh,
                         const std::string& name) {
    if (d.name != "MeshService" && d.name != "MeshExternalService" &&
        d.name != "MeshMultiZoneService") {
      return error(makeError(400,
                             "only \"meshservices,meshexternalservices,meshmultizoneservices\" "
                             "are available for inspection",
                             "Resource is not valid"));
    }
    auto found = manager_.get(d, {name, mesh});
    if (!found.ok()) {
      return error(errorFromStatus(found.status(), "could not retrieve service"));
    }
    auto hostnames = options_.serviceHostnames(**found);
    if (!hostnames.ok()) {
      return error(errorFromStatus(hostnames.status(), "could not generate hostname"));
    }
    auto zone = (*found)->meta.labels.find("kuma.io/zone");
    const std::string zoneName = zone == (*found)->meta.labels.end() ? "" : zone->second;
    std::set<std::string> sorted(hostnames->begin(), hostnames->end());
    nlohmann::ordered_json items = nullptr;  // Go's nil slice when there is none
    for (const std::string& hostname : sorted) {
      items.push_back({{"hostname", hostname}, {"zones", {{{"name", zoneName}}}}});
    }
    nlohmann::ordered_json body = {{"items", std::move(items)}, {"total", sorted.size()}};
    return json(200, body);
  }

  // GET /meshes/{mesh}/dataplanes/{name}/_rules: Kuma's rulesForResource.
  Reply dataplaneRules(const httplib::Request& req, const std::string& mesh,
                       const std::string& name) {
    if (auto missing = requireMesh(mesh, dataplane_, req)) {
      return *missing;
    }
    auto found = manager_.get(*dataplane_, {name, mesh});
    if (!found.ok()) {
      return error(errorFromStatus(found.status(), "Could not retrieve Dataplane"));
    }
    auto body = options_.dataplaneRules(mesh, **found);
    if (!body.ok()) {
      if (absl::IsNotFound(body.status())) {
        return error(makeError(404, "Failed to build Mesh context", "Not found"));
      }
      return error(
          makeError(500, "Failed to build Mesh context", std::string(body.status().message())));
    }
    return json(200, *body);
  }

  // GET /meshes/{mesh}/dataplanes/{name}/rules: Kuma's inspectRulesAttachment, which builds the
  // mesh context first ("Could not build MeshContext") and then reads the Dataplane ("Could not
  // get MatchedPolicies").
  Reply dataplaneLegacyRules(const httplib::Request& req, const std::string& mesh,
                             const std::string& name) {
    if (auto denied = authorize(req, *dataplane_)) {
      return *denied;
    }
    if (mesh_ != nullptr) {
      auto meshResource = manager_.get(*mesh_, {mesh, ""});
      if (!meshResource.ok()) {
        return error(errorFromStatus(meshResource.status(), "Could not build MeshContext"));
      }
    }
    auto found = manager_.get(*dataplane_, {name, mesh});
    if (!found.ok()) {
      return error(errorFromStatus(found.status(), "Could not get MatchedPolicies"));
    }
    auto body = options_.dataplaneLegacyRules(mesh, **found);
    if (!body.ok()) {
      return error(errorFromStatus(body.status(), "Could not build MeshContext"));
    }
    return json(200, *body);
  }

  // GET /meshes/{mesh}/{policyType}/{name}/dataplanes (Kuma's inspectPolicies, `kumactl inspect
  // <policy> NAME`) for a targeted policy: every Dataplane it selects. An unknown policy selects
  // nothing, as in Kuma.
  Reply policyDataplanes(const httplib::Request& req, const model::ResourceTypeDescriptor& d,
                         const std::string& mesh, const std::string& name) {
    if (auto denied = authorize(req, d)) {
      return *denied;
    }
    auto meshResource = manager_.get(*mesh_, {mesh, ""});
    if (!meshResource.ok()) {
      return error(errorFromStatus(meshResource.status(), "Could not list Dataplanes"));
    }
    nlohmann::ordered_json items = nlohmann::ordered_json::array();
    auto policy = manager_.get(d, {name, mesh});
    if (policy.ok()) {
      store::ListOptions opts;
      opts.mesh = mesh;
      auto list = manager_.list(*dataplane_, opts);
      if (!list.ok()) {
        return error(errorFromStatus(list.status(), "Could not list Dataplanes"));
      }
      for (const auto& dp : list->items) {
        if (!options_.policySelects(**policy, *dp)) {
          continue;
        }
        nlohmann::ordered_json item;
        item["kind"] = "SidecarDataplane";
        item["dataplane"] = {{"mesh", dp->meta.mesh}, {"name", dp->meta.name}};
        item["attachments"] = nlohmann::ordered_json::array({{{"type", "dataplane"}}});
        items.push_back(std::move(item));
      }
    } else if (!absl::IsNotFound(policy.status())) {
      return error(errorFromStatus(policy.status(), "Could not list Dataplanes"));
    }
    nlohmann::ordered_json body;
    body["total"] = items.size();
    body["items"] = std::move(items);
    return json(200, body);
  }

  // GET /meshes/{mesh}/{legacyPolicyType}/{name}/dataplanes (`kumactl inspect <policy> NAME`):
  // where the legacy policy is attached on each Dataplane; a policy that does not exist is
  // attached nowhere, as in Kuma.
  Reply legacyPolicyDataplanes(const httplib::Request& req, const model::ResourceTypeDescriptor& d,
                               const std::string& mesh, const std::string& name) {
    if (auto denied = authorize(req, d)) {
      return *denied;
    }
    auto meshResource = manager_.get(*mesh_, {mesh, ""});
    if (!meshResource.ok()) {
      return error(errorFromStatus(meshResource.status(), "Could not list Dataplanes"));
    }
    auto policy = manager_.get(d, {name, mesh});
    if (!policy.ok()) {
      if (!absl::IsNotFound(policy.status())) {
        return error(errorFromStatus(policy.status(), "Could not list Dataplanes"));
      }
      nlohmann::ordered_json empty;
      empty["total"] = 0;
      empty["items"] = nlohmann::ordered_json::array();
      return json(200, empty);
    }
    auto body = options_.legacyPolicyDataplanes(mesh, **policy);
    if (!body.ok()) {
      return error(errorFromStatus(body.status(), "Could not list Dataplanes"));
    }
    return json(200, *body);
  }

  // GET /meshes/{mesh}/dataplanes/{name}/policies (`kumactl inspect dataplane --type=policies`).
  Reply matchedPolicies(const httplib::Request& req, const std::string& mesh,
                        const std::string& name) {
    if (auto denied = authorize(req, *dataplane_)) {
      return *denied;
    }
    if (auto m = manager_.get(*mesh_, {mesh, ""}); !m.ok()) {
      return error(errorFromStatus(m.status(), "Could not build MeshContext"));
    }
    auto found = manager_.get(*dataplane_, {name, mesh});
    if (!found.ok()) {
      return error(errorFromStatus(found.status(), "Could not get MatchedPolicies"));
    }
    auto body = options_.dataplanePolicies(mesh, **found);
    if (!body.ok()) {
      return error(errorFromStatus(body.status(), "Could not build MeshContext"));
    }
    return json(200, *body);
  }

  // `_layout`, `_policies`, `_inbounds/{kri}/_policies`, `_outbounds/{kri}/_policies|_routes`,
  // `_outbounds/{kri}/_routes/{kri}/_policies` (`view` unset: `_layout`): Kuma computes them
  // from MeshServices only, and answers 400 on a mesh without `meshServices.mode: Exclusive`.
  // `_layout` checks the mode before the Dataplane; the KRIs are parsed last.
  Reply meshServiceView(const httplib::Request& req, const std::string& mesh,
                        const std::string& name,
                        const std::optional<DataplanePolicyView::Kind>& view,
                        const std::vector<std::string>& kris) {
    if (auto missing = requireMesh(mesh, dataplane_, req)) {
      return *missing;
    }
    auto meshResource = manager_.get(*mesh_, {mesh, ""});
    if (!meshResource.ok()) {
      return error(errorFromStatus(meshResource.status(), "Failed to retrieve Mesh"));
    }
    const auto* meshSpec = model::protoSpecOf<mesh::v1alpha1::Mesh>(**meshResource);
    const bool exclusive =
        meshSpec != nullptr &&
        meshSpec->mesh_services().mode() == mesh::v1alpha1::Mesh_MeshServices_Mode_Exclusive;
    const std::string endpoint = view ? "_policies" : "_layout";
    auto notEnabled = [&] {
      return error(makeError(400, "Bad Request",
                             absl::StrCat("bad request: can't use ", endpoint,
                                          " endpoint without meshService enabled")));
    };
    if (!view && !exclusive) {
      return notEnabled();
    }
    auto found = manager_.get(*dataplane_, {name, mesh});
    if (!found.ok()) {
      return error(errorFromStatus(
          found.status(), !view ? "Failed to retrieve Dataplane" : "Could not retrieve Dataplane"));
    }
    if (!exclusive) {
      return notEnabled();
    }
    if (!view) {
      if (!options_.dataplaneLayout) {
        return notImplemented(endpoint);
      }
      auto body = options_.dataplaneLayout(mesh, **found);
      if (!body.ok()) {
        return error(errorFromStatus(body.status(), "Failed to build MeshContext"));
      }
      return json(200, *body);
    }
    if (!options_.dataplanePolicyViews) {
      return notImplemented(endpoint);
    }
    DataplanePolicyView request;
    request.kind = *view;
    for (size_t i = 0; i < kris.size(); ++i) {
      const model::ResourceTypeDescriptor* type = nullptr;
      auto id = parseTypedKri(kris[i], &type);
      if (!id.ok()) {
        return error(
            makeError(400, "Bad Request", absl::StrCat("bad request: ", id.status().message())));
      }
      (i == 0 ? request.target : request.route) = *std::move(id);
      if (i == 0) {
        request.targetType = type->name;
      }
    }
    auto body = options_.dataplanePolicyViews(mesh, **found, request);
    if (!body.ok()) {
      // Kuma answers 500 for an inbound the Dataplane does not have; a 404 here.
      return error(errorFromStatus(body.status(), "Failed building response"));
    }
    return json(200, *body);
  }

  Reply notImplemented(const std::string& endpoint) {
    return error(makeError(
        400, "Bad Request",
        absl::StrCat("bad request: ", endpoint, " is not supported by this control plane yet")));
  }

  // Kuma's kri.FromString: a KRI whose short name names a registered type (`type`).
  absl::StatusOr<model::Kri> parseTypedKri(const std::string& text,
                                           const model::ResourceTypeDescriptor** type) {
    auto id = model::parseKri(text);
    if (!id.ok()) {
      return id.status();
    }
    for (const model::ResourceTypeDescriptor* t : registry_.all()) {
      if (!t->shortName.empty() && t->shortName == id->shortName) {
        *type = t;
        return id;
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat("unknown short name of resource type: ", common::goQuote(id->shortName)));
  }

  // GET /meshes/{mesh}/{policyType}/{name}/_resources/dataplanes: the Dataplanes a policy
  // selects (targetRef policies: their top-level targetRef; legacy ones: their selectors,
  // sources and destinations), paginated like a list, each as a resource meta.
  Reply matchingDataplanes(const httplib::Request& req, const model::ResourceTypeDescriptor& d,
                           const std::string& mesh, const std::string& name) {
    if (auto missing = requireMesh(mesh, &d, req)) {
      return *missing;
    }
    auto q = parseListQuery(req);
    if (!q.ok()) {
      return error(errorFromStatus(q.status(), "Could not retrieve policy"));
    }
    auto policy = manager_.get(d, {name, mesh});
    if (!policy.ok()) {
      return error(errorFromStatus(policy.status(), "Could not retrieve policy"));
    }
    if (dataplane_ == nullptr) {
      return pageNotFound();
    }
    model::ResourceConstSharedPtr selected = *policy;
    std::function<bool(const model::Resource&)> selects;
    if (d.name == "MeshService") {
      selects = [this, selected](const model::Resource& dp) {
        return options_.meshServiceSelects(*selected, dp);
      };
    } else if (d.policy.isTargetRef) {
      if (!options_.policySelects) {
        return pageNotFound();
      }
      selects = [this, selected](const model::Resource& dp) {
        return options_.policySelects(*selected, dp);
      };
    } else {
      selects = [selected](const model::Resource& dp) { return legacySelects(*selected, dp); };
    }
    store::ListOptions opts;
    opts.mesh = mesh;
    opts.nameContains = q->name;
    opts.pageSize = q->size;
    opts.offset = q->offset;
    opts.predicate = selects;
    auto list = manager_.list(*dataplane_, opts);
    if (!list.ok()) {
      return error(errorFromStatus(list.status(), "failed inspect"));
    }
    nlohmann::ordered_json items = nlohmann::ordered_json::array();
    for (const auto& r : list->items) {
      items.push_back(resourceMeta(*r));
    }
    nlohmann::ordered_json body;
    body["items"] = std::move(items);
    if (list->nextOffset.has_value()) {
      body["next"] = nextLink(req, *list->nextOffset, q->size);
    }
    body["total"] = list->total;
    return json(200, body);
  }

  // Kuma's Meta of an inspect answer.
  static nlohmann::ordered_json resourceMeta(const model::Resource& r) {
    nlohmann::ordered_json out;
    nlohmann::ordered_json labels = nlohmann::ordered_json::object();
    for (const auto& [k, v] : r.meta.labels) {
      labels[k] = v;
    }
    out["labels"] = std::move(labels);
    out["mesh"] = r.meta.mesh;
    out["name"] = r.meta.name;
    out["type"] = r.descriptor != nullptr ? r.descriptor->name : "";
    return out;
  }

  // A legacy policy's selectors, sources or destinations select `dp` when one of its inbounds
  // (or its gateway) carries every tag of one of them (`*` matches any value).
  static bool legacySelects(const model::Resource& policy, const model::Resource& dp) {
    if (policy.spec == nullptr) {
      return false;
    }
    const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dp);
    if (spec == nullptr) {
      return false;
    }
    std::vector<std::map<std::string, std::string>> tagSets;
    for (const auto& in : spec->networking().inbound()) {
      tagSets.emplace_back(in.tags().begin(), in.tags().end());
    }
    if (spec->networking().has_gateway()) {
      tagSets.emplace_back(spec->networking().gateway().tags().begin(),
                           spec->networking().gateway().tags().end());
    }
    const nlohmann::ordered_json body = policy.spec->toJson();
    for (const char* field : {"selectors", "sources", "destinations"}) {
      auto it = body.find(field);
      if (it == body.end() || !it->is_array()) {
        continue;
      }
      for (const auto& selector : *it) {
        auto match = selector.find("match");
        if (match == selector.end() || !match->is_object()) {
          continue;
        }
        for (const auto& tags : tagSets) {
          bool all = true;
          for (auto m = match->begin(); m != match->end() && all; ++m) {
            auto t = tags.find(m.key());
            all = t != tags.end() && m->is_string() &&
                  (m->get<std::string>() == "*" || m->get<std::string>() == t->second);
          }
          if (all) {
            return true;
          }
        }
      }
    }
    return false;
  }

  // GET /_kri/{kri}: the resource a KRI names (Kuma's kri_endpoint.go). Resources of this zone
  // are found by name; others would carry Kuma's KDS hash suffix, which no resource here has.
  Reply byKri(const httplib::Request& req, const std::string& text) {
    const model::ResourceTypeDescriptor* d = nullptr;
    auto id = parseTypedKri(text, &d);
    if (!id.ok()) {
      return error(
          makeError(400, "Bad Request", absl::StrCat("bad request: ", id.status().message())));
    }
    if (auto denied = authorize(req, *d)) {
      return *denied;
    }
    if (id->zone != options_.zone) {
      return error(makeError(404, "Could not retrieve a resource", "Not found"));
    }
    return getItem(req, *d, d->scope == model::Scope::Mesh ? id->mesh : "", id->name);
  }

  // 404 when the mesh of a mesh-scoped path does not exist (every verb).
  std::optional<Reply> requireMesh(const std::string& mesh, const model::ResourceTypeDescriptor* d,
                                   const httplib::Request& req) {
    if (mesh_ == nullptr) {
      return std::nullopt;
    }
    if (auto denied = authorize(req, *d)) {
      return denied;
    }
    auto found = manager_.get(*mesh_, {mesh, ""});
    if (found.ok()) {
      return std::nullopt;
    }
    if (absl::IsNotFound(found.status())) {
      return error(makeError(404, "Failed to retrieve Mesh", "Not found"));
    }
    return error(errorFromStatus(found.status(), "Failed to retrieve Mesh"));
  }

  std::optional<Reply> authorize(const httplib::Request& req,
                                 const model::ResourceTypeDescriptor& d) {
    if (!d.adminOnly) {
      return std::nullopt;
    }
    const Identity who = identify(req, options_.localhostIsAdmin);
    if (who.isAdmin()) {
      return std::nullopt;
    }
    if (who.unauthenticatedBearer) {
      return error(makeError(401, "Unauthenticated",
                             "user token authentication is not supported by this control plane"));
    }
    return error(makeError(403, "Access Denied",
                           absl::StrCat("user \"", who.describe(),
                                        "\" cannot access the resource of type \"", d.name, "\"")));
  }

  // POST /tokens/dataplane: the body is validated first, then the caller must be an admin.
  Reply dataplaneToken(const httplib::Request& req) {
    // Kuma reads a JSON entity here; YAML is refused like any other type.
    if (!req.body.empty() &&
        common::bodyFormatFor(req.get_header_value("Content-Type")) == common::BodyFormat::Yaml) {
      return unsupportedMediaType();
    }
    const auto authorize = [&]() -> absl::Status {
      const Identity who = identify(req, options_.localhostIsAdmin);
      if (who.isAdmin()) {
        return absl::OkStatus();
      }
      if (who.unauthenticatedBearer) {
        return absl::UnauthenticatedError(
            "user token authentication is not supported by this control plane");
      }
      return absl::PermissionDeniedError(
          absl::StrCat("user \"", who.describe(), "\" cannot generate dataplane tokens"));
    };
    auto token = options_.issueDataplaneToken(req.body, authorize);
    if (token.ok()) {
      return {200, std::move(*token), "text/plain"};
    }
    const absl::Status& s = token.status();
    const std::string message(s.message());
    if (validators::ValidationError::fromStatus(s).has_value()) {
      return error(errorFromStatus(s, "Invalid request"));
    }
    switch (s.code()) {
      case absl::StatusCode::kInvalidArgument:
        // Kuma answers an unreadable request with an empty 400; the body says why here.
        return error(
            makeError(400, "Bad Request", message.empty() ? "Could not read a request" : message));
      case absl::StatusCode::kNotFound:
        return error(makeError(404, "Signing Key not found", message));
      case absl::StatusCode::kFailedPrecondition:
        return error(makeError(400, "Could not issue a token", message));
      default:
        return error(errorFromStatus(s, "Could not issue a token"));
    }
  }

  Reply index() {
    nlohmann::ordered_json body;
    body["hostname"] = options_.hostname;
    body["product"] = options_.product;
    body["version"] = options_.version;
    body["instanceId"] = options_.instanceId;
    body["clusterId"] = options_.clusterId;
    body["gui"] = options_.guiEnabled ? options_.guiBasePath : "";
    return json(200, body);
  }

  Reply whoAmI(const httplib::Request& req) {
    const Identity who = identify(req, options_.localhostIsAdmin);
    return json(200, {{"name", who.name}, {"groups", who.groups}});
  }

  Reply config() {
    return json(200,
                options_.configJson ? options_.configJson() : nlohmann::ordered_json::object());
  }

  // Kuma's MapResourceTypeDescription: sorted by name, members in ResourceTypeDescription's
  // field order; `readOnly` also with apiServer.readOnly; `includeInFederation` for the types
  // synced from global to zones that users write; `policy` for every policy, legacy ones too.
  Reply resources() {
    nlohmann::ordered_json items = nlohmann::ordered_json::array();
    for (const model::ResourceTypeDescriptor* d : registry_.all()) {  // sorted by name
      if (d->wsPath.empty()) {
        continue;  // Config: not part of the API
      }
      nlohmann::ordered_json item;
      item["includeInFederation"] = d->includeInFederation && !d->readOnly;
      item["name"] = d->name;
      item["path"] = d->wsPath;
      item["pluralDisplayName"] = d->pluralDisplayName;
      if (d->isPolicy) {
        item["policy"] = policyFlagsJson(*d);
      }
      item["readOnly"] = d->readOnly || options_.readOnly;
      item["scope"] = d->scope == model::Scope::Global ? "Global" : "Mesh";
      item["shortName"] = d->shortName;
      item["singularDisplayName"] = d->singularDisplayName;
      items.push_back(std::move(item));
    }
    return json(200, {{"resources", items}});
  }

  Reply policies() {
    nlohmann::ordered_json items = nlohmann::ordered_json::array();
    for (const model::ResourceTypeDescriptor* d : registry_.all()) {
      if (!d->isPolicy) {
        continue;
      }
      nlohmann::ordered_json item;
      item["name"] = d->name;
      item["readOnly"] = d->readOnly || options_.readOnly;
      item["path"] = d->wsPath;
      item["singularDisplayName"] = d->singularDisplayName;
      item["pluralDisplayName"] = d->pluralDisplayName;
      item["isExperimental"] = d->isExperimental;
      item["isTargetRefBased"] = d->policy.isTargetRef;
      // Kuma's policies endpoint: inbound = has `from`, outbound = has `to`.
      item["isInbound"] = d->policy.hasFromTargetRef;
      item["isOutbound"] = d->policy.hasToTargetRef;
      items.push_back(std::move(item));
    }
    return json(200, {{"policies", items}});
  }

  absl::StatusOr<store::ResourceList> query(const model::ResourceTypeDescriptor& d,
                                            const std::string& mesh, const ListQuery& q) {
    store::ListOptions opts;
    opts.mesh = mesh;
    opts.nameContains = q.name;
    opts.labels = q.labels;
    opts.pageSize = q.size;
    opts.offset = q.offset;
    if (&d == dataplane_ && (!q.tags.empty() || !q.gateway.empty())) {
      opts.predicate = [q](const model::Resource& r) { return dataplaneMatches(r, q); };
    }
    return manager_.list(d, opts);
  }

  Reply listReply(const httplib::Request& req, const store::ResourceList& list, size_t size,
                  const std::function<nlohmann::ordered_json(const model::Resource&)>& render) {
    nlohmann::ordered_json items = nlohmann::ordered_json::array();
    for (const auto& r : list.items) {
      items.push_back(render(*r));
    }
    nlohmann::ordered_json body;
    body["total"] = list.total;
    body["items"] = std::move(items);
    body["next"] = list.nextOffset.has_value()
                       ? nlohmann::ordered_json(nextLink(req, *list.nextOffset, size))
                       : nlohmann::ordered_json(nullptr);
    return json(200, body);
  }

  Reply list(const httplib::Request& req, const model::ResourceTypeDescriptor& d,
             const std::string& mesh) {
    if (auto denied = authorize(req, d)) {
      return *denied;
    }
    auto q = parseListQuery(req);
    if (!q.ok()) {
      return error(errorFromStatus(q.status(), "Could not retrieve resources"));
    }
    auto result = query(d, mesh, *q);
    if (!result.ok()) {
      return error(errorFromStatus(result.status(), "Could not retrieve resources"));
    }
    return listReply(req, *result, q->size,
                     [](const model::Resource& r) { return model::toRestJson(r); });
  }

  // Kuma's <Type>Overview of a resource whose type has an insight: the resource's meta, its spec
  // under the type's lowerCamel name and its insight's under the insight type's. A list leaves a
  // missing insight out; a single overview shows it empty (Kuma's SetOverviewSpec with nil vs.
  // an empty object).
  nlohmann::ordered_json overviewJson(const model::Resource& r, bool emptyInsight) {
    const model::ResourceTypeDescriptor& d = *r.descriptor;
    auto lowerFirst = [](std::string s) {
      if (!s.empty()) {
        s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
      }
      return s;
    };
    nlohmann::ordered_json out;
    out["type"] = d.name + "Overview";
    if (d.scope == model::Scope::Mesh) {
      out["mesh"] = r.meta.mesh;
    }
    out["name"] = r.meta.name;
    out["creationTime"] = model::formatTime(r.meta.creationTime);
    out["modificationTime"] = model::formatTime(r.meta.modificationTime);
    if (!r.meta.labels.empty()) {
      out["labels"] = r.meta.labels;
    }
    if (std::string kri = model::kriOf(r); !kri.empty()) {
      out["kri"] = std::move(kri);  // the resource's
    }
    out[lowerFirst(d.name)] = r.spec ? r.spec->toJson() : nlohmann::ordered_json::object();
    const model::ResourceTypeDescriptor* insightType = registry_.byName(d.insightType);
    std::optional<nlohmann::ordered_json> insight;
    if (insightType != nullptr) {
      auto found = manager_.get(*insightType, {r.meta.name, r.meta.mesh});
      if (found.ok() && (*found)->spec) {
        insight = (*found)->spec->toJson();
      }
    }
    if (insight || emptyInsight) {
      out[lowerFirst(d.insightType)] = insight.value_or(nlohmann::ordered_json::object());
    }
    return out;
  }

  Reply listOverviews(const httplib::Request& req, const model::ResourceTypeDescriptor& d,
                      const std::string& mesh) {
    if (auto denied = authorize(req, d)) {
      return *denied;
    }
    auto q = parseListQuery(req);
    if (!q.ok()) {
      return error(errorFromStatus(q.status(), "Could not retrieve resources"));
    }
    auto result = query(d, mesh, *q);
    if (!result.ok()) {
      return error(errorFromStatus(result.status(), "Could not retrieve resources"));
    }
    return listReply(req, *result, q->size,
                     [this](const model::Resource& r) { return overviewJson(r, false); });
  }

  Reply getOverview(const httplib::Request& req, const model::ResourceTypeDescriptor& d,
                    const std::string& mesh, const std::string& name) {
    if (auto denied = authorize(req, d)) {
      return *denied;
    }
    auto found = manager_.get(d, {name, mesh});
    if (!found.ok()) {
      return error(errorFromStatus(found.status(), "Could not retrieve a resource"));
    }
    return json(200, overviewJson(**found, true));
  }

  // Inspect: the xDS config computed now for a Dataplane (Kuma's DataplaneXDSConfig). `shadow`
  // is validated but has no effect (no shadow-effect policies yet).
  Reply dataplaneConfig(const httplib::Request& req, const std::string& mesh,
                        const std::string& name) {
    if (!options_.dataplaneConfig) {
      return pageNotFound();
    }
    auto invalid = [](const std::string& field, const std::string& reason) {
      validators::ValidationError err;
      err.addViolation(field, reason);
      return error(
          errorFromStatus(err.toStatus("Invalid query parameter"), "Could not get the XDS config"));
    };
    if (req.has_param("shadow")) {
      static const std::set<std::string> kBools = {"1", "t", "T", "TRUE",  "true",  "True",
                                                   "0", "f", "F", "FALSE", "false", "False"};
      if (!kBools.contains(req.get_param_value("shadow"))) {
        return invalid("shadow", "must be a boolean");
      }
    }
    bool includeDiff = false;
    const size_t includes = req.get_param_value_count("include");
    for (size_t i = 0; i < includes; ++i) {
      for (absl::string_view v : absl::StrSplit(req.get_param_value("include", i), ',')) {
        if (v != "diff") {
          return invalid("include", "must be one of: diff");
        }
        includeDiff = true;
      }
    }
    auto xds = options_.dataplaneConfig(mesh, name);
    if (!xds.ok()) {
      if (absl::IsNotFound(xds.status())) {
        return error(makeError(404, "Could not get the XDS config", "Not found"));
      }
      return error(
          makeError(500, "Could not get the XDS config", std::string(xds.status().message())));
    }
    nlohmann::ordered_json diff = nlohmann::ordered_json::array();
    if (includeDiff) {
      nlohmann::ordered_json current = nlohmann::ordered_json::object();
      if (options_.servedDataplaneConfig) {
        auto served = options_.servedDataplaneConfig(mesh, name);
        if (served.ok()) {
          current = std::move(*served);
        } else if (!absl::IsNotFound(served.status())) {
          return error(makeError(500, "Could not get the XDS config",
                                 std::string(served.status().message())));
        }
      }
      diff = nlohmann::ordered_json::diff(current, *xds);
    }
    nlohmann::ordered_json body;
    body["xds"] = std::move(*xds);
    body["diff"] = std::move(diff);
    return json(200, body);
  }

  // Inspect through the proxy's Envoy admin API (Kuma's inspect_envoy_admin_endpoints.go):
  // `xds` → config_dump (JSON; include_eds), `clusters` and `stats` (text, or JSON with
  // format=json; stats only the used ones unless usedonly is false).
  Reply envoyAdmin(const httplib::Request& req, const std::string& mesh, const std::string& name,
                   const std::string& type) {
    static const std::set<std::string> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
    static const std::set<std::string> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
    const bool asJson = req.get_param_value("format") == "json";
    std::string path = type;
    std::string query;
    std::string contentType = "text/plain";
    if (type == "xds") {
      path = "config_dump";
      contentType = "application/json";
      if (kTrue.contains(req.get_param_value("include_eds"))) {
        query = "include_eds=true";
      }
    } else {
      if (asJson) {
        contentType = "application/json";
        query = "format=json";
      }
      if (type == "stats" && !kFalse.contains(req.get_param_value("usedonly"))) {
        absl::StrAppend(&query, query.empty() ? "" : "&", "usedonly=");
      }
    }
    auto body = options_.envoyAdmin(mesh, name, path, query);
    if (!body.ok()) {
      if (absl::IsNotFound(body.status())) {
        return error(makeError(404, "Could not get dataplane resource", "Not found"));
      }
      logging::logger("api-server")
          ->error("Could not execute admin operation on {}.{}: {}", mesh, name,
                  std::string(body.status().message()));
      return error(makeError(500, "Could not execute admin operation", "Internal Server Error"));
    }
    return {200, std::move(*body), contentType};
  }

  Reply item(const httplib::Request& req, const model::ResourceTypeDescriptor& d,
             const std::string& mesh, const std::string& name) {
    if (auto denied = authorize(req, d)) {
      return *denied;
    }
    const std::string& m = req.method;
    if (m == "GET" || m == "HEAD") {
      return getItem(req, d, mesh, name);
    }
    if (m != "PUT" && m != "DELETE") {
      return methodNotAllowed();
    }
    if (d.readOnly || options_.readOnly) {
      return error(makeError(405, "Method not allowed", kZoneReadOnlyMessage));
    }
    return m == "PUT" ? put(req, d, mesh, name) : remove(d, mesh, name);
  }

  Reply getItem(const httplib::Request& req, const model::ResourceTypeDescriptor& d,
                const std::string& mesh, const std::string& name) {
    const std::string format = req.get_param_value("format");
    if (!format.empty() && format != "universal") {
      if (format == "k8s" || format == "kubernetes") {
        return error(
            makeError(400, "Bad Request",
                      "format k8s is not supported by this control plane (Universal only)"));
      }
      return error(makeError(400, "Bad Request", absl::StrCat("unknown format \"", format, "\"")));
    }
    auto found = manager_.get(d, {name, mesh});
    if (!found.ok()) {
      return error(errorFromStatus(found.status(), "Could not retrieve a resource"));
    }
    return json(200, model::toRestJson(**found));
  }

  Reply put(const httplib::Request& req, const model::ResourceTypeDescriptor& d,
            const std::string& mesh, const std::string& name) {
    const std::string title = "Could not process a resource";
    // Kuma reads JSON only; YAML is this control plane's addition (docs/rest-api.md).
    const bool yaml =
        common::bodyFormatFor(req.get_header_value("Content-Type")) == common::BodyFormat::Yaml;
    auto parsed = yaml ? common::parseYaml(req.body) : common::parseJson(req.body);
    if (!parsed.ok()) {
      // Kuma's InvalidResourceError: `invalid <Type> object: "<decoder error>"`.
      return error(makeError(
          400, "Bad Request",
          absl::StrCat("invalid ", d.name,
                       " object: ", common::goQuote(std::string(parsed.status().message())))));
    }
    auto body = model::fromRestJson(d, *parsed);
    if (!body.ok() && absl::StartsWith(body.status().message(), "json: ")) {
      // A value of the wrong kind, in Go's (jsonpb's) words: Kuma's decoder error, as above.
      return error(makeError(400, "Bad Request",
                             absl::StrCat("invalid ", d.name, " object: ",
                                          common::goQuote(std::string(body.status().message())))));
    }
    if (!body.ok()) {
      return error(errorFromStatus(body.status(), title));
    }
    // The resource as the URL names it; the body's own claims are checked below.
    model::Resource resource = std::move(body->resource);
    resource.meta.name = name;
    resource.meta.mesh = mesh;
    if (&d == dataplane_) {
      if (auto bad = workloadLabelError(resource)) {
        return error(makeError(400, "Bad Request", *bad));
      }
    }
    validators::ValidationError errors;
    if (d.validate) {
      d.validate(resource, errors);
    }
    if (!errors.empty()) {
      return error(errorFromStatus(errors.toStatus(), title));
    }
    if (body->name != name) {
      errors.addViolation("name", "name from the URL has to be the same as in body");
    }
    if (body->type != d.name) {
      errors.addViolation("type", "type from the URL has to be the same as in body");
    }
    if (d.scope == model::Scope::Mesh && body->mesh != mesh) {
      errors.addViolation("mesh", "mesh from the URL has to be the same as in body");
    }
    if (!errors.empty()) {
      return error(errorFromStatus(errors.toStatus(), title));
    }
    auto result = manager_.upsert(std::move(resource));
    if (!result.ok()) {
      // Kuma's manager refused it (a mesh, write or update validator): Kuma's REST titles that
      // by verb, which the failed write left as it was.
      if (!result.status().GetPayload(manager::kManagerValidationPayload).has_value()) {
        return error(errorFromStatus(result.status(), title));
      }
      const bool existed = manager_.get(d, {name, mesh}).ok();
      return error(errorFromStatus(result.status(), existed ? "Failed to update a resource"
                                                            : "Failed to create a resource"));
    }
    // Kuma's CreateOrUpdateSuccessResponse: `warnings` from the resource's Deprecations().
    nlohmann::ordered_json answer = nlohmann::ordered_json::object();
    if (d.deprecations) {
      std::vector<std::string> warnings = d.deprecations(*result->resource);
      if (!warnings.empty()) {
        answer["warnings"] = std::move(warnings);
      }
    }
    return json(result->created ? 201 : 200, std::move(answer));
  }

  // Kuma checks a new Universal Dataplane's `kuma.io/workload` label (a Workload's name) before
  // anything else about it; an update is not checked.
  std::optional<std::string> workloadLabelError(const model::Resource& dataplane) {
    auto label = dataplane.meta.labels.find("kuma.io/workload");
    if (label == dataplane.meta.labels.end() || label->second.empty()) {
      return std::nullopt;
    }
    std::vector<std::string> violations = manager::dns1035LabelErrors(label->second);
    if (violations.empty() ||
        manager_.get(*dataplane_, {dataplane.meta.name, dataplane.meta.mesh}).ok()) {
      return std::nullopt;
    }
    return absl::StrCat(
        "bad request: labels[\"kuma.io/workload\"]: must be a valid DNS-1035 label (at most 63 "
        "characters, matching regex [a-z]([-a-z0-9]*[a-z0-9])?): ",
        absl::StrJoin(violations, "; "));
  }

  Reply remove(const model::ResourceTypeDescriptor& d, const std::string& mesh,
               const std::string& name) {
    absl::Status s = manager_.remove(d, {name, mesh});
    if (!s.ok()) {
      return error(errorFromStatus(s, "Could not delete a resource"));
    }
    return json(200, nlohmann::ordered_json::object());
  }

  const ApiServerOptions& options_;
  manager::ResourceManager& manager_;
  const model::TypeRegistry& registry_;
  Insights insights_;
  const model::ResourceTypeDescriptor* const dataplane_;
  const model::ResourceTypeDescriptor* const mesh_;
  std::optional<gui::Gui> gui_;
};

ApiServer::ApiServer(ApiServerOptions options, manager::ResourceManager& manager,
                     const model::TypeRegistry& registry)
    : options_(std::move(options)),
      handlers_(std::make_unique<Handlers>(options_, manager, registry)),
      server_(boundedServer()),
      listener_(std::make_unique<http::HttpListener>(*server_, "api-server")) {}

ApiServer::~ApiServer() {
  stop();
}

absl::Status ApiServer::start() {
  auto log = logging::logger("api-server");
  server_->set_payload_max_length(options_.maxBodyBytes);
  const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    if (!options_.buildVersion.empty()) {
      res.set_header("x-kuma-cpp-version", options_.buildVersion);
    }
    if (handlers_->gui(req, res)) {
      return;
    }
    Reply reply = handlers_->handle(req);
    res.status = reply.status;
    res.set_content(std::move(reply.body), reply.contentType.c_str());
  };
  // Every path, including decoded control characters (`.` does not match CR or LF). httplib
  // reads the body only when a route matches, so the routes are not bypassed.
  constexpr char kAnyPath[] = R"([\s\S]*)";
  for (auto method : {&httplib::Server::Get, &httplib::Server::Put, &httplib::Server::Delete,
                      &httplib::Server::Patch, &httplib::Server::Options}) {
    (server_.get()->*method)(kAnyPath, handler);
  }
  server_->Post(kAnyPath, handler);
  // Errors httplib answers itself get Kuma's JSON error body too.
  server_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      res.set_content(render(transportError(res.status).body), "application/json");
    }
  });
  server_->set_exception_handler(
      [log](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log->error("{} {}: {}", req.method, req.path, what);
        const ErrorResponse e = makeError(500, "Internal Server Error", "Internal Server Error");
        res.status = 500;
        res.set_content(render(e.body), "application/json");
      });
  return listener_->start(options_.interface, options_.port);
}

void ApiServer::stop() {
  listener_->stop();
}

bool ApiServer::ready() const {
  return listener_->running();
}

uint16_t ApiServer::port() const {
  return listener_->port();
}

}  // namespace kuma::api_server
