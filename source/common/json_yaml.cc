#include "source/common/json_yaml.h"

#include <cerrno>
#include <cstdlib>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"
#include "yaml-cpp/yaml.h"

namespace kuma::common {
namespace {

// YAML 1.2 core schema for plain scalars.
nlohmann::json plainScalar(const std::string& s) {
  static const std::regex kInt(R"([-+]?[0-9]+)");
  static const std::regex kOctal(R"(0o[0-7]+)");
  static const std::regex kHex(R"(0x[0-9a-fA-F]+)");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return nullptr;
  }
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  if (std::regex_match(s, kInt)) {
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
  if (std::regex_match(s, kOctal)) {
    return std::strtoull(s.c_str() + 2, nullptr, 8);
  }
  if (std::regex_match(s, kHex)) {
    return std::strtoull(s.c_str() + 2, nullptr, 16);
  }
  if (std::regex_match(s, kFloat)) {
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
