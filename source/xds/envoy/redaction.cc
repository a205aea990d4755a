#include "source/xds/envoy/redaction.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "source/common/json_yaml.h"

namespace kuma::xds {
namespace {

constexpr std::string_view kPemMarker = "-----BEGIN";
constexpr char kRedacted[] = "[redacted]";

// The stand-in Kuma's inspector puts in place of a DataSource's content, by the field holding it.
const char* standInFor(std::string_view field) {
  if (field == "certificateChain" || field == "certificate_chain") {
    return "CERT";
  }
  if (field == "privateKey" || field == "private_key") {
    return "KEY";
  }
  if (field == "trustedCa" || field == "trusted_ca") {
    return "CA";
  }
  return nullptr;
}

bool isInlineField(std::string_view key) {
  return key == "inlineBytes" || key == "inline_bytes" || key == "inlineString" ||
         key == "inline_string";
}

// A DataSource holding key or certificate material: every inline form is replaced by the stand-in
// (bytes fields are base64 in JSON), file paths and environment variable names stay.
void replaceDataSource(nlohmann::ordered_json& source, const char* standIn) {
  for (auto it = source.begin(); it != source.end(); ++it) {
    if (!isInlineField(it.key())) {
      continue;
    }
    const bool bytes = absl::StartsWith(it.key(), "inlineB") || it.key() == "inline_bytes";
    it.value() = bytes ? absl::Base64Escape(standIn) : std::string(standIn);
  }
}

bool isAuthorizationHeader(const nlohmann::ordered_json& object) {
  auto key = object.find("key");
  auto value = object.find("value");
  return key != object.end() && value != object.end() && key->is_string() && value->is_string() &&
         absl::EqualsIgnoreCase(key->get<std::string>(), "authorization");
}

void redact(nlohmann::ordered_json& value) {
  if (value.is_object() && isAuthorizationHeader(value)) {
    value["value"] = kRedacted;
  }
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      const char* standIn = standInFor(it.key());
      if (standIn != nullptr && it.value().is_object()) {
        replaceDataSource(it.value(), standIn);
      }
      redact(it.value());
    }
  } else if (value.is_array()) {
    for (auto& item : value) {
      redact(item);
    }
  } else if (value.is_string() && containsPem(value.get_ref<const std::string&>())) {
    value = kRedacted;
  }
}

}  // namespace

bool containsPem(std::string_view text) {
  if (text.find(kPemMarker) != std::string_view::npos) {
    return true;
  }
  // Base64 of a PEM block: the shortest encoding that can hold the marker is 16 characters.
  if (text.size() < 16) {
    return false;
  }
  std::string decoded;
  if (absl::Base64Unescape(absl::string_view(text.data(), text.size()), &decoded) ||
      absl::WebSafeBase64Unescape(absl::string_view(text.data(), text.size()), &decoded)) {
    return decoded.find(kPemMarker) != std::string::npos;
  }
  return false;
}

void redactSecretMaterial(nlohmann::ordered_json& value) {
  redact(value);
}

absl::StatusOr<std::string> redactConfigDump(std::string_view text) {
  // The bounded parser first (depth, UTF-8), then an order-keeping parse of what it accepted.
  auto checked = common::parseJson(text);
  if (!checked.ok()) {
    return checked.status();
  }
  nlohmann::ordered_json dump = nlohmann::ordered_json::parse(text, nullptr, false);
  if (dump.is_discarded()) {
    return absl::InvalidArgumentError("the config dump is not JSON");
  }
  redact(dump);
  return dump.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace kuma::xds
