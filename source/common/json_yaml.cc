#include "source/common/json_yaml.h"

#include <cerrno>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"
#include "yaml-cpp/yaml.h"

namespace kuma::common {
namespace {

bool allOf(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!pred(c)) {
      return false;
    }
  }
  return true;
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isOctal(char c) {
  return c >= '0' && c <= '7';
}
bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool isYamlFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    ++i;
  }
  size_t intDigits = 0;
  while (i < s.size() && isDigit(s[i])) {
    ++i;
    ++intDigits;
  }
  size_t fracDigits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDigit(s[i])) {
      ++i;
      ++fracDigits;
    }
  }
  if (intDigits == 0 && fracDigits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      ++i;
    }
    if (!allOf(s.substr(i), isDigit)) {
      return false;
    }
    i = s.size();
  }
  return i == s.size();
}

// YAML 1.2 core schema for plain scalars.
nlohmann::json plainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return nullptr;
  }
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  const std::string_view unsignedPart =
      (s[0] == '-' || s[0] == '+') ? std::string_view(s).substr(1) : std::string_view(s);
  if (allOf(unsignedPart, isDigit)) {
    errno = 0;
    if (s[0] == '-') {
      const long long v = std::strtoll(s.c_str(), nullptr, 10);
      if (errno == 0) {
        return v;
      }
    } else {
      const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
      if (errno == 0) {
        return v;
      }
    }
    return std::strtod(s.c_str(), nullptr);
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && allOf(std::string_view(s).substr(2), isOctal)) {
    return std::strtoull(s.c_str() + 2, nullptr, 8);
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && allOf(std::string_view(s).substr(2), isHex)) {
    return std::strtoull(s.c_str() + 2, nullptr, 16);
  }
  if (isYamlFloat(s)) {
    return std::strtod(s.c_str(), nullptr);
  }
  return s;
}

absl::StatusOr<nlohmann::json> convert(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar:
      // Tag "!" marks a quoted (non-plain) scalar: always a string.
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") {
        return node.Scalar();
      }
      return plainScalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) {
        auto v = convert(item);
        if (!v.ok()) {
          return v.status();
        }
        out.push_back(std::move(*v));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return absl::InvalidArgumentError("yaml: mapping keys must be scalars");
        }
        auto v = convert(kv.second);
        if (!v.ok()) {
          return v.status();
        }
        out[kv.first.Scalar()] = std::move(*v);
      }
      return out;
    }
  }
  return nullptr;
}

template <typename Json>
void emit(YAML::Emitter& out, const Json& value) {
  if (value.is_object()) {
    if (value.empty()) {
      out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
      return;
    }
    out << YAML::BeginMap;
    for (auto it = value.begin(); it != value.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emit(out, it.value());
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    if (value.empty()) {
      out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
      return;
    }
    out << YAML::BeginSeq;
    for (const auto& item : value) {
      emit(out, item);
    }
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    const std::string& s = value.template get_ref<const std::string&>();
    // Quote strings that would otherwise read back as another type.
    const nlohmann::json reread = plainScalar(s);
    if (!reread.is_string() || s.empty()) {
      out << YAML::DoubleQuoted << s;
    } else {
      out << s;
    }
  } else if (value.is_null()) {
    out << YAML::Null;
  } else {
    out << value.dump();
  }
}

}  // namespace

absl::StatusOr<nlohmann::json> parseYaml(std::string_view text) {
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    return convert(root);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("yaml: ", e.what()));
  }
}

absl::StatusOr<nlohmann::json> parseJson(std::string_view text) {
  nlohmann::json out = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    // Re-parse with exceptions on to get the position and reason.
    try {
      const auto ignored = nlohmann::json::parse(text);
      (void)ignored;
    } catch (const nlohmann::json::exception& e) {
      return absl::InvalidArgumentError(e.what());
    }
    return absl::InvalidArgumentError("invalid JSON");
  }
  return out;
}

absl::StatusOr<nlohmann::json> parseJsonOrYaml(std::string_view text) {
  const absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(av(text));
  if (!trimmed.empty() && (trimmed[0] == '{' || trimmed[0] == '[')) {
    return parseJson(text);
  }
  return parseYaml(text);
}

std::string toYaml(const nlohmann::json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

std::string toYaml(const nlohmann::ordered_json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

}  // namespace kuma::common
