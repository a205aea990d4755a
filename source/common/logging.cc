#include "source/common/logging.h"

#include "spdlog/sinks/stdout_color_sinks.h"

namespace kuma::logging {

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  if (auto existing = spdlog::get(component)) {
    return existing;
  }
  auto created = spdlog::stderr_color_mt(component);
  created->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ\t%l\t%n\t%v", spdlog::pattern_time_type::utc);
  created->set_level(spdlog::get_level());
  return created;
}

absl::Status setGlobalLevel(std::string_view kumaLevel) {
  spdlog::level::level_enum level;
  if (kumaLevel == "off") {
    level = spdlog::level::err;
  } else if (kumaLevel == "info") {
    level = spdlog::level::info;
  } else if (kumaLevel == "debug") {
    level = spdlog::level::debug;
  } else {
    return absl::InvalidArgumentError("unknown log level \"" + std::string(kumaLevel) +
                                      "\" (allowed: off, info, debug)");
  }
  spdlog::set_level(level);
  spdlog::apply_all([level](const std::shared_ptr<spdlog::logger>& l) { l->set_level(level); });
  return absl::OkStatus();
}

}  // namespace kuma::logging
