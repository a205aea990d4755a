#include "source/common/go_template.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"
#include "source/common/go_quote.h"

namespace kuma::common {
namespace {

using Piece = go_template_internal::Piece;

constexpr int32_t kEof = -1;
constexpr int32_t kRuneError = 0xFFFD;
constexpr std::string_view kLeftDelim = "{{";
constexpr std::string_view kRightDelim = "}}";
constexpr std::string_view kLeftComment = "/*";
constexpr std::string_view kRightComment = "*/";
constexpr size_t kTrimMarkerLen = 2;  // "-" and the space beside it
/** Nesting of parentheses (Go allows 10000; each level is a few stack frames here). */
constexpr int kMaxParenDepth = 100;

// ---- Runes, as Go's unicode/utf8 and unicode packages see them.

struct Rune {
  int32_t r;
  size_t width;
};

/** utf8.DecodeRuneInString of a non-empty `s`: an invalid byte is (RuneError, 1). */
Rune decodeRune(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) {
    return {b0, 1};
  }
  // The length from the first byte; overlong forms and surrogates are refused below.
  const size_t n = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
  if (b0 < 0xC2 || b0 > 0xF4) {
    return {kRuneError, 1};
  }
  int32_t r = b0 & (0x7F >> n);
  const int32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
  if (s.size() < n) {
    return {kRuneError, 1};
  }
  for (size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) {
      return {kRuneError, 1};
    }
    r = (r << 6) | (b & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) {
    return {kRuneError, 1};
  }
  return {r, n};
}

/** utf8.DecodeLastRuneInString of a non-empty `s`. */
Rune decodeLastRune(std::string_view s) {
  const size_t end = s.size();
  if (static_cast<unsigned char>(s[end - 1]) < 0x80) {
    return {static_cast<unsigned char>(s[end - 1]), 1};
  }
  const size_t lim = end >= 4 ? end - 4 : 0;
  size_t start = end - 1;
  while (start > lim && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) {
    --start;
  }
  const Rune r = decodeRune(s.substr(start));
  if (start + r.width != end) {
    return {kRuneError, 1};
  }
  return r;
}

void appendRune(std::string& out, int32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

struct RuneRange {
  int32_t lo;
  int32_t hi;
};

/** The non-ASCII letters and digits (unicode.IsLetter, unicode.IsDigit) of the Latin, IPA,
 *  Greek, Cyrillic, Canadian syllabics, kana, CJK (and its extensions), Yi, Hangul and fullwidth
 *  blocks, exactly. Other scripts are left out of this short list: their letters count as
 *  symbols here (refused where Go would take a name, never the other way round). */
constexpr std::array<RuneRange, 45> kLetters = {{
    {0xAA, 0xAA},       {0xB5, 0xB5},       {0xBA, 0xBA},       {0xC0, 0xD6},
    {0xD8, 0xF6},       {0xF8, 0x2C1},      {0x2C6, 0x2D1},     {0x2E0, 0x2E4},
    {0x2EC, 0x2EC},     {0x2EE, 0x2EE},     {0x370, 0x374},     {0x376, 0x377},
    {0x37A, 0x37D},     {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},
    {0x38C, 0x38C},     {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},
    {0x48A, 0x52F},     {0x1401, 0x166C},   {0x1E00, 0x1EFF},   {0x3041, 0x3096},
    {0x309D, 0x309F},   {0x30A1, 0x30FA},   {0x30FC, 0x30FF},   {0x3400, 0x4DBF},
    {0x4E00, 0xA48C},   {0xAC00, 0xD7A3},   {0xFF10, 0xFF19},   {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A},   {0xFF66, 0xFFBE},   {0xFFC2, 0xFFC7},   {0xFFCA, 0xFFCF},
    {0xFFD2, 0xFFD7},   {0xFFDA, 0xFFDC},   {0x20000, 0x2A6DF}, {0x2A700, 0x2B739},
    {0x2B820, 0x2CEA1}, {0x2CEB0, 0x2EBE0}, {0x2F800, 0x2FA1D}, {0x30000, 0x3134A},
    {0x31350, 0x323AF},
}};

/** Where strconv.IsPrint fails beyond ASCII: controls, spaces other than ' ', format
 *  characters, surrogates, private use and the large unassigned areas (not every unassigned
 *  code point). */
constexpr std::array<RuneRange, 32> kUnprintable = {{
    {0x80, 0xA0},       {0xAD, 0xAD},       {0x1680, 0x1680},   {0x2000, 0x200F},
    {0x2028, 0x202F},   {0x205F, 0x206F},   {0x3000, 0x3000},   {0xD7FC, 0xF8FF},
    {0xFEFF, 0xFEFF},   {0xFFF0, 0xFFFB},   {0xFFFE, 0xFFFF},   {0x10D3A, 0x10E5F},
    {0x11DAA, 0x11EDF}, {0x12544, 0x12F8F}, {0x13456, 0x143FF}, {0x14647, 0x167FF},
    {0x16B90, 0x16E3F}, {0x18D09, 0x1AFEF}, {0x1B2FC, 0x1BBFF}, {0x1BCA0, 0x1CEFF},
    {0x1DAB0, 0x1DEFF}, {0x1E150, 0x1E28F}, {0x1E300, 0x1E4CF}, {0x1E4FA, 0x1E7DF},
    {0x1E960, 0x1EC70}, {0x1EEF2, 0x1EFFF}, {0x1FBFA, 0x1FFFF}, {0x2A6E0, 0x2A6FF},
    {0x2EBE1, 0x2F7FF}, {0x2FA1E, 0x2FFFF}, {0x323B0, 0xE00FF}, {0xE01F0, 0x10FFFF},
}};

template <size_t N>
bool inRanges(const std::array<RuneRange, N>& ranges, int32_t r) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [r](const RuneRange& range) { return r >= range.lo && r <= range.hi; });
}

bool isSpace(int32_t r) {
  return r == ' ' || r == '\t' || r == '\r' || r == '\n';
}

/** Go's isAlphaNumeric: '_', unicode.IsLetter or unicode.IsDigit. */
bool isAlphaNumeric(int32_t r) {
  if (r < 0) {
    return false;
  }
  if (r < 0x80) {
    return r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
  }
  return inRanges(kLetters, r);
}

/** fmt's %#U: "U+0041 'A'", the character only when strconv.IsPrint holds. */
std::string formatRune(int32_t r) {
  std::array<char, 16> hex{};
  std::snprintf(hex.data(), hex.size(), "U+%04X", static_cast<unsigned>(r));
  std::string out = hex.data();
  const bool print = r < 0x80 ? (r >= 0x20 && r < 0x7F) : !inRanges(kUnprintable, r);
  if (print) {
    out += " '";
    appendRune(out, r);
    out += '\'';
  }
  return out;
}

bool validUtf8(std::string_view s) {
  while (!s.empty()) {
    const Rune r = decodeRune(s);
    if (r.r == kRuneError && r.width == 1) {
      return false;
    }
    s.remove_prefix(r.width);
  }
  return true;
}

// ---- strconv.Unquote for the string literals of actions.

struct UnquotedChar {
  int32_t value;
  bool multibyte;
  std::string_view tail;
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/** strconv.UnquoteChar. */
std::optional<UnquotedChar> unquoteChar(std::string_view s, char quote) {
  if (s.empty() || s[0] == quote) {
    return std::nullopt;
  }
  if (static_cast<unsigned char>(s[0]) >= 0x80) {
    const Rune r = decodeRune(s);
    return UnquotedChar{r.r, true, s.substr(r.width)};
  }
  if (s[0] != '\\') {
    return UnquotedChar{s[0], false, s.substr(1)};
  }
  if (s.size() <= 1) {
    return std::nullopt;
  }
  const char c = s[1];
  s.remove_prefix(2);
  switch (c) {
    case 'a':
      return UnquotedChar{'\a', false, s};
    case 'b':
      return UnquotedChar{'\b', false, s};
    case 'f':
      return UnquotedChar{'\f', false, s};
    case 'n':
      return UnquotedChar{'\n', false, s};
    case 'r':
      return UnquotedChar{'\r', false, s};
    case 't':
      return UnquotedChar{'\t', false, s};
    case 'v':
      return UnquotedChar{'\v', false, s};
    case 'x':
    case 'u':
    case 'U': {
      const size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
      if (s.size() < n) {
        return std::nullopt;
      }
      int64_t v = 0;
      for (size_t j = 0; j < n; ++j) {
        const int x = hexValue(s[j]);
        if (x < 0) {
          return std::nullopt;
        }
        v = (v << 4) | x;
      }
      s.remove_prefix(n);
      if (c == 'x') {
        return UnquotedChar{static_cast<int32_t>(v), false, s};
      }
      if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        return std::nullopt;
      }
      return UnquotedChar{static_cast<int32_t>(v), true, s};
    }
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
      int32_t v = c - '0';
      if (s.size() < 2) {
        return std::nullopt;
      }
      for (size_t j = 0; j < 2; ++j) {
        const int x = s[j] - '0';
        if (x < 0 || x > 7) {
          return std::nullopt;
        }
        v = (v << 3) | x;
      }
      s.remove_prefix(2);
      if (v > 255) {
        return std::nullopt;
      }
      return UnquotedChar{v, false, s};
    }
    case '\\':
      return UnquotedChar{'\\', false, s};
    case '\'':
    case '"':
      if (c != quote) {
        return std::nullopt;
      }
      return UnquotedChar{c, false, s};
    default:
      return std::nullopt;
  }
}

/** strconv.Unquote of a "..." or `...` token; nullopt is Go's ErrSyntax. */
std::optional<std::string> unquote(std::string_view in) {
  if (in.size() < 2) {
    return std::nullopt;
  }
  const char quote = in[0];
  const size_t closing = in.find(quote, 1);
  if (closing == std::string_view::npos) {
    return std::nullopt;
  }
  const size_t end = closing + 1;
  if (quote == '`') {
    if (end != in.size()) {
      return std::nullopt;
    }
    std::string out;
    for (char c : in.substr(1, end - 2)) {
      if (c != '\r') {  // carriage returns are discarded from raw strings
        out += c;
      }
    }
    return out;
  }
  if (quote != '"') {
    return std::nullopt;
  }
  const std::string_view head = in.substr(0, end);
  if (head.find('\\') == std::string_view::npos && head.find('\n') == std::string_view::npos &&
      validUtf8(head.substr(1, end - 2))) {
    if (end != in.size()) {
      return std::nullopt;
    }
    return std::string(head.substr(1, end - 2));
  }
  std::string out;
  std::string_view s = in.substr(1);
  while (!s.empty() && s[0] != quote) {
    auto c = unquoteChar(s, quote);
    if (s[0] == '\n' || !c.has_value()) {
      return std::nullopt;
    }
    s = c->tail;
    if (c->value < 0x80 || !c->multibyte) {
      out += static_cast<char>(c->value);
    } else {
      appendRune(out, c->value);
    }
  }
  if (s.size() != 1 || s[0] != quote) {
    return std::nullopt;
  }
  return out;
}

// ---- Go's number syntax (strconv, and fmt's complex scanning), as the parser checks constants.

enum class NumError { None, Syntax, Range };

char lower(char c) {
  return static_cast<char>(c | ('x' - 'X'));
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

/** strconv's underscoreOK: underscores only between digits, or after a base prefix. */
bool underscoreOk(std::string_view s) {
  char saw = '^';  // ^ start, 0 digit or prefix, _ underscore, ! other
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    if (isDigit(s[i]) || (hex && lower(s[i]) >= 'a' && lower(s[i]) <= 'f')) {
      saw = '0';
      continue;
    }
    if (s[i] == '_') {
      if (saw != '0') {
        return false;
      }
      saw = '_';
      continue;
    }
    if (saw == '_') {
      return false;
    }
    saw = '!';
  }
  return saw != '_';
}

/** strconv.ParseUint(s, 0, 64); the value goes to `value`. */
NumError parseUint(std::string_view s, uint64_t& value) {
  if (s.empty()) {
    return NumError::Syntax;
  }
  const std::string_view s0 = s;
  uint64_t base = 10;
  if (s[0] == '0') {
    if (s.size() >= 3 && (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
      base = lower(s[1]) == 'b' ? 2 : lower(s[1]) == 'o' ? 8 : 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  const uint64_t cutoff = UINT64_MAX / base + 1;
  bool underscores = false;
  uint64_t n = 0;
  for (char c : s) {
    uint64_t d = 0;
    if (c == '_') {
      underscores = true;
      continue;
    }
    if (isDigit(c)) {
      d = static_cast<uint64_t>(c - '0');
    } else if (lower(c) >= 'a' && lower(c) <= 'z') {
      d = static_cast<uint64_t>(lower(c) - 'a' + 10);
    } else {
      return NumError::Syntax;
    }
    if (d >= base) {
      return NumError::Syntax;
    }
    if (n >= cutoff || n * base > UINT64_MAX - d) {
      return NumError::Range;  // Go stops here: later digits are not looked at
    }
    n = n * base + d;
  }
  if (underscores && !underscoreOk(s0)) {
    return NumError::Syntax;
  }
  value = n;
  return NumError::None;
}

/** strconv.ParseInt(s, 0, 64). */
NumError parseInt(std::string_view s) {
  if (s.empty()) {
    return NumError::Syntax;
  }
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  if (const NumError e = parseUint(s, magnitude); e != NumError::None) {
    return e;
  }
  const uint64_t limit = uint64_t{1} << 63;  // |MinInt64|
  return (negative ? magnitude > limit : magnitude >= limit) ? NumError::Range : NumError::None;
}

/** strconv.ParseFloat(s, 64) for the numbers the lexer lets through (no "inf" or "nan"). */
NumError parseFloat(std::string_view s) {
  size_t i = 0;
  bool underscores = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    ++i;
  }
  bool hex = false;
  if (i + 2 < s.size() && s[i] == '0' && lower(s[i + 1]) == 'x') {
    hex = true;
    i += 2;
  }
  bool sawDot = false;
  bool sawDigits = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      underscores = true;
    } else if (c == '.' && !sawDot) {
      sawDot = true;
    } else if (isDigit(c) || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      sawDigits = true;
    } else {
      break;
    }
  }
  if (!sawDigits) {
    return NumError::Syntax;
  }
  if (i < s.size() && lower(s[i]) == (hex ? 'p' : 'e')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      ++i;
    }
    if (i >= s.size() || !isDigit(s[i])) {
      return NumError::Syntax;
    }
    for (; i < s.size() && (isDigit(s[i]) || s[i] == '_'); ++i) {
      underscores = underscores || s[i] == '_';
    }
  } else if (hex) {
    return NumError::Syntax;  // a hex mantissa needs its p exponent
  }
  if (i != s.size() || (underscores && !underscoreOk(s))) {
    return NumError::Syntax;
  }
  std::string clean;
  for (char c : s) {
    if (c != '_') {
      clean += c;
    }
  }
  // Correctly rounded like Go's; only an overflow to infinity is an error (underflow is 0).
  return std::isinf(std::strtod(clean.c_str(), nullptr)) ? NumError::Range : NumError::None;
}

std::string parseFloatError(std::string_view num, NumError e) {
  return absl::StrCat("strconv.ParseFloat: parsing ", goQuote(num), ": ",
                      e == NumError::Range ? "value out of range" : "invalid syntax");
}

/** fmt.Sscan(text, &complex128): "syntax error scanning complex number" or a ParseFloat error. */
std::optional<std::string> complexError(std::string_view text) {
  size_t i = 0;
  auto accept = [&](std::string_view set) {
    if (i < text.size() && set.find(text[i]) != std::string_view::npos) {
      ++i;
      return true;
    }
    return false;
  };
  auto floatToken = [&]() {
    const size_t start = i;
    if (accept("nN") && accept("aA") && accept("nN")) {
      return text.substr(start, i - start);
    }
    accept("+-");
    if (accept("iI") && accept("nN") && accept("fF")) {
      return text.substr(start, i - start);
    }
    std::string_view digits = "0123456789_";
    std::string_view exponent = "eEpP";
    if (accept("0") && accept("xX")) {
      digits = "0123456789aAbBcCdDeEfF_";
      exponent = "pP";
    }
    while (accept(digits)) {
    }
    if (accept(".")) {
      while (accept(digits)) {
      }
    }
    if (accept(exponent)) {
      accept("+-");
      while (accept("0123456789_")) {
      }
    }
    return text.substr(start, i - start);
  };
  const std::string_view real = floatToken();
  const size_t signAt = i;
  if (!accept("+-")) {
    return "syntax error scanning complex number";
  }
  const std::string_view imagPart = floatToken();
  if (!accept("i")) {
    return "syntax error scanning complex number";
  }
  const std::string imag = absl::StrCat(av(text.substr(signAt, 1)), av(imagPart));
  for (const std::string_view part : {real, std::string_view(imag)}) {
    // fmt's convertFloat splits a 'p' exponent off a decimal mantissa (then an exponent that Go's
    // lexer has already checked); a hex number goes to ParseFloat whole.
    const bool hex = part.find_first_of("xX") != std::string_view::npos;
    const size_t p = hex ? std::string_view::npos : part.find('p');
    if (const NumError e = parseFloat(part.substr(0, p)); e != NumError::None) {
      return parseFloatError(part, e);
    }
  }
  return std::nullopt;
}

// ---- The lexer: Go's text/template/parse/lex.go, state for state.

enum class ItemType {
  Error,
  Bool,
  Char,
  CharConstant,
  Comment,
  Complex,
  Assign,
  Declare,
  Eof,
  Field,
  Identifier,
  LeftDelim,
  LeftParen,
  Number,
  Pipe,
  RawString,
  RightDelim,
  RightParen,
  Space,
  String,
  Text,
  Variable,
  Keyword,  // the keywords follow
  Block,
  Break,
  Continue,
  Dot,
  Define,
  Else,
  End,
  If,
  Nil,
  Range,
  Template,
  With,
};

struct Item {
  ItemType type = ItemType::Eof;
  size_t pos = 0;
  std::string val;  // the text, or an Error's message
  int line = 0;
};

std::optional<ItemType> keyword(std::string_view word) {
  static constexpr std::array<std::pair<std::string_view, ItemType>, 12> kKeywords = {{
      {".", ItemType::Dot},
      {"block", ItemType::Block},
      {"break", ItemType::Break},
      {"continue", ItemType::Continue},
      {"define", ItemType::Define},
      {"else", ItemType::Else},
      {"end", ItemType::End},
      {"if", ItemType::If},
      {"range", ItemType::Range},
      {"nil", ItemType::Nil},
      {"template", ItemType::Template},
      {"with", ItemType::With},
  }};
  for (const auto& [name, type] : kKeywords) {
    if (name == word) {
      return type;
    }
  }
  return std::nullopt;
}

/** Go's item.String(), as parse errors quote tokens. */
std::string describe(const Item& item) {
  if (item.type == ItemType::Eof) {
    return "EOF";
  }
  if (item.type == ItemType::Error) {
    return item.val;
  }
  if (item.type > ItemType::Keyword) {
    return absl::StrCat("<", item.val, ">");
  }
  if (item.val.size() > 10) {  // %.10q...: the first ten runes
    std::string_view rest = item.val;
    size_t bytes = 0;
    for (int runes = 0; runes < 10 && bytes < rest.size(); ++runes) {
      bytes += decodeRune(rest.substr(bytes)).width;
    }
    return absl::StrCat(goQuote(rest.substr(0, bytes)), "...");
  }
  return goQuote(item.val);
}

bool hasLeftTrimMarker(std::string_view s) {
  return s.size() >= 2 && s[0] == '-' && isSpace(s[1]);
}

bool hasRightTrimMarker(std::string_view s) {
  return s.size() >= 2 && isSpace(s[0]) && s[1] == '-';
}

size_t countNewlines(std::string_view s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

class Lexer {
 public:
  Lexer(std::string_view input, bool breakOk, bool continueOk)
      : input_(input), breakOk_(breakOk), continueOk_(continueOk) {}

  Item nextItem() {
    item_ = Item{ItemType::Eof, pos_, "EOF", startLine_};
    State state = insideAction_ ? State::InsideAction : State::Text;
    while (state != State::Emitted) {
      state = step(state);
    }
    return std::move(item_);
  }

 private:
  enum class State {
    Emitted,
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Space,
    Identifier,
    Field,
    Variable,
    Char,
    Number,
    Quote,
    RawQuote,
  };

  State step(State state) {
    switch (state) {
      case State::Text:
        return lexText();
      case State::LeftDelim:
        return lexLeftDelim();
      case State::Comment:
        return lexComment();
      case State::RightDelim:
        return lexRightDelim();
      case State::InsideAction:
        return lexInsideAction();
      case State::Space:
        return lexSpace();
      case State::Identifier:
        return lexIdentifier();
      case State::Field:
        return lexFieldOrVariable(ItemType::Field);
      case State::Variable:
        return atTerminator() ? emit(ItemType::Variable) : lexFieldOrVariable(ItemType::Variable);
      case State::Char:
        return lexQuoted('\'', "unterminated character constant", ItemType::CharConstant);
      case State::Number:
        return lexNumber();
      case State::Quote:
        return lexQuoted('"', "unterminated quoted string", ItemType::String);
      case State::RawQuote:
        return lexRawQuote();
      case State::Emitted:
        break;
    }
    return State::Emitted;
  }

  std::string_view rest(size_t pos) const {
    return pos >= input_.size() ? std::string_view() : input_.substr(pos);
  }

  int32_t next() {
    if (pos_ >= input_.size()) {
      atEof_ = true;
      return kEof;
    }
    const Rune r = decodeRune(input_.substr(pos_));
    pos_ += r.width;
    if (r.r == '\n') {
      ++line_;
    }
    return r.r;
  }

  int32_t peek() {
    const int32_t r = next();
    backup();
    return r;
  }

  void backup() {
    if (!atEof_ && pos_ > 0) {
      const Rune r = decodeLastRune(input_.substr(0, pos_));
      pos_ -= r.width;
      if (r.r == '\n') {
        --line_;
      }
    }
  }

  Item thisItem(ItemType type) {
    Item item{type, start_, std::string(input_.substr(start_, pos_ - start_)), startLine_};
    start_ = pos_;
    startLine_ = line_;
    return item;
  }

  State emit(ItemType type) { return emitItem(thisItem(type)); }

  State emitItem(Item item) {
    item_ = std::move(item);
    return State::Emitted;
  }

  void ignore() {
    line_ += static_cast<int>(countNewlines(input_.substr(start_, pos_ - start_)));
    start_ = pos_;
    startLine_ = line_;
  }

  bool accept(std::string_view valid) {
    const int32_t r = next();
    if (r >= 0 && r < 0x80 && valid.find(static_cast<char>(r)) != std::string_view::npos) {
      return true;
    }
    backup();
    return false;
  }

  void acceptRun(std::string_view valid) {
    while (accept(valid)) {
    }
  }

  State errorf(std::string message) {
    item_ = Item{ItemType::Error, start_, std::move(message), startLine_};
    start_ = 0;
    pos_ = 0;
    input_ = input_.substr(0, 0);
    return State::Emitted;
  }

  State lexText() {
    const size_t x = input_.find(kLeftDelim, pos_);
    if (x != std::string_view::npos) {
      if (x > pos_) {
        pos_ = x;
        size_t trimLength = 0;
        if (hasLeftTrimMarker(rest(pos_ + kLeftDelim.size()))) {
          const std::string_view text = input_.substr(start_, pos_ - start_);
          size_t kept = text.size();
          while (kept > 0 && isSpace(text[kept - 1])) {
            --kept;
          }
          trimLength = text.size() - kept;
        }
        pos_ -= trimLength;
        line_ += static_cast<int>(countNewlines(input_.substr(start_, pos_ - start_)));
        Item item = thisItem(ItemType::Text);
        pos_ += trimLength;
        ignore();
        if (!item.val.empty()) {
          return emitItem(std::move(item));
        }
      }
      return State::LeftDelim;
    }
    pos_ = input_.size();
    if (pos_ > start_) {
      line_ += static_cast<int>(countNewlines(input_.substr(start_, pos_ - start_)));
      return emit(ItemType::Text);
    }
    return emit(ItemType::Eof);
  }

  size_t leftTrimLength(size_t pos) const {
    size_t n = 0;
    while (pos + n < input_.size() && isSpace(input_[pos + n])) {
      ++n;
    }
    return n;
  }

  std::pair<bool, bool> atRightDelim() const {
    if (hasRightTrimMarker(rest(pos_)) && rest(pos_ + kTrimMarkerLen).starts_with(kRightDelim)) {
      return {true, true};
    }
    return {rest(pos_).starts_with(kRightDelim), false};
  }

  State lexLeftDelim() {
    pos_ += kLeftDelim.size();
    const bool trimSpace = hasLeftTrimMarker(rest(pos_));
    const size_t afterMarker = trimSpace ? kTrimMarkerLen : 0;
    if (rest(pos_ + afterMarker).starts_with(kLeftComment)) {
      pos_ += afterMarker;
      ignore();
      return State::Comment;
    }
    Item item = thisItem(ItemType::LeftDelim);
    insideAction_ = true;
    pos_ += afterMarker;
    ignore();
    parenDepth_ = 0;
    return emitItem(std::move(item));
  }

  // Comments are dropped (Go's default, without parse.ParseComments).
  State lexComment() {
    pos_ += kLeftComment.size();
    const size_t x = input_.find(kRightComment, pos_);
    if (x == std::string_view::npos) {
      return errorf("unclosed comment");
    }
    pos_ = x + kRightComment.size();
    const auto [delim, trimSpace] = atRightDelim();
    if (!delim) {
      return errorf("comment ends before closing delimiter");
    }
    line_ += static_cast<int>(countNewlines(input_.substr(start_, pos_ - start_)));
    thisItem(ItemType::Comment);
    if (trimSpace) {
      pos_ += kTrimMarkerLen;
    }
    pos_ += kRightDelim.size();
    if (trimSpace) {
      pos_ += leftTrimLength(pos_);
    }
    ignore();
    return State::Text;
  }

  State lexRightDelim() {
    const bool trimSpace = atRightDelim().second;
    if (trimSpace) {
      pos_ += kTrimMarkerLen;
      ignore();
    }
    pos_ += kRightDelim.size();
    Item item = thisItem(ItemType::RightDelim);
    if (trimSpace) {
      pos_ += leftTrimLength(pos_);
      ignore();
    }
    insideAction_ = false;
    return emitItem(std::move(item));
  }

  State lexInsideAction() {
    if (atRightDelim().first) {
      if (parenDepth_ == 0) {
        return State::RightDelim;
      }
      return errorf("unclosed left paren");
    }
    const int32_t r = next();
    if (r == kEof) {
      return errorf("unclosed action");
    }
    if (isSpace(r)) {
      backup();  // in case of " -}}"
      return State::Space;
    }
    switch (r) {
      case '=':
        return emit(ItemType::Assign);
      case ':':
        if (next() != '=') {
          return errorf("expected :=");
        }
        return emit(ItemType::Declare);
      case '|':
        return emit(ItemType::Pipe);
      case '"':
        return State::Quote;
      case '`':
        return State::RawQuote;
      case '$':
        return State::Variable;
      case '\'':
        return State::Char;
      case '(':
        ++parenDepth_;
        return emit(ItemType::LeftParen);
      case ')':
        if (--parenDepth_ < 0) {
          return errorf("unexpected right paren");
        }
        return emit(ItemType::RightParen);
      default:
        break;
    }
    if (r == '.' && pos_ < input_.size() && (input_[pos_] < '0' || input_[pos_] > '9')) {
      return State::Field;
    }
    if (r == '.' || r == '+' || r == '-' || (r >= '0' && r <= '9')) {
      backup();
      return State::Number;
    }
    if (isAlphaNumeric(r)) {
      backup();
      return State::Identifier;
    }
    if (r < 0x80 && r >= 0x20 && r < 0x7F) {
      return emit(ItemType::Char);
    }
    return errorf(absl::StrCat("unrecognized character in action: ", formatRune(r)));
  }

  State lexSpace() {
    int spaces = 0;
    while (isSpace(peek())) {
      next();
      ++spaces;
    }
    if (hasRightTrimMarker(rest(pos_ - 1)) &&
        rest(pos_ - 1 + kTrimMarkerLen).starts_with(kRightDelim)) {
      backup();  // before the space
      if (spaces == 1) {
        return State::RightDelim;
      }
    }
    return emit(ItemType::Space);
  }

  State lexIdentifier() {
    for (;;) {
      const int32_t r = next();
      if (isAlphaNumeric(r)) {
        continue;
      }
      backup();
      const std::string_view word = input_.substr(start_, pos_ - start_);
      if (!atTerminator()) {
        return errorf(absl::StrCat("bad character ", formatRune(r)));
      }
      if (auto type = keyword(word); type.has_value()) {
        if ((*type == ItemType::Break && !breakOk_) ||
            (*type == ItemType::Continue && !continueOk_)) {
          return emit(ItemType::Identifier);
        }
        return emit(*type);
      }
      if (word == "true" || word == "false") {
        return emit(ItemType::Bool);
      }
      return emit(ItemType::Identifier);
    }
  }

  State lexFieldOrVariable(ItemType type) {
    if (atTerminator()) {  // "." or "$" alone
      return emit(type == ItemType::Variable ? ItemType::Variable : ItemType::Dot);
    }
    int32_t r = 0;
    for (;;) {
      r = next();
      if (!isAlphaNumeric(r)) {
        backup();
        break;
      }
    }
    if (!atTerminator()) {
      return errorf(absl::StrCat("bad character ", formatRune(r)));
    }
    return emit(type);
  }

  bool atTerminator() {
    const int32_t r = peek();
    if (isSpace(r)) {
      return true;
    }
    switch (r) {
      case kEof:
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
        return true;
      default:
        return rest(pos_).starts_with(kRightDelim);
    }
  }

  // A quoted string or a character constant (checked by the parser).
  State lexQuoted(char quote, const char* unterminated, ItemType type) {
    for (;;) {
      int32_t r = next();
      if (r == '\\') {
        r = next();
        if (r != kEof && r != '\n') {
          continue;
        }
      }
      if (r == kEof || r == '\n') {
        return errorf(unterminated);
      }
      if (r == quote) {
        return emit(type);
      }
    }
  }

  State lexRawQuote() {
    for (;;) {
      const int32_t r = next();
      if (r == kEof) {
        return errorf("unterminated raw quoted string");
      }
      if (r == '`') {
        return emit(ItemType::RawString);
      }
    }
  }

  State lexNumber() {
    if (!scanNumber()) {
      return errorf(
          absl::StrCat("bad number syntax: ", goQuote(input_.substr(start_, pos_ - start_))));
    }
    if (const int32_t sign = peek(); sign == '+' || sign == '-') {  // complex: 1+2i
      if (!scanNumber() || input_[pos_ - 1] != 'i') {
        return errorf(
            absl::StrCat("bad number syntax: ", goQuote(input_.substr(start_, pos_ - start_))));
      }
      return emit(ItemType::Complex);
    }
    return emit(ItemType::Number);
  }

  bool scanNumber() {
    static constexpr std::string_view kDecimal = "0123456789_";
    static constexpr std::string_view kHex = "0123456789abcdefABCDEF_";
    accept("+-");
    std::string_view digits = kDecimal;
    if (accept("0")) {
      if (accept("xX")) {
        digits = kHex;
      } else if (accept("oO")) {
        digits = "01234567_";
      } else if (accept("bB")) {
        digits = "01_";
      }
    }
    acceptRun(digits);
    if (accept(".")) {
      acceptRun(digits);
    }
    if (digits == kDecimal && accept("eE")) {
      accept("+-");
      acceptRun(kDecimal);
    }
    if (digits == kHex && accept("pP")) {
      accept("+-");
      acceptRun(kDecimal);
    }
    accept("i");
    if (isAlphaNumeric(peek())) {
      next();
      return false;
    }
    return true;
  }

  std::string_view input_;
  const bool breakOk_;
  const bool continueOk_;
  size_t pos_ = 0;
  size_t start_ = 0;
  bool atEof_ = false;
  int parenDepth_ = 0;
  int line_ = 1;
  int startLine_ = 1;
  Item item_;
  bool insideAction_ = false;
};

/** Go's Tree.newNumber: the error a number, complex or character constant gets, if any. */
std::optional<std::string> numberError(ItemType type, std::string_view text) {
  if (type == ItemType::CharConstant) {
    const auto c = unquoteChar(text.substr(1), '\'');
    if (!c.has_value()) {
      return "invalid syntax";
    }
    if (c->tail != "'") {
      return absl::StrCat("malformed character constant: ", av(text));
    }
    return std::nullopt;
  }
  if (type == ItemType::Complex) {
    return complexError(text);
  }
  if (text.ends_with('i') && parseFloat(text.substr(0, text.size() - 1)) == NumError::None) {
    return std::nullopt;  // imaginary
  }
  uint64_t value = 0;
  if (parseUint(text, value) == NumError::None || parseInt(text) == NumError::None) {
    return std::nullopt;
  }
  if (parseFloat(text) == NumError::None) {
    if (text.find_first_of(".eEpP") == std::string_view::npos) {
      return absl::StrCat("integer overflow: ", goQuote(text));
    }
    return std::nullopt;
  }
  return absl::StrCat("illegal number syntax: ", goQuote(text));
}

Piece textPiece(std::string text) {
  Piece piece;
  piece.text = std::move(text);
  return piece;
}

// ---- The parser: Go's text/template/parse/parse.go for everything but the control keywords.

struct Node;

struct Command {
  size_t pos = 0;
  std::vector<std::unique_ptr<Node>> args;
};

struct PipeNode {
  bool isAssign = false;
  std::vector<std::string> decl;
  std::vector<Command> cmds;
};

struct Node {
  enum class Kind { Identifier, Dot, Nil, Variable, Field, Bool, Number, String, Pipe, Chain };
  Node(Kind k, size_t p, std::string t = "") : kind(k), pos(p), text(std::move(t)) {}
  Kind kind;
  size_t pos;
  std::string text;                 // the source: ".a.b", "$x", "label", "\"lit\"", "1e3"
  std::string value;                // String: the unquoted value
  std::vector<std::string> fields;  // Field: "a", "b"; Chain: the fields after `base`
  std::unique_ptr<PipeNode> pipe;   // Pipe
  std::unique_ptr<Node> base;       // Chain
};

void writeNode(const Node& node, std::string& out);

void writeCommand(const Command& command, std::string& out) {
  for (size_t i = 0; i < command.args.size(); ++i) {
    if (i > 0) {
      out += ' ';
    }
    const bool parens = command.args[i]->kind == Node::Kind::Pipe;
    out += parens ? "(" : "";
    writeNode(*command.args[i], out);
    out += parens ? ")" : "";
  }
}

/** Go's PipeNode.String(). */
void writePipe(const PipeNode& pipe, std::string& out) {
  for (size_t i = 0; i < pipe.decl.size(); ++i) {
    absl::StrAppend(&out, i > 0 ? ", " : "", pipe.decl[i]);
  }
  if (!pipe.decl.empty()) {
    out += pipe.isAssign ? " = " : " := ";
  }
  for (size_t i = 0; i < pipe.cmds.size(); ++i) {
    out += i > 0 ? " | " : "";
    writeCommand(pipe.cmds[i], out);
  }
}

void writeNode(const Node& node, std::string& out) {
  switch (node.kind) {
    case Node::Kind::Dot:
      out += '.';
      break;
    case Node::Kind::Nil:
      out += "nil";
      break;
    case Node::Kind::Pipe:
      writePipe(*node.pipe, out);
      break;
    case Node::Kind::Chain:
      if (node.base->kind == Node::Kind::Pipe) {
        out += '(';
        writeNode(*node.base, out);
        out += ')';
      } else {
        writeNode(*node.base, out);
      }
      for (const std::string& field : node.fields) {
        absl::StrAppend(&out, ".", field);
      }
      break;
    default:
      out += node.text;
  }
}

std::string nodeString(const Node& node) {
  std::string out;
  writeNode(node, out);
  return out;
}

bool isGoBuiltin(std::string_view name) {
  static constexpr std::array<std::string_view, 19> kBuiltins = {
      "and",    "call",    "html",     "index", "slice", "js", "len", "not", "or", "print",
      "printf", "println", "urlquery", "eq",    "ge",    "gt", "le",  "lt",  "ne"};
  return std::find(kBuiltins.begin(), kBuiltins.end(), name) != kBuiltins.end();
}

/** Go's parser panics on the first error; this one throws ParseError, which parse() catches. */
struct ParseError {
  std::string message;
};

class Parser {
 public:
  Parser(std::string_view text, const GoTemplate::Options& options)
      : text_(text),
        options_(options),
        lex_(text, !options.functions.contains("break"), !options.functions.contains("continue")) {}

  /** Go's Tree.parse. Throws ParseError. */
  std::vector<Piece> parse() {
    while (peek().type != ItemType::Eof) {
      if (peek().type == ItemType::LeftDelim) {
        Item delim = next();
        const Item word = nextNonSpace();
        if (word.type == ItemType::Define) {
          unsupportedKeyword(word);
        }
        backup2(std::move(delim));
      }
      textOrAction();
    }
    if (refusal_.has_value()) {
      throw ParseError{*refusal_};
    }
    return std::move(pieces_);
  }

 private:
  // Go's three-token lookahead: token_[0] is always the item read last from the lexer.
  Item next() {
    if (peekCount_ > 0) {
      --peekCount_;
    } else {
      token_[0] = lex_.nextItem();
    }
    return token_[peekCount_];
  }
  void backup() { ++peekCount_; }
  void backup2(Item t1) {
    token_[1] = std::move(t1);
    peekCount_ = 2;
  }
  void backup3(Item t2, Item t1) {
    token_[1] = std::move(t1);
    token_[2] = std::move(t2);
    peekCount_ = 3;
  }
  Item peek() {
    if (peekCount_ > 0) {
      return token_[peekCount_ - 1];
    }
    peekCount_ = 1;
    token_[0] = lex_.nextItem();
    return token_[0];
  }
  Item nextNonSpace() {
    Item token;
    do {
      token = next();
    } while (token.type == ItemType::Space);
    return token;
  }
  Item peekNonSpace() {
    Item token = nextNonSpace();
    backup();
    return token;
  }

  [[noreturn]] void errorf(std::string_view message) const {
    throw ParseError{absl::StrCat("template: :", token_[0].line, ": ", av(message))};
  }

  Item expect(ItemType expected, std::string_view context) {
    Item token = nextNonSpace();
    if (token.type != expected) {
      unexpected(token, context);
    }
    return token;
  }

  [[noreturn]] void unexpected(const Item& token, std::string_view context) const {
    if (token.type == ItemType::Error) {
      std::string extra;
      if (actionLine_ != 0 && actionLine_ != token.line) {
        extra = absl::StrCat(" in action started at :", actionLine_);
        if (std::string_view(token.val).ends_with(" action")) {
          extra = extra.substr(std::string_view(" in action").size());
        }
      }
      errorf(absl::StrCat(token.val, extra));
    }
    errorf(absl::StrCat("unexpected ", describe(token), " in ", av(context)));
  }

  /** A control keyword is refused where it stands (the first refusal wins). */
  [[noreturn]] void unsupportedKeyword(const Item& token) const {
    throw ParseError{refusal_.value_or(
        absl::StrCat("template: :", token.line, ": unsupported action {{", token.val, "}}"))};
  }

  void textOrAction() {
    const Item token = nextNonSpace();
    switch (token.type) {
      case ItemType::Text:
        pieces_.push_back(textPiece(token.val));
        return;
      case ItemType::LeftDelim:
        actionLine_ = token.line;
        action();
        actionLine_ = 0;
        return;
      default:
        unexpected(token, "input");
    }
  }

  void action() {
    const Item token = nextNonSpace();
    switch (token.type) {
      case ItemType::Block:
      case ItemType::If:
      case ItemType::Range:
      case ItemType::Template:
      case ItemType::With:
        unsupportedKeyword(token);
      case ItemType::Break:
      case ItemType::Continue: {
        const std::string name = absl::StrCat("{{", token.val, "}}");
        if (const Item close = nextNonSpace(); close.type != ItemType::RightDelim) {
          unexpected(close, name);
        }
        errorf(absl::StrCat(name, " outside {{range}}"));
      }
      case ItemType::Else:
        if (const Item peeked = peekNonSpace();
            peeked.type != ItemType::If && peeked.type != ItemType::With) {
          expect(ItemType::RightDelim, "else");
        }
        errorf("unexpected {{else}}");
      case ItemType::End:
        expect(ItemType::RightDelim, "end");
        errorf("unexpected {{end}}");
      default:
        break;
    }
    backup();
    const Item first = peek();
    const std::unique_ptr<PipeNode> pipe = pipeline("command", ItemType::RightDelim);
    addAction(first, *pipe);
  }

  std::unique_ptr<PipeNode> pipeline(std::string_view context, ItemType end) {
    auto pipe = std::make_unique<PipeNode>();
    if (const Item v = peekNonSpace(); v.type == ItemType::Variable) {
      next();
      // "$x foo" vs "$x := foo": keep the token after the variable to push it back.
      const Item tokenAfterVariable = peek();
      const Item following = peekNonSpace();
      if (following.type == ItemType::Assign || following.type == ItemType::Declare) {
        pipe->isAssign = following.type == ItemType::Assign;
        nextNonSpace();
        pipe->decl.push_back(v.val);
        vars_.push_back(v.val);
      } else if (following.type == ItemType::Char && following.val == ",") {
        nextNonSpace();
        pipe->decl.push_back(v.val);
        vars_.push_back(v.val);
        errorf(absl::StrCat("too many declarations in ", av(context)));  // not a range
      } else if (tokenAfterVariable.type == ItemType::Space) {
        backup3(v, tokenAfterVariable);
      } else {
        backup2(v);
      }
    }
    for (;;) {
      const Item token = nextNonSpace();
      if (token.type == end) {
        checkPipeline(*pipe, context);
        return pipe;
      }
      switch (token.type) {
        case ItemType::Bool:
        case ItemType::CharConstant:
        case ItemType::Complex:
        case ItemType::Dot:
        case ItemType::Field:
        case ItemType::Identifier:
        case ItemType::Number:
        case ItemType::Nil:
        case ItemType::RawString:
        case ItemType::String:
        case ItemType::Variable:
        case ItemType::LeftParen:
          backup();
          pipe->cmds.push_back(command());
          break;
        default:
          unexpected(token, context);
      }
    }
  }

  void checkPipeline(const PipeNode& pipe, std::string_view context) const {
    if (pipe.cmds.empty()) {
      errorf(absl::StrCat("missing value for ", av(context)));
    }
    for (size_t i = 1; i < pipe.cmds.size(); ++i) {
      switch (pipe.cmds[i].args[0]->kind) {
        case Node::Kind::Bool:
        case Node::Kind::Dot:
        case Node::Kind::Nil:
        case Node::Kind::Number:
        case Node::Kind::String:
          errorf(absl::StrCat("non executable command in pipeline stage ", i + 1));
        default:
          break;
      }
    }
  }

  Command command() {
    Command cmd;
    cmd.pos = peekNonSpace().pos;
    for (;;) {
      peekNonSpace();  // skip leading spaces
      if (auto node = operand(); node != nullptr) {
        cmd.args.push_back(std::move(node));
      }
      const Item token = next();
      if (token.type == ItemType::Space) {
        continue;
      }
      if (token.type == ItemType::RightDelim || token.type == ItemType::RightParen) {
        backup();
      } else if (token.type != ItemType::Pipe) {
        unexpected(token, "operand");
      }
      break;
    }
    if (cmd.args.empty()) {
      errorf("empty command");
    }
    return cmd;
  }

  std::unique_ptr<Node> operand() {
    std::unique_ptr<Node> node = term();
    if (node == nullptr || peek().type != ItemType::Field) {
      return node;
    }
    const size_t pos = peek().pos;
    std::vector<std::string> fields;
    while (peek().type == ItemType::Field) {
      fields.push_back(next().val.substr(1));
    }
    switch (node->kind) {
      case Node::Kind::Field:
      case Node::Kind::Variable:
        node->pos = pos;
        for (std::string& field : fields) {
          absl::StrAppend(&node->text, ".", field);
          node->fields.push_back(std::move(field));
        }
        return node;
      case Node::Kind::Bool:
      case Node::Kind::String:
      case Node::Kind::Number:
      case Node::Kind::Nil:
      case Node::Kind::Dot:
        errorf(absl::StrCat("unexpected . after term ", goQuote(nodeString(*node))));
      default: {
        auto chain = std::make_unique<Node>(Node::Kind::Chain, pos);
        chain->base = std::move(node);
        chain->fields = std::move(fields);
        return chain;
      }
    }
  }

  std::unique_ptr<Node> term() {
    Item token = nextNonSpace();
    auto make = [&token](Node::Kind kind) {
      return std::make_unique<Node>(kind, token.pos, std::move(token.val));
    };
    switch (token.type) {
      case ItemType::Identifier:
        if (!options_.functions.contains(token.val) && !isGoBuiltin(token.val)) {
          errorf(absl::StrCat("function ", goQuote(token.val), " not defined"));
        }
        return make(Node::Kind::Identifier);
      case ItemType::Dot:
        return make(Node::Kind::Dot);
      case ItemType::Nil:
        return make(Node::Kind::Nil);
      case ItemType::Variable:
        if (std::find(vars_.begin(), vars_.end(), token.val) == vars_.end()) {
          errorf(absl::StrCat("undefined variable ", goQuote(token.val)));
        }
        return make(Node::Kind::Variable);
      case ItemType::Field: {
        auto node = make(Node::Kind::Field);
        node->fields.push_back(node->text.substr(1));
        return node;
      }
      case ItemType::Bool:
        return make(Node::Kind::Bool);
      case ItemType::CharConstant:
      case ItemType::Complex:
      case ItemType::Number:
        if (auto error = numberError(token.type, token.val); error.has_value()) {
          errorf(*error);
        }
        return make(Node::Kind::Number);
      case ItemType::LeftParen: {
        if (depth_ >= kMaxParenDepth) {
          errorf("max expression depth exceeded");
        }
        ++depth_;
        auto node = make(Node::Kind::Pipe);
        node->pipe = pipeline("parenthesized pipeline", ItemType::RightParen);
        --depth_;
        return node;
      }
      case ItemType::String:
      case ItemType::RawString: {
        std::optional<std::string> value = unquote(token.val);
        if (!value.has_value()) {
          errorf("invalid syntax");
        }
        auto node = make(Node::Kind::String);
        node->value = std::move(*value);
        return node;
      }
      default:
        backup();
        return nullptr;
    }
  }

  /** Go's ErrorContext: line and byte column of `pos`. */
  std::pair<int, size_t> location(size_t pos) const {
    const std::string_view before = text_.substr(0, pos);
    const size_t newline = before.rfind('\n');
    return {1 + static_cast<int>(countNewlines(before)),
            newline == std::string_view::npos ? pos : pos - newline - 1};
  }

  /** Keeps an action this engine runs, or records the first refusal of one Go would run. */
  void addAction(const Item& first, const PipeNode& pipe) {
    if (refusal_.has_value()) {
      return;
    }
    if (pipe.decl.empty() && pipe.cmds.size() == 1) {
      const Command& cmd = pipe.cmds[0];
      const Node& head = *cmd.args[0];
      if (cmd.args.size() == 1 && head.kind == Node::Kind::Field) {
        const auto [line, column] = location(head.pos);
        pieces_.push_back(Piece{Piece::Kind::Field, "", "", head.fields, line, column, head.text});
        return;
      }
      if (cmd.args.size() == 1 && head.kind == Node::Kind::Dot) {
        Piece piece;
        piece.kind = Piece::Kind::Dot;
        pieces_.push_back(std::move(piece));
        return;
      }
      if (cmd.args.size() == 1 && head.kind == Node::Kind::String) {
        pieces_.push_back(textPiece(head.value));
        return;
      }
      if (head.kind == Node::Kind::Identifier && options_.functions.contains(head.text)) {
        if (cmd.args.size() == 2 && cmd.args[1]->kind == Node::Kind::String) {
          const auto [line, column] = location(cmd.pos);
          std::string context;
          writeCommand(cmd, context);
          pieces_.push_back(Piece{Piece::Kind::Call,
                                  head.text,
                                  cmd.args[1]->value,
                                  {},
                                  line,
                                  column,
                                  std::move(context)});
          return;
        }
        refusal_ =
            absl::StrCat("template: :", first.line, ": ", head.text, " takes one string argument");
        return;
      }
    }
    std::string action;
    writePipe(pipe, action);
    refusal_ = absl::StrCat("template: :", first.line, ": unsupported action {{", action, "}}");
  }

  const std::string_view text_;
  const GoTemplate::Options& options_;
  Lexer lex_;
  std::array<Item, 3> token_;
  int peekCount_ = 0;
  std::vector<std::string> vars_ = {"$"};
  int actionLine_ = 0;
  int depth_ = 0;
  std::vector<Piece> pieces_;
  std::optional<std::string> refusal_;
};

// ---- Execution.

absl::Status execError(const Piece& piece, std::string_view context, std::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("template: :", piece.line, ":", piece.column,
                                                 ": executing \"\" at <", av(context),
                                                 ">: ", av(message)));
}

/** The field names of a Go struct type as Go prints it: "struct { A string; B string }". */
std::vector<std::string_view> structFields(std::string_view type) {
  std::vector<std::string_view> names;
  const size_t open = type.find('{');
  const size_t close = type.rfind('}');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return names;
  }
  std::string_view body = type.substr(open + 1, close - open - 1);
  while (!body.empty()) {
    const size_t semicolon = body.find(';');
    std::string_view field = body.substr(0, semicolon);
    while (!field.empty() && field.front() == ' ') {
      field.remove_prefix(1);
    }
    if (const std::string_view name = field.substr(0, field.find(' ')); !name.empty()) {
      names.push_back(name);
    }
    body = semicolon == std::string_view::npos ? std::string_view() : body.substr(semicolon + 1);
  }
  return names;
}

/** `{{.}}`: fmt's %v of the map ("map[a:1 b:2]", keys sorted) or of the struct ("{1 2}"). */
std::string printDot(const GoTemplate::Data& data) {
  std::string out;
  if (data.structType.empty()) {
    out = "map[";
    for (const auto& [key, value] : data.fields) {
      absl::StrAppend(&out, out.size() > 4 ? " " : "", key, ":", value);
    }
    return out + "]";
  }
  out = "{";
  std::vector<std::string_view> names = structFields(data.structType);
  for (size_t i = 0; i < names.size(); ++i) {
    const auto it = data.fields.find(names[i]);
    absl::StrAppend(&out, i > 0 ? " " : "", it == data.fields.end() ? "" : it->second);
  }
  return out + "}";
}

}  // namespace

absl::StatusOr<GoTemplate> GoTemplate::parse(std::string_view text, const Options& options) {
  if (text.size() > options.maxBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("template: longer than ", options.maxBytes, " bytes"));
  }
  try {
    return GoTemplate(Parser(text, options).parse());
  } catch (const ParseError& e) {
    return absl::InvalidArgumentError(e.message);
  }
}

absl::StatusOr<std::string> GoTemplate::execute(const Data& data) const {
  std::string out;
  for (const Piece& piece : pieces_) {
    switch (piece.kind) {
      case Piece::Kind::Text:
        out += piece.text;
        break;
      case Piece::Kind::Dot:
        out += printDot(data);
        break;
      case Piece::Kind::Field: {
        // A map's missing key is Go's invalid value ("<no value>", also at the end of a chain);
        // a struct's missing field, or a field of a string, fails.
        const auto it = data.fields.find(piece.fields[0]);
        if (data.anyField && (it == data.fields.end() || piece.fields.size() > 1)) {
          break;
        }
        if (it == data.fields.end() && data.structType.empty()) {
          out += "<no value>";
        } else if (it == data.fields.end()) {
          return execError(
              piece, piece.context,
              absl::StrCat("can't evaluate field ", piece.fields[0], " in type ", data.structType));
        } else if (piece.fields.size() > 1) {
          return execError(
              piece, piece.context,
              absl::StrCat("can't evaluate field ", piece.fields[1], " in type string"));
        } else {
          out += it->second;
        }
        break;
      }
      case Piece::Kind::Call: {
        if (!data.call) {
          return execError(piece, piece.text,
                           absl::StrCat(goQuote(piece.text), " is not a defined function"));
        }
        absl::StatusOr<std::string> result = data.call(piece.text, piece.arg);
        if (!result.ok()) {
          return execError(
              piece, piece.context,
              absl::StrCat("error calling ", piece.text, ": ", result.status().message()));
        }
        out += *result;
        break;
      }
    }
  }
  return out;
}

}  // namespace kuma::common
