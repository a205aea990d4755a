// Unit tests: token-bucket throttling, kubeconfig parsing.

#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "source/plugins/resources/kubernetes/kube_client.h"
#include "source/plugins/resources/kubernetes/kube_config.h"

namespace kuma::k8s {
namespace {

TEST(TokenBucketTest, AllowsTheBurstThenPacesAtQps) {
  absl::Time now = absl::UnixEpoch();
  std::vector<absl::Duration> slept;
  TokenBucket bucket(
      10, 3, [&] { return now; },
      [&](absl::Duration d) {
        slept.push_back(d);
        now += d;
      });
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(bucket.take(), absl::ZeroDuration()) << i;  // the burst
  }
  EXPECT_EQ(bucket.take(), absl::Milliseconds(100));  // 10 qps: one token per 100 ms
  EXPECT_EQ(bucket.take(), absl::Milliseconds(100));
  ASSERT_EQ(slept.size(), 2u);
  now += absl::Seconds(10);  // refills, but never beyond the burst
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(bucket.take(), absl::ZeroDuration()) << i;
  }
  EXPECT_GT(bucket.take(), absl::ZeroDuration());
}

TEST(TokenBucketTest, NonPositiveQpsDoesNotThrottle) {
  TokenBucket bucket(0, 1);
  for (int i = 0; i < 100; i++) {
    EXPECT_EQ(bucket.take(), absl::ZeroDuration());
  }
}

/** A client of 20 qps, burst 2, for an address nobody listens on: requests fail fast, but are
 * still throttled. */
absl::StatusOr<std::unique_ptr<KubeClient>> unreachableClient() {
  KubeConnection connection;
  connection.host = "127.0.0.1";
  connection.port = 1;
  KubeClientOptions options;
  options.qps = 20;
  options.burst = 2;
  options.maxRetries = 0;
  options.connectTimeout = absl::Milliseconds(200);
  return KubeClient::create(connection, options);
}

TEST(TokenBucketTest, ClientCountsThrottledRequests) {
  auto client = unreachableClient();
  ASSERT_TRUE(client.ok()) << client.status();
  const absl::Time start = absl::Now();
  for (int i = 0; i < 6; i++) {
    auto answer = (*client)->request("GET", "/api");
    EXPECT_TRUE(absl::IsUnavailable(answer.status())) << answer.status();
  }
  const KubeClientStats stats = (*client)->stats();
  EXPECT_EQ(stats.requests, 6u);
  EXPECT_EQ(stats.throttled, 4u);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));  // 4 tokens at 20/s, minus slack
}

TEST(TokenBucketTest, SiblingsShareTheRateLimitButNotTheirCancellation) {
  auto client = unreachableClient();
  ASSERT_TRUE(client.ok()) << client.status();
  std::unique_ptr<KubeClient> sibling = (*client)->sibling();
  for (int i = 0; i < 3; i++) {
    (void)(*client)->request("GET", "/api");
    (void)sibling->request("GET", "/api");
  }
  // One bucket of 2 for both: 4 of the 6 requests waited; both report the shared counters.
  EXPECT_EQ((*client)->stats().requests, 6u);
  EXPECT_EQ(sibling->stats().throttled, 4u);
  // Cancelling one leaves the other working.
  sibling->cancelWatches();
  EXPECT_TRUE(absl::IsCancelled(sibling->request("GET", "/api").status()));
  EXPECT_TRUE(absl::IsUnavailable((*client)->request("GET", "/api").status()));
}

absl::StatusOr<std::string> noFiles(const std::string& path) {
  return absl::NotFoundError(path);
}

TEST(KubeconfigTest, ReadsTheCurrentContextWithTokenAndCaData) {
  const std::string ca = absl::Base64Escape("CA PEM");
  const std::string text =
      "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
      "clusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443\n"
      "- name: c2\n  cluster:\n    server: https://[::1]:8443\n"
      "    certificate-authority-data: " +
      ca +
      "\n"
      "users:\n- name: u\n  user:\n    token: abc\n"
      "contexts:\n- name: a\n  context: {cluster: c1, user: u}\n"
      "- name: b\n  context: {cluster: c2, user: u}\n";
  auto conn = parseKubeconfig(text, "/x", noFiles);
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(conn->host, "::1");
  EXPECT_EQ(conn->port, 8443);
  EXPECT_EQ(conn->caPem, "CA PEM");
  EXPECT_EQ(conn->bearerToken, "abc");
  auto other = parseKubeconfig(text, "/x", noFiles, "a");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->host, "10.0.0.1");
}

TEST(KubeconfigTest, ReadsReferencedFilesRelativeToTheConfig) {
  const std::string text =
      "current-context: x\nclusters:\n- name: c\n  cluster:\n"
      "    server: https://h\n    certificate-authority: ca.crt\n"
      "users:\n- name: u\n  user:\n    client-certificate: /abs/c.crt\n"
      "    client-key: k.key\n"
      "contexts:\n- name: x\n  context: {cluster: c, user: u}\n";
  std::vector<std::string> read;
  auto conn = parseKubeconfig(text, "/dir", [&](const std::string& path) {
    read.push_back(path);
    return absl::StatusOr<std::string>("content of " + path);
  });
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(conn->port, 443);
  EXPECT_EQ(conn->caPem, "content of /dir/ca.crt");
  EXPECT_EQ(conn->clientCertPem, "content of /abs/c.crt");
  EXPECT_EQ(conn->clientKeyPem, "content of /dir/k.key");
}

TEST(KubeconfigTest, ParsesOnlyUsableServerAddresses) {
  EXPECT_TRUE(parseServerUrl("https://kube.example-1.local:6443").ok());
  EXPECT_TRUE(parseServerUrl("https://[fd00::1]").ok());
  // Found by the fuzz target: a host with a stray ']' or ',' was accepted.
  for (const char* url :
       {"https://,::1]:8443", "https://a]:1", "https://[a]b]:1", "https://a b", "https://user@h",
        "https://:443", "https://[]:443", "https://h:0", "https://h/path"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(parseServerUrl(url).status())) << url;
  }
}

TEST(KubeconfigTest, RefusesWhatItCannotUse) {
  const std::string head =
      "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n";
  for (const std::string& text : {
           std::string("[1, 2]"),
           std::string("clusters: []"),
           head + "clusters:\n- name: c\n  cluster: {server: 'http://h:80'}\nusers: []\n",
           head + "clusters:\n- name: c\n  cluster: {server: 'https://h:99999'}\nusers: []\n",
           head + "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
                  "users:\n- name: u\n  user: {exec: {command: x}}\n",
           head + "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
                  "users:\n- name: u\n  user: {client-certificate-data: 'QQ=='}\n",
           head + "clusters:\n- name: c\n  cluster: {server: 'https://h', "
                  "certificate-authority-data: '!!'}\nusers: []\n",
       }) {
    EXPECT_TRUE(absl::IsInvalidArgument(parseKubeconfig(text, "", noFiles).status())) << text;
  }
}

}  // namespace
}  // namespace kuma::k8s
