#pragma once

// File: logging.h
// spdlog behind one function per component: `auto log = kuma::logging::logger("api-server");`.
// Kuma's levels are off | info | debug (`kuma-cp run --log-level`); "off" keeps errors.
//
// On top of the global level, per-component overrides can be changed at runtime (the
// diagnostics server's `/logging` API, spec §13.4). A component is a dot-joined logger name
// ("xds-server.reconciler"); an override applies to that logger and every descendant, and the
// most specific override wins:
//
//   kuma::logging::setComponentLevel("xds-server", kuma::logging::Level::kDebug);
//   // "xds-server" and "xds-server.reconciler" now log debug lines; "api-server" does not.

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spdlog/spdlog.h"

namespace kuma::logging {

/** Kuma's level names. `kOff` still writes errors (Kuma never silences them). */
enum class Level { kOff, kInfo, kDebug };

/** At most this many component overrides exist at once (bounds memory; Kuma's limit). */
inline constexpr size_t kMaxComponentOverrides = 200;
/** Longest accepted component name. */
inline constexpr size_t kMaxComponentNameLength = 256;

/** The logger of a component (dot-joined name, e.g. "xds-server.diagnostics"); created once. */
std::shared_ptr<spdlog::logger> logger(const std::string& component);

/** Sets the global level from Kuma's level name. InvalidArgument for unknown names. Component
 * overrides keep precedence over it. */
absl::Status setGlobalLevel(std::string_view kumaLevel);

/** "off" | "info" | "debug" (case-sensitive) → Level; else InvalidArgument
 * `unknown log level "<name>"`. */
absl::StatusOr<Level> parseLevel(std::string_view name);
/** The Kuma name of a level ("off", "info", "debug"). */
std::string levelName(Level level);

/**
 * Checks a component name the way the `/logging` API does. InvalidArgument with the exact API
 * message: `component name must not be empty`, `component name exceeds 256 characters` or
 * `component name "<name>" contains invalid characters` (allowed: `^[a-zA-Z0-9][a-zA-Z0-9._-]*$`).
 */
absl::Status validateComponentName(std::string_view component);

/**
 * Overrides the level of `component` and its descendants, applied at once to existing loggers.
 * @return InvalidArgument for a bad name (validateComponentName); ResourceExhausted
 *   `maximum number of component overrides (200) reached` for a new component once 200 exist
 *   (changing an existing override is always allowed).
 */
absl::Status setComponentLevel(std::string_view component, Level level);

/** Drops the override of `component` (no-op when there is none). InvalidArgument for a bad name.
 */
absl::Status removeComponentLevel(std::string_view component);

/** The current overrides: component → level name. */
std::map<std::string, std::string> componentLevels();

/** Drops every override. @return the overrides that were removed (component → level name). */
std::map<std::string, std::string> clearComponentLevels();

/** The spdlog level a logger named `component` gets now (most specific override, else global). */
spdlog::level::level_enum effectiveLevel(std::string_view component);

}  // namespace kuma::logging
