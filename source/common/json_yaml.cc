#include "source/common/json_yaml.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace kuma::common {
namespace {

bool allOf(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!pred(c)) {
      return false;
    }
  }
  return true;
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isOctal(char c) {
  return c >= '0' && c <= '7';
}
bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool isYamlFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    ++i;
  }
  size_t intDigits = 0;
  while (i < s.size() && isDigit(s[i])) {
    ++i;
    ++intDigits;
  }
  size_t fracDigits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDigit(s[i])) {
      ++i;
      ++fracDigits;
    }
  }
  if (intDigits == 0 && fracDigits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      ++i;
    }
    if (!allOf(s.substr(i), isDigit)) {
      return false;
    }
    i = s.size();
  }
  return i == s.size();
}

// YAML 1.2 core schema for plain scalars.
nlohmann::json plainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return nullptr;
  }
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  const std::string_view unsignedPart =
      (s[0] == '-' || s[0] == '+') ? std::string_view(s).substr(1) : std::string_view(s);
  if (allOf(unsignedPart, isDigit)) {
    errno = 0;
    if (s[0] == '-') {
      const long long v = std::strtoll(s.c_str(), nullptr, 10);
      if (errno == 0) {
        return v;
      }
    } else {
      const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
      if (errno == 0) {
        return v;
      }
    }
    return std::strtod(s.c_str(), nullptr);
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && allOf(std::string_view(s).substr(2), isOctal)) {
    return std::strtoull(s.c_str() + 2, nullptr, 8);
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && allOf(std::string_view(s).substr(2), isHex)) {
    return std::strtoull(s.c_str() + 2, nullptr, 16);
  }
  if (isYamlFloat(s)) {
    return std::strtod(s.c_str(), nullptr);
  }
  return s;
}

// Length of the well-formed UTF-8 sequence at s[i], or 0 when the bytes there are ill-formed
// (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF).
size_t utf8SequenceAt(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) {
    return 1;
  }
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (i + len > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) {
    return 0;
  }
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
      return 0;
    }
  }
  return len;
}

// A copy of `s` with every ill-formed byte replaced by U+FFFD: parser messages quote the input.
std::string sanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8SequenceAt(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

// Thrown by the event handlers below to stop a parser at once; caught in the parse functions.
class InputLimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string depthMessage() {
  return absl::StrCat("nesting depth exceeds the maximum of ", kMaxNestingDepth);
}

// The field path of a position in a document, as validation errors name fields:
// `networking.inbound[0].tags`.
struct PathFrame {
  bool isArray = false;
  std::string key;   // objects: the current member's key
  size_t index = 0;  // arrays: the current element's index
};

std::string pathOf(const std::vector<PathFrame>& frames) {
  std::string out;
  for (const PathFrame& f : frames) {
    if (f.isArray) {
      absl::StrAppend(&out, "[", f.index, "]");
    } else if (!f.key.empty()) {
      absl::StrAppend(&out, out.empty() ? "" : ".", sanitizeUtf8(f.key));
    }
  }
  return out;
}

std::string utf8Message(const std::vector<PathFrame>& frames) {
  const std::string path = pathOf(frames);
  return path.empty() ? std::string("invalid UTF-8 in a string")
                      : absl::StrCat("invalid UTF-8 in field \"", path, "\"");
}

// Builds nlohmann::json from yaml-cpp's parse events with an explicit stack, so that the limits
// (depth, aliases, what aliases copy, UTF-8) hold while parsing: yaml-cpp's own Node graph shares
// aliased nodes, which a recursive alias turns into a cycle and a "billion laughs" document into
// an exponential expansion when converted.
class JsonBuilder : public YAML::EventHandler {
 public:
  nlohmann::json takeRoot() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override {
    if (expectingKey()) {
      setKey("null");
      return;
    }
    deliver(nullptr, anchor, 1, 0);
  }

  void OnAlias(const YAML::Mark&, YAML::anchor_t anchor) override {
    if (++aliases_ > kMaxYamlAliases) {
      throw InputLimitError(
          absl::StrCat("yaml: more than ", kMaxYamlAliases, " aliases in one document"));
    }
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw InputLimitError("yaml: an alias refers to a node that contains it (recursive alias)");
    }
    const Anchored& a = it->second;
    aliasNodes_ += a.nodes;
    aliasBytes_ += a.bytes;
    if (aliasNodes_ > kMaxYamlAliasNodes || aliasBytes_ > kMaxYamlAliasBytes) {
      throw InputLimitError(absl::StrCat("yaml: aliases expand the document past ",
                                         kMaxYamlAliasNodes, " nodes or ", kMaxYamlAliasBytes,
                                         " bytes"));
    }
    if (expectingKey()) {
      setKey(a.value.is_string() ? a.value.get<std::string>() : a.value.dump());
      return;
    }
    deliver(a.value, YAML::NullAnchor, a.nodes, a.bytes);
  }

  void OnScalar(const YAML::Mark&, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (!isValidUtf8(value)) {
      throw InputLimitError(utf8Message(path_));
    }
    if (expectingKey()) {
      if (anchor != YAML::NullAnchor) {
        anchors_[anchor] = Anchored{value, 1, value.size()};
      }
      setKey(value);
      return;
    }
    // Tag "!" marks a quoted (non-plain) scalar: always a string.
    nlohmann::json v =
        (tag == "!" || tag == "tag:yaml.org,2002:str") ? nlohmann::json(value) : plainScalar(value);
    deliver(std::move(v), anchor, 1, value.size());
  }

  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(nlohmann::json::array(), anchor, /*isArray=*/true);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(nlohmann::json::object(), anchor, /*isArray=*/false);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Anchored {
    nlohmann::json value;
    size_t nodes = 0;
    size_t bytes = 0;
  };
  struct Open {
    nlohmann::json value;
    YAML::anchor_t anchor = YAML::NullAnchor;
    bool expectKey = false;  // maps: the next event is a key
    size_t nodes = 1;        // nodes and string bytes within, for anchors
    size_t bytes = 0;
  };

  bool expectingKey() const { return !open_.empty() && open_.back().expectKey; }

  void setKey(std::string key) {
    if (!isValidUtf8(key)) {
      throw InputLimitError(utf8Message(path_));
    }
    path_.back().key = std::move(key);
    open_.back().expectKey = false;
  }

  void open(nlohmann::json value, YAML::anchor_t anchor, bool isArray) {
    if (expectingKey()) {
      throw InputLimitError("yaml: mapping keys must be scalars");
    }
    if (open_.size() >= kMaxNestingDepth) {
      throw InputLimitError(absl::StrCat("yaml: ", depthMessage()));
    }
    open_.push_back(Open{std::move(value), anchor, !isArray, 1, 0});
    path_.push_back(PathFrame{isArray, "", 0});
  }

  void close() {
    Open done = std::move(open_.back());
    open_.pop_back();
    path_.pop_back();
    deliver(std::move(done.value), done.anchor, done.nodes, done.bytes);
  }

  // A complete value: remembered under its anchor, then placed into its parent.
  void deliver(nlohmann::json v, YAML::anchor_t anchor, size_t nodes, size_t bytes) {
    if (anchor != YAML::NullAnchor) {
      anchors_[anchor] = Anchored{v, nodes, bytes};
    }
    if (open_.empty()) {
      root_ = std::move(v);
      return;
    }
    Open& parent = open_.back();
    parent.nodes += nodes;
    parent.bytes += bytes;
    PathFrame& at = path_.back();
    if (at.isArray) {
      parent.value.push_back(std::move(v));
      ++at.index;
    } else {
      parent.value[at.key] = std::move(v);
      parent.expectKey = true;
    }
  }

  std::vector<Open> open_;
  std::vector<PathFrame> path_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
  size_t aliases_ = 0;
  size_t aliasNodes_ = 0;
  size_t aliasBytes_ = 0;
  nlohmann::json root_;
};

// yaml-cpp's scanner looks ahead across a whole unterminated flow collection before the parser
// sees its first event (1 MB of `[` costs 1.6 s, 5 MB 22 s), so flow nesting is measured before
// parsing. A flow indicator counts where it begins a node: outside flow collections only after
// a line start or white space (`a}[[` and `a:[` are plain scalars there), inside them also after
// `[`, `{`, `,` or `:`; quoted scalars and comments are skipped. Block nesting is bounded by the
// event handler.
bool flowNestingExceeds(std::string_view text, size_t limit) {
  size_t depth = 0;
  char prev = '\n';  // the last character outside quotes and comments
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool afterSpace = prev == '\n' || prev == ' ' || prev == '\t' || prev == '\r';
    const bool atTokenStart =
        afterSpace || (depth > 0 && (prev == '[' || prev == '{' || prev == ',' || prev == ':'));
    if (c == '#' && (prev == ' ' || prev == '\t' || prev == '\n')) {
      while (i < text.size() && text[i] != '\n') {
        ++i;
      }
      prev = '\n';
      continue;
    }
    if ((c == '"' || c == '\'') && atTokenStart) {
      for (++i; i < text.size(); ++i) {
        if (c == '"' && text[i] == '\\') {
          ++i;
        } else if (text[i] == c) {
          if (c == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
            ++i;  // '' is an escaped quote
            continue;
          }
          break;
        }
      }
      prev = c;
      continue;
    }
    if ((c == '[' || c == '{') && (atTokenStart || depth > 0)) {
      if (++depth > limit) {
        return true;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
    prev = c;
  }
  return false;
}

// Tracks the depth and the field path while nlohmann parses, and stops it past the depth limit.
class JsonGuard {
 public:
  bool onEvent(nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (path_.size() >= kMaxNestingDepth) {
          throw InputLimitError(depthMessage());
        }
        path_.push_back(PathFrame{event == Event::array_start, "", 0});
        break;
      case Event::key:
        if (!path_.empty() && parsed.is_string()) {
          path_.back().key = parsed.get<std::string>();
        }
        break;
      case Event::object_end:
      case Event::array_end:
        if (!path_.empty()) {
          path_.pop_back();
        }
        advance();
        break;
      case Event::value:
        advance();
        break;
    }
    return true;
  }

  const std::vector<PathFrame>& path() const { return path_; }

 private:
  void advance() {
    if (!path_.empty() && path_.back().isArray) {
      ++path_.back().index;
    }
  }

  std::vector<PathFrame> path_;
};

// Bytes of a key that, even with every byte escaped (`\xNN`, or `\uNNNN` per code point) and
// quoted, stay within YAML's 1024-character limit of implicit keys.
constexpr size_t kMaxPlainKeyBytes = 150;

// Strings with flow indicators are written quoted: the reader's flow-nesting pre-scan skips
// quoted scalars, so a long run of brackets in a name reads back however it is placed. So are
// strings with control characters or line breaks: a plain or block scalar would fold or trim them
// (a trailing `\r` read back as nothing), a double-quoted one escapes them.
bool needsQuotes(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '[' || c == ']' || c == '{' || c == '}' || u < 0x20 || u == 0x7f) {
      return true;
    }
  }
  return false;
}

template <typename Json>
void emit(YAML::Emitter& out, const Json& value) {
  if (value.is_object()) {
    if (value.empty()) {
      out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
      return;
    }
    out << YAML::BeginMap;
    for (auto it = value.begin(); it != value.end(); ++it) {
      // An implicit key is at most 1024 characters as written (escapes included): longer ones
      // become explicit (`? key`), or the YAML would not read back.
      if (it.key().size() > kMaxPlainKeyBytes) {
        out << YAML::LongKey;
      }
      out << YAML::Key;
      if (needsQuotes(it.key())) {
        out << YAML::DoubleQuoted;
      }
      out << it.key() << YAML::Value;
      emit(out, it.value());
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    if (value.empty()) {
      out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
      return;
    }
    out << YAML::BeginSeq;
    for (const auto& item : value) {
      emit(out, item);
    }
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    const std::string& s = value.template get_ref<const std::string&>();
    // Quote strings that would otherwise read back as another type.
    const nlohmann::json reread = plainScalar(s);
    if (!reread.is_string() || s.empty() || needsQuotes(s)) {
      out << YAML::DoubleQuoted << s;
    } else {
      out << s;
    }
  } else if (value.is_null()) {
    out << YAML::Null;
  } else {
    out << value.dump();
  }
}

}  // namespace

absl::StatusOr<nlohmann::json> parseYaml(std::string_view text) {
  if (flowNestingExceeds(text, kMaxNestingDepth)) {
    return absl::InvalidArgumentError(absl::StrCat("yaml: ", depthMessage()));
  }
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    JsonBuilder builder;
    if (!parser.HandleNextDocument(builder)) {
      return nlohmann::json(nullptr);
    }
    return builder.takeRoot();
  } catch (const InputLimitError& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("yaml: ", sanitizeUtf8(e.what())));
  }
}

absl::StatusOr<nlohmann::json> parseJson(std::string_view text) {
  JsonGuard guard;
  const nlohmann::json::parser_callback_t callback =
      [&guard](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        return guard.onEvent(event, parsed);
      };
  try {
    return nlohmann::json::parse(text, callback);
  } catch (const InputLimitError& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const nlohmann::json::exception& e) {
    const std::string what = sanitizeUtf8(e.what());
    if (absl::StrContains(what, "UTF-8")) {
      return absl::InvalidArgumentError(utf8Message(guard.path()));
    }
    return absl::InvalidArgumentError(what);
  }
}

absl::StatusOr<nlohmann::json> parseJsonOrYaml(std::string_view text) {
  const absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(av(text));
  if (!trimmed.empty() && (trimmed[0] == '{' || trimmed[0] == '[')) {
    return parseJson(text);
  }
  return parseYaml(text);
}

BodyFormat bodyFormatFor(std::string_view contentType) {
  absl::string_view type = av(contentType);
  type = type.substr(0, type.find(';'));
  const std::string mime = absl::AsciiStrToLower(absl::StripAsciiWhitespace(type));
  if (mime == "application/json" ||
      (absl::StartsWith(mime, "application/") && absl::EndsWith(mime, "+json"))) {
    return BodyFormat::Json;
  }
  if (mime == "application/yaml" || mime == "application/x-yaml" || mime == "text/yaml" ||
      mime == "text/x-yaml") {
    return BodyFormat::Yaml;
  }
  return BodyFormat::Unsupported;
}

bool isValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8SequenceAt(s, i);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string toYaml(const nlohmann::json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

std::string toYaml(const nlohmann::ordered_json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

const nlohmann::json& jsonMember(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json kNull;
  if (!object.is_object()) {
    return kNull;
  }
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string jsonString(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json& value = jsonMember(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

}  // namespace kuma::common
