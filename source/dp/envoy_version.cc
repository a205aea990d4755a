#include "source/dp/envoy_version.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/absl_compat.h"

namespace kuma::dp {
namespace {

std::string majorMinor(std::string_view version) {
  std::vector<std::string> parts = absl::StrSplit(common::av(version), absl::MaxSplits('.', 2));
  if (parts.size() < 2) {
    return "";
  }
  return absl::StrCat(parts[0], ".", parts[1]);
}

}  // namespace

absl::StatusOr<EnvoyVersion> parseEnvoyVersion(std::string_view output) {
  constexpr std::string_view kMarker = "version: ";
  const size_t at = output.find(kMarker);
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot parse the Envoy version from \"",
                     std::string(absl::StripAsciiWhitespace(common::av(output))), "\""));
  };
  if (at == std::string_view::npos) {
    return bad();
  }
  std::string_view rest = output.substr(at + kMarker.size());
  rest = rest.substr(0, rest.find_first_of("\r\n"));
  EnvoyVersion v;
  v.build = std::string(absl::StripAsciiWhitespace(common::av(rest)));
  std::vector<std::string> fields = absl::StrSplit(v.build, '/');
  if (fields.size() < 2 || fields[1].empty() || !absl::ascii_isdigit(fields[1][0]) ||
      fields[1].find('.') == std::string::npos) {
    return bad();
  }
  v.version = fields[1];
  return v;
}

bool envoyVersionCompatible(std::string_view version, std::string_view expected) {
  const std::string have = majorMinor(version);
  return !have.empty() && have == majorMinor(expected);
}

}  // namespace kuma::dp
