#include "source/core/model/kri.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace kuma::model {
namespace {

// Go's %q for the error texts (printable ASCII verbatim, the rest escaped).
std::string goQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out += '"';
  return out;
}

}  // namespace

absl::StatusOr<Kri> parseKri(std::string_view s) {
  if (s.size() > kMaxKriLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid identifier string: longer than ", kMaxKriLength, " bytes"));
  }
  std::vector<std::string> parts = absl::StrSplit(absl::string_view(s.data(), s.size()), '_');
  if (parts.size() < 7) {
    return absl::InvalidArgumentError(absl::StrCat("invalid identifier string: ", goQuote(s)));
  }
  if (parts[0] != "kri") {
    return absl::InvalidArgumentError(
        absl::StrCat("identifier must start with 'kri': ", goQuote(s)));
  }
  Kri out;
  out.shortName = parts[1];
  out.mesh = parts[2];
  out.zone = parts[3];
  out.ns = parts[4];
  out.name = parts[5];
  out.sectionName = absl::StrJoin(parts.begin() + 6, parts.end(), "");
  return out;
}

std::string formatKri(const Kri& kri) {
  return absl::StrCat("kri_", kri.shortName, "_", kri.mesh, "_", kri.zone, "_", kri.ns, "_",
                      kri.name, "_", kri.sectionName);
}

}  // namespace kuma::model
