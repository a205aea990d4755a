// DataplaneCallbacks::onStreamOpen authentication (spec §6.2): dataplane tokens in the
// `authorization` metadata, checked against the Dataplane in node metadata or the stored one.
#include <functional>
#include <thread>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/pki.h"
#include "source/core/model/rest_codec.h"
#include "source/core/tokens/dataplane_token.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/server/all_types.h"
#include "source/xds/sync/dataplane_callbacks.h"
#include "source/plugins/policies/xds_plugins.h"

namespace kuma::xds::sync {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class DataplaneCallbacksAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = memory::newMemoryStore();
    manager_ = std::make_unique<manager::ResourceManager>(*store_, registry_);
    put({{"type", "Mesh"}, {"name", "default"}});
    static const std::string key = *crypto::generateRsaKeyPem(2048);
    put({{"type", "Secret"},
         {"mesh", "default"},
         {"name", "dataplane-token-signing-key-default-1"},
         {"data", absl::Base64Escape(key)}});
    put(dataplane("stored-1", "web"));
    ReconcilerOptions options;
    options.plugins = policies::makeXdsPolicyPlugins();
    options.refreshInterval = std::chrono::hours(1);
    reconciler_ = std::make_unique<Reconciler>(*store_, registry_, cache_, options);
    reconciler_->start();
  }
  void TearDown() override {
    callbacks_.reset();
    reconciler_->stop();
  }

  static json dataplane(const std::string& name, const std::string& service) {
    return {{"type", "Dataplane"},
            {"mesh", "default"},
            {"name", name},
            {"networking",
             {{"address", "10.0.0.1"},
              {"inbound", {{{"port", 8080}, {"tags", {{"kuma.io/service", service}}}}}}}}};
  }

  void put(const json& object) {
    const auto* type = registry_.byName(object["type"].get<std::string>());
    auto body = model::fromRestJson(*type, object);
    ASSERT_TRUE(body.ok()) << body.status();
    ASSERT_TRUE(manager_->upsert(std::move(body->resource)).ok());
  }

  DataplaneCallbacks& callbacks(const std::string& authnType) {
    DataplaneCallbacksOptions options;
    options.authnType = authnType;
    callbacks_ = std::make_unique<DataplaneCallbacks>(*manager_, registry_, *reconciler_, options);
    return *callbacks_;
  }

  static envoy::config::core::v3::Node node(const std::string& name,
                                            const std::optional<json>& resource = std::nullopt) {
    envoy::config::core::v3::Node n;
    n.set_id("default." + name);
    auto& fields = *n.mutable_metadata()->mutable_fields();
    fields["version"].set_string_value("2.14.3");
    if (resource.has_value()) {
      fields["dataplane.resource"].set_string_value(resource->dump());
    }
    return n;
  }

  std::string token(const tokens::DataplaneIdentity& id) {
    auto t = tokens::DataplaneTokenIssuer(*manager_, registry_).issue(id, absl::Hours(1));
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : "";
  }

  static server::StreamInfo withToken(const std::string& t) {
    server::StreamInfo info;
    info.metadata.emplace("authorization", t);
    return info;
  }

  bool registered(const std::string& name) {
    return manager_->get(*registry_.byName("Dataplane"), {name, "default"}).ok();
  }

  const model::TypeRegistry& registry_ = kuma::server::allTypes();
  store::ResourceStorePtr store_;
  std::unique_ptr<manager::ResourceManager> manager_;
  cache::SnapshotCache cache_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<DataplaneCallbacks> callbacks_;
};

TEST_F(DataplaneCallbacksAuthTest, NoneAcceptsEveryProxy) {
  DataplaneCallbacks& cb = callbacks("none");
  EXPECT_TRUE(cb.onStreamOpen(1, node("stored-1"), {}).ok());
  EXPECT_TRUE(cb.onStreamOpen(2, node("new-1", dataplane("new-1", "web")), {}).ok());
  EXPECT_TRUE(registered("new-1"));
}

// Regression (10 000-proxy reconnect storm): a proxy that reconnects before its old stream is
// torn down must stay served and registered when the old stream finally closes.
TEST_F(DataplaneCallbacksAuthTest, AReconnectBeforeTheOldStreamClosesKeepsTheProxyServed) {
  DataplaneCallbacksOptions options;
  options.authnType = "none";
  options.deregistrationDelay = std::chrono::milliseconds(50);
  callbacks_ = std::make_unique<DataplaneCallbacks>(*manager_, registry_, *reconciler_, options);
  DataplaneCallbacks& cb = *callbacks_;
  const auto n = node("new-1", dataplane("new-1", "web"));
  ASSERT_TRUE(cb.onStreamOpen(1, n, {}).ok());
  ASSERT_TRUE(cb.onStreamOpen(2, n, {}).ok());  // reconnected
  cb.onStreamClosed(1, "default.new-1");        // the old stream ends afterwards
  const auto eventually = [](const std::function<bool()>& done) {
    for (int i = 0; i < 200 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  };
  EXPECT_TRUE(eventually([&] { return cache_.getSnapshot("default.new-1") != nullptr; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // > delay + the loop's period
  EXPECT_TRUE(registered("new-1"));
  EXPECT_NE(cache_.getSnapshot("default.new-1"), nullptr);

  // The latest stream closing ends both.
  cb.onStreamClosed(2, "default.new-1");
  EXPECT_EQ(cache_.getSnapshot("default.new-1"), nullptr);
  EXPECT_TRUE(eventually([&] { return !registered("new-1"); }));
}

TEST_F(DataplaneCallbacksAuthTest, RequiresExactlyOneAuthorizationValue) {
  for (const std::string type : {"dpToken", ""}) {
    DataplaneCallbacks& cb = callbacks(type);
    absl::Status none = cb.onStreamOpen(1, node("stored-1"), {});
    EXPECT_TRUE(absl::IsUnauthenticated(none)) << none;
    EXPECT_EQ(none.message(),
              "authentication failed: request must have exactly 1 \"authorization\" header, got 0");
    server::StreamInfo two = withToken(token({.name = "stored-1", .mesh = "default"}));
    two.metadata.emplace("authorization", "x");
    EXPECT_THAT(cb.onStreamOpen(2, node("stored-1"), two).message(), HasSubstr("got 2"));
  }
}

TEST_F(DataplaneCallbacksAuthTest, AcceptsAValidTokenForTheStoredDataplane) {
  DataplaneCallbacks& cb = callbacks("dpToken");
  EXPECT_TRUE(cb.onStreamOpen(1, node("stored-1"),
                              withToken(token({.name = "stored-1", .mesh = "default"})))
                  .ok());
  absl::Status other = cb.onStreamOpen(2, node("stored-1"),
                                       withToken(token({.name = "stored-2", .mesh = "default"})));
  EXPECT_TRUE(absl::IsUnauthenticated(other));
  EXPECT_EQ(other.message(),
            "authentication failed: proxy name from requestor: stored-1 is different than in "
            "token: stored-2");
  absl::Status garbage = cb.onStreamOpen(3, node("stored-1"), withToken("not-a-jwt"));
  EXPECT_TRUE(absl::IsUnauthenticated(garbage));
  EXPECT_THAT(garbage.message(), HasSubstr("authentication failed: could not parse token"));
  // Neither stored nor carried in metadata.
  absl::Status ghost =
      cb.onStreamOpen(4, node("ghost"), withToken(token({.name = "ghost", .mesh = "default"})));
  EXPECT_TRUE(absl::IsUnauthenticated(ghost));
  EXPECT_THAT(ghost.message(),
              HasSubstr("authentication failed: could not retrieve the Dataplane"));
}

TEST_F(DataplaneCallbacksAuthTest, SelfRegistrationNeedsAMatchingToken) {
  DataplaneCallbacks& cb = callbacks("dpToken");
  absl::Status wrong = cb.onStreamOpen(1, node("new-1", dataplane("new-1", "web")),
                                       withToken(token({.name = "new-2", .mesh = "default"})));
  EXPECT_TRUE(absl::IsUnauthenticated(wrong));
  EXPECT_FALSE(registered("new-1")) << "a refused proxy must not be registered";
  EXPECT_TRUE(cb.onStreamOpen(2, node("new-1", dataplane("new-1", "web")),
                              withToken(token({.name = "new-1",
                                               .mesh = "default",
                                               .tags = {{"kuma.io/service", {"web"}}}})))
                  .ok());
  EXPECT_TRUE(registered("new-1"));
}

TEST_F(DataplaneCallbacksAuthTest, RefusesOverridingAStoredDataplaneTheTokenDoesNotCover) {
  DataplaneCallbacks& cb = callbacks("dpToken");
  // The token fits the Dataplane in metadata (service "admin") but not the stored one ("web").
  absl::Status s = cb.onStreamOpen(
      1, node("stored-1", dataplane("stored-1", "admin")),
      withToken(token({.mesh = "default", .tags = {{"kuma.io/service", {"admin"}}}})));
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_THAT(s.message(), HasSubstr("you are trying to override existing proxy"));
}

TEST_F(DataplaneCallbacksAuthTest, OtherAuthnTypesAreRefused) {
  absl::Status s = callbacks("serviceAccountToken").onStreamOpen(1, node("stored-1"), {});
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_THAT(s.message(), HasSubstr("authentication failed: authentication type"));
}

}  // namespace
}  // namespace kuma::xds::sync
