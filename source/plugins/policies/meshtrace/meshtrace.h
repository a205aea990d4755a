#pragma once

// File: meshtrace.h
// MeshTrace (pkg/plugins/policies/meshtrace, Kuma 2.14): spec schema with Kuma's defaults, Kuma's
// semantic validation, deprecations and registry entry. A single `default` conf selected by the
// top-level targetRef (no to/from/rules).

#include <optional>
#include <string>
#include <string_view>

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshtrace {

/** The MeshTrace plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

/** The parts of a URL as Go's net/url.ParseRequestURI gives them (no fragment parsing). */
struct RequestUri {
  std::string scheme;
  std::string opaque;
  bool hasUser = false;
  std::string host;  // host[:port] as written
  std::string hostname;
  std::string port;  // digits, may be empty
  std::string path;
  std::string rawQuery;
};

/** ParseRequestURI; nullopt when Go would fail. */
std::optional<RequestUri> parseRequestUri(std::string_view url);

}  // namespace kuma::policies::meshtrace
