#include "source/dp/concurrency.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuma::dp {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Source = ConcurrencyDecision::Source;

class ConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dp-cgroup-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& rel, const std::string& content) {
    fs::create_directories((fs::path(root_) / rel).parent_path());
    std::ofstream(fs::path(root_) / rel) << content;
  }
  absl::StatusOr<ConcurrencyDecision> decide(uint32_t explicitValue = 0, bool k8s = false) {
    return decideConcurrency({explicitValue, root_, k8s});
  }

  std::string root_;
};

TEST_F(ConcurrencyTest, NoCgroupFilesMeansCpusetThreads) {
  auto d = decide();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->source, Source::CpusetThreads);
  EXPECT_THAT(d->envoyArgs(), ElementsAre("--cpuset-threads"));
}

TEST_F(ConcurrencyTest, CgroupV2Limit) {
  write("cpu.max", "700000 100000\n");
  auto d = decide();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->source, Source::CpuLimit);
  EXPECT_EQ(d->workers, 7u);
  EXPECT_THAT(d->envoyArgs(), ElementsAre("--concurrency", "7"));
  EXPECT_THAT(d->reason, HasSubstr("7000m"));
}

TEST_F(ConcurrencyTest, CgroupV2Unlimited) {
  write("cpu.max", "max 100000\n");
  auto d = decide();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->source, Source::CpusetThreads);
}

TEST_F(ConcurrencyTest, FractionalLimitsRoundUpWithMinimumOne) {
  write("cpu.max", "150000 100000");
  EXPECT_EQ(decide()->workers, 2u);  // 1500m
  write("cpu.max", "25000 100000");
  EXPECT_EQ(decide()->workers, 1u);  // 250m
  write("cpu.max", "200000 100000");
  EXPECT_EQ(decide()->workers, 2u);  // exactly 2000m stays 2
}

TEST_F(ConcurrencyTest, CgroupV1Limit) {
  write("cpu/cpu.cfs_quota_us", "350000\n");
  write("cpu/cpu.cfs_period_us", "100000\n");
  auto d = decide();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->source, Source::CpuLimit);
  EXPECT_EQ(d->workers, 4u);
}

TEST_F(ConcurrencyTest, CgroupV1Unlimited) {
  write("cpu/cpu.cfs_quota_us", "-1\n");
  write("cpu/cpu.cfs_period_us", "100000\n");
  auto d = decide();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->source, Source::CpusetThreads);
}

TEST_F(ConcurrencyTest, KubernetesClampsToTwoTen) {
  write("cpu.max", "50000 100000");
  EXPECT_EQ(decide(0, true)->workers, 2u);
  EXPECT_EQ(decide(0, false)->workers, 1u);
  write("cpu.max", "1600000 100000");
  EXPECT_EQ(decide(0, true)->workers, 10u);
  EXPECT_EQ(decide(0, false)->workers, 16u);
  write("cpu.max", "max 100000");
  EXPECT_EQ(decide(0, true)->source, Source::CpusetThreads);
}

TEST_F(ConcurrencyTest, ExplicitValueWinsWithoutClamp) {
  write("cpu.max", "200000 100000");
  auto d = decide(24, true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->source, Source::Explicit);
  EXPECT_EQ(d->workers, 24u);
  EXPECT_THAT(d->envoyArgs(), ElementsAre("--concurrency", "24"));
  write("cpu.max", "garbage");
  EXPECT_TRUE(decide(1).ok()) << "an explicit value does not read the cgroup";
}

TEST_F(ConcurrencyTest, MalformedFilesAreErrorsNamingTheFile) {
  for (const char* content : {"garbage", "", "100000 0", "-5 100000", "1 2 3", "max x"}) {
    write("cpu.max", content);
    auto d = decide();
    if (std::string(content) == "max x") {
      EXPECT_TRUE(d.ok()) << "\"max\" needs no period";
      continue;
    }
    ASSERT_FALSE(d.ok()) << "\"" << content << "\"";
    EXPECT_THAT(std::string(d.status().message()), HasSubstr("cpu.max"));
  }
  fs::remove(fs::path(root_) / "cpu.max");
  write("cpu/cpu.cfs_quota_us", "lots");
  EXPECT_FALSE(decide().ok());
  write("cpu/cpu.cfs_quota_us", "100000");
  fs::remove(fs::path(root_) / "cpu/cpu.cfs_period_us");
  auto noPeriod = decide();
  ASSERT_FALSE(noPeriod.ok());
  EXPECT_THAT(std::string(noPeriod.status().message()), HasSubstr("cpu.cfs_period_us"));
  write("cpu/cpu.cfs_period_us", "0");
  EXPECT_FALSE(decide().ok());
}

}  // namespace
}  // namespace kuma::dp
