#include "source/common/go_duration.h"

#include <chrono>
#include <limits>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace kuma::common {
namespace {

using std::chrono::nanoseconds;
using namespace std::chrono_literals;

TEST(GoDuration, ParsesGoSyntax) {
  EXPECT_EQ(*parseGoDuration("1s"), nanoseconds(1s));
  EXPECT_EQ(*parseGoDuration("500ms"), nanoseconds(500ms));
  EXPECT_EQ(*parseGoDuration("1m30s"), nanoseconds(90s));
  EXPECT_EQ(*parseGoDuration("1h30m"), nanoseconds(90min));
  EXPECT_EQ(*parseGoDuration("1.5s"), nanoseconds(1500ms));
  EXPECT_EQ(*parseGoDuration("2h0m0s"), nanoseconds(2h));
  EXPECT_EQ(*parseGoDuration("10us"), nanoseconds(10us));
  EXPECT_EQ(*parseGoDuration("10\xC2\xB5s"), nanoseconds(10us));
  EXPECT_EQ(*parseGoDuration("-2m"), nanoseconds(-2min));
  EXPECT_EQ(*parseGoDuration("0"), nanoseconds(0));
  EXPECT_EQ(*parseGoDuration(".5s"), nanoseconds(500ms));
}

TEST(GoDuration, RejectsMalformed) {
  for (const char* bad : {"", "1", "s", "1x", "abc", "1.s.", "--1s", "1h-2m", "9999999999h"}) {
    EXPECT_FALSE(parseGoDuration(bad).ok()) << bad;
  }
  EXPECT_EQ(parseGoDuration("1").status().message(), "time: missing unit in duration \"1\"");
  EXPECT_EQ(parseGoDuration("1x").status().message(),
            "time: unknown unit \"x\" in duration \"1x\"");
}

// Found by test/fuzz/go_duration_fuzz.cc: the smallest duration did not parse back.
TEST(GoDuration, RangeIsInt64LikeGo) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(formatGoDuration(nanoseconds(kMin)), "-2562047h47m16.854775808s");
  EXPECT_EQ(*parseGoDuration("-2562047h47m16.854775808s"), nanoseconds(kMin));
  EXPECT_EQ(*parseGoDuration("-9223372036854775808ns"), nanoseconds(kMin));
  EXPECT_EQ(*parseGoDuration("2562047h47m16.854775807s"), nanoseconds(kMax));
  EXPECT_EQ(*parseGoDuration("9223372036854775807ns"), nanoseconds(kMax));
  for (const char* over : {"9223372036854775808ns", "2562047h47m16.854775808s",
                           "-9223372036854775809ns", "-2562047h47m16.854775809s"}) {
    EXPECT_EQ(parseGoDuration(over).status().message(),
              absl::StrCat("time: invalid duration \"", over, "\""));
  }
}

TEST(GoDuration, FormatsLikeGo) {
  EXPECT_EQ(formatGoDuration(0s), "0s");
  EXPECT_EQ(formatGoDuration(2h), "2h0m0s");
  EXPECT_EQ(formatGoDuration(90s), "1m30s");
  EXPECT_EQ(formatGoDuration(15s), "15s");
  EXPECT_EQ(formatGoDuration(500ms), "500ms");
  EXPECT_EQ(formatGoDuration(1500ms), "1.5s");
  EXPECT_EQ(formatGoDuration(25ms), "25ms");
  EXPECT_EQ(formatGoDuration(nanoseconds(1500)), "1.5\xC2\xB5s");
  EXPECT_EQ(formatGoDuration(nanoseconds(7)), "7ns");
  EXPECT_EQ(formatGoDuration(-90s), "-1m30s");
  EXPECT_EQ(formatGoDuration(72h), "72h0m0s");
}

TEST(GoDuration, RoundTrips) {
  for (const char* s : {"1h1m1s", "30m0s", "1.001s", "16s", "250ms"}) {
    EXPECT_EQ(formatGoDuration(*parseGoDuration(s)), s);
  }
}

}  // namespace
}  // namespace kuma::common
