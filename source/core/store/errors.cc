#include "source/core/store/errors.h"

#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"

namespace kuma::store {

using common::av;

std::string describeKey(std::string_view type, const ResourceKey& key) {
  std::string out = absl::StrCat("type=\"", av(type), "\" name=\"", key.name, "\"");
  if (!key.mesh.empty()) {
    absl::StrAppend(&out, " mesh=\"", key.mesh, "\"");
  }
  return out;
}

absl::Status notFound(std::string_view type, const ResourceKey& key) {
  return absl::NotFoundError(absl::StrCat("Resource not found: ", describeKey(type, key)));
}

absl::Status alreadyExists(std::string_view type, const ResourceKey& key) {
  return absl::AlreadyExistsError(
      absl::StrCat("Resource already exists: ", describeKey(type, key)));
}

absl::Status conflict(std::string_view type, const ResourceKey& key) {
  return absl::AbortedError(absl::StrCat("Resource conflict: ", describeKey(type, key)));
}

absl::Status invalid(std::string_view message) {
  return absl::InvalidArgumentError(av(message));
}

absl::Status unavailable(std::string_view message) {
  return absl::UnavailableError(absl::StrCat("store unavailable: ", av(message)));
}

bool isNotFound(const absl::Status& status) {
  return absl::IsNotFound(status);
}
bool isAlreadyExists(const absl::Status& status) {
  return absl::IsAlreadyExists(status);
}
bool isConflict(const absl::Status& status) {
  return absl::IsAborted(status);
}
bool isInvalid(const absl::Status& status) {
  return absl::IsInvalidArgument(status);
}
bool isUnavailable(const absl::Status& status) {
  return absl::IsUnavailable(status);
}

}  // namespace kuma::store
