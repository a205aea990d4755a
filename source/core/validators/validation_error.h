#pragma once

// File: validation_error.h
// Kuma-style validation: collect *every* violation with its field path, then turn the whole set
// into one InvalidArgument status that the REST layer renders as `invalid_parameters`.
//
//   ValidationError err;
//   auto path = PathBuilder("networking").field("inbound").index(0);
//   err.addViolationAt(path.field("port"), "port must be in the range [1, 65535]");
//   return err.toStatus(); // OK when empty

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace kuma::validators {

/** Builds field paths the way Kuma prints them: `a.b[0].c["key"]`. Immutable value type. */
class PathBuilder {
 public:
  PathBuilder() = default;
  explicit PathBuilder(std::string_view root) : path_(root) {}

  PathBuilder field(std::string_view name) const;
  PathBuilder index(size_t i) const;
  PathBuilder key(std::string_view key) const;
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

struct Violation {
  std::string field;
  std::string message;
  bool operator==(const Violation&) const = default;
};

class ValidationError {
 public:
  void addViolation(std::string_view field, std::string_view message);
  void addViolationAt(const PathBuilder& path, std::string_view message);
  /** Appends all violations of `other`. */
  void add(const ValidationError& other);
  /** Appends all violations of `other`, their fields prefixed by `root`. */
  void addAt(const PathBuilder& root, const ValidationError& other);

  bool empty() const { return violations_.empty(); }
  const std::vector<Violation>& violations() const { return violations_; }

  /** "field: message; field2: message2" (Kuma's Error()). */
  std::string toString() const;

  /**
   * @param message the status message (REST `detail`), "Resource is not valid" by default.
   * @return OK when empty, else InvalidArgument carrying the violations as a payload.
   */
  absl::Status toStatus(std::string_view message = "Resource is not valid") const;

  /** The violations carried by a status made by toStatus(), if any. */
  static std::optional<ValidationError> fromStatus(const absl::Status& status);

 private:
  std::vector<Violation> violations_;
};

}  // namespace kuma::validators
