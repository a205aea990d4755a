#include "source/xds/bootstrap/handler.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "source/common/json_yaml.h"
#include "source/common/logging.h"
#include "source/common/tls/cert.h"
#include "source/core/model/rest_codec.h"
#include "source/core/validators/validation_error.h"

namespace kuma::xds::bootstrap {
namespace {

HttpResponse respond(int status, std::string body = "") {
  HttpResponse r;
  r.status = status;
  if (!body.empty()) {
    r.contentType = "text/plain; charset=utf-8";
  }
  r.body = std::move(body);
  return r;
}

/** Go's %q for a plain string. */
std::string goQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

bool flagEnabled(const nlohmann::json& obj, const char* a, const char* b) {
  if (!obj.is_object() || !obj.contains(a) || !obj[a].is_object() || !obj[a].contains(b)) {
    return false;
  }
  const nlohmann::json& section = obj[a][b];
  return section.is_object() && section.contains("enabled") && section["enabled"].is_boolean() &&
         section["enabled"].get<bool>();
}

/** Transparent proxying is on when dataplaneConfig redirects inbound or outbound traffic. */
bool transparentProxyEnabled(const nlohmann::json& dataplaneConfig) {
  return dataplaneConfig.is_object() && (flagEnabled(dataplaneConfig, "redirect", "inbound") ||
                                         flagEnabled(dataplaneConfig, "redirect", "outbound"));
}

bool hasOutbounds(const nlohmann::json& spec) {
  return spec.is_object() && spec.contains("networking") && spec["networking"].is_object() &&
         spec["networking"].contains("outbound") && spec["networking"]["outbound"].is_array() &&
         !spec["networking"]["outbound"].empty();
}

// Members of a free-form `conf` (a protobuf Struct): the fallback when absent or of another JSON
// type (json::value() would throw there).
std::string stringMember(const nlohmann::json& obj, const char* key, const char* fallback = "") {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
}
int64_t integerMember(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

/** The prometheus `aggregate` list: the Mesh's enabled backend, overridden by name by the DP's. */
nlohmann::ordered_json aggregateMetrics(const nlohmann::json& meshSpec,
                                        const nlohmann::json& dpSpec) {
  std::vector<std::pair<std::string, nlohmann::json>> merged;
  auto mergeFrom = [&merged](const nlohmann::json& conf) {
    if (!conf.is_object() || !conf.contains("aggregate") || !conf["aggregate"].is_array()) {
      return;
    }
    for (const auto& entry : conf["aggregate"]) {
      if (!entry.is_object()) {
        continue;
      }
      const std::string name = stringMember(entry, "name");
      auto it = std::find_if(merged.begin(), merged.end(),
                             [&name](const auto& p) { return p.first == name; });
      if (it != merged.end()) {
        it->second = entry;
      } else {
        merged.emplace_back(name, entry);
      }
    }
  };
  bool enabled = false;
  if (meshSpec.is_object() && meshSpec.contains("metrics") && meshSpec["metrics"].is_object()) {
    const nlohmann::json& metrics = meshSpec["metrics"];
    const std::string backend = stringMember(metrics, "enabledBackend");
    if (!backend.empty() && metrics.contains("backends") && metrics["backends"].is_array()) {
      for (const auto& b : metrics["backends"]) {
        if (b.is_object() && stringMember(b, "name") == backend &&
            stringMember(b, "type", "prometheus") == "prometheus") {
          enabled = true;
          mergeFrom(b.value("conf", nlohmann::json::object()));
        }
      }
    }
  }
  if (enabled && dpSpec.is_object() && dpSpec.contains("metrics") &&
      dpSpec["metrics"].is_object()) {
    mergeFrom(dpSpec["metrics"].value("conf", nlohmann::json::object()));
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& [name, entry] : merged) {
    if (entry.contains("enabled") && entry["enabled"].is_boolean() &&
        !entry["enabled"].get<bool>()) {
      continue;
    }
    out.push_back(nlohmann::ordered_json{{"name", name},
                                         {"address", stringMember(entry, "address")},
                                         {"port", integerMember(entry, "port")},
                                         {"path", stringMember(entry, "path")}});
  }
  return out;
}

}  // namespace

BootstrapHandler::BootstrapHandler(HandlerOptions options, manager::ResourceManager& manager,
                                   const model::TypeRegistry& registry)
    : options_(std::move(options)), manager_(manager), registry_(registry) {}

std::string BootstrapHandler::stripPort(const std::string& host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string::npos ? host : host.substr(1, close - 1);
  }
  const size_t colon = host.find(':');
  if (colon != std::string::npos && host.find(':', colon + 1) == std::string::npos) {
    return host.substr(0, colon);
  }
  return host;
}

std::string BootstrapHandler::sanMismatchMessage(const std::string& host,
                                                 const std::vector<std::string>& sans) {
  std::string list = "[";
  for (size_t i = 0; i < sans.size(); ++i) {
    absl::StrAppend(&list, i == 0 ? "" : " ", goQuote(sans[i]));
  }
  list += "]";
  return absl::StrCat(
      "A data plane proxy is trying to connect to the control plane using ", goQuote(host),
      " address, but the certificate in the control plane has the following SANs ", list,
      ". Either change the --cp-address in kuma-dp to one of those or execute the following "
      "steps:\n1) Generate a new certificate with the address you are trying to use. It is "
      "recommended to use trusted Certificate Authority, but you can also generate self-signed "
      "certificates using 'kumactl generate tls-certificate --type=server --hostname=",
      host,
      "'\n2) Set KUMA_GENERAL_TLS_CERT_FILE and KUMA_GENERAL_TLS_KEY_FILE or the equivalent in "
      "Kuma CP config file to the new certificate.\n3) Restart the control plane to read the new "
      "certificate and start kuma-dp.");
}

HttpResponse BootstrapHandler::handle(const HttpRequest& http) const {
  auto log = logging::logger("bootstrap-server");
  // 1. The body.
  auto parsed = parseBootstrapRequest(http.body);
  if (!parsed.ok()) {
    return respond(400);
  }
  BootstrapRequest& req = *parsed;

  // 2. A token must be presented (ADS validates it; here only its presence is checked).
  const bool zoneProxy = req.proxyType == "ingress" || req.proxyType == "egress";
  const std::string& authn = zoneProxy ? options_.zoneProxyAuthnType : options_.dpProxyAuthnType;
  if (authn != "none" && req.dataplaneToken.empty() && req.dataplaneTokenPath.empty()) {
    return respond(422, kDpTokenRequired);
  }

  // 3. The address kuma-dp used must be one Envoy can verify against the CP certificate.
  std::string xdsHost = options_.xdsHost;
  if (xdsHost.empty()) {
    xdsHost = stripPort(http.host);
    auto matches = tls::hostMatchesCertificate(options_.serverCertPem, xdsHost);
    if (!matches.ok()) {
      log->error("bootstrap: cannot read the DP server certificate: {}",
                 std::string(matches.status().message()));
      return respond(500);
    }
    if (!*matches) {
      auto sans = tls::certificateSans(options_.serverCertPem);
      return respond(400,
                     sanMismatchMessage(xdsHost, sans.ok() ? *sans : std::vector<std::string>{}));
    }
  }

  if (req.proxyType != "dataplane") {
    if (!zoneProxy) {
      // Kuma: 500 "unknown proxy type". The client's input: 400.
      return respond(400, absl::StrCat("unknown proxy type ", req.proxyType));
    }
    log->error("bootstrap: proxy type {} is not supported", req.proxyType);
    return respond(500);
  }
  const model::ResourceTypeDescriptor* dpType = registry_.byName("Dataplane");
  const model::ResourceTypeDescriptor* meshType = registry_.byName("Mesh");
  if (dpType == nullptr || meshType == nullptr) {
    return respond(500);
  }

  // 4. The Dataplane: from the request (validated) or from the store.
  nlohmann::json dpSpec;
  std::string mesh = req.mesh;
  std::string name = req.name;
  if (!req.dataplaneResource.empty()) {
    // Kuma answers 500 to a dataplaneResource it cannot read; that is the client's input, and
    // no retry can fix it: 400 with the reason (kuma-dp stops on a 4xx and prints it).
    auto doc = common::parseJsonOrYaml(req.dataplaneResource);
    // Not doc->value("type", ""), which throws when "type" is there but not a string.
    const bool isDataplane =
        doc.ok() && doc->is_object() && doc->contains("type") && (*doc)["type"] == "Dataplane";
    if (!isDataplane) {
      const std::string reason = doc.ok() ? "not a Dataplane" : std::string(doc.status().message());
      log->info("bootstrap: dataplaneResource is not a Dataplane: {}", reason);
      return respond(400, absl::StrCat("could not parse dataplaneResource: ", reason));
    }
    auto body = model::fromRestJson(*dpType, *doc);
    if (!body.ok()) {
      if (auto violations = validators::ValidationError::fromStatus(body.status())) {
        return respond(422, violations->toString());
      }
      const std::string reason(body.status().message());
      log->info("bootstrap: cannot parse dataplaneResource: {}", reason);
      return respond(400, absl::StrCat("could not parse dataplaneResource: ", reason));
    }
    validators::ValidationError errors;
    if (dpType->validate) {
      dpType->validate(body->resource, errors);
    }
    if (!errors.empty()) {
      return respond(422, errors.toString());
    }
    dpSpec = nlohmann::json::parse(body->resource.spec->toJson().dump());
    if (transparentProxyEnabled(req.dataplaneConfig) && hasOutbounds(dpSpec)) {
      return respond(422, kTransparentProxyOutbound);
    }
    mesh = body->mesh;
    name = body->name;
    auto meshRes = manager_.get(*meshType, store::ResourceKey{mesh, ""});
    if (!meshRes.ok()) {
      if (absl::IsNotFound(meshRes.status()) || absl::IsInvalidArgument(meshRes.status())) {
        return respond(422, absl::StrCat("mesh: mesh ", goQuote(mesh), " does not exist"));
      }
      return respond(500);
    }
  } else {
    auto stored = manager_.get(*dpType, store::ResourceKey{name, mesh});
    if (!stored.ok()) {
      if (absl::IsNotFound(stored.status()) || absl::IsInvalidArgument(stored.status())) {
        return respond(404);  // kuma-dp retries on 404 with an empty body
      }
      return respond(500);
    }
    dpSpec = nlohmann::json::parse((*stored)->spec->toJson().dump());
  }

  // 5. The CA Envoy will trust for the control plane.
  const std::string& ca = req.caCert.empty() ? options_.serverCertPem : req.caCert;
  auto isCa = tls::firstCertIsCa(ca);
  if (!isCa.ok()) {
    // Kuma: 500. The caCert is the client's input: 400 with the reason.
    const std::string reason(isCa.status().message());
    log->info("bootstrap: cannot parse the CA certificate: {}", reason);
    return respond(400, absl::StrCat("could not parse caCert: ", reason));
  }
  if (!*isCa) {
    return respond(400, kNotCa);
  }

  // 6. The bootstrap.
  BootstrapInput input;
  input.request = &req;
  input.mesh = mesh;
  input.name = name;
  input.dataplaneSpec = dpSpec;
  input.caPem = ca;
  input.xdsHost = xdsHost;
  input.xdsPort = options_.xdsPort;
  const std::string yaml = bootstrapYaml(generateBootstrap(input, options_.params));

  HttpResponse ok;
  ok.status = 200;
  if (http.accept == "application/json") {
    nlohmann::json meshSpec;
    if (auto meshRes = manager_.get(*meshType, store::ResourceKey{mesh, ""}); meshRes.ok()) {
      meshSpec = nlohmann::json::parse((*meshRes)->spec->toJson().dump());
    }
    std::string address;
    if (dpSpec.contains("networking") && dpSpec["networking"].is_object()) {
      address = dpSpec["networking"].value("address", "");
    }
    nlohmann::ordered_json networking;
    networking["corefileTemplate"] =
        options_.corefileTemplate.empty()
            ? nlohmann::ordered_json(nullptr)
            : nlohmann::ordered_json(absl::Base64Escape(options_.corefileTemplate));
    networking["address"] = address;
    nlohmann::ordered_json out;
    out["bootstrap"] = absl::Base64Escape(yaml);
    out["kumaSidecarConfiguration"] = {
        {"networking", networking},
        {"metrics", {{"aggregate", aggregateMetrics(meshSpec, dpSpec)}}}};
    ok.contentType = "application/json";
    ok.body = out.dump();
  } else {
    ok.contentType = "text/x-yaml";
    ok.body = yaml;
  }
  return ok;
}

}  // namespace kuma::xds::bootstrap
