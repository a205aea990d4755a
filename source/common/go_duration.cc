#include "source/common/go_duration.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"

namespace kuma::common {
namespace {

absl::Status invalid(std::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat("time: invalid duration \"", av(text), "\""));
}

// Nanoseconds per unit, longest unit names first so that "ms" wins over "m".
struct Unit {
  std::string_view name;
  uint64_t nanos;
};
constexpr Unit kUnits[] = {
    {"ns", 1},          {"us", 1000},         {"\xC2\xB5s", 1000},   {"\xCE\xBCs", 1000},
    {"ms", 1000000ULL}, {"s", 1000000000ULL}, {"m", 60000000000ULL}, {"h", 3600000000000ULL},
};

}  // namespace

absl::StatusOr<std::chrono::nanoseconds> parseGoDuration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    return std::chrono::nanoseconds(0);
  }
  if (s.empty()) {
    return invalid(text);
  }
  // Go bounds every step by 1<<63 and only then the sign: "-2562047h47m16.854775808s" is the
  // smallest duration (what formatGoDuration writes for it).
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  uint64_t total = 0;
  while (!s.empty()) {
    // Integer part.
    uint64_t whole = 0;
    size_t i = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (whole > (kLimit - (s[i] - '0')) / 10) {
        return invalid(text);
      }
      whole = whole * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    // Fraction part.
    uint64_t frac = 0;
    uint64_t scale = 1;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (scale < 1000000000000000000ULL) {
          frac = frac * 10 + (s[i] - '0');
          scale *= 10;
        }
        ++i;
        digits = true;
      }
    }
    if (!digits) {
      return invalid(text);
    }
    s.remove_prefix(i);
    // Unit.
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (s.substr(0, u.name.size()) == u.name) {
        // "m" must not swallow the "m" of "ms".
        if (u.name == "m" && s.size() > 1 && s[1] == 's') {
          continue;
        }
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      if (s.empty() || (s[0] >= '0' && s[0] <= '9')) {
        return absl::InvalidArgumentError(
            absl::StrCat("time: missing unit in duration \"", av(text), "\""));
      }
      size_t end = 0;
      while (end < s.size() && s[end] != '.' && (s[end] < '0' || s[end] > '9')) {
        ++end;
      }
      return absl::InvalidArgumentError(absl::StrCat("time: unknown unit \"", av(s.substr(0, end)),
                                                     "\" in duration \"", av(text), "\""));
    }
    s.remove_prefix(unit->name.size());
    if (whole > kLimit / unit->nanos) {
      return invalid(text);
    }
    uint64_t v = whole * unit->nanos;
    if (frac > 0) {
      v += static_cast<uint64_t>(static_cast<long double>(frac) * unit->nanos / scale);
    }
    if (v > kLimit - total) {
      return invalid(text);
    }
    total += v;
  }
  if (!negative && total > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return invalid(text);
  }
  // Two's complement negation in uint64_t, then a (C++20: modular) conversion: -(1<<63) fits.
  return std::chrono::nanoseconds(static_cast<int64_t>(negative ? uint64_t{0} - total : total));
}

std::string formatGoDuration(std::chrono::nanoseconds d) {
  int64_t n = d.count();
  if (n == 0) {
    return "0s";
  }
  const bool negative = n < 0;
  uint64_t u = negative ? static_cast<uint64_t>(-(n + 1)) + 1 : static_cast<uint64_t>(n);
  std::string out;
  // Fraction with trailing zeros trimmed.
  auto fraction = [](uint64_t v, int precision) {
    std::string digits;
    bool print = false;
    for (int i = 0; i < precision; ++i) {
      const int digit = static_cast<int>(v % 10);
      print = print || digit != 0;
      if (print) {
        digits.insert(digits.begin(), static_cast<char>('0' + digit));
      }
      v /= 10;
    }
    if (print) {
      digits.insert(digits.begin(), '.');
    }
    return std::make_pair(digits, v);
  };
  if (u < 1000000000ULL) {
    // Less than a second: ns, µs or ms with a fraction.
    int precision = 0;
    std::string unit;
    if (u < 1000) {
      return absl::StrCat(negative ? "-" : "", u, "ns");
    } else if (u < 1000000) {
      precision = 3;
      unit = "\xC2\xB5s";
    } else {
      precision = 6;
      unit = "ms";
    }
    auto [frac, rest] = fraction(u, precision);
    return absl::StrCat(negative ? "-" : "", rest, frac, unit);
  }
  auto [frac, secondsTotal] = fraction(u, 9);
  const uint64_t seconds = secondsTotal % 60;
  const uint64_t minutesTotal = secondsTotal / 60;
  out = absl::StrCat(seconds, frac, "s");
  if (minutesTotal > 0) {
    const uint64_t minutes = minutesTotal % 60;
    const uint64_t hours = minutesTotal / 60;
    out = absl::StrCat(minutes, "m", out);
    if (hours > 0) {
      out = absl::StrCat(hours, "h", out);
    }
  }
  return absl::StrCat(negative ? "-" : "", out);
}

}  // namespace kuma::common
