// The reconciler and the identity cache together: an mTLS mesh's proxy gets its Secrets with its
// first snapshot, and the refresh tick alone (no store change) publishes a rotated certificate
// once 4/5 of its lifetime has passed (spec §8.2), keeping every other type's version.

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "source/core/ca/certs.h"
#include "source/core/ca/mesh_ca.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/server/all_types.h"
#include "source/xds/sync/reconciler.h"
#include "source/plugins/policies/xds_plugins.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"

namespace kuma::xds {
namespace {

using nlohmann::json;

class ReconcilerRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = memory::newMemoryStore();
    manager_ = std::make_unique<manager::ResourceManager>(*store_, registry_);
    cas_ = ca::defaultCaManagers(*manager_, registry_);
    ca::installMeshCa(*manager_, cas_);
    put({{"type", "Mesh"},
         {"name", "default"},
         {"mtls",
          {{"enabledBackend", "ca-1"},
           {"backends",
            {{{"name", "ca-1"},
              {"type", "builtin"},
              {"dpCert", {{"rotation", {{"expiration", "1m"}}}}}}}}}}});
    put({{"type", "Dataplane"},
         {"mesh", "default"},
         {"name", "web-1"},
         {"networking",
          {{"address", "10.0.0.1"},
           {"inbound", {{{"port", 8080}, {"tags", {{"kuma.io/service", "web"}}}}}}}}});
    DataplaneSecretsOptions secretsOptions;
    secretsOptions.clock = [this] { return absl::FromUnixNanos(nowNanos_.load()); };
    secrets_ = std::make_unique<DataplaneSecrets>(cas_, secretsOptions);
    sync::ReconcilerOptions options;
    options.plugins = policies::makeXdsPolicyPlugins();
    options.refreshInterval = std::chrono::milliseconds(50);
    options.secrets = secrets_.get();
    reconciler_ = std::make_unique<sync::Reconciler>(*store_, registry_, cache_, options);
    reconciler_->start();
  }
  void TearDown() override { reconciler_->stop(); }

  void put(const json& object) {
    const auto* type = registry_.byName(object["type"].get<std::string>());
    auto body = model::fromRestJson(*type, object);
    ASSERT_TRUE(body.ok()) << body.status();
    auto result = manager_->upsert(std::move(body->resource));
    ASSERT_TRUE(result.ok()) << result.status();
  }

  SnapshotConstSharedPtr waitFor(const std::function<bool(const Snapshot&)>& pred) {
    for (int i = 0; i < 500; ++i) {
      auto s = cache_.getSnapshot("default.web-1");
      if (s != nullptr && pred(*s)) {
        return s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return nullptr;
  }

  static std::string identitySerial(const Snapshot& s) {
    auto it = s.types.find(kSecretType);
    if (it == s.types.end()) {
      return "";
    }
    auto r = it->second.resources.find("identity_cert:secret:default");
    if (r == it->second.resources.end()) {
      return "";
    }
    envoy::extensions::transport_sockets::tls::v3::Secret secret;
    secret.ParseFromString(r->second->serialized);
    auto info =
        ca::describeCertificate(secret.tls_certificate().certificate_chain().inline_bytes());
    return info.ok() ? info->serialHex : "";
  }

  const model::TypeRegistry& registry_ = kuma::server::allTypes();
  std::atomic<int64_t> nowNanos_{absl::ToUnixNanos(absl::Now())};
  store::ResourceStorePtr store_;
  std::unique_ptr<manager::ResourceManager> manager_;
  ca::CaManagers cas_;
  std::unique_ptr<DataplaneSecrets> secrets_;
  cache::SnapshotCache cache_;
  std::unique_ptr<sync::Reconciler> reconciler_;
};

TEST_F(ReconcilerRotationTest, TickPublishesRotatedIdentity) {
  reconciler_->addProxy("default.web-1", "default", "web-1", {});
  auto first = waitFor([](const Snapshot& s) { return !identitySerial(s).empty(); });
  ASSERT_NE(first, nullptr);
  const std::string serial = identitySerial(*first);
  auto ca = first->types.at(kSecretType).resources.at("mesh_ca:secret:default");
  envoy::extensions::transport_sockets::tls::v3::Secret caSecret;
  ASSERT_TRUE(caSecret.ParseFromString(ca->serialized));
  EXPECT_EQ(
      ca::describeCertificate(caSecret.validation_context().trusted_ca().inline_bytes())->subject,
      "O = Kuma, OU = Mesh, CN = default");

  // Ticks before 4/5 of the 1m lifetime: nothing new.
  nowNanos_ += absl::ToInt64Nanoseconds(absl::Seconds(40));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(cache_.getSnapshot("default.web-1"), first);

  // Past 48 s: the next tick reissues and publishes, with no store change at all.
  nowNanos_ += absl::ToInt64Nanoseconds(absl::Seconds(9));
  auto rotated = waitFor([&](const Snapshot& s) {
    const std::string now = identitySerial(s);
    return !now.empty() && now != serial;
  });
  ASSERT_NE(rotated, nullptr);
  EXPECT_NE(rotated->types.at(kSecretType).version, first->types.at(kSecretType).version);
  EXPECT_EQ(rotated->types.at(kListenerType).version, first->types.at(kListenerType).version);
  EXPECT_EQ(rotated->types.at(kClusterType).version, first->types.at(kClusterType).version);
  EXPECT_EQ(secrets_->stats().issued, 2u);
}

TEST_F(ReconcilerRotationTest, RemovedProxyForgetsItsIdentity) {
  reconciler_->addProxy("default.web-1", "default", "web-1", {});
  ASSERT_NE(waitFor([](const Snapshot& s) { return !identitySerial(s).empty(); }), nullptr);
  EXPECT_TRUE(secrets_->info("default", "web-1").ok());
  reconciler_->removeProxy("default.web-1");
  EXPECT_FALSE(secrets_->info("default", "web-1").ok());
}

TEST_F(ReconcilerRotationTest, InspectShowsTheSecrets) {
  auto out = reconciler_->inspect("default", "web-1");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_NE(out->find(kSecretType, "identity_cert:secret:default"), nullptr);
  EXPECT_NE(out->find(kSecretType, "mesh_ca:secret:default"), nullptr);
}

}  // namespace
}  // namespace kuma::xds
