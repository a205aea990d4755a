// Kubernetes mode, leader election (docs/kubernetes.md): two kuma-cp instances on one real
// kube-apiserver compete for the Lease kuma-system/cp-leader-lease as Kuma 2.14's do. One leads
// and runs the controllers; the other serves but does not reconcile. When the leader stops, the
// other takes the Lease over and with it the pod controller.
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/integration/kube_crds.h"
#include "test/test_common/kube_apiserver.h"

namespace kuma::test {
namespace {

using Json = nlohmann::json;

constexpr char kLeasePath[] =
    "/apis/coordination.k8s.io/v1/namespaces/kuma-system/leases/cp-leader-lease";

std::string metrics(const KumaCp& cp) {
  httplib::Client diagnostics("127.0.0.1", cp.diagnosticsPort());
  diagnostics.set_read_timeout(std::chrono::seconds(10));
  httplib::Result r = diagnostics.Get("/metrics");
  return r ? r->body : "";
}

/** The value of the sample `name` whose labels include `label`; -1 when missing. */
double sample(const std::string& text, const std::string& name, const std::string& label = "") {
  for (const absl::string_view line : absl::StrSplit(text, '\n')) {
    if ((absl::StartsWith(line, absl::StrCat(name, "{")) ||
         absl::StartsWith(line, absl::StrCat(name, " "))) &&
        absl::StrContains(line, label)) {
      double value = -1;
      return absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value) ? value : -1;
    }
  }
  return -1;
}

int gauge(const KumaCp& cp, const std::string& name, const std::string& label = "") {
  return static_cast<int>(sample(metrics(cp), name, label));
}

int leaderGauge(const KumaCp& cp) {
  return gauge(cp, "leader");
}

void createPod(const KubeApiServer& k8s, const std::string& ns, const std::string& name,
               const std::string& ip) {
  auto pod = k8s.request("POST", absl::StrCat("/api/v1/namespaces/", ns, "/pods"),
                         Json{{"apiVersion", "v1"},
                              {"kind", "Pod"},
                              {"metadata",
                               {{"name", name},
                                {"labels", {{"app", name}}},
                                {"annotations", {{"kuma.io/sidecar-injected", "true"}}}}},
                              {"spec",
                               {{"containers",
                                 {{{"name", "app"}, {"image", "i"}},
                                  {{"name", "kuma-sidecar"}, {"image", "kuma-dp"}}}}}}}
                             .dump());
  ASSERT_TRUE(pod.ok()) << pod.status();
  ASSERT_EQ(pod->status, 201) << pod->body;
  auto status =
      k8s.request("PATCH", absl::StrCat("/api/v1/namespaces/", ns, "/pods/", name, "/status"),
                  Json{{"status", {{"phase", "Running"}, {"podIP", ip}}}}.dump(),
                  "application/merge-patch+json");
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->status, 200) << status->body;
}

bool hasDataplane(const KubeApiServer& k8s, const std::string& ns, const std::string& name) {
  return kubeGetJson(k8s,
                     absl::StrCat("/apis/kuma.io/v1alpha1/namespaces/", ns, "/dataplanes/", name))
      .is_object();
}

TEST(KubernetesLeaderTest, OneInstanceLeadsAndTheOtherTakesOverWhenItStops) {
  KubeApiServer::Options apiOptions;
  apiOptions.extraApiServerArgs = {"--disable-admission-plugins=ServiceAccount"};  // no accounts
  auto launched = KubeApiServer::launch(apiOptions);
  ASSERT_TRUE(launched.ok()) << launched.status();
  std::unique_ptr<KubeApiServer> k8s = std::move(*launched);
  applyKumaCrds(*k8s);
  auto namespaced = k8s->request(
      "POST", "/api/v1/namespaces",
      Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "app"}}}}.dump());
  ASSERT_TRUE(namespaced.ok());
  ASSERT_EQ(namespaced->status, 201) << namespaced->body;

  const std::map<std::string, std::string> env = {
      {"KUMA_ENVIRONMENT", "kubernetes"},
      {"KUMA_STORE_TYPE", "kubernetes"},
      {"KUBECONFIG", k8s->kubeconfigFile()},
      {"KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_LEASE_DURATION", "4s"},
      {"KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_RENEW_DEADLINE", "3s"}};
  KumaCp::Options options;
  options.env = env;
  options.readyTimeout = std::chrono::seconds(90);
  auto first = KumaCp::start(options);
  ASSERT_TRUE(first.ok()) << first.status();
  std::unique_ptr<KumaCp> leader = std::move(*first);
  ASSERT_TRUE(eventually([&] { return leaderGauge(*leader) == 1; }, std::chrono::seconds(20)))
      << leader->output();
  EXPECT_EQ(gauge(*leader, "leader_election_master_status", "name=\"cp-leader-lease\""), 1);
  // resources_count comes from the store's informers: scrapes cost no API requests (a LIST per
  // type and scrape would spend the client's rate limit and stall the controllers).
  EXPECT_TRUE(eventually(
      [&] { return sample(metrics(*leader), "resources_count", "resource_type=\"Mesh\"") == 1; },
      std::chrono::seconds(20)))
      << metrics(*leader);
  const double requestsBefore = sample(metrics(*leader), "kube_client_requests_total");
  for (int i = 0; i < 5; i++) {
    metrics(*leader);
  }
  EXPECT_LT(sample(metrics(*leader), "kube_client_requests_total") - requestsBefore, 10);
  const Json lease = kubeGetJson(*k8s, kLeasePath);
  ASSERT_TRUE(lease.is_object());
  const std::string firstHolder = lease["spec"]["holderIdentity"];
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 4);

  auto second = KumaCp::start(options);
  ASSERT_TRUE(second.ok()) << second.status();
  std::unique_ptr<KumaCp> standby = std::move(*second);
  absl::SleepFor(absl::Seconds(5));  // more than a lease: the leader renews, no take-over
  EXPECT_EQ(leaderGauge(*standby), 0) << standby->output();
  EXPECT_EQ(leaderGauge(*leader), 1);
  EXPECT_EQ(kubeGetJson(*k8s, kLeasePath)["spec"]["holderIdentity"], firstHolder);

  // The leader's pod controller makes the Dataplane.
  createPod(*k8s, "app", "before", "10.2.0.1");
  EXPECT_TRUE(
      eventually([&] { return hasDataplane(*k8s, "app", "before"); }, std::chrono::seconds(20)))
      << leader->output();

  // The leader stops (and gives the Lease up): the standby leads at once, controllers included.
  const auto stopped = std::chrono::steady_clock::now();
  EXPECT_EQ(leader->stop(SIGTERM, std::chrono::seconds(15)), 0) << leader->output();
  leader.reset();
  ASSERT_TRUE(eventually([&] { return leaderGauge(*standby) == 1; }, std::chrono::seconds(20)))
      << standby->output();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, std::chrono::seconds(4))
      << "the standby waited for the lease to expire: the Lease was not released";
  const Json taken = kubeGetJson(*k8s, kLeasePath);
  EXPECT_NE(taken["spec"]["holderIdentity"], firstHolder);
  EXPECT_EQ(taken["spec"]["leaseTransitions"], 1);
  createPod(*k8s, "app", "after", "10.2.0.2");
  EXPECT_TRUE(
      eventually([&] { return hasDataplane(*k8s, "app", "after"); }, std::chrono::seconds(30)))
      << standby->output();
}

}  // namespace
}  // namespace kuma::test
