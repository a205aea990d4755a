#pragma once

// File: function_component.h
// A Component made of two functions, for glue that has no class of its own (e.g. shutting the
// ADS streams down before the DP server's gRPC server stops).

#include <functional>
#include <string>

#include "kuma/runtime/component.h"

namespace kuma::runtime {

class FunctionComponent : public Component {
 public:
  FunctionComponent(std::string name, std::function<absl::Status()> start,
                    std::function<void()> stop)
      : name_(std::move(name)), start_(std::move(start)), stop_(std::move(stop)) {}

  std::string name() const override { return name_; }
  absl::Status start() override { return start_ ? start_() : absl::OkStatus(); }
  void stop() override {
    if (stop_) {
      stop_();
    }
  }

 private:
  const std::string name_;
  const std::function<absl::Status()> start_;
  const std::function<void()> stop_;
};

}  // namespace kuma::runtime
