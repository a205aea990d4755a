#pragma once

// File: logging.h
// spdlog behind one function per component: `auto log = kuma::logging::logger("api-server");`.
// Kuma's global levels are off | info | debug (`kuma-cp run --log-level`); "off" keeps errors.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "spdlog/spdlog.h"

namespace kuma::logging {

/** The logger of a component (dot-joined name, e.g. "xds-server.diagnostics"); created once. */
std::shared_ptr<spdlog::logger> logger(const std::string& component);

/** Sets the level of every logger from Kuma's level name. InvalidArgument for unknown names. */
absl::Status setGlobalLevel(std::string_view kumaLevel);

}  // namespace kuma::logging
