#pragma once

// Debian 12's abseil (20220623) is built with ABSL_OPTION_USE_STD_STRING_VIEW=0: absl::string_view
// is its own type and does not convert from std::string_view. Use this at the boundary.

#include <string_view>

#include "absl/strings/string_view.h"

namespace kuma::common {

inline absl::string_view av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view sv(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace kuma::common
