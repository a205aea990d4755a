#pragma once

// File: go_duration.h
// Go's time.Duration text form, used by Kuma's config and by every Mesh* policy field:
// parse "1h30m", "500ms", "1.5s", "-2m" (units ns, us, µs, ms, s, m, h) and format the way Go's
// Duration.String() does ("2h0m0s", "1m30s", "500ms", "0s").

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kuma::common {

/**
 * Parses a Go duration string.
 * @return the duration, or InvalidArgument naming the offending text (Go's wording:
 *         `time: invalid duration "x"`, `time: missing unit in duration "1"`, ...).
 */
absl::StatusOr<std::chrono::nanoseconds> parseGoDuration(std::string_view text);

/** Formats like Go's time.Duration.String(). */
std::string formatGoDuration(std::chrono::nanoseconds d);

}  // namespace kuma::common
