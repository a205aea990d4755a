#include "source/core/manager/meta_validation.h"

#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"

namespace kuma::manager {
namespace {

using common::av;

constexpr size_t kMaxNameLength = 253;
constexpr size_t kMaxLabelLength = 63;

constexpr std::string_view kStrictNameMessage =
    "invalid characters. A lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric character";
constexpr std::string_view kLegacyNameMessage =
    "invalid characters. Valid characters are numbers, lowercase latin letters and '-', '_', '.' "
    "symbols.";

constexpr std::string_view kQualifiedNameMessage =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr std::string_view kQualifiedNameFormat = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kLabelValueMessage =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kLabelValueFormat = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr std::string_view kDns1123LabelMessage =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character";
constexpr std::string_view kDns1123LabelFormat = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kDns1035LabelMessage =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character";
constexpr std::string_view kDns1035LabelFormat = "[a-z]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kDns1123SubdomainMessage =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kDns1123SubdomainFormat =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool isAlnum(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
}

/** [a-z0-9]([-a-z0-9]*[a-z0-9])? */
bool isDns1123Label(std::string_view s) {
  if (s.empty() || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) {
    return false;
  }
  for (char c : s) {
    if (!isLowerAlnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

/** Dot-separated DNS-1123 labels. */
bool isDns1123Subdomain(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!isDns1123Label(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

/** ^[0-9a-z-_.]*$ */
bool isLegacyIdentifier(std::string_view s) {
  for (char c : s) {
    if (!isLowerAlnum(c) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

/** ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
bool isQualifiedNamePart(std::string_view s) {
  if (s.empty() || !isAlnum(s.front()) || !isAlnum(s.back())) {
    return false;
  }
  for (char c : s) {
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

std::string regexError(std::string_view message, std::string_view format,
                       std::vector<std::string_view> examples) {
  std::string out = std::string(message);
  if (!examples.empty()) {
    out += " (e.g. ";
    for (size_t i = 0; i < examples.size(); i++) {
      if (i > 0) {
        out += ",  or ";
      }
      absl::StrAppend(&out, "'", av(examples[i]), "'");
    }
    out += ", ";
  } else {
    out += " (";
  }
  absl::StrAppend(&out, "regex used for validation is '", av(format), "')");
  return out;
}

std::string maxLenError(size_t length) {
  return absl::StrCat("must be no more than ", length, " characters");
}

}  // namespace

void validateName(std::string_view name, NameRule rule, validators::ValidationError& errors) {
  if (name.empty()) {
    errors.addViolation("name", "cannot be empty");
  } else if (name.size() > kMaxNameLength) {
    errors.addViolation("name", "value length must less or equal 253");
  } else if (rule == NameRule::Strict && !isDns1123Subdomain(name)) {
    errors.addViolation("name", kStrictNameMessage);
  } else if (rule == NameRule::BackwardCompatible && !isDns1123Subdomain(name) &&
             !isLegacyIdentifier(name)) {
    errors.addViolation("name", kLegacyNameMessage);
  }
}

void validateMeshField(std::string_view mesh, validators::ValidationError& errors) {
  if (mesh.empty()) {
    errors.addViolation("mesh", "cannot be empty");
  } else if (mesh.size() > kMaxNameLength) {
    errors.addViolation("mesh", "value length must less or equal 253");
  } else if (!isLegacyIdentifier(mesh)) {
    errors.addViolation("mesh", kLegacyNameMessage);
  }
}

std::vector<std::string> dns1123LabelErrors(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > kMaxLabelLength) {
    out.push_back(maxLenError(kMaxLabelLength));
  }
  if (!isDns1123Label(value)) {
    out.push_back(regexError(kDns1123LabelMessage, kDns1123LabelFormat, {"my-name", "123-abc"}));
  }
  return out;
}

std::vector<std::string> dns1035LabelErrors(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > kMaxLabelLength) {
    out.push_back(maxLenError(kMaxLabelLength));
  }
  if (!isDns1123Label(value) || !(value.front() >= 'a' && value.front() <= 'z')) {
    out.push_back(regexError(kDns1035LabelMessage, kDns1035LabelFormat, {"my-name", "abc-123"}));
  }
  return out;
}

std::vector<std::string> dns1123SubdomainErrors(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > kMaxNameLength) {
    out.push_back(maxLenError(kMaxNameLength));
  }
  if (!isDns1123Subdomain(value)) {
    out.push_back(regexError(kDns1123SubdomainMessage, kDns1123SubdomainFormat, {"example.com"}));
  }
  return out;
}

std::vector<std::string> qualifiedNameErrors(std::string_view key) {
  std::vector<std::string> out;
  std::string_view name = key;
  const size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos) {
      out.push_back(absl::StrCat(
          "a qualified name ",
          regexError(kQualifiedNameMessage, kQualifiedNameFormat, {"MyName", "my.name", "123-abc"}),
          " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"));
      return out;
    }
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) {
      out.push_back("prefix part must be non-empty");
    } else {
      for (const std::string& message : dns1123SubdomainErrors(prefix)) {
        out.push_back(absl::StrCat("prefix part ", message));
      }
    }
  }
  if (name.empty()) {
    out.push_back("name part must be non-empty");
  } else if (name.size() > kMaxLabelLength) {
    out.push_back(absl::StrCat("name part ", maxLenError(kMaxLabelLength)));
  }
  if (!name.empty() && !isQualifiedNamePart(name)) {
    out.push_back(absl::StrCat("name part ", regexError(kQualifiedNameMessage, kQualifiedNameFormat,
                                                        {"MyName", "my.name", "123-abc"})));
  }
  return out;
}

std::vector<std::string> labelValueErrors(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > kMaxLabelLength) {
    out.push_back(maxLenError(kMaxLabelLength));
  }
  if (!value.empty() && !isQualifiedNamePart(value)) {
    out.push_back(
        regexError(kLabelValueMessage, kLabelValueFormat, {"MyValue", "my_value", "12345"}));
  }
  return out;
}

void validateLabels(const std::map<std::string, std::string>& labels,
                    validators::ValidationError& errors) {
  for (const auto& [key, value] : labels) {
    const auto path = validators::PathBuilder("labels").key(key);
    for (const std::string& message : qualifiedNameErrors(key)) {
      errors.addViolationAt(path, message);
    }
    for (const std::string& message : labelValueErrors(value)) {
      errors.addViolationAt(path, message);
    }
  }
}

}  // namespace kuma::manager
