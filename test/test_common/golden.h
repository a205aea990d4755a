#pragma once

// File: golden.h
// Golden-file comparison for tests: the expected text lives in the source tree; a run with
// KUMA_UPDATE_GOLDEN=1 (re)writes it from the actual output first.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace kuma::test {

/** `relative` under the source tree: $KUMA_SOURCE_DIR, else the working directory. */
inline std::filesystem::path sourcePath(std::string_view relative) {
  const char* root = std::getenv("KUMA_SOURCE_DIR");
  return std::filesystem::path(root != nullptr ? root : ".") / relative;
}

/** `actual` equals the file at `path` (KUMA_UPDATE_GOLDEN=1 writes it first). */
inline void expectGoldenText(const std::filesystem::path& path, const std::string& actual) {
  const char* update = std::getenv("KUMA_UPDATE_GOLDEN");
  if (update != nullptr && std::string_view(update) == "1") {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << actual;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing golden file " << path << " (run with KUMA_UPDATE_GOLDEN=1)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(expected.str(), actual)
      << "golden " << path << " differs (KUMA_UPDATE_GOLDEN=1 regenerates it)";
}

}  // namespace kuma::test
