#include "source/core/resources/validation_helpers.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace kuma::resources {
namespace {

bool matchesTagName(const std::string& key) {
  static const std::regex re("^[a-zA-Z0-9.\\-_:/]*$");
  return std::regex_match(key, re);
}

bool matchesTagValue(const std::string& value) {
  static const std::regex re("^[a-zA-Z0-9.\\-_:]*$");
  return std::regex_match(value, re);
}

bool matchesSelectorValue(const std::string& value) {
  static const std::regex re("^([a-zA-Z0-9.\\-_:/]*|\\*)$");
  return std::regex_match(value, re);
}

}  // namespace

std::vector<std::string> sortedKeys(const TagMap& tags) {
  std::vector<std::string> keys;
  keys.reserve(tags.size());
  for (const auto& [k, _] : tags) {
    keys.push_back(k);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

void validatePort(const PathBuilder& path, uint32_t port, ValidationError& errors) {
  if (port == 0 || port > 65535) {
    errors.addViolationAt(path, "port must be in the range [1, 65535]");
  }
}

void validateTags(const PathBuilder& path, const TagMap& tags, const TagsOptions& options,
                  ValidationError& errors) {
  if (options.requireAtLeastOneTag && tags.empty()) {
    errors.addViolationAt(path, "must have at least one tag");
  }
  for (const auto& extra : options.extra) {
    extra(path, tags, errors);
  }
  for (const auto& key : sortedKeys(tags)) {
    if (key.empty()) {
      errors.addViolationAt(path, "tag name must be non-empty");
    }
    if (!matchesTagName(key)) {
      errors.addViolationAt(
          path.key(key),
          "tag name must consist of alphanumeric characters, dots, dashes, slashes and "
          "underscores");
    }
    for (const auto& extra : options.extraKey) {
      extra(path, key, errors);
    }
    const std::string& value = tags.at(key);
    if (value.empty()) {
      errors.addViolationAt(path.key(key), "tag value must be non-empty");
    }
    if (options.selector) {
      if (!matchesSelectorValue(value)) {
        errors.addViolationAt(path.key(key),
                              "tag value must consist of alphanumeric characters, dots, dashes, "
                              "slashes and underscores or be \"*\"");
      }
    } else if (!matchesTagValue(value)) {
      errors.addViolationAt(
          path.key(key),
          "tag value must consist of alphanumeric characters, dots, dashes and underscores");
    }
  }
  if (options.requireService && tags.find(std::string(kServiceTag)) == tags.end()) {
    errors.addViolationAt(
        path, absl::StrCat("mandatory tag \"", std::string(kServiceTag), "\" is missing"));
  }
}

void validateSelectors(
    const PathBuilder& path,
    const google::protobuf::RepeatedPtrField<mesh::v1alpha1::Selector>& selectors,
    const SelectorsOptions& options, ValidationError& errors) {
  if (options.requireAtLeastOneSelector && selectors.empty()) {
    errors.addViolationAt(path, "must have at least one element");
  }
  TagsOptions tagOptions = options.tags;
  tagOptions.selector = true;
  for (int i = 0; i < selectors.size(); ++i) {
    validateTags(path.index(i).field("match"), selectors.Get(i).match(), tagOptions, errors);
  }
}

SelectorsOptions onlyServiceTagAllowed() {
  SelectorsOptions options;
  options.requireAtLeastOneSelector = true;
  options.tags.requireService = true;
  options.tags.extra.push_back([](const PathBuilder& path, const TagMap& selector,
                                  ValidationError& errors) {
    if (selector.size() != 1 || selector.find(std::string(kServiceTag)) == selector.end()) {
      errors.addViolationAt(
          path, absl::StrCat("must consist of exactly one tag \"", std::string(kServiceTag), "\""));
    }
  });
  options.tags.extraKey.push_back(
      [](const PathBuilder& path, const std::string& key, ValidationError& errors) {
        if (key != kServiceTag) {
          errors.addViolationAt(path.key(key), absl::StrCat("tag \"", key, "\" is not allowed"));
        }
      });
  return options;
}

void validateDuration(const PathBuilder& path, const google::protobuf::Duration& duration,
                      ValidationError& errors) {
  constexpr int64_t kMaxSeconds = 315576000000LL;
  const int64_t s = duration.seconds();
  const int32_t n = duration.nanos();
  const bool valid = s >= -kMaxSeconds && s <= kMaxSeconds && n > -1000000000 && n < 1000000000 &&
                     !((s > 0 && n < 0) || (s < 0 && n > 0));
  if (!valid) {
    errors.addViolationAt(path, "must have a valid value");
    return;
  }
  if (s < 0 || (s == 0 && n <= 0)) {
    errors.addViolationAt(path, "must have a positive value");
  }
}

bool isTagName(std::string_view text) {
  return matchesTagName(std::string(text));
}

bool isIp(std::string_view text) {
  if (text.empty() || text.size() > 64) {
    return false;
  }
  const std::string s(text);
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool isDnsName(std::string_view text) {
  if (text.empty() || text.size() > 255) {
    return false;
  }
  static const std::regex re(
      "^([a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})(\\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$");
  const std::string s(text);
  if (!std::regex_match(s, re)) {
    return false;
  }
  // govalidator rejects things that parse as IPs here; those are handled by isIp.
  return !isIp(s);
}

bool splitHostPort(std::string_view text, std::string& host, std::string& port) {
  if (text.empty()) {
    return false;
  }
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    host = std::string(text.substr(1, close - 1));
    port = std::string(text.substr(close + 2));
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return false;
    }
    host = std::string(text.substr(0, colon));
    port = std::string(text.substr(colon + 1));
    if (host.find(':') != std::string::npos) {
      return false;  // too many colons (Go requires brackets for IPv6)
    }
  }
  return port.find_first_of("[]") == std::string::npos;
}

bool isKnownProtocol(std::string_view protocol) {
  const std::string p = absl::AsciiStrToLower(std::string(protocol));
  return p == "tcp" || p == "tls" || p == "http" || p == "http2" || p == "grpc" || p == "kafka" ||
         p == "mysql";
}

std::string protocolAllowedValuesHint() {
  return "Allowed values: grpc, http, http2, kafka, tcp";
}

}  // namespace kuma::resources
