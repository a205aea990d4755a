#pragma once

// File: go_json.h
// JSON text as Go's encoding/json writes it, for the texts Kuma renders with json.Marshal: the
// HTML-significant characters and the JavaScript line terminators escaped.
//
//   goJsonString("a<b") == "\"a\\u003cb\""
//   goJsonEscapeHtml(spec.dump()) == what Go's json.Marshal gives for the same value

#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace kuma::common {

/**
 * `json` (JSON text) with Go's HTML escaping: < > & as \u003c \u003e \u0026 and U+2028, U+2029
 * as \u2028, \u2029. These only occur inside JSON strings, so the text stays valid JSON.
 */
inline std::string goJsonEscapeHtml(std::string_view json) {
  std::string escaped;
  escaped.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<') {
      escaped += "\\u003c";
    } else if (c == '>') {
      escaped += "\\u003e";
    } else if (c == '&') {
      escaped += "\\u0026";
    } else if (c == '\xe2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
               (json[i + 2] == '\xa8' || json[i + 2] == '\xa9')) {
      escaped += json[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      escaped += c;
    }
  }
  return escaped;
}

/** A JSON string literal as Go's json.Marshal writes it (invalid UTF-8 replaced by U+FFFD). */
inline std::string goJsonString(const std::string& s) {
  return goJsonEscapeHtml(
      nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

/** A JSON value as Go's json.Marshal writes it (compact, keys sorted). */
inline std::string goJsonDump(const nlohmann::json& value) {
  return goJsonEscapeHtml(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace kuma::common
