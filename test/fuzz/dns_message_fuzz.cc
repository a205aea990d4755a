// Fuzz target: kuma-dp's DNS proxy parsers (docs/fuzzing.md): the query parser and reply
// builders (source/dp/dns_message.h), and the `/dns` map parser (source/dp/dns_proxy.h).
//
// Input: first byte even → the rest is a DNS packet; odd → the rest is a `/dns` JSON body.
// Oracles: a parsed query's question lies inside the packet; every reply built for it keeps the
// query's id, has QR set and is no larger than the packet plus its answers; the map parser
// returns names of at most 253 characters and at most 16 addresses each.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "source/dp/dns_message.h"
#include "source/dp/dns_proxy.h"
#include "test/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  if (size == 0) {
    return 0;
  }
  const std::string_view input = fuzz::asText(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    auto query = dp::parseDnsQuery(input);
    if (!query.ok()) {
      const std::string error = dp::buildDnsError(input, nullptr, dp::kDnsRcodeFormErr);
      FUZZ_CHECK(error.size() == 12, "a FORMERR reply is a bare header");
      return 0;
    }
    FUZZ_CHECK(query->questionEnd <= input.size(), "the question ends inside the packet");
    FUZZ_CHECK(query->name.size() <= 1024, absl::StrCat("name of ", query->name.size(), " bytes"));
    for (const std::string& reply :
         {dp::buildDnsAnswer(input, *query, {"240.0.0.1", "::ffff:f000:1", "bad"}, 30),
          dp::buildDnsError(input, &*query, dp::kDnsRcodeServFail)}) {
      FUZZ_CHECK(reply.size() >= 12, "a reply has a header");
      FUZZ_CHECK(static_cast<uint8_t>(reply[0]) == (query->id >> 8) &&
                     static_cast<uint8_t>(reply[1]) == (query->id & 0xff),
                 "a reply keeps the query's id");
      FUZZ_CHECK((static_cast<uint8_t>(reply[2]) & 0x80) != 0, "a reply has QR set");
      FUZZ_CHECK(reply.size() <= query->questionEnd + 2 * 28, "a reply is bounded");
    }
    return 0;
  }
  auto map = dp::parseDnsProxyConfig(input);
  if (map.ok()) {
    for (const auto& [name, ips] : map->records) {
      FUZZ_CHECK(!name.empty() && name.size() <= 253, absl::StrCat("name \"", name, "\""));
      FUZZ_CHECK(ips.size() <= 16, "at most 16 addresses a name");
    }
  }
  return 0;
}
