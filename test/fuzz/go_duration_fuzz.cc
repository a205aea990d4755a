// Fuzz target: the Go duration parser and formatter (docs/fuzzing.md).
//
// Input: the text to parse. Oracles: a parsed duration formats to text that parses back to the
// same duration; and the first 8 bytes read as a nanosecond count format to text that parses back
// to that count (every int64, as Go's Duration.String() and ParseDuration agree on all of them).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "source/common/go_duration.h"
#include "test/fuzz/fuzz_util.h"

namespace kuma::fuzz {
namespace {

void checkRoundTrip(std::chrono::nanoseconds d) {
  const std::string text = common::formatGoDuration(d);
  auto again = common::parseGoDuration(text);
  FUZZ_CHECK(again.ok(), absl::StrCat(d.count(), "ns formats as \"", text,
                                      "\", which does not parse: ", again.status().ToString()));
  FUZZ_CHECK(*again == d, absl::StrCat(d.count(), "ns formats as \"", text, "\", which parses as ",
                                       again->count(), "ns"));
}

}  // namespace
}  // namespace kuma::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  auto parsed = common::parseGoDuration(fuzz::asText(data, size));
  if (parsed.ok()) {
    fuzz::checkRoundTrip(*parsed);
  }
  if (size >= sizeof(int64_t)) {
    int64_t n = 0;
    std::memcpy(&n, data, sizeof(n));
    fuzz::checkRoundTrip(std::chrono::nanoseconds(n));
  }
  return 0;
}
