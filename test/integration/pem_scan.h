#pragma once

// File: pem_scan.h
// Finds key or certificate material in an API answer, for the tests that prove none leaves
// through the inspect API.

#include <functional>
#include <string>

#include "absl/strings/escaping.h"
#include "nlohmann/json.hpp"

namespace kuma::test {

// Where a PEM block (`-----BEGIN`) shows in an API answer: in the raw text, or inside any JSON
// string that decodes as base64 (protobuf `bytes` fields are base64 in JSON). Empty: none.
inline std::string findPem(const std::string& raw) {
  if (raw.find("-----BEGIN") != std::string::npos) {
    return "raw text";
  }
  const nlohmann::json parsed = nlohmann::json::parse(raw, nullptr, false);
  std::string where;
  std::function<void(const nlohmann::json&, const std::string&)> walk =
      [&](const nlohmann::json& v, const std::string& path) {
        if (!where.empty()) {
          return;
        }
        if (v.is_object()) {
          for (auto it = v.begin(); it != v.end(); ++it) {
            walk(it.value(), path + "." + it.key());
          }
        } else if (v.is_array()) {
          for (size_t i = 0; i < v.size(); ++i) {
            walk(v[i], path + "[" + std::to_string(i) + "]");
          }
        } else if (v.is_string()) {
          const std::string& text = v.get_ref<const std::string&>();
          std::string decoded;
          if ((absl::Base64Unescape(text, &decoded) ||
               absl::WebSafeBase64Unescape(text, &decoded)) &&
              decoded.find("-----BEGIN") != std::string::npos) {
            where = path + " (base64)";
          }
        }
      };
  walk(parsed, "");
  return where;
}

}  // namespace kuma::test
