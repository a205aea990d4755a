#include "test/core/metrics/metrics_text.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace kuma::metrics::testing {
namespace {

bool validName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<double> parseNumber(const std::string& s) {
  if (s == "+Inf") {
    return INFINITY;
  }
  if (s == "-Inf") {
    return -INFINITY;
  }
  if (s == "NaN") {
    return NAN;
  }
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) {
    return absl::InvalidArgumentError(absl::StrCat("bad number \"", s, "\""));
  }
  return v;
}

absl::StatusOr<Sample> parseSample(const std::string& line) {
  Sample sample;
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') {
    ++i;
  }
  sample.name = line.substr(0, i);
  if (!validName(sample.name)) {
    return absl::InvalidArgumentError(absl::StrCat("bad metric name in \"", line, "\""));
  }
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const size_t eq = line.find('=', i);
      if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
        return absl::InvalidArgumentError(absl::StrCat("bad label in \"", line, "\""));
      }
      const std::string key = line.substr(i, eq - i);
      if (!validName(key)) {
        return absl::InvalidArgumentError(absl::StrCat("bad label name in \"", line, "\""));
      }
      std::string value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\') {
          if (++j >= line.size()) {
            break;
          }
          value += line[j] == 'n' ? '\n' : line[j];
        } else {
          value += line[j];
        }
      }
      if (j >= line.size()) {
        return absl::InvalidArgumentError(absl::StrCat("unterminated label in \"", line, "\""));
      }
      if (!sample.labels.emplace(key, value).second) {
        return absl::InvalidArgumentError(absl::StrCat("duplicate label in \"", line, "\""));
      }
      i = j + 1;
      if (i < line.size() && line[i] == ',') {
        ++i;
      }
    }
    if (i >= line.size()) {
      return absl::InvalidArgumentError(absl::StrCat("unterminated labels in \"", line, "\""));
    }
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') {
    return absl::InvalidArgumentError(absl::StrCat("no value in \"", line, "\""));
  }
  std::string rest = line.substr(i + 1);
  const size_t space = rest.find(' ');  // optional timestamp
  auto value = parseNumber(rest.substr(0, space));
  if (!value.ok()) {
    return value.status();
  }
  sample.value = *value;
  return sample;
}

}  // namespace

std::vector<Sample> Exposition::find(const std::string& name,
                                     const std::map<std::string, std::string>& labels) const {
  std::vector<Sample> out;
  for (const Sample& s : samples) {
    if (s.name != name) {
      continue;
    }
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    if (match) {
      out.push_back(s);
    }
  }
  return out;
}

std::optional<double> Exposition::value(const std::string& name,
                                        const std::map<std::string, std::string>& labels) const {
  auto found = find(name, labels);
  if (found.size() != 1) {
    return std::nullopt;
  }
  return found[0].value;
}

absl::StatusOr<Exposition> parseExposition(const std::string& text) {
  Exposition out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                   "untyped"};
      if (!validName(name) || kTypes.count(type) == 0) {
        return absl::InvalidArgumentError(absl::StrCat("bad TYPE line \"", line, "\""));
      }
      if (!out.types.emplace(name, type).second) {
        return absl::InvalidArgumentError(absl::StrCat("family declared twice: ", name));
      }
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("#", 0) == 0) {
      continue;
    }
    auto sample = parseSample(line);
    if (!sample.ok()) {
      return sample.status();
    }
    out.samples.push_back(std::move(*sample));
  }
  return out;
}

}  // namespace kuma::metrics::testing
