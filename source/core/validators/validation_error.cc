#include "source/core/validators/validation_error.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace kuma::validators {
namespace {
constexpr absl::string_view kPayloadUrl = "type.kuma.io/validation-error";
}  // namespace

PathBuilder PathBuilder::field(std::string_view name) const {
  PathBuilder out;
  out.path_ = path_.empty() ? std::string(name) : absl::StrCat(path_, ".", std::string(name));
  return out;
}

PathBuilder PathBuilder::index(size_t i) const {
  PathBuilder out;
  out.path_ = absl::StrCat(path_, "[", i, "]");
  return out;
}

PathBuilder PathBuilder::key(std::string_view key) const {
  PathBuilder out;
  out.path_ = absl::StrCat(path_, "[\"", std::string(key), "\"]");
  return out;
}

void ValidationError::addViolation(std::string_view field, std::string_view message) {
  violations_.push_back({std::string(field), std::string(message)});
}

void ValidationError::addViolationAt(const PathBuilder& path, std::string_view message) {
  addViolation(path.str(), message);
}

void ValidationError::add(const ValidationError& other) {
  violations_.insert(violations_.end(), other.violations_.begin(), other.violations_.end());
}

void ValidationError::addAt(const PathBuilder& root, const ValidationError& other) {
  for (const auto& v : other.violations_) {
    std::string field = root.str();
    if (!v.field.empty()) {
      if (field.empty() || v.field.front() == '[') {
        field += v.field;
      } else {
        field = absl::StrCat(field, ".", v.field);
      }
    }
    violations_.push_back({std::move(field), v.message});
  }
}

std::string ValidationError::toString() const {
  std::string out;
  for (const auto& v : violations_) {
    if (!out.empty()) {
      out += "; ";
    }
    absl::StrAppend(&out, v.field, ": ", v.message);
  }
  return out;
}

absl::Status ValidationError::toStatus(std::string_view message) const {
  if (violations_.empty()) {
    return absl::OkStatus();
  }
  nlohmann::json payload = nlohmann::json::array();
  for (const auto& v : violations_) {
    payload.push_back({{"field", v.field}, {"message", v.message}});
  }
  absl::Status status = absl::InvalidArgumentError(std::string(message));
  // Violations may quote input that is not UTF-8: replaced by U+FFFD (as Go's json.Marshal
  // does) rather than thrown.
  status.SetPayload(kPayloadUrl, absl::Cord(payload.dump(
                                     -1, ' ', false, nlohmann::json::error_handler_t::replace)));
  return status;
}

std::optional<ValidationError> ValidationError::fromStatus(const absl::Status& status) {
  const auto payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) {
    return std::nullopt;
  }
  const nlohmann::json parsed = nlohmann::json::parse(std::string(*payload), nullptr, false);
  if (!parsed.is_array()) {
    return std::nullopt;
  }
  ValidationError out;
  for (const auto& item : parsed) {
    out.addViolation(item.value("field", ""), item.value("message", ""));
  }
  return out;
}

}  // namespace kuma::validators
