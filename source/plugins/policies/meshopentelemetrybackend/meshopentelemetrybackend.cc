#include "source/plugins/policies/meshopentelemetrybackend/meshopentelemetrybackend.h"

#include <cctype>
#include <string>

namespace kuma::policies::meshopentelemetrybackend {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

// Field order is Kuma's Go struct order (the order of the stored spec).
SchemaPtr specSchema() {
  return object({
      field("endpoint",
            object({field("address", string()), field("port", int32()), field("path", string())})),
      field("protocol", enumOf({"grpc", "http"})),
      field(
          "env",
          object({
              field("mode", withDefault(enumOf({"Disabled", "Optional", "Required"}), "Optional")),
              field("precedence", withDefault(enumOf({"ExplicitFirst", "EnvFirst"}), "EnvFirst")),
              field("allowSignalOverrides", boolean()),
          })),
  });
}

bool isIp(std::string_view s) {
  // IPv4 dotted quad or anything with a colon made of hex digits, colons and dots (IPv6).
  if (s.find(':') != std::string_view::npos) {
    for (char c : s) {
      if (std::isxdigit(static_cast<unsigned char>(c)) == 0 && c != ':' && c != '.') {
        return false;
      }
    }
    return true;
  }
  int parts = 0;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('.', start);
    std::string_view part = s.substr(start, end == std::string_view::npos ? s.npos : end - start);
    if (part.empty() || part.size() > 3) {
      return false;
    }
    int v = 0;
    for (char c : part) {
      if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
        return false;
      }
      v = v * 10 + (c - '0');
    }
    if (v > 255) {
      return false;
    }
    ++parts;
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return parts == 4;
}

// govalidator.IsDNSName: labels of letters, digits, '-' and '_' (not starting or ending with
// '-'), at most 63 characters each, 255 in all, an optional trailing dot; not an IP.
bool isDnsName(std::string_view s) {
  if (s.empty() || s.size() > 255) {
    return false;
  }
  if (s.back() == '.') {
    s.remove_suffix(1);
  }
  size_t start = 0;
  while (true) {
    size_t end = s.find('.', start);
    std::string_view label = s.substr(start, end == std::string_view::npos ? s.npos : end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_') {
        return false;
      }
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return !isIp(s);
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  const PathBuilder path("spec");
  const nlohmann::json* protocolJson = member(spec, "protocol");
  const std::string protocol = protocolJson != nullptr && protocolJson->is_string()
                                   ? protocolJson->get<std::string>()
                                   : "grpc";
  const nlohmann::json* endpoint = member(spec, "endpoint");
  if (endpoint == nullptr) {
    return;
  }
  const PathBuilder ep = path.field("endpoint");
  if (const nlohmann::json* address = member(*endpoint, "address"); address != nullptr) {
    const std::string a = address->is_string() ? address->get<std::string>() : "";
    if (a.empty()) {
      errors.addViolationAt(ep.field("address"), "must not be empty");
    } else if (!isIp(a) && !isDnsName(a)) {
      errors.addViolationAt(ep.field("address"), "address has to be a valid IP or hostname");
    }
  }
  if (const nlohmann::json* port = member(*endpoint, "port");
      port != nullptr && port->is_number_integer()) {
    // Kuma converts the int32 to uint32 before ValidatePort.
    const uint32_t p = static_cast<uint32_t>(port->get<int64_t>());
    if (p == 0 || p > 65535) {
      errors.addViolationAt(ep.field("port"), "port must be a valid (1-65535)");
    }
  }
  if (const nlohmann::json* p = member(*endpoint, "path"); p != nullptr && p->is_string()) {
    const std::string value = p->get<std::string>();
    if (!value.empty()) {
      if (protocol == "grpc") {
        errors.addViolationAt(ep.field("path"), "must not be set when protocol is grpc");
        return;
      }
      if (value.front() != '/') {
        errors.addViolationAt(ep.field("path"), "must start with /");
      }
      if (value.find_first_of("?#") != std::string::npos) {
        errors.addViolationAt(ep.field("path"), "must not contain query or fragment");
      }
    }
  }
}

}  // namespace

PolicyDefinition definition() {
  PolicyDefinition d;
  d.name = "MeshOpenTelemetryBackend";
  d.wsPath = "meshopentelemetrybackends";
  d.shortName = "motb";
  d.singularDisplayName = "Mesh OpenTelemetry Backend";
  d.pluralDisplayName = "Mesh OpenTelemetry Backends";
  d.isPolicy = false;
  d.schema = specSchema();
  d.validate = validate;
  return d;
}

}  // namespace kuma::policies::meshopentelemetrybackend
