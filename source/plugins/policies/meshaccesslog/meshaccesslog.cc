#include "source/plugins/policies/meshaccesslog/meshaccesslog.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"

namespace kuma::policies::meshaccesslog {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

// ^[a-z]([a-z0-9]|[._][a-z0-9])*$
bool isOtelAttributeKey(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) {
    return false;
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (size_t i = 1; i < s.size(); ++i) {
    if (alnum(s[i])) {
      continue;
    }
    if ((s[i] == '.' || s[i] == '_') && i + 1 < s.size() && alnum(s[i + 1])) {
      ++i;
      continue;
    }
    return false;
  }
  return true;
}

SchemaPtr formatSchema() {
  return object({
      required("type", enumOf({"Plain", "Json"})),
      field("plain", string()),
      field("json", arrayOf(object({required("key", string()), required("value", string())}))),
      field("omitEmptyValues", boolean()),
  });
}

SchemaPtr confSchema() {
  return object({field(
      "backends",
      arrayOf(object({
          required("type", enumOf({"Tcp", "File", "OpenTelemetry"})),
          field("tcp", object({field("format", formatSchema()),
                               required("address", withLength(string(), 1, std::nullopt))})),
          field("file", object({field("format", formatSchema()),
                                required("path", withLength(string(), 1, std::nullopt))})),
          field("openTelemetry",
                object({
                    field("attributes",
                          arrayOf(object(
                              {required("key",
                                        withPattern(string(), StringPattern{"^[a-z]([a-z0-9]|[._]["
                                                                            "a-z0-9])*$",
                                                                            isOtelAttributeKey})),
                               required("value", string())}))),
                    field("body", any()),
                    field("endpoint", string()),
                    field("backendRef",
                          object({required("kind", enumOf({"MeshOpenTelemetryBackend"})),
                                  field("name", string()), field("labels", mapOf(string()))})),
                })),
      })))});
}

// A byte of a UTF-8 sequence: stands for the regex's \x{00a1}-\x{ffff} letters.
bool nonAscii(unsigned char c) {
  return c >= 0x80;
}
bool alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool letter(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Sets of positions of `s` where a part of the pattern may end (a small NFA simulation, linear
// memory, polynomial time: no backtracking on hostile input).
using Positions = std::vector<bool>;

// govalidator's URLIP: a dotted IPv4 address whose first octet is 1-223 or 240-255.
void matchUrlIp(std::string_view s, size_t i, Positions& out) {
  auto octet = [&](size_t at, bool first, bool last, std::vector<size_t>& ends) {
    for (size_t len = 1; len <= 3 && at + len <= s.size(); ++len) {
      bool digits = true;
      for (size_t k = 0; k < len; ++k) {
        digits = digits && digit(s[at + k]);
      }
      if (!digits) {
        break;
      }
      const int v = std::stoi(std::string(s.substr(at, len)));
      const bool leadingZero = len > 1 && s[at] == '0';
      bool ok = false;
      if (first) {
        ok = !leadingZero && s[at] != '0' && (v <= 223 || v >= 240) && v <= 255;
      } else if (last) {
        ok = (len <= 2 || !leadingZero) && v <= 255;
      } else {
        ok = (len <= 2 || !leadingZero) && v <= 255;
      }
      if (ok) {
        ends.push_back(at + len);
      }
    }
  };
  std::vector<size_t> cur;
  octet(i, true, false, cur);
  for (int part = 0; part < 3; ++part) {
    std::vector<size_t> next;
    for (size_t p : cur) {
      if (p < s.size() && s[p] == '.') {
        octet(p + 1, false, part == 2, next);
      }
    }
    cur = std::move(next);
  }
  for (size_t p : cur) {
    out[p] = true;
  }
}

// `[` IPv6 `]` (checked with inet_pton, as the regex accepts the usual forms).
void matchBracketIp(std::string_view s, size_t i, Positions& out) {
  if (i >= s.size() || s[i] != '[') {
    return;
  }
  const size_t close = s.find(']', i);
  if (close == std::string_view::npos) {
    return;
  }
  const std::string ip(s.substr(i + 1, close - i - 1));
  unsigned char buf[16];
  if (!ip.empty() && ip.find(':') != std::string::npos &&
      inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    out[close + 1] = true;
  }
}

// The host name alternative: an optional prefix (`[a-zA-Z0-9]([a-zA-Z0-9-_]+)?[a-zA-Z0-9]`
// followed by `([-.][a-zA-Z0-9]+)*`, or URLSubdomain), then a label `([W]+-?-?)*[W]+`, then an
// optional `.` + letters.
void matchHostName(std::string_view s, size_t i, Positions& out) {
  const size_t n = s.size();
  Positions prefixEnds(n + 1, false);
  prefixEnds[i] = true;  // the prefix is optional
  // Prefix 1.
  if (i < n && alnum(s[i])) {
    std::vector<size_t> work;
    for (size_t e = i + 1; e < n; ++e) {
      const unsigned char c = s[e];
      if (!(alnum(c) || c == '-' || c == '_')) {
        break;
      }
      if (alnum(c)) {
        work.push_back(e + 1);
      }
    }
    Positions seen(n + 1, false);
    while (!work.empty()) {
      const size_t e = work.back();
      work.pop_back();
      if (seen[e]) {
        continue;
      }
      seen[e] = true;
      prefixEnds[e] = true;
      if (e < n && (s[e] == '-' || s[e] == '.')) {
        for (size_t k = e + 1; k < n && alnum(s[k]); ++k) {
          work.push_back(k + 1);
        }
      }
    }
  }
  // Prefix 2 (URLSubdomain): `www.` or X [a-zA-Z0-9] `.` [a-zA-Z0-9]+ where X is alnum runs
  // joined by single [-_.].
  if (s.substr(i, 4) == "www.") {
    prefixEnds[i + 4] = true;
  }
  if (i < n && alnum(s[i])) {
    bool prevSep = false;
    for (size_t j = i + 1; j < n; ++j) {
      const unsigned char c = s[j];
      const bool sep = c == '-' || c == '_' || c == '.';
      if (!alnum(c) && !sep) {
        break;
      }
      if (c == '.' && j >= i + 2 && alnum(s[j - 1]) && alnum(s[j - 2])) {
        for (size_t k = j + 1; k < n && alnum(s[k]); ++k) {
          prefixEnds[k + 1] = true;
        }
      }
      if (sep && prevSep) {
        break;
      }
      prevSep = sep;
    }
  }
  // The label, then the optional `.letters`.
  for (size_t p = i; p <= n; ++p) {
    if (!prefixEnds[p] || p >= n) {
      continue;
    }
    int hyphens = 0;
    for (size_t e = p; e < n; ++e) {
      const unsigned char c = s[e];
      if (alnum(c) || nonAscii(c)) {
        hyphens = 0;
        out[e + 1] = true;
        if (e + 1 < n && s[e + 1] == '.') {
          for (size_t k = e + 2; k < n && (letter(s[k]) || nonAscii(s[k])); ++k) {
            out[k + 1] = true;
          }
        }
      } else if (c == '-' && e > p && hyphens < 2) {
        ++hyphens;
      } else {
        break;
      }
    }
  }
}

// govalidator.IsURL (Kuma's check of a Tcp backend address): Go's url.Parse preconditions, then
// the URL pattern (scheme, user info, IPv4 / [IPv6] / host name, port, path).
bool isGoUrl(std::string_view s) {
  if (s.empty() || s.size() <= 3 || s.size() >= 2083 || s.front() == '.') {
    return false;
  }
  const bool hasScheme = s.find("://") != std::string_view::npos;
  if (!hasScheme && s.find(':') == std::string_view::npos) {
    // url.Parse: no host, the whole string is a path; it must contain a dot.
    if (s.find('.') == std::string_view::npos) {
      return false;
    }
  }
  const size_t n = s.size();
  Positions cur(n + 1, false);
  cur[0] = true;
  for (const char* scheme :
       {"ftp://", "tcp://", "udp://", "ws://", "wss://", "http://", "https://"}) {
    if (s.substr(0, std::strlen(scheme)) == scheme) {
      cur[std::strlen(scheme)] = true;
    }
  }
  // User info: `\S+(:\S*)?@`.
  Positions withUser = cur;
  for (size_t i = 0; i <= n; ++i) {
    if (!cur[i]) {
      continue;
    }
    for (size_t j = i; j < n && !space(s[j]); ++j) {
      if (s[j] == '@' && j > i) {
        withUser[j + 1] = true;
      }
    }
  }
  Positions host(n + 1, false);
  for (size_t i = 0; i <= n; ++i) {
    if (withUser[i] && i < n) {
      matchUrlIp(s, i, host);
      matchBracketIp(s, i, host);
      matchHostName(s, i, host);
    }
  }
  Positions dot = host;
  for (size_t i = 0; i < n; ++i) {
    if (host[i] && s[i] == '.') {
      dot[i + 1] = true;
    }
  }
  Positions port = dot;
  for (size_t i = 0; i < n; ++i) {
    if (dot[i] && s[i] == ':') {
      for (size_t k = 1; k <= 5 && i + k < n && digit(s[i + k]); ++k) {
        port[i + k + 1] = true;
      }
    }
  }
  if (port[n]) {
    return true;
  }
  for (size_t i = 0; i < n; ++i) {
    if (port[i] && (s[i] == '/' || s[i] == '?' || s[i] == '#')) {
      bool ok = true;
      for (size_t k = i + 1; k < n && ok; ++k) {
        ok = !space(s[k]);
      }
      if (ok) {
        return true;
      }
    }
  }
  return false;
}

// govalidator.IsFilePath: a Windows path `X:\...` or a Unix path starting with '/'.
bool isGoFilePath(std::string_view s) {
  if (s.size() >= 3 && letter(s[0]) && s[1] == ':' && s[2] == '\\') {
    if (s.size() - 3 > 32767) {
      return false;
    }
    size_t segment = 0;
    for (size_t i = 3; i < s.size(); ++i) {
      const char c = s[i];
      if (c == '\\') {
        if (segment == 0) {
          return false;
        }
        segment = 0;
        continue;
      }
      if (std::string_view("/:*?\"<>|\r\n").find(c) != std::string_view::npos) {
        return false;
      }
      ++segment;
    }
    return true;
  }
  return !s.empty() && s.front() == '/' && s.find('\0') == std::string_view::npos;
}

void validateFormat(const PathBuilder& path, const nlohmann::json* format,
                    ValidationError& errors) {
  if (format == nullptr || !format->is_object()) {
    return;
  }
  const std::string type = format->value("type", "");
  if (type == "Plain") {
    const nlohmann::json* plain = member(*format, "plain");
    if (plain == nullptr) {
      errors.addViolationAt(path.field("plain"), "must be defined");
    } else if (plain->is_string() && plain->get<std::string>().empty()) {
      errors.addViolationAt(path.field("plain"), "must not be empty");
    }
  } else if (type == "Json") {
    const nlohmann::json* json = member(*format, "json");
    if (json == nullptr) {
      errors.addViolationAt(path.field("json"), "must be defined");
      return;
    }
    if (!json->is_array()) {
      return;
    }
    if (json->empty()) {
      errors.addViolationAt(path.field("json"), "must not be empty");
    }
    for (size_t i = 0; i < json->size(); ++i) {
      const nlohmann::json& kv = (*json)[i];
      const std::string key = kv.is_object() ? kv.value("key", "") : "";
      const std::string value = kv.is_object() ? kv.value("value", "") : "";
      PathBuilder item = path.field("json").index(i);
      if (key.empty()) {
        errors.addViolationAt(item.field("key"), "key cannot be empty");
      }
      if (value.empty()) {
        errors.addViolationAt(item.field("value"), "value cannot be empty");
      }
      // Kuma checks that `{"<key>": "<value>"}`, the two pasted in as they are, is JSON.
      const std::string doc = absl::StrCat("{\"", key, "\": \"", value, "\"}");
      if (nlohmann::json::parse(doc, nullptr, false).is_discarded()) {
        errors.addViolationAt(item, "is not a valid JSON object");
      }
    }
  }
}

void validateConf(const PathBuilder& path, const nlohmann::json* conf, std::string_view /*top*/,
                  ValidationError& errors) {
  const nlohmann::json* backends = conf != nullptr ? member(*conf, "backends") : nullptr;
  if (backends == nullptr) {
    errors.addViolationAt(path.field("backends"), "must be defined");
    return;
  }
  for (size_t i = 0; i < backends->size(); ++i) {
    const nlohmann::json& b = (*backends)[i];
    PathBuilder bp = path.field("backends").index(i);
    const std::string type = b.value("type", "");
    if (type == "File") {
      const nlohmann::json* file = member(b, "file");
      if (file == nullptr) {
        errors.addViolationAt(bp.field("file"), "must be defined");
        continue;
      }
      validateFormat(bp.field("file").field("format"), member(*file, "format"), errors);
      if (!isGoFilePath(file->value("path", ""))) {
        errors.addViolationAt(bp.field("file").field("path"), "file backend requires a valid path");
      }
    } else if (type == "Tcp") {
      const nlohmann::json* tcp = member(b, "tcp");
      if (tcp == nullptr) {
        errors.addViolationAt(bp.field("tcp"), "must be defined");
        continue;
      }
      validateFormat(bp.field("tcp").field("format"), member(*tcp, "format"), errors);
      if (!isGoUrl(tcp->value("address", ""))) {
        errors.addViolationAt(bp.field("tcp").field("address"),
                              "tcp backend requires valid address");
      }
    } else if (type == "OpenTelemetry" && member(b, "openTelemetry") == nullptr) {
      errors.addViolationAt(bp.field("openTelemetry"), "must be defined");
    }
    if (const nlohmann::json* otel = member(b, "openTelemetry");
        otel != nullptr && type == "OpenTelemetry") {
      PathBuilder op = bp.field("openTelemetry");
      bool hasEndpoint = !otel->value("endpoint", "").empty();
      const nlohmann::json* ref = member(*otel, "backendRef");
      if (hasEndpoint && ref != nullptr) {
        errors.addViolationAt(op,
                              "openTelemetry must have only one type defined: endpoint, "
                              "backendRef");
      } else if (!hasEndpoint && ref == nullptr) {
        errors.addViolationAt(op,
                              "openTelemetry must have exactly one defined: endpoint, backendRef");
      } else if (ref != nullptr) {
        bool hasName = !ref->value("name", "").empty();
        bool hasLabels = arraySize(*ref, "labels") > 0 ||
                         (member(*ref, "labels") != nullptr && !(*ref)["labels"].empty());
        if (hasName == hasLabels) {
          errors.addViolationAt(op.field("backendRef"),
                                hasName ? "backendRef must have only one type defined: name, labels"
                                        : "backendRef must have exactly one defined: name, labels");
        }
      } else if (otel->value("endpoint", "").find_first_of("/?#") != std::string::npos) {
        errors.addViolationAt(op.field("endpoint"), "must be in host:port format, not a URL");
      }
    }
  }
}

}  // namespace

namespace {
// Kuma's MeshAccessLogResource.Deprecations (api/v1alpha1/deprecated.go): `from`, and an
// inline OpenTelemetry endpoint (without backendRef) in any backend.
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  std::vector<std::string> out;
  bool inlineEndpoint = false;
  for (const char* section : {"to", "from", "rules"}) {
    for (size_t i = 0; i < arraySize(spec, section); ++i) {
      const nlohmann::json* conf = member(spec[section][i], "default");
      const nlohmann::json* backends = conf == nullptr ? nullptr : member(*conf, "backends");
      if (backends == nullptr || !backends->is_array()) {
        continue;
      }
      for (const auto& backend : *backends) {
        const nlohmann::json* otel = member(backend, "openTelemetry");
        const nlohmann::json* endpoint = otel == nullptr ? nullptr : member(*otel, "endpoint");
        if (endpoint != nullptr && endpoint->is_string() && !endpoint->get<std::string>().empty() &&
            member(*otel, "backendRef") == nullptr) {
          inlineEndpoint = true;
        }
      }
    }
  }
  if (inlineEndpoint) {
    out.emplace_back(
        "openTelemetry.endpoint is deprecated, use openTelemetry.backendRef with a "
        "MeshOpenTelemetryBackend resource instead");
  }
  return fromAndTargetRefDeprecations(spec, kFromDeprecatedUseRules, std::move(out));
}
}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshAccessLog", "meshaccesslogs", "mal", "Mesh Access Log", "Mesh Access Logs"},
      .topKinds = {kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset, kDataplane},
      .to = true,
      .from = true,
      .rules = true,
      .fromAsRules = true,
      .defaultRequired = true,
      .ruleDefaultRequired = true,
      .toTargetRefOpts =
          [](std::string_view top, const nlohmann::json& /*item*/) {
            TargetRefOpts opts;
            opts.supportedKinds =
                top == kMeshGateway ? destinationKinds(true) : destinationKinds(false);
            if (top != kMeshGateway) {
              opts.supportedKinds.push_back(kMeshHTTPRoute);
            }
            return opts;
          },
      .toBeforeFrom = true,
      .conf = confSchema(),
      .validateConf = validateConf,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshaccesslog
