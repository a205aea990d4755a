// The identity types' controllers against the memory store, with the answers Kuma 2.14.3 gave
// for the same resources (Workload generator and status, MeshIdentity conditions).

#include <memory>

#include "gtest/gtest.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/rest_codec.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/identity/controllers/meshidentity_status.h"
#include "source/plugins/identity/controllers/workload_controllers.h"
#include "source/plugins/identity/register.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/plugins/services/register.h"

namespace kuma::identity {
namespace {

using nlohmann::json;

class IdentityControllersTest : public ::testing::Test {
 protected:
  IdentityControllersTest() {
    resources::registerMeshTypes(registry_);
    services::registerServiceTypes(registry_);
    registerIdentityTypes(registry_);
    store_ = memory::newMemoryStore();
    manager::Options options;
    options.zone = "zone-1";
    manager_ = std::make_unique<manager::ResourceManager>(*store_, registry_, options);
  }

  void create(const json& object) {
    const model::ResourceTypeDescriptor* d = registry_.byName(object.at("type").get<std::string>());
    ASSERT_NE(d, nullptr);
    auto body = model::fromRestJson(*d, object);
    ASSERT_TRUE(body.ok()) << body.status();
    auto created = manager_->create(std::move(body->resource));
    ASSERT_TRUE(created.ok()) << created.status();
  }

  json get(const std::string& type, const std::string& mesh, const std::string& name) {
    auto found = manager_->get(*registry_.byName(type), {name, mesh});
    if (!found.ok()) {
      return nullptr;
    }
    json out = model::toRestJson(**found);
    out.erase("creationTime");
    out.erase("modificationTime");
    return out;
  }

  std::vector<std::string> workloadNames(const std::string& mesh) {
    store::ListOptions options;
    options.mesh = mesh;
    auto list = manager_->list(*registry_.byName("Workload"), options);
    std::vector<std::string> out;
    for (const auto& item : list->items) {
      out.push_back(item->meta.name);
    }
    return out;
  }

  void dataplane(const std::string& name, const std::string& workload, const std::string& extra) {
    create(json::parse(R"({"type": "Dataplane", "mesh": "default", "name": ")" + name +
                       R"(", "labels": {"kuma.io/workload": ")" + workload +
                       R"("}, "networking": {"address": "127.0.0.1", "inbound": [{"port": )" +
                       std::to_string(port_++) + R"(, "servicePort": 1235, )" + extra +
                       R"( "tags": {"kuma.io/service": "web"}}]}})"));
  }

  model::TypeRegistry registry_;
  std::unique_ptr<store::ResourceStore> store_;
  std::unique_ptr<manager::ResourceManager> manager_;
  int port_ = 1234;
};

TEST_F(IdentityControllersTest, WorkloadsFollowTheDataplanesLabels) {
  create({{"type", "Mesh"}, {"name", "default"}});
  // A hand-made Workload no Dataplane names: Kuma's generator deletes it.
  create({{"type", "Workload"}, {"mesh", "default"}, {"name", "manual"}, {"spec", json::object()}});
  dataplane("dp-1", "wl-a", "");
  dataplane("dp-2", "wl-a", R"("state": "NotReady",)");
  dataplane("dp-3", "wl-b", R"("health": {"ready": false},)");

  WorkloadGenerator generator(*manager_, registry_, "zone-1");
  generator.generate();
  EXPECT_EQ(workloadNames("default"), (std::vector<std::string>{"wl-a", "wl-b"}));
  // Kuma 2.14.3's generated Workload: no kuma.io/origin, Go's zero-value status.
  EXPECT_EQ(get("Workload", "default", "wl-a"), json::parse(R"({
    "type": "Workload", "mesh": "default", "name": "wl-a", "kri": "kri_wl_default_zone-1__wl-a_",
    "labels": {"kuma.io/env": "universal", "kuma.io/managed-by": "workload-generator",
               "kuma.io/mesh": "default", "kuma.io/zone": "zone-1"},
    "spec": {}, "status": {"dataplaneProxies": {"connected": 0, "healthy": 0, "total": 0}}})"));

  WorkloadStatusUpdater status(*manager_, registry_);
  status.update();
  EXPECT_EQ(get("Workload", "default", "wl-a")["status"],
            json::parse(R"({"dataplaneProxies": {"connected": 0, "healthy": 1, "total": 2}})"));
  EXPECT_EQ(get("Workload", "default", "wl-b")["status"],
            json::parse(R"({"dataplaneProxies": {"connected": 0, "healthy": 0, "total": 1}})"));
  EXPECT_EQ(get("Workload", "default", "wl-a")["labels"].count("kuma.io/origin"), 0u);

  // A connected proxy counts as connected.
  create(json::parse(R"({"type": "DataplaneInsight", "mesh": "default", "name": "dp-1",
    "subscriptions": [{"id": "1", "controlPlaneInstanceId": "cp",
                       "connectTime": "2026-12-07T06:00:00Z"}]})"));
  status.update();
  EXPECT_EQ(get("Workload", "default", "wl-a")["status"]["dataplaneProxies"]["connected"], 1);

  // The last Dataplane of wl-b goes: so does the Workload.
  ASSERT_TRUE(manager_->remove(*registry_.byName("Dataplane"), {"dp-3", "default"}).ok());
  generator.generate();
  EXPECT_EQ(workloadNames("default"), (std::vector<std::string>{"wl-a"}));
}

TEST_F(IdentityControllersTest, InvalidWorkloadLabelsAreSkipped) {
  create({{"type", "Mesh"}, {"name", "default"}});
  // The REST API refuses such a label on create; the manager (an update, another writer) does not.
  dataplane("dp-1", "Not_A_Label", "");
  WorkloadGenerator(*manager_, registry_, "zone-1").generate();
  EXPECT_TRUE(workloadNames("default").empty());
}

TEST_F(IdentityControllersTest, MeshIdentityConditions) {
  create({{"type", "Mesh"}, {"name", "default"}});
  create({{"type", "Mesh"}, {"name", "exclusive"}, {"meshServices", {{"mode", "Exclusive"}}}});
  for (const char* mesh : {"default", "exclusive"}) {
    create({{"type", "MeshIdentity"},
            {"mesh", mesh},
            {"name", "bundled"},
            {"spec",
             {{"provider",
               {{"type", "Bundled"}, {"bundled", {{"autogenerate", {{"enabled", true}}}}}}}}}});
  }
  create({{"type", "MeshIdentity"},
          {"mesh", "exclusive"},
          {"name", "bare"},
          {"spec", json::object()}});
  MeshIdentityStatusUpdater updater(*manager_, registry_);
  updater.update();
  // Kuma 2.14.3's answer for a mesh without Exclusive MeshServices.
  EXPECT_EQ(get("MeshIdentity", "default", "bundled")["status"], json::parse(R"({"conditions": [
    {"type": "DependenciesReady", "status": "False", "reason": "MeshServicesDisabled",
     "message": "MeshIdentity requires MeshServices to be enabled on the mesh. To enable, set `spec.meshServices.mode: Exclusive` on the mesh."},
    {"type": "Ready", "status": "False", "reason": "Failure",
     "message": "One of initialization steps failed"}]})"));
  // No identity provider here: Kuma's answer for a provider it does not have.
  EXPECT_EQ(get("MeshIdentity", "exclusive", "bundled")["status"], json::parse(R"({"conditions": [
    {"type": "Provider", "status": "False", "reason": "ProviderNotFoundError",
     "message": "provider: Bundled not found"},
    {"type": "Ready", "status": "False", "reason": "Failure",
     "message": "One of initialization steps failed"}]})"));
  EXPECT_EQ(get("MeshIdentity", "exclusive", "bare")["status"]["conditions"][0]["type"],
            "SpiffeIDProvider");
  EXPECT_EQ(get("MeshIdentity", "exclusive", "bare")["status"]["conditions"][0]["status"], "False");
  // Unchanged conditions are not written again.
  const json before = get("MeshIdentity", "exclusive", "bundled");
  auto version = manager_->get(*registry_.byName("MeshIdentity"), {"bundled", "exclusive"});
  updater.update();
  auto again = manager_->get(*registry_.byName("MeshIdentity"), {"bundled", "exclusive"});
  EXPECT_EQ((*version)->meta.version, (*again)->meta.version);
  EXPECT_EQ(get("MeshIdentity", "exclusive", "bundled"), before);
}

}  // namespace
}  // namespace kuma::identity
