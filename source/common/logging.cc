#include "source/common/logging.h"

#include <mutex>

#include "spdlog/sinks/stdout_color_sinks.h"

namespace kuma::logging {
namespace {

spdlog::level::level_enum toSpdlog(Level level) {
  switch (level) {
    case Level::kOff:
      return spdlog::level::err;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kDebug:
      return spdlog::level::debug;
  }
  return spdlog::level::info;
}

// The global level and the override table. Guarded by `mu`, which is also held while levels are
// pushed to the spdlog loggers so that a concurrent change cannot leave a logger with a stale
// level (lock order: this mutex, then spdlog's registry mutex).
struct State {
  std::mutex mu;
  spdlog::level::level_enum global = spdlog::level::info;
  std::map<std::string, Level, std::less<>> overrides;
};

State& state() {
  static State* s = new State();  // never destroyed: loggers may log during static destruction
  return *s;
}

// Requires state().mu.
spdlog::level::level_enum levelLocked(const State& s, std::string_view name) {
  // Walk from the full name up through its dotted ancestors; the first hit is the most specific.
  std::string_view candidate = name;
  while (true) {
    if (auto it = s.overrides.find(candidate); it != s.overrides.end()) {
      return toSpdlog(it->second);
    }
    const size_t dot = candidate.rfind('.');
    if (dot == std::string_view::npos) {
      return s.global;
    }
    candidate = candidate.substr(0, dot);
  }
}

// Requires state().mu.
void applyLocked(const State& s) {
  spdlog::apply_all(
      [&s](const std::shared_ptr<spdlog::logger>& l) { l->set_level(levelLocked(s, l->name())); });
}

bool validNameChar(char c, bool first) {
  const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  return alnum || (!first && (c == '.' || c == '_' || c == '-'));
}

std::map<std::string, std::string> namesLocked(const State& s) {
  std::map<std::string, std::string> out;
  for (const auto& [component, level] : s.overrides) {
    out.emplace(component, levelName(level));
  }
  return out;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  if (auto existing = spdlog::get(component)) {
    return existing;
  }
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (auto existing = spdlog::get(component)) {  // created by a concurrent caller
    return existing;
  }
  auto created = spdlog::stderr_color_mt(component);
  created->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ\t%l\t%n\t%v", spdlog::pattern_time_type::utc);
  created->set_level(levelLocked(s, component));
  return created;
}

absl::StatusOr<Level> parseLevel(std::string_view name) {
  if (name == "off") {
    return Level::kOff;
  }
  if (name == "info") {
    return Level::kInfo;
  }
  if (name == "debug") {
    return Level::kDebug;
  }
  return absl::InvalidArgumentError("unknown log level \"" + std::string(name) + "\"");
}

std::string levelName(Level level) {
  switch (level) {
    case Level::kOff:
      return "off";
    case Level::kInfo:
      return "info";
    case Level::kDebug:
      return "debug";
  }
  return "info";
}

absl::Status setGlobalLevel(std::string_view kumaLevel) {
  auto level = parseLevel(kumaLevel);
  if (!level.ok()) {
    return absl::InvalidArgumentError("unknown log level \"" + std::string(kumaLevel) +
                                      "\" (allowed: off, info, debug)");
  }
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.global = toSpdlog(*level);
  spdlog::set_level(s.global);
  applyLocked(s);
  return absl::OkStatus();
}

absl::Status validateComponentName(std::string_view component) {
  if (component.empty()) {
    return absl::InvalidArgumentError("component name must not be empty");
  }
  if (component.size() > kMaxComponentNameLength) {
    return absl::InvalidArgumentError("component name exceeds 256 characters");
  }
  for (size_t i = 0; i < component.size(); ++i) {
    if (!validNameChar(component[i], i == 0)) {
      return absl::InvalidArgumentError("component name \"" + std::string(component) +
                                        "\" contains invalid characters");
    }
  }
  return absl::OkStatus();
}

absl::Status setComponentLevel(std::string_view component, Level level) {
  if (absl::Status s = validateComponentName(component); !s.ok()) {
    return s;
  }
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.overrides.find(component);
  if (it == s.overrides.end()) {
    if (s.overrides.size() >= kMaxComponentOverrides) {
      return absl::ResourceExhaustedError("maximum number of component overrides (200) reached");
    }
    s.overrides.emplace(std::string(component), level);
  } else {
    it->second = level;
  }
  applyLocked(s);
  return absl::OkStatus();
}

absl::Status removeComponentLevel(std::string_view component) {
  if (absl::Status s = validateComponentName(component); !s.ok()) {
    return s;
  }
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (auto it = s.overrides.find(component); it != s.overrides.end()) {
    s.overrides.erase(it);
    applyLocked(s);
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> componentLevels() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  return namesLocked(s);
}

std::map<std::string, std::string> clearComponentLevels() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  std::map<std::string, std::string> removed = namesLocked(s);
  s.overrides.clear();
  applyLocked(s);
  return removed;
}

spdlog::level::level_enum effectiveLevel(std::string_view component) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  return levelLocked(s, component);
}

}  // namespace kuma::logging
