// Per-proxy identity certificates (spec §8.2): SANs, lifetime, cache, reissue triggers (4/5 of
// the lifetime with an injected clock, mtls change, tag change), backoff on CA failures.

#include "source/xds/secrets/dataplane_secrets.h"

#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/core/ca/certs.h"
#include "source/core/resources/mesh_types.h"

namespace kuma::xds {
namespace {

using ::testing::ElementsAre;

// A CA backend whose signing pair is generated once; can be told to fail.
class FakeCa : public ca::CaManager {
 public:
  FakeCa() : pair_(*ca::generateRootCa("default", 2048, absl::Hours(1000), absl::Now())) {}
  absl::Status validateBackend(const std::string&, const ca::Backend&,
                               validators::ValidationError&) const override {
    return absl::OkStatus();
  }
  absl::Status ensure(const std::string&, const ca::Backend&) override { return absl::OkStatus(); }
  absl::StatusOr<ca::KeyPair> signingPair(const std::string&, const ca::Backend&) const override {
    ++calls;
    if (fail) {
      return absl::NotFoundError("CA secret not found");
    }
    return pair_;
  }
  const ca::KeyPair& pair() const { return pair_; }

  mutable std::atomic<int> calls{0};
  std::atomic<bool> fail{false};

 private:
  ca::KeyPair pair_;
};

mesh::v1alpha1::Mesh mtlsMesh(const std::string& expiration, bool permissive = false) {
  mesh::v1alpha1::Mesh mesh;
  mesh.mutable_mtls()->set_enabled_backend("ca-1");
  auto* b = mesh.mutable_mtls()->add_backends();
  b->set_name("ca-1");
  b->set_type("fake");
  if (!expiration.empty()) {
    b->mutable_dp_cert()->mutable_rotation()->set_expiration(expiration);
  }
  if (permissive) {
    b->set_mode(mesh::v1alpha1::CertificateAuthorityBackend::PERMISSIVE);
  }
  return mesh;
}

model::Resource dataplane(const std::map<std::string, std::string>& tags,
                          const std::map<std::string, std::string>& tags2 = {}) {
  mesh::v1alpha1::Dataplane dp;
  dp.mutable_networking()->set_address("10.0.0.1");
  auto* in = dp.mutable_networking()->add_inbound();
  in->set_port(8080);
  in->mutable_tags()->insert(tags.begin(), tags.end());
  if (!tags2.empty()) {
    auto* in2 = dp.mutable_networking()->add_inbound();
    in2->set_port(8081);
    in2->mutable_tags()->insert(tags2.begin(), tags2.end());
  }
  model::Resource r;
  r.meta.name = "web-1";
  r.meta.mesh = "default";
  r.spec = resources::makeDataplaneSpec(std::move(dp));
  return r;
}

class DataplaneSecretsTest : public ::testing::Test {
 protected:
  DataplaneSecretsTest() {
    auto fake = std::make_unique<FakeCa>();
    ca_ = fake.get();
    cas_.add("fake", std::move(fake));
    DataplaneSecretsOptions options;
    options.clock = [this] { return now_; };
    options.backoffBase = absl::Seconds(1);
    options.backoffMax = absl::Seconds(4);
    secrets_ = std::make_unique<DataplaneSecrets>(cas_, options);
  }

  const std::map<std::string, std::string> webTags_ = {{"kuma.io/service", "web"},
                                                       {"kuma.io/protocol", "http"},
                                                       {"kuma.io/zone", "default"},
                                                       {"version", "v1"}};
  absl::Time now_ = absl::FromUnixSeconds(1'900'000'000);
  ca::CaManagers cas_;
  FakeCa* ca_ = nullptr;
  std::unique_ptr<DataplaneSecrets> secrets_;
};

TEST_F(DataplaneSecretsTest, NothingWithoutMtls) {
  auto tls = secrets_->get("default", mesh::v1alpha1::Mesh(), dataplane(webTags_));
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(*tls, nullptr);
  EXPECT_EQ(ca_->calls, 0);
}

TEST_F(DataplaneSecretsTest, IssuesKumaIdentity) {
  auto tls = secrets_->get("default", mtlsMesh("1m"),
                           dataplane(webTags_, {{"kuma.io/service", "admin"}, {"version", "v2"}}));
  ASSERT_TRUE(tls.ok()) << tls.status();
  ASSERT_NE(*tls, nullptr);
  auto info = ca::describeCertificate((*tls)->certChainPem);
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(
      info->uris,
      ElementsAre("spiffe://default/admin", "spiffe://default/web", "kuma://kuma.io/protocol/http",
                  "kuma://kuma.io/service/admin", "kuma://kuma.io/service/web",
                  "kuma://kuma.io/zone/default", "kuma://version/v1", "kuma://version/v2"));
  EXPECT_EQ(info->notAfter, now_ + absl::Minutes(1));
  EXPECT_EQ(info->notBefore, now_ - absl::Seconds(10));
  EXPECT_EQ((*tls)->caPem, ca_->pair().certPem);
  EXPECT_THAT((*tls)->keyPem, ::testing::HasSubstr("RSA PRIVATE KEY"));
  auto cached = secrets_->info("default", "web-1");
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->serialHex, info->serialHex);
  EXPECT_EQ(cached->expiresAt, now_ + absl::Minutes(1));
}

TEST_F(DataplaneSecretsTest, DefaultLifetimeIs24h) {
  auto tls = secrets_->get("default", mtlsMesh(""), dataplane(webTags_));
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(ca::describeCertificate((*tls)->certChainPem)->notAfter, now_ + absl::Hours(24));
}

TEST_F(DataplaneSecretsTest, CachedUntilFourFifthsOfLifetime) {
  const auto mesh = mtlsMesh("1m");
  const auto dp = dataplane(webTags_);
  auto first = secrets_->get("default", mesh, dp);
  ASSERT_TRUE(first.ok());
  now_ += absl::Seconds(47);
  auto same = secrets_->get("default", mesh, dp);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, *first);  // same object: nothing to publish
  now_ += absl::Seconds(1);  // 48 s = 4/5 of 1m
  auto rotated = secrets_->get("default", mesh, dp);
  ASSERT_TRUE(rotated.ok());
  EXPECT_NE(*rotated, *first);
  EXPECT_NE(ca::describeCertificate((*rotated)->certChainPem)->serialHex,
            ca::describeCertificate((*first)->certChainPem)->serialHex);
  EXPECT_EQ(ca::describeCertificate((*rotated)->certChainPem)->notAfter, now_ + absl::Minutes(1));
  EXPECT_EQ(secrets_->stats().issued, 2u);
}

TEST_F(DataplaneSecretsTest, ReissuedWhenMtlsOrTagsChange) {
  const auto dp = dataplane(webTags_);
  auto first = *secrets_->get("default", mtlsMesh("1h"), dp);
  auto permissive = *secrets_->get("default", mtlsMesh("1h", true), dp);
  EXPECT_NE(permissive, first);
  auto again = *secrets_->get("default", mtlsMesh("1h", true), dp);
  EXPECT_EQ(again, permissive);
  auto retagged = *secrets_->get("default", mtlsMesh("1h", true),
                                 dataplane({{"kuma.io/service", "web"}, {"version", "v2"}}));
  EXPECT_NE(retagged, permissive);
  EXPECT_THAT(
      ca::describeCertificate(retagged->certChainPem)->uris,
      ElementsAre("spiffe://default/web", "kuma://kuma.io/service/web", "kuma://version/v2"));
}

TEST_F(DataplaneSecretsTest, MtlsOffForgetsAndForgetReissues) {
  const auto dp = dataplane(webTags_);
  auto first = *secrets_->get("default", mtlsMesh("1h"), dp);
  EXPECT_EQ(*secrets_->get("default", mesh::v1alpha1::Mesh(), dp), nullptr);
  EXPECT_FALSE(secrets_->info("default", "web-1").ok());
  auto second = *secrets_->get("default", mtlsMesh("1h"), dp);
  EXPECT_NE(second, first);
  secrets_->forget("default", "web-1");
  EXPECT_NE(*secrets_->get("default", mtlsMesh("1h"), dp), second);
}

TEST_F(DataplaneSecretsTest, BacksOffOnFailures) {
  const auto mesh = mtlsMesh("1h");
  const auto dp = dataplane(webTags_);
  ca_->fail = true;
  auto failed = secrets_->get("default", mesh, dp);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ca_->calls, 1);
  // Within the 1 s backoff: answered without asking the CA.
  now_ += absl::Milliseconds(500);
  auto backedOff = secrets_->get("default", mesh, dp);
  EXPECT_EQ(backedOff.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ca_->calls, 1);
  // After it: retried, fails again, next backoff 2 s.
  now_ += absl::Milliseconds(600);
  EXPECT_FALSE(secrets_->get("default", mesh, dp).ok());
  EXPECT_EQ(ca_->calls, 2);
  now_ += absl::Milliseconds(1500);
  EXPECT_EQ(secrets_->get("default", mesh, dp).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ca_->calls, 2);
  // Recovery.
  ca_->fail = false;
  now_ += absl::Seconds(1);
  auto ok = secrets_->get("default", mesh, dp);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_NE(*ok, nullptr);
  EXPECT_EQ(secrets_->stats().failures, 2u);
  EXPECT_EQ(secrets_->stats().backedOff, 2u);
}

TEST_F(DataplaneSecretsTest, UnknownBackendTypeFails) {
  auto mesh = mtlsMesh("1h");
  mesh.mutable_mtls()->mutable_backends(0)->set_type("vault");
  EXPECT_EQ(secrets_->get("default", mesh, dataplane(webTags_)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(DataplaneSecretsTest, WorkloadLabelWithoutServiceTag) {
  auto dp = dataplane({{"version", "v1"}});
  dp.meta.labels["kuma.io/workload"] = "wl";
  EXPECT_THAT(ca::identityUris("default", dataplaneIdentityTags(dp)),
              ElementsAre("spiffe://default/wl", "kuma://kuma.io/service/wl", "kuma://version/v1"));
}

TEST_F(DataplaneSecretsTest, ConcurrentCallersIssueOnce) {
  const auto mesh = mtlsMesh("1h");
  const auto dp = dataplane(webTags_);
  std::vector<std::thread> threads;
  std::vector<ProxyTlsSecretsConstSharedPtr> results(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = *secrets_->get("default", mesh, dp); });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(secrets_->stats().issued, 1u);
  for (const auto& r : results) {
    EXPECT_EQ(r, results[0]);
  }
}

}  // namespace
}  // namespace kuma::xds
