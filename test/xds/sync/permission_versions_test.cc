// "Changing a permission reaches every affected proxy without touching the others' versions"
// (issue 8): three proxies in an mTLS mesh behind the real reconciler; a change of a
// (Mesh)TrafficPermission that selects one of them re-versions that proxy's listeners only,
// while the others regenerate from the new mesh context to the very same versions of every type.

#include <map>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/server/all_types.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/sync/reconciler.h"
#include "source/plugins/policies/xds_plugins.h"

namespace kuma::xds::sync {
namespace {

using nlohmann::json;

constexpr char kWeb[] = "default.web-1";
constexpr char kBackend[] = "default.backend-1";
constexpr char kOther[] = "default.other-1";

class PermissionVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = memory::newMemoryStore();
    manager_ = std::make_unique<manager::ResourceManager>(*store_, registry_);
    put({{"type", "Mesh"},
         {"name", "default"},
         {"mtls",
          {{"enabledBackend", "ca-1"},
           {"backends", {{{"name", "ca-1"}, {"type", "builtin"}, {"mode", "STRICT"}}}}}}});
    put(dataplane("web-1", "web", "10.0.0.1", true));
    put(dataplane("backend-1", "backend", "10.0.0.2", false));
    put(dataplane("other-1", "other", "10.0.0.3", true));
    ReconcilerOptions options;
    options.plugins = policies::makeXdsPolicyPlugins();
    // No refresh tick within a test: whatever is published was caused by the change itself.
    options.refreshInterval = std::chrono::hours(1);
    options.workers = 2;
    reconciler_ = std::make_unique<Reconciler>(*store_, registry_, cache_, options);
    reconciler_->start();
  }
  void TearDown() override { reconciler_->stop(); }

  static json dataplane(const std::string& name, const std::string& service,
                        const std::string& address, bool callsBackend) {
    json dp = {{"type", "Dataplane"},
               {"mesh", "default"},
               {"name", name},
               {"networking",
                {{"address", address},
                 {"inbound",
                  {{{"port", 8080},
                    {"tags", {{"kuma.io/service", service}, {"kuma.io/protocol", "http"}}}}}}}}};
    if (callsBackend) {
      dp["networking"]["outbound"] = {
          {{"port", 10001}, {"tags", {{"kuma.io/service", "backend"}}}}};
    }
    return dp;
  }

  static json permission(const std::string& name, const std::string& service,
                         const std::string& action) {
    return {{"type", "MeshTrafficPermission"},
            {"mesh", "default"},
            {"name", name},
            {"spec",
             {{"targetRef", {{"kind", "MeshService"}, {"name", service}}},
              {"from", {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"action", action}}}}}}}}};
  }

  void put(const json& object) {
    const auto* type = registry_.byName(object["type"].get<std::string>());
    ASSERT_NE(type, nullptr) << object.dump();
    auto body = model::fromRestJson(*type, object);
    ASSERT_TRUE(body.ok()) << body.status();
    ASSERT_TRUE(manager_->upsert(std::move(body->resource)).ok());
  }

  // Waits (bounded) until the node's snapshot satisfies `pred`.
  SnapshotConstSharedPtr waitFor(const std::string& node,
                                 const std::function<bool(const Snapshot&)>& pred) {
    for (int i = 0; i < 300; ++i) {
      auto s = cache_.getSnapshot(node);
      if (s != nullptr && pred(*s)) {
        return s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return nullptr;
  }

  // The inbound listener of `node` as Envoy JSON.
  static json inbound(const Snapshot& s, const std::string& address) {
    auto it = s.types.at(kListenerType).resources.find("inbound:" + address + ":8080");
    if (it == s.types.at(kListenerType).resources.end()) {
      return json();
    }
    auto text = resourceToJson(kListenerType, it->second->serialized);
    return text.ok() ? json::parse(*text) : json();
  }

  // Waits until every reconcile the change caused has run: the generation count stops moving.
  void settle() {
    uint64_t last = reconciler_->stats().generations;
    for (int i = 0; i < 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const uint64_t now = reconciler_->stats().generations;
      if (now == last && i >= 3) {
        return;
      }
      last = now;
    }
  }

  std::map<std::string, std::string> versions(const std::string& node) {
    std::map<std::string, std::string> out;
    auto s = cache_.getSnapshot(node);
    if (s != nullptr) {
      for (const auto& [type, t] : s->types) {
        out[type] = t.version;
      }
    }
    return out;
  }

  void connectAll() {
    reconciler_->addProxy(kWeb, "default", "web-1", {});
    reconciler_->addProxy(kBackend, "default", "backend-1", {});
    reconciler_->addProxy(kOther, "default", "other-1", {});
    for (const char* node : {kWeb, kBackend, kOther}) {
      ASSERT_NE(waitFor(node, [](const Snapshot&) { return true; }), nullptr) << node;
    }
  }

  const model::TypeRegistry& registry_ = kuma::server::allTypes();
  store::ResourceStorePtr store_;
  std::unique_ptr<manager::ResourceManager> manager_;
  cache::SnapshotCache cache_;
  std::unique_ptr<Reconciler> reconciler_;
};

// The RBAC rendered for the MTP shape: the principals of policy "MeshTrafficPermission" of the
// first HTTP filter of the inbound's HCM ("none" when the policies map is empty: deny all).
// (Lookups go through JSON pointers with defaults: a const operator[] on a missing key is
// undefined behaviour, and asserts in debug builds; deny-all renders `rules: {}`.)
std::string mtpPrincipals(const json& listener) {
  if (!listener.is_object()) {
    return "no listener";
  }
  const json first = listener.value(
      "/filterChains/0/filters/0/typedConfig/httpFilters/0"_json_pointer, json::object());
  if (first.value("name", "") != "envoy.filters.http.rbac") {
    return "no rbac filter";
  }
  const json policies = first.value("/typedConfig/rules/policies"_json_pointer, json::object());
  if (!policies.is_object() || policies.empty()) {
    return "none";
  }
  return policies.value("/MeshTrafficPermission/principals"_json_pointer, json()).dump();
}

TEST_F(PermissionVersionsTest, MtpChangeReVersionsOnlyTheSelectedProxy) {
  put(permission("backend-perm", "backend", "Allow"));
  connectAll();
  const auto allowed = waitFor(kBackend, [](const Snapshot& s) {
    return mtpPrincipals(inbound(s, "10.0.0.2")) == R"([{"any":true}])";
  });
  ASSERT_NE(allowed, nullptr) << inbound(*cache_.getSnapshot(kBackend), "10.0.0.2").dump();
  settle();
  const auto webBefore = versions(kWeb);
  const auto otherBefore = versions(kOther);
  const auto backendBefore = versions(kBackend);
  EXPECT_EQ(mtpPrincipals(inbound(*cache_.getSnapshot(kWeb), "10.0.0.1")), "none");
  const ReconcilerStats before = reconciler_->stats();

  put(permission("backend-perm", "backend", "Deny"));
  const auto denied = waitFor(
      kBackend, [](const Snapshot& s) { return mtpPrincipals(inbound(s, "10.0.0.2")) == "none"; });
  ASSERT_NE(denied, nullptr) << "the Deny never reached backend";
  settle();
  const ReconcilerStats after = reconciler_->stats();

  // backend: new listeners, nothing else.
  const auto backendAfter = versions(kBackend);
  EXPECT_NE(backendAfter.at(kListenerType), backendBefore.at(kListenerType));
  for (const auto& [type, version] : backendBefore) {
    if (type != kListenerType) {
      EXPECT_EQ(backendAfter.at(type), version) << type;
    }
  }
  // web and other: regenerated from the new context (outbound clusters serialized again), but
  // every type keeps its version, so Envoy is sent nothing.
  EXPECT_EQ(versions(kWeb), webBefore);
  EXPECT_EQ(versions(kOther), otherBefore);
  EXPECT_FALSE(webBefore.empty());
  EXPECT_TRUE(webBefore.contains(kListenerType) && webBefore.contains(kClusterType) &&
              webBefore.contains(kEndpointType));
  EXPECT_EQ(after.published, before.published + 1);
  EXPECT_EQ(after.errors, 0u);

  // And back: Allow again re-versions backend only.
  put(permission("backend-perm", "backend", "Allow"));
  ASSERT_NE(waitFor(kBackend,
                    [](const Snapshot& s) {
                      return mtpPrincipals(inbound(s, "10.0.0.2")) == R"([{"any":true}])";
                    }),
            nullptr);
  settle();
  EXPECT_EQ(versions(kWeb), webBefore);
  EXPECT_EQ(versions(kOther), otherBefore);
  EXPECT_EQ(reconciler_->stats().published, after.published + 1);
}

TEST_F(PermissionVersionsTest, LegacyTrafficPermissionReVersionsOnlyTheMatchingProxy) {
  connectAll();
  // No permission at all: every inbound denies everything.
  ASSERT_NE(
      waitFor(kBackend,
              [](const Snapshot& s) { return mtpPrincipals(inbound(s, "10.0.0.2")) == "none"; }),
      nullptr);
  settle();
  const auto webBefore = versions(kWeb);
  const auto otherBefore = versions(kOther);
  const auto backendBefore = versions(kBackend);
  const ReconcilerStats before = reconciler_->stats();

  put({{"type", "TrafficPermission"},
       {"mesh", "default"},
       {"name", "web-to-backend"},
       {"sources", {{{"match", {{"kuma.io/service", "web"}}}}}},
       {"destinations", {{{"match", {{"kuma.io/service", "backend"}}}}}}});
  // backend gets the legacy network RBAC named after the TrafficPermission.
  const auto legacy = waitFor(kBackend, [](const Snapshot& s) {
    const json l = inbound(s, "10.0.0.2");
    if (!l.is_object()) {
      return false;
    }
    const json f = l.value("/filterChains/0/filters/0"_json_pointer, json::object());
    return f.value("name", "") == "envoy.filters.network.rbac" &&
           f.value("/typedConfig/rules/policies"_json_pointer, json::object())
               .contains("web-to-backend");
  });
  ASSERT_NE(legacy, nullptr) << inbound(*cache_.getSnapshot(kBackend), "10.0.0.2").dump();
  settle();
  EXPECT_NE(versions(kBackend).at(kListenerType), backendBefore.at(kListenerType));
  // web and other match no TrafficPermission: still the deny-all, byte for byte.
  EXPECT_EQ(versions(kWeb), webBefore);
  EXPECT_EQ(versions(kOther), otherBefore);
  EXPECT_EQ(reconciler_->stats().published, before.published + 1);
  EXPECT_EQ(reconciler_->stats().errors, 0u);
}

}  // namespace
}  // namespace kuma::xds::sync
