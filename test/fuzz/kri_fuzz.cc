// Fuzz target: the KRI parser of the inspect API's path parameters (docs/fuzzing.md).
//
// Input: the text to parse. Oracles: a parsed KRI formats to text that parses back to the same
// fields; errors are InvalidArgument with a bounded message.

#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "source/core/model/kri.h"
#include "test/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  const std::string_view text = fuzz::asText(data, size);
  auto parsed = model::parseKri(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
               parsed.status().ToString());
    FUZZ_CHECK(parsed.status().message().size() <= 4 * model::kMaxKriLength + 64,
               "unbounded error text");
    return 0;
  }
  auto again = model::parseKri(model::formatKri(*parsed));
  FUZZ_CHECK(again.ok(), again.status().ToString());
  FUZZ_CHECK(again->shortName == parsed->shortName && again->mesh == parsed->mesh &&
                 again->zone == parsed->zone && again->ns == parsed->ns &&
                 again->name == parsed->name && again->sectionName == parsed->sectionName,
             absl::StrCat("round trip changed ", std::string(text)));
  return 0;
}
