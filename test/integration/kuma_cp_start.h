#pragma once

// File: kuma_cp_start.h
// Starting a kuma-cp with extra environment inside a GoogleTest test: a failed start is a test
// failure and gives nullptr.

#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "test/test_common/process.h"

namespace kuma::test {

inline std::unique_ptr<KumaCp> startCp(std::map<std::string, std::string> env) {
  KumaCp::Options options;
  options.env = std::move(env);
  auto cp = KumaCp::start(std::move(options));
  EXPECT_TRUE(cp.ok()) << cp.status();
  return cp.ok() ? std::move(*cp) : nullptr;
}

}  // namespace kuma::test
