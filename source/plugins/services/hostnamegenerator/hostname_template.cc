#include "source/plugins/services/hostnamegenerator/hostname_template.h"

#include <cctype>
#include <optional>

#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"
#include "source/common/go_quote.h"

namespace kuma::services::hostnamegenerator {
namespace {

using common::av;

constexpr std::string_view kStruct =
    "struct { Name string; DisplayName string; Namespace string; Mesh string; Zone string }";

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isSpace(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

size_t lineAt(std::string_view text, size_t pos) {
  size_t line = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i) {
    line += text[i] == '\n' ? 1 : 0;
  }
  return line;
}

absl::Status parseError(std::string_view text, size_t pos, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("couldn't parse template: template: :", lineAt(text, pos), ": ", av(what)));
}

bool isIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s.front())) != 0) {
    return false;
  }
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') {
      return false;
    }
  }
  return true;
}

// A Go string literal argument: "..." with simple escapes, or `...`.
std::optional<std::string> stringLiteral(std::string_view s) {
  if (s.size() >= 2 && s.front() == '`' && s.back() == '`') {
    std::string_view body = s.substr(1, s.size() - 2);
    if (body.find('`') != std::string_view::npos) {
      return std::nullopt;
    }
    return std::string(body);
  }
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') {
    return std::nullopt;
  }
  std::string out;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      return std::nullopt;
    }
    if (c == '\\') {
      if (i + 2 >= s.size()) {
        return std::nullopt;
      }
      char e = s[++i];
      switch (e) {
        case '\\':
        case '"':
          out += e;
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        default:
          return std::nullopt;
      }
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> renderHostnameTemplate(std::string_view text,
                                                   const TemplateValues& values) {
  if (text.size() > kMaxTemplateBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("couldn't parse template: longer than ", kMaxTemplateBytes, " bytes"));
  }
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    std::string_view literal =
        text.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos);
    size_t next = open;
    if (open == std::string_view::npos) {
      out.append(literal);
      break;
    }
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return parseError(text, open, "unclosed action");
    }
    std::string_view action = text.substr(open + 2, close - open - 2);
    bool trimLeft = false;
    bool trimRight = false;
    if (action.size() >= 2 && action[0] == '-' && isSpace(action[1])) {
      trimLeft = true;
      action.remove_prefix(2);
    }
    if (action.size() >= 2 && action.back() == '-' && isSpace(action[action.size() - 2])) {
      trimRight = true;
      action.remove_suffix(2);
    }
    if (trimLeft) {
      while (!literal.empty() && isSpace(literal.back())) {
        literal.remove_suffix(1);
      }
    }
    out.append(literal);
    next = close + 2;
    if (trimRight) {
      while (next < text.size() && isSpace(text[next])) {
        ++next;
      }
    }
    const std::string_view body = trim(action);
    if (body.size() >= 4 && body.substr(0, 2) == "/*" && body.substr(body.size() - 2) == "*/") {
      pos = next;  // a comment
      continue;
    }
    if (body.empty()) {
      return parseError(text, open, "missing value for command");
    }
    if (body.front() == '.') {
      const std::string_view name = body.substr(1);
      if (!isIdentifier(name)) {
        return parseError(text, open,
                          absl::StrCat("unexpected ", common::goQuote(body), " in command"));
      }
      auto it = values.fields.find(name);
      if (it == values.fields.end() && values.anyField) {
        pos = next;
        continue;
      }
      if (it == values.fields.end()) {
        const size_t at = static_cast<size_t>(body.data() - text.data());
        const size_t newline = text.rfind('\n', at);
        const size_t column = newline == std::string_view::npos ? at : at - newline - 1;
        return absl::InvalidArgumentError(
            absl::StrCat("couldn't render template with stub values: template: :", lineAt(text, at),
                         ":", column, ": executing \"\" at <", av(body), ">: can't evaluate field ",
                         av(name), " in type ", av(kStruct)));
      }
      out += it->second;
    } else {
      const size_t space = body.find_first_of(" \t");
      const std::string_view fn = body.substr(0, space);
      if (!isIdentifier(fn)) {
        return parseError(text, open,
                          absl::StrCat("unexpected ", common::goQuote(body), " in command"));
      }
      if (fn != "label") {
        return parseError(text, open,
                          absl::StrCat("function ", common::goQuote(fn), " not defined"));
      }
      const std::string_view arg =
          space == std::string_view::npos ? std::string_view() : trim(body.substr(space));
      std::optional<std::string> key = stringLiteral(arg);
      if (!key.has_value()) {
        return parseError(text, open, "label takes one string argument");
      }
      if (!values.label) {
        return absl::InvalidArgumentError("couldn't render template: no labels");
      }
      auto value = values.label(*key);
      if (!value.ok()) {
        // Go's ExecError: the command's position and text (`label "key"`, one space).
        const size_t at = static_cast<size_t>(body.data() - text.data());
        const size_t newline = text.rfind('\n', at);
        const size_t column = newline == std::string_view::npos ? at : at - newline - 1;
        return absl::InvalidArgumentError(
            absl::StrCat("couldn't render template: template: :", lineAt(text, at), ":", column,
                         ": executing \"\" at <", av(fn), " ", av(arg),
                         ">: error calling label: ", value.status().message()));
      }
      out += *value;
    }
    pos = next;
  }
  return out;
}

}  // namespace kuma::services::hostnamegenerator
