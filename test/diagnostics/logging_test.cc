// Per-component log levels (source/common/logging): validation, most specific override wins,
// "off" keeps errors, the 200-override cap.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/logging.h"

namespace kuma::logging {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clearComponentLevels();
    ASSERT_TRUE(setGlobalLevel("info").ok());
  }
  void TearDown() override {
    clearComponentLevels();
    ASSERT_TRUE(setGlobalLevel("info").ok());
  }
};

TEST_F(LoggingTest, ParsesKumaLevelNamesOnly) {
  EXPECT_EQ(*parseLevel("off"), Level::kOff);
  EXPECT_EQ(*parseLevel("info"), Level::kInfo);
  EXPECT_EQ(*parseLevel("debug"), Level::kDebug);
  for (const char* bad : {"DEBUG", "Info", "warn", "error", "", "trace"}) {
    auto parsed = parseLevel(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().message(), "unknown log level \"" + std::string(bad) + "\"");
  }
  EXPECT_EQ(levelName(Level::kOff), "off");
  EXPECT_EQ(levelName(Level::kDebug), "debug");
  EXPECT_FALSE(setGlobalLevel("verbose").ok());
}

TEST_F(LoggingTest, ValidatesComponentNames) {
  for (const std::string& good : std::vector<std::string>{
           "a", "xds-server", "xds-server.reconciler", "A_b-9.c", "0abc", std::string(256, 'x')}) {
    EXPECT_TRUE(validateComponentName(good).ok()) << good;
  }
  EXPECT_EQ(validateComponentName("").message(), "component name must not be empty");
  EXPECT_EQ(validateComponentName(std::string(257, 'x')).message(),
            "component name exceeds 256 characters");
  for (const std::string& bad :
       std::vector<std::string>{"-abc", ".abc", "_a", "a b", "a/b", "a:b", "é"}) {
    const absl::Status s = validateComponentName(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.message(), "component name \"" + bad + "\" contains invalid characters");
  }
  EXPECT_FALSE(setComponentLevel("a b", Level::kDebug).ok());
  EXPECT_FALSE(removeComponentLevel("").ok());
  EXPECT_THAT(componentLevels(), IsEmpty());
}

TEST_F(LoggingTest, MostSpecificOverrideWinsForExistingAndNewLoggers) {
  auto parent = logger("lt-xds");
  auto child = logger("lt-xds.reconciler");
  auto other = logger("lt-xdsother");  // shares a prefix but is no descendant
  EXPECT_EQ(child->level(), spdlog::level::info);

  ASSERT_TRUE(setComponentLevel("lt-xds", Level::kDebug).ok());
  EXPECT_EQ(parent->level(), spdlog::level::debug);
  EXPECT_EQ(child->level(), spdlog::level::debug);
  EXPECT_EQ(other->level(), spdlog::level::info);
  EXPECT_EQ(logger("lt-xds.new.deep")->level(), spdlog::level::debug);

  ASSERT_TRUE(setComponentLevel("lt-xds.reconciler", Level::kOff).ok());
  EXPECT_EQ(child->level(), spdlog::level::err);
  EXPECT_EQ(parent->level(), spdlog::level::debug);
  // "off" still writes errors.
  EXPECT_TRUE(child->should_log(spdlog::level::err));
  EXPECT_FALSE(child->should_log(spdlog::level::info));

  ASSERT_TRUE(removeComponentLevel("lt-xds").ok());
  EXPECT_EQ(parent->level(), spdlog::level::info);
  EXPECT_EQ(child->level(), spdlog::level::err);
  EXPECT_TRUE(removeComponentLevel("lt-never-set").ok());
  EXPECT_THAT(componentLevels(), ElementsAre(Pair("lt-xds.reconciler", "off")));
}

TEST_F(LoggingTest, OverridesSurviveGlobalLevelChanges) {
  auto quiet = logger("lt-quiet");
  auto loud = logger("lt-loud");
  ASSERT_TRUE(setComponentLevel("lt-quiet", Level::kOff).ok());
  ASSERT_TRUE(setGlobalLevel("debug").ok());
  EXPECT_EQ(quiet->level(), spdlog::level::err);
  EXPECT_EQ(loud->level(), spdlog::level::debug);
  EXPECT_EQ(effectiveLevel("lt-quiet.sub"), spdlog::level::err);
  EXPECT_EQ(effectiveLevel("lt-unknown"), spdlog::level::debug);
  ASSERT_TRUE(setGlobalLevel("off").ok());
  EXPECT_EQ(loud->level(), spdlog::level::err);
}

TEST_F(LoggingTest, CapsNewOverridesAt200) {
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(setComponentLevel("lt-c" + std::to_string(i), Level::kDebug).ok()) << i;
  }
  const absl::Status full = setComponentLevel("lt-one-more", Level::kDebug);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(), "maximum number of component overrides (200) reached");
  // Changing an existing override is always allowed.
  EXPECT_TRUE(setComponentLevel("lt-c7", Level::kOff).ok());
  auto removed = clearComponentLevels();
  EXPECT_EQ(removed.size(), 200u);
  EXPECT_EQ(removed["lt-c7"], "off");
  EXPECT_EQ(removed["lt-c8"], "debug");
  EXPECT_THAT(componentLevels(), IsEmpty());
  EXPECT_THAT(clearComponentLevels(), IsEmpty());
  EXPECT_TRUE(setComponentLevel("lt-one-more", Level::kDebug).ok());
}

}  // namespace
}  // namespace kuma::logging
