#pragma once

// File: go_quote.h
// Go's strconv.Quote (and fmt's %q) for the texts Kuma renders with it: error messages, CEL string
// literals.

#include <string>
#include <string_view>

namespace kuma::common {

/**
 * `s` in double quotes with Go's escapes: \" and \\, \a \b \f \n \r \t \v, other ASCII controls
 * and DEL as \xNN. Bytes from 0x80 up are kept (valid UTF-8 passes through as Go keeps printable
 * runes).
 */
inline std::string goQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace kuma::common
