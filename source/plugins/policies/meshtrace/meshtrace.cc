#include "source/plugins/policies/meshtrace/meshtrace.h"

#include <cctype>

#include "absl/strings/str_cat.h"

namespace kuma::policies::meshtrace {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

SchemaPtr samplingValue() {
  return intOrString();
}

// Field order is Kuma's Go struct order (the order of the stored spec).
SchemaPtr confSchema() {
  SchemaPtr zipkin = object({
      required("url", string()),
      field("traceId128bit", withDefault(boolean(), false)),
      field("apiVersion", withDefault(enumOf({"httpJson", "httpProto"}), "httpJson")),
      field("sharedSpanContext", withDefault(boolean(), true)),
  });
  SchemaPtr datadog = object({
      required("url", string()),
      field("splitService", withDefault(boolean(), false)),
  });
  SchemaPtr openTelemetry = object({
      field("endpoint", withDefault(string(), "")),
      field("backendRef", object({required("kind", enumOf({"MeshOpenTelemetryBackend"})),
                                  field("labels", mapOf(string()))})),
  });
  SchemaPtr backend = object({
      required("type", enumOf({"Zipkin", "Datadog", "OpenTelemetry"})),
      field("zipkin", zipkin),
      field("datadog", datadog),
      field("openTelemetry", openTelemetry),
  });
  SchemaPtr tag = object({
      required("name", string()),
      field("literal", string()),
      field("header", object({required("name", string()), field("default", string())})),
  });
  return object({
      field("backends", arrayOf(backend, std::nullopt, 1)),
      field("sampling", object({field("overall", samplingValue()), field("client", samplingValue()),
                                field("random", samplingValue())})),
      field("tags", arrayOf(tag)),
  });
}

SchemaPtr specSchema() {
  return object({field("targetRef", targetRefSchema()), field("default", confSchema())});
}

std::string stringMember(const nlohmann::json& obj, std::string_view key) {
  const nlohmann::json* v = member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

bool isSchemeChar(char c, bool first) {
  if (std::isalpha(static_cast<unsigned char>(c)) != 0) {
    return true;
  }
  return !first &&
         (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.');
}

bool allDigits(std::string_view s) {
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
      return false;
    }
  }
  return true;
}

// govalidator.IsURL, approximated: optional scheme (ftp, tcp, udp, ws(s), http(s)), optional
// user info, a host name or IP, an optional port of 1-5 digits and a path without spaces.
bool isUrl(std::string_view s) {
  if (s.size() <= 3 || s.size() >= 2083 || s.front() == '.') {
    return false;
  }
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      return false;
    }
  }
  std::string_view rest = s;
  if (size_t p = rest.find("://"); p != std::string_view::npos) {
    std::string_view scheme = rest.substr(0, p);
    static constexpr std::string_view kSchemes[] = {"ftp", "tcp",  "udp",  "ws",
                                                    "wss", "http", "https"};
    bool known = false;
    for (std::string_view k : kSchemes) {
      known = known || scheme == k;
    }
    if (!known) {
      return false;
    }
    rest.remove_prefix(p + 3);
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  if (size_t colon = authority.rfind(':');
      colon != std::string_view::npos && authority.front() != '[') {
    std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !allDigits(port)) {
      return false;
    }
    host = authority.substr(0, colon);
  }
  if (host.empty() || host.front() == '.' || host.front() == '-') {
    return false;
  }
  if (host.front() == '[') {
    return host.back() == ']';
  }
  for (char c : host) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
              c == '.' || static_cast<unsigned char>(c) >= 0x80;
    if (!ok) {
      return false;
    }
  }
  return true;
}

void validateSampling(const PathBuilder& path, const nlohmann::json& value,
                      ValidationError& errors) {
  std::optional<double> d = decimalOf(value);
  if (!d) {
    // Kuma goes on with a zero decimal, which is in range.
    errors.addViolationAt(path, "string is not a number");
    return;
  }
  if (*d < 0 || *d > 100) {
    errors.addViolationAt(path, "must be between 0 and 100");
  }
}

void validateDatadogUrl(const PathBuilder& path, const std::string& url, ValidationError& errors) {
  std::optional<RequestUri> u = parseRequestUri(url);
  if (!u) {
    errors.addViolationAt(path, "must be a valid url");
    return;
  }
  if (u->scheme != "http") {
    errors.addViolationAt(path, "scheme must be http");
  }
  if (u->port.empty()) {
    errors.addViolationAt(path, "port must be defined");
  } else {
    bool ok = u->port.size() <= 10;
    long long port = ok ? std::stoll(u->port) : 0;
    if (!ok || port == 0 || port > 65535) {
      errors.addViolationAt(path, "port must be a valid (1-65535)");
    }
  }
  // Kuma walks a Go map here (random order); we report in the struct's field order.
  if (!u->opaque.empty()) {
    errors.addViolationAt(path, "opaque must not be defined");
  }
  if (u->hasUser) {
    errors.addViolationAt(path, "user must not be defined");
  }
  if (!u->path.empty()) {
    errors.addViolationAt(path, "path must not be defined");
  }
  if (!u->rawQuery.empty()) {
    errors.addViolationAt(path, "query must not be defined");
  }
}

void validateBackend(const PathBuilder& path, const nlohmann::json& backend,
                     ValidationError& errors) {
  const std::string type = stringMember(backend, "type");
  if (type == "Datadog") {
    const nlohmann::json* datadog = member(backend, "datadog");
    if (datadog == nullptr) {
      errors.addViolationAt(path.field("datadog"), "must be defined");
      return;
    }
    validateDatadogUrl(path.field("datadog").field("url"), stringMember(*datadog, "url"), errors);
  } else if (type == "Zipkin") {
    const nlohmann::json* zipkin = member(backend, "zipkin");
    if (zipkin == nullptr) {
      errors.addViolationAt(path.field("zipkin"), "must be defined");
      return;
    }
    const std::string url = stringMember(*zipkin, "url");
    if (url.empty()) {
      errors.addViolationAt(path.field("zipkin").field("url"), "must not be empty");
    } else if (!isUrl(url)) {
      errors.addViolationAt(path.field("zipkin").field("url"), "must be a valid url");
    }
  } else if (type == "OpenTelemetry") {
    const nlohmann::json* otel = member(backend, "openTelemetry");
    if (otel == nullptr) {
      errors.addViolationAt(path.field("openTelemetry"), "must be defined");
      return;
    }
    validateOtelBackendRefOrEndpoint(path.field("openTelemetry"), *otel, /*hostPort=*/false,
                                     errors);
  }
}

void validateDefault(const nlohmann::json* conf, ValidationError& errors) {
  const PathBuilder path = PathBuilder("spec").field("default");
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const nlohmann::json& c = conf != nullptr ? *conf : kEmpty;
  const nlohmann::json* backends = member(c, "backends");
  if (backends == nullptr) {
    errors.addViolationAt(path.field("backends"), "must be defined");
  } else if (backends->size() == 1) {
    validateBackend(path.field("backends").index(0), (*backends)[0], errors);
  } else if (backends->size() > 1) {
    errors.addViolationAt(path.field("backends"), "must have zero or one backend defined");
  }
  for (size_t i = 0; i < arraySize(c, "tags"); ++i) {
    const nlohmann::json& tag = c["tags"][i];
    const PathBuilder tp = path.field("tags").index(i);
    if (stringMember(tag, "name").empty()) {
      errors.addViolationAt(tp.field("name"), "must not be empty");
    }
    if ((member(tag, "header") != nullptr) == (member(tag, "literal") != nullptr)) {
      errors.addViolationAt(tp, "tag must have only one type defined: header, literal");
    }
  }
  if (const nlohmann::json* sampling = member(c, "sampling")) {
    for (const char* key : {"client", "random", "overall"}) {
      if (const nlohmann::json* v = member(*sampling, key)) {
        validateSampling(path.field("sampling").field(key), *v, errors);
      }
    }
  }
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  // Kuma's system policy role (no kuma.io/policy-role label, as on Universal) also accepts a
  // MeshGateway on top, without listener tags.
  validateTopTargetRef(
      spec,
      {{kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset, kDataplane},
       false,
       false,
       {},
       {}},
      errors);
  validateDefault(member(spec, "default"), errors);
}

}  // namespace

std::optional<RequestUri> parseRequestUri(std::string_view url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return std::nullopt;
    }
  }
  RequestUri out;
  std::string_view rest = url;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    out.rawQuery = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  size_t i = 0;
  while (i < rest.size() && isSchemeChar(rest[i], i == 0)) {
    ++i;
  }
  if (i > 0 && i < rest.size() && rest[i] == ':') {
    out.scheme = std::string(rest.substr(0, i));
    for (char& c : out.scheme) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    rest.remove_prefix(i + 1);
  } else if (i < rest.size() && rest[i] == ':' && i == 0) {
    return std::nullopt;  // "missing protocol scheme"
  }
  if (out.scheme.empty() && (rest.empty() || rest.front() != '/')) {
    return std::nullopt;  // not an absolute URI or path
  }
  if (!out.scheme.empty() && (rest.empty() || rest.front() != '/')) {
    out.opaque = std::string(rest);
    return out;
  }
  if (!out.scheme.empty() && rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
      out.hasUser = true;
      authority.remove_prefix(at + 1);
    }
    out.host = std::string(authority);
    std::string_view hostname = authority;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
      size_t close = authority.find(']');
      if (close == std::string_view::npos) {
        return std::nullopt;
      }
      hostname = authority.substr(1, close - 1);
      std::string_view after = authority.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':') {
          return std::nullopt;
        }
        port = after.substr(1);
      }
    } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
      hostname = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (!allDigits(port)) {
      return std::nullopt;  // "invalid port"
    }
    for (char c : hostname) {
      if (c == ' ' || c == '<' || c == '>' || c == '"' || c == '{' || c == '}' || c == '|' ||
          c == '\\' || c == '^' || c == '`') {
        return std::nullopt;  // "invalid character in host name"
      }
    }
    out.hostname = std::string(hostname);
    out.port = std::string(port);
  }
  out.path = std::string(rest);
  return out;
}

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshTrace", "meshtraces", "mtr", "Mesh Trace", "Mesh Traces"},
      .topKinds = {kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset, kDataplane},
      .schema = specSchema(),
      .validate = validate,
      .deprecations = otelBackendPolicyDeprecations,
  });
}

}  // namespace kuma::policies::meshtrace
