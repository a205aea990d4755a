#include "source/core/runtime/component_manager.h"

#include "source/common/logging.h"

namespace kuma::runtime {

void ComponentManager::add(ComponentPtr component) {
  components_.push_back(std::move(component));
}

absl::Status ComponentManager::start() {
  auto log = logging::logger("runtime");
  for (; started_ < components_.size(); ++started_) {
    Component& c = *components_[started_];
    if (absl::Status s = c.start(); !s.ok()) {
      log->error("component {} failed to start: {}", c.name(), std::string(s.message()));
      stop();
      return s;
    }
    log->info("component {} started", c.name());
  }
  running_ = true;
  return absl::OkStatus();
}

void ComponentManager::stop() {
  running_ = false;
  auto log = logging::logger("runtime");
  while (started_ > 0) {
    Component& c = *components_[--started_];
    c.stop();
    log->info("component {} stopped", c.name());
  }
}

bool ComponentManager::ready() const {
  if (!running_) {
    return false;
  }
  for (const auto& c : components_) {
    if (c->reportsReadiness() && !c->ready()) {
      return false;
    }
  }
  return true;
}

}  // namespace kuma::runtime
