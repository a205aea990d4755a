// The Lease elector against a real kube-apiserver: one leader among candidates, hand-over on
// stop, a crashed leader replaced only after the lease, a foreign holder (Kuma 2.14) respected,
// a leader whose Lease was taken stepping down, and client-go's record and Events.

#include "source/plugins/runtime/kubernetes/lease_elector.h"

#include <atomic>
#include <memory>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test/plugins/resources/kubernetes/kube_test_env.h"

namespace kuma::k8s::runtime {
namespace {

using Json = nlohmann::json;

constexpr char kNamespace[] = "default";

std::string leasePath(const std::string& name) {
  return absl::StrCat("/apis/coordination.k8s.io/v1/namespaces/", kNamespace, "/leases/", name);
}

/** A candidate with short timings, counting its elections and losses. */
struct Candidate {
  Candidate(const std::string& lease, const std::string& id, bool releaseOnStop = true) {
    LeaseElectorOptions options;
    options.client = testing::newClient();
    options.ns = kNamespace;
    options.name = lease;
    options.identity = id;
    options.leaseDuration = absl::Seconds(3);
    options.renewDeadline = absl::Seconds(2);
    options.retryPeriod = absl::Milliseconds(200);
    options.releaseOnStop = releaseOnStop;
    elector = std::make_unique<LeaseElector>(
        options, [this] { elected++; }, [this] { lost++; });
  }
  std::atomic<int> elected{0};
  std::atomic<int> lost{0};
  std::unique_ptr<LeaseElector> elector;
};

bool waitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return condition();
}

absl::StatusOr<Json> getLease(const std::string& name) {
  auto answer = testing::newClient()->request("GET", leasePath(name));
  if (!answer.ok()) {
    return answer.status();
  }
  if (answer->status != 200) {
    return absl::NotFoundError(absl::StrCat("HTTP ", answer->status, " ", answer->body));
  }
  return Json::parse(answer->body);
}

TEST(LeaseElectorTest, OneLeaderAndAQuickHandOverOnStop) {
  Candidate a("handover", "a_1");
  Candidate b("handover", "b_2");
  a.elector->start();
  ASSERT_TRUE(waitFor([&] { return a.elector->isLeader(); }, absl::Seconds(10)));
  b.elector->start();
  absl::SleepFor(absl::Seconds(1));
  EXPECT_FALSE(b.elector->isLeader()) << "two leaders";

  // The Lease carries client-go's record.
  auto lease = getLease("handover");
  ASSERT_TRUE(lease.ok()) << lease.status();
  const Json& spec = (*lease)["spec"];
  EXPECT_EQ(spec["holderIdentity"], "a_1");
  EXPECT_EQ(spec["leaseDurationSeconds"], 3);
  EXPECT_EQ(spec["leaseTransitions"], 0);
  EXPECT_EQ(spec["renewTime"].get<std::string>().size(),
            std::string("2026-01-01T00:00:00.000000Z").size());
  const std::string acquired = spec["acquireTime"];
  // Renewals move renewTime, keep acquireTime.
  absl::SleepFor(absl::Milliseconds(600));
  auto renewed = getLease("handover");
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ((*renewed)["spec"]["acquireTime"], acquired);
  EXPECT_NE((*renewed)["spec"]["renewTime"], spec["renewTime"]);

  // stop() releases: b leads well before a lease (3 s) would have expired.
  const absl::Time stopped = absl::Now();
  a.elector->stop();
  EXPECT_EQ(a.lost.load(), 1);
  EXPECT_FALSE(a.elector->isLeader());
  ASSERT_TRUE(waitFor([&] { return b.elector->isLeader(); }, absl::Seconds(10)));
  EXPECT_LT(absl::Now() - stopped, absl::Milliseconds(1500));
  auto taken = getLease("handover");
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ((*taken)["spec"]["holderIdentity"], "b_2");
  EXPECT_EQ((*taken)["spec"]["leaseTransitions"], 1);
  b.elector->stop();
  EXPECT_EQ(b.elected.load(), 1);
  EXPECT_EQ(b.lost.load(), 1);

  // client-go's Events regarding the Lease.
  auto events = testing::newClient()->request(
      "GET", absl::StrCat("/api/v1/namespaces/", kNamespace, "/events"));
  ASSERT_TRUE(events.ok());
  std::set<std::string> messages;
  const Json list = Json::parse(events->body);
  for (const Json& event : list["items"]) {
    if (event["involvedObject"]["name"] == "handover" && event["reason"] == "LeaderElection") {
      EXPECT_EQ(event["involvedObject"]["kind"], "Lease");
      EXPECT_EQ(event["involvedObject"]["uid"], (*lease)["metadata"]["uid"]);
      EXPECT_FALSE(event["involvedObject"].value("resourceVersion", "").empty());
      EXPECT_EQ(event["source"]["component"], event["reportingComponent"]);
      messages.insert(event["message"].get<std::string>());
    }
  }
  EXPECT_TRUE(messages.contains("a_1 became leader"));
  EXPECT_TRUE(messages.contains("a_1 stopped leading"));
  EXPECT_TRUE(messages.contains("b_2 became leader"));
}

TEST(LeaseElectorTest, ACrashedLeaderIsReplacedOnlyAfterTheLease) {
  Candidate a("crash", "a_1", /*releaseOnStop=*/false);
  a.elector->start();
  ASSERT_TRUE(waitFor([&] { return a.elector->isLeader(); }, absl::Seconds(10)));
  a.elector->stop();  // no release: as if the process died
  const absl::Time crashed = absl::Now();
  Candidate b("crash", "b_2");
  b.elector->start();
  ASSERT_TRUE(waitFor([&] { return b.elector->isLeader(); }, absl::Seconds(15)));
  // b first sees the record at its start and must watch it unchanged for a whole lease.
  EXPECT_GE(absl::Now() - crashed, absl::Seconds(3));
  b.elector->stop();
}

TEST(LeaseElectorTest, AForeignHolderThatRenewsKeepsTheLease) {
  // Kuma 2.14 (client-go) holding the Lease: its renewals keep a kuma-cpp candidate out.
  auto client = testing::newClient();
  auto now = [] {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
  };
  Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "foreign"}, {"namespace", kNamespace}}},
                {"spec",
                 {{"holderIdentity", "kuma-control-plane-7d9f_0c1a"},
                  {"leaseDurationSeconds", 15},
                  {"acquireTime", now()},
                  {"renewTime", now()},
                  {"leaseTransitions", 4}}}};
  auto created = client->request(
      "POST", absl::StrCat("/apis/coordination.k8s.io/v1/namespaces/", kNamespace, "/leases"),
      lease.dump());
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->status, 201) << created->body;
  Candidate b("foreign", "b_2");
  b.elector->start();
  for (int i = 0; i < 20; i++) {  // 4 s, more than b's lease of 3 s: renewals keep b out
    absl::SleepFor(absl::Milliseconds(200));
    auto got = getLease("foreign");
    ASSERT_TRUE(got.ok());
    (*got)["spec"]["renewTime"] = now();
    auto put = client->request("PUT", leasePath("foreign"), got->dump());
    ASSERT_TRUE(put.ok());
    ASSERT_EQ(put->status, 200) << put->body;
    ASSERT_FALSE(b.elector->isLeader()) << "took a Lease its holder renews";
  }
  // The holder goes silent: b takes over after its own lease duration, one more transition.
  ASSERT_TRUE(waitFor([&] { return b.elector->isLeader(); }, absl::Seconds(10)));
  auto taken = getLease("foreign");
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ((*taken)["spec"]["holderIdentity"], "b_2");
  EXPECT_EQ((*taken)["spec"]["leaseTransitions"], 5);
  EXPECT_EQ((*taken)["spec"]["leaseDurationSeconds"], 3);
  b.elector->stop();
  // Released as client-go releases: no holder, valid for one second.
  auto released = getLease("foreign");
  ASSERT_TRUE(released.ok());
  EXPECT_EQ((*released)["spec"].value("holderIdentity", "(none)"), "");
  EXPECT_EQ((*released)["spec"]["leaseDurationSeconds"], 1);
  EXPECT_EQ((*released)["spec"]["leaseTransitions"], 5);
}

TEST(LeaseElectorTest, ALeaderWhoseLeaseWasTakenStepsDown) {
  Candidate a("stolen", "a_1");
  a.elector->start();
  ASSERT_TRUE(waitFor([&] { return a.elector->isLeader(); }, absl::Seconds(10)));
  // Someone else writes itself in (as a peer would after a partition) and keeps renewing: a
  // cannot renew.
  std::atomic<bool> thiefDone{false};
  std::atomic<bool> thiefWrote{false};
  std::thread thief([&] {
    auto client = testing::newClient();
    while (!thiefDone.load()) {
      auto got = getLease("stolen");
      if (got.ok()) {
        (*got)["spec"]["holderIdentity"] = "thief_3";
        (*got)["spec"]["renewTime"] =
            absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
        auto put = client->request("PUT", leasePath("stolen"), got->dump());
        if (put.ok() && put->status == 200) {
          thiefWrote = true;
        }
      }
      absl::SleepFor(absl::Milliseconds(150));
    }
  });
  ASSERT_TRUE(waitFor([&] { return thiefWrote.load(); }, absl::Seconds(5)));
  const absl::Time stolen = absl::Now();
  ASSERT_TRUE(waitFor([&] { return !a.elector->isLeader(); }, absl::Seconds(5)));
  // Within renewDeadline (2 s) plus a retry or two, and before the thief's lease (3 s) could
  // have been taken from it.
  EXPECT_LT(absl::Now() - stolen, absl::Seconds(4));
  EXPECT_EQ(a.lost.load(), 1);
  absl::SleepFor(absl::Seconds(4));  // the thief renews: a stays a candidate
  EXPECT_FALSE(a.elector->isLeader());
  a.elector->stop();
  thiefDone = true;
  thief.join();
  EXPECT_EQ(a.lost.load(), 1) << "onLost ran twice";
  EXPECT_EQ(a.elected.load(), 1);
}

}  // namespace
}  // namespace kuma::k8s::runtime
