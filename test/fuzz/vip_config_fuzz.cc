// Fuzz target: the VIP Config parser (Config `kuma-<mesh>-dns-vips`, read from the store at a
// mesh's first context build; docs/fuzzing.md).
//
// Input: the Config's text. Oracles: errors are InvalidArgument; every entry of a parsed view
// has a "<kind>:<name>" key with kind 0..2 and a non-empty address.

#include <cstddef>
#include <cstdint>

#include "source/xds/context/vip_persistence.h"
#include "test/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  auto parsed = kuma::xds::parseVipConfig(fuzz::asText(data, size));
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
               parsed.status().ToString());
    return 0;
  }
  for (const auto& [key, address] : *parsed) {
    FUZZ_CHECK(key.size() > 2 && key[0] >= '0' && key[0] <= '2' && key[1] == ':', key);
    FUZZ_CHECK(!address.empty(), key);
  }
  return 0;
}
