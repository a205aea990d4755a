#include "source/server/leader_gate.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace kuma::server {
namespace {

// Records start/stop calls; fails its first `failures` starts.
class FakeComponent : public runtime::Component {
 public:
  FakeComponent(std::string name, std::vector<std::string>& log, std::mutex& mu, int failures = 0)
      : name_(std::move(name)), log_(log), mu_(mu), failures_(failures) {}
  std::string name() const override { return name_; }
  absl::Status start() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (failures_ > 0) {
      --failures_;
      log_.push_back("fail " + name_);
      return absl::UnavailableError("store unavailable");
    }
    log_.push_back("start " + name_);
    return absl::OkStatus();
  }
  void stop() override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back("stop " + name_);
  }

 private:
  const std::string name_;
  std::vector<std::string>& log_;
  std::mutex& mu_;
  int failures_;
};

bool waitFor(const std::function<bool()>& condition) {
  for (int i = 0; i < 300; ++i) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class LeaderGateTest : public ::testing::Test {
 protected:
  std::vector<std::string> log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  std::mutex mu_;
  std::vector<std::string> log_;
};

TEST_F(LeaderGateTest, RunsComponentsOnlyWhileLeader) {
  LeaderGate gate(absl::Milliseconds(50));
  gate.add(std::make_unique<FakeComponent>("defaults", log_, mu_));
  gate.add(std::make_unique<FakeComponent>("gc", log_, mu_));
  gate.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(log().empty()) << "nothing runs before the election";
  EXPECT_FALSE(gate.leader());

  gate.elected();
  EXPECT_TRUE(gate.leader());
  ASSERT_TRUE(waitFor([&] { return gate.running() == 2; }));
  gate.lost();
  ASSERT_TRUE(waitFor([&] { return gate.running() == 0; }));
  EXPECT_EQ(log(),
            (std::vector<std::string>{"start defaults", "start gc", "stop gc", "stop defaults"}));
  // Elected again: started again.
  gate.elected();
  ASSERT_TRUE(waitFor([&] { return gate.running() == 2; }));
  gate.stop();
  EXPECT_EQ(gate.running(), 0u);
  EXPECT_EQ(log().size(), 8u);
  EXPECT_EQ(log().back(), "stop defaults");
}

TEST_F(LeaderGateTest, RetriesAFailedStartWhileLeader) {
  LeaderGate gate(absl::Milliseconds(30));
  gate.add(std::make_unique<FakeComponent>("defaults", log_, mu_, /*failures=*/2));
  gate.start();
  gate.elected();
  ASSERT_TRUE(waitFor([&] { return gate.running() == 1; }));
  EXPECT_EQ(log(), (std::vector<std::string>{"fail defaults", "fail defaults", "start defaults"}));
  gate.stop();
  EXPECT_EQ(log().back(), "stop defaults");
}

TEST_F(LeaderGateTest, StopWithoutElectionOrStartIsHarmless) {
  {
    LeaderGate never;
    never.add(std::make_unique<FakeComponent>("defaults", log_, mu_));
  }
  LeaderGate gate;
  gate.add(std::make_unique<FakeComponent>("defaults", log_, mu_));
  gate.start();
  gate.stop();
  gate.stop();
  EXPECT_TRUE(log().empty());
}

}  // namespace
}  // namespace kuma::server
