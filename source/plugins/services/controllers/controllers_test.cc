// The service-discovery controllers against the memory store, with the answers Kuma 2.14.3 gave
// for the same resources (MeshService generator, VIPs, hostnames, status).

#include <memory>

#include "gtest/gtest.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/rest_codec.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/plugins/services/controllers/hostname_generator.h"
#include "source/plugins/services/controllers/meshservice_generator.h"
#include "source/plugins/services/controllers/meshmultizoneservice_status.h"
#include "source/plugins/services/controllers/meshservice_status.h"
#include "source/plugins/services/controllers/vip_allocator.h"
#include "source/plugins/services/register.h"

namespace kuma::services {
namespace {

using nlohmann::json;

class ControllersTest : public ::testing::Test {
 protected:
  ControllersTest() {
    resources::registerMeshTypes(registry_);
    registerServiceTypes(registry_);
    store_ = memory::newMemoryStore();
    manager_ = std::make_unique<manager::ResourceManager>(*store_, registry_, manager::Options{});
  }

  void create(const json& object, bool generated = false) {
    const model::ResourceTypeDescriptor* d = registry_.byName(object.at("type").get<std::string>());
    ASSERT_NE(d, nullptr);
    auto body = model::fromRestJson(*d, object);
    ASSERT_TRUE(body.ok()) << body.status();
    auto created = generated ? manager_->createGenerated(std::move(body->resource))
                             : manager_->create(std::move(body->resource));
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

  void remove(const std::string& type, const std::string& mesh, const std::string& name) {
    ASSERT_TRUE(manager_->remove(*registry_.byName(type), {name, mesh}).ok());
  }

  void createMeshAndBackend(const std::string& mode = "Exclusive") {
    create({{"type", "Mesh"}, {"name", "ms"}, {"meshServices", {{"mode", mode}}}});
    create(json::parse(R"({"type": "Dataplane", "mesh": "ms", "name": "backend-1",
      "labels": {"team": "a"},
      "networking": {"address": "127.0.0.2", "inbound": [
        {"port": 8080, "tags": {"kuma.io/service": "backend", "kuma.io/protocol": "http",
                                "version": "v1"}},
        {"port": 9090, "name": "metrics", "tags": {"kuma.io/service": "backend"}},
        {"port": 7070, "tags": {"kuma.io/service": "other_svc"}}]}})"));
  }

  void createDefaultGenerator() {
    create(json::parse(R"({"type": "HostnameGenerator", "name": "local-universal-mesh-service",
      "labels": {"kuma.io/origin": "zone"},
      "spec": {"selector": {"meshService": {"matchLabels": {"kuma.io/origin": "zone"}}},
               "template": "{{ .DisplayName }}.svc.mesh.local"}})"),
           /*generated=*/true);
  }

  model::TypeRegistry registry_;
  store::ResourceStorePtr store_;
  std::unique_ptr<manager::ResourceManager> manager_;
};

TEST(IpamTest, AllocatesFromTheFirstAddressAndSkipsReservedOnes) {
  auto ipam = Ipam::create("241.0.0.0/8");
  ASSERT_TRUE(ipam.ok());
  EXPECT_TRUE(ipam->reserve("241.0.0.1"));
  EXPECT_FALSE(ipam->reserve("241.0.0.1"));  // already used
  EXPECT_FALSE(ipam->reserve("242.0.0.1"));  // outside
  EXPECT_FALSE(ipam->reserve("nonsense"));
  EXPECT_EQ(*ipam->allocate(), "241.0.0.0");
  EXPECT_EQ(*ipam->allocate(), "241.0.0.2");
}

TEST(IpamTest, WrapsAroundAndRunsOut) {
  auto ipam = Ipam::create("10.0.0.4/31");
  ASSERT_TRUE(ipam.ok());
  EXPECT_EQ(*ipam->allocate(), "10.0.0.4");
  EXPECT_EQ(*ipam->allocate(), "10.0.0.5");
  EXPECT_FALSE(ipam->allocate().ok());
}

TEST(IpamTest, Ipv6AndInvalidCidrs) {
  auto ipam = Ipam::create("fd00::/120");
  ASSERT_TRUE(ipam.ok());
  EXPECT_EQ(*ipam->allocate(), "fd00::");
  EXPECT_EQ(*ipam->allocate(), "fd00::1");
  EXPECT_TRUE(Ipam::create("::/0").ok());
  for (const char* bad : {"241.0.0.0", "241.0.0.0/33", "x/8", "241.0.0.0/-1", ""}) {
    EXPECT_FALSE(Ipam::create(bad).ok()) << bad;
  }
}

// Kuma 2.14.3's MeshService for this Dataplane (GET /meshes/ms/meshservices/backend), status
// and times aside: other_svc is not a DNS-1035 label, so only `backend` is generated.
TEST_F(ControllersTest, GeneratorCreatesKumasMeshService) {
  createMeshAndBackend();
  MeshServiceGenerator generator(*manager_, registry_, {});
  generator.generate();
  json got = get("MeshService", "ms", "backend");
  ASSERT_FALSE(got.is_null());
  EXPECT_EQ(got["labels"], json::parse(R"({"kuma.io/display-name": "backend",
    "kuma.io/env": "universal", "kuma.io/managed-by": "meshservice-generator",
    "kuma.io/mesh": "ms", "kuma.io/origin": "zone", "kuma.io/zone": "default"})"));
  EXPECT_EQ(got["spec"], json::parse(R"({"state": "Unavailable",
    "selector": {"dataplaneTags": {"kuma.io/service": "backend"}},
    "ports": [{"name": "8080", "port": 8080, "targetPort": 8080, "appProtocol": "http"},
              {"name": "metrics", "port": 9090, "targetPort": 9090, "appProtocol": "tcp"}]})"));
  EXPECT_TRUE(get("MeshService", "ms", "other_svc").is_null());

  // Nothing changes on the next pass.
  auto before = manager_->get(*registry_.byName("MeshService"), {"backend", "ms"});
  generator.generate();
  auto after = manager_->get(*registry_.byName("MeshService"), {"backend", "ms"});
  EXPECT_EQ((*before)->meta.version, (*after)->meta.version);
}

TEST_F(ControllersTest, WholeStatusAsKumaAnswers) {
  createMeshAndBackend();
  createDefaultGenerator();
  MeshServiceGenerator generator(*manager_, registry_, {});
  generator.generate();
  VipAllocator allocator(*manager_, {{registry_.byName("MeshService"), "241.0.0.0/8"}});
  ASSERT_TRUE(allocator.init().ok());
  allocator.allocate();
  HostnameGenerator hostnames(*manager_, registry_, "default");
  hostnames.generate();
  MeshServiceStatusUpdater status(*manager_, registry_);
  status.update();
  json got = get("MeshService", "ms", "backend");
  EXPECT_EQ(got["spec"]["state"], "Available");
  EXPECT_EQ(got["spec"]["identities"], json::parse(R"([{"type": "ServiceTag", "value": "backend"},
    {"type": "ServiceTag", "value": "other_svc"}])"));
  EXPECT_EQ(got["status"], json::parse(R"({
    "addresses": [{"hostname": "backend.svc.mesh.local", "origin": "HostnameGenerator",
                   "hostnameGeneratorRef": {"coreName": "local-universal-mesh-service"}}],
    "vips": [{"ip": "241.0.0.0"}],
    "tls": {"status": "NotReady"},
    "hostnameGenerators": [{"hostnameGeneratorRef": {"coreName": "local-universal-mesh-service"},
      "conditions": [{"type": "Generated", "status": "True", "reason": "Generated",
                      "message": ""}]}],
    "dataplaneProxies": {"healthy": 1, "total": 1}})"));
  // The field order is Kuma's too.
  auto stored = manager_->get(*registry_.byName("MeshService"), {"backend", "ms"});
  ASSERT_TRUE(stored.ok());
  const nlohmann::ordered_json ordered = model::toRestJson(**stored);
  std::vector<std::string> keys;
  for (const auto& [key, value] : ordered["status"].items()) {
    keys.push_back(key);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"addresses", "vips", "tls", "hostnameGenerators",
                                            "dataplaneProxies"}));
}

TEST_F(ControllersTest, VipsAreNotReusedAndSurviveARestart) {
  createMeshAndBackend();
  MeshServiceGenerator generator(*manager_, registry_, {});
  generator.generate();
  create({{"type", "MeshExternalService"},
          {"mesh", "ms"},
          {"name", "example"},
          {"spec",
           {{"match", {{"type", "HostnameGenerator"}, {"port", 443}, {"protocol", "tcp"}}},
            {"endpoints", {{{"address", "example.com"}, {"port", 443}}}}}}});
  const std::vector<VipAllocator::Target> targets = {
      {registry_.byName("MeshService"), "241.0.0.0/8"},
      {registry_.byName("MeshExternalService"), "242.0.0.0/8"}};
  VipAllocator allocator(*manager_, targets);
  ASSERT_TRUE(allocator.init().ok());
  allocator.allocate();
  EXPECT_EQ(get("MeshService", "ms", "backend")["status"]["vips"],
            json::parse(R"([{"ip": "241.0.0.0"}])"));
  EXPECT_EQ(get("MeshExternalService", "ms", "example")["status"]["vip"],
            json::parse(R"({"ip": "242.0.0.0"})"));

  // Deleted and created again: the next address.
  remove("MeshService", "ms", "backend");
  generator.generate();
  allocator.allocate();
  EXPECT_EQ(get("MeshService", "ms", "backend")["status"]["vips"],
            json::parse(R"([{"ip": "241.0.0.1"}])"));

  // A new allocator (a restart) keeps the stored VIPs and does not hand them out again.
  create({{"type", "MeshService"},
          {"mesh", "ms"},
          {"name", "manual"},
          {"spec", {{"ports", {{{"port", 80}}}}}}});
  VipAllocator restarted(*manager_, targets);
  ASSERT_TRUE(restarted.init().ok());
  restarted.allocate();
  EXPECT_EQ(get("MeshService", "ms", "backend")["status"]["vips"],
            json::parse(R"([{"ip": "241.0.0.1"}])"));
  EXPECT_EQ(get("MeshService", "ms", "manual")["status"]["vips"],
            json::parse(R"([{"ip": "241.0.0.0"}])"));
}

TEST_F(ControllersTest, HostnameCollisionsAndTemplateErrors) {
  create({{"type", "Mesh"}, {"name", "ms"}});
  for (const char* name : {"a", "b"}) {
    create({{"type", "MeshService"},
            {"mesh", "ms"},
            {"name", name},
            {"labels", {{"team", "x"}}},
            {"spec", {{"ports", {{{"port", 80}}}}}}});
  }
  create(json::parse(R"({"type": "HostnameGenerator", "name": "same",
    "spec": {"selector": {"meshService": {"matchLabels": {"team": "x"}}},
             "template": "team.mesh"}})"));
  create(json::parse(R"({"type": "HostnameGenerator", "name": "by-label",
    "spec": {"selector": {"meshService": {}},
             "template": "{{ label \"missing\" }}.mesh"}})"));
  HostnameGenerator hostnames(*manager_, registry_, "default");
  hostnames.generate();
  json a = get("MeshService", "ms", "a");
  json b = get("MeshService", "ms", "b");
  EXPECT_EQ(a["status"]["addresses"], json::parse(R"([{"hostname": "team.mesh",
    "origin": "HostnameGenerator", "hostnameGeneratorRef": {"coreName": "same"}}])"));
  EXPECT_FALSE(b["status"].contains("addresses"));
  ASSERT_EQ(b["status"]["hostnameGenerators"].size(), 2u);
  // Sorted by generator name: by-label, then same.
  EXPECT_EQ(b["status"]["hostnameGenerators"][0]["conditions"][0]["reason"], "TemplateError");
  EXPECT_EQ(b["status"]["hostnameGenerators"][1]["conditions"][0],
            json::parse(R"({"type": "Generated", "status": "False", "reason": "Collision",
                            "message": "Hostname collision with MeshService: b"})"));
}

TEST_F(ControllersTest, GracePeriodThenDeletionAndDisabledMeshes) {
  createMeshAndBackend();
  MeshServiceGeneratorOptions options;
  options.deletionGracePeriod = absl::ZeroDuration();
  MeshServiceGenerator generator(*manager_, registry_, options);
  generator.generate();
  ASSERT_FALSE(get("MeshService", "ms", "backend").is_null());
  remove("Dataplane", "ms", "backend-1");
  generator.generate();
  json labelled = get("MeshService", "ms", "backend");
  ASSERT_FALSE(labelled.is_null());
  EXPECT_TRUE(labelled["labels"].contains("kuma.io/deletion-grace-period-started-at"));
  absl::SleepFor(absl::Milliseconds(5));
  generator.generate();
  EXPECT_TRUE(get("MeshService", "ms", "backend").is_null());

  // Mode Disabled: generated MeshServices go at once, manual ones stay.
  create(json::parse(R"({"type": "Dataplane", "mesh": "ms", "name": "backend-2",
      "networking": {"address": "127.0.0.3", "inbound": [
        {"port": 8080, "tags": {"kuma.io/service": "backend"}}]}})"));
  create({{"type", "MeshService"},
          {"mesh", "ms"},
          {"name", "manual"},
          {"spec", {{"ports", {{{"port", 80}}}}}}});
  generator.generate();
  ASSERT_FALSE(get("MeshService", "ms", "backend").is_null());
  auto mesh = manager_->get(*registry_.byName("Mesh"), {"ms", ""});
  auto body = model::fromRestJson(
      *registry_.byName("Mesh"),
      {{"type", "Mesh"}, {"name", "ms"}, {"meshServices", {{"mode", "Disabled"}}}});
  ASSERT_TRUE(body.ok());
  body->resource.meta.version = (*mesh)->meta.version;
  ASSERT_TRUE(manager_->update(std::move(body->resource)).ok());
  generator.generate();
  EXPECT_TRUE(get("MeshService", "ms", "backend").is_null());
  EXPECT_FALSE(get("MeshService", "ms", "manual").is_null());
}

// meshService.labelPropagation: the Dataplanes' labels and agreed inbound tags reach the
// generated MeshService (majority, then the newest Dataplane), tracked by Kuma's hashed
// `kuma.io/pkey-` labels so that a key no Dataplane gives any more goes and users' labels stay.
TEST_F(ControllersTest, LabelPropagationFromDataplanes) {
  EXPECT_EQ(propagationTrackingKey("team"), "kuma.io/pkey-ca8b22d0db83a22d");
  EXPECT_EQ(propagationTrackingKey("version"), "kuma.io/pkey-5ca4f3850ccc331a");
  create({{"type", "Mesh"}, {"name", "ms"}, {"meshServices", {{"mode", "Exclusive"}}}});
  const auto dataplane = [&](const std::string& name, const json& labels, const json& tags8080,
                             const json& tags9090) {
    json tags1 = tags8080;
    tags1["kuma.io/service"] = "backend";
    json tags2 = tags9090;
    tags2["kuma.io/service"] = "backend";
    create(
        {{"type", "Dataplane"},
         {"mesh", "ms"},
         {"name", name},
         {"labels", labels},
         {"networking",
          {{"address", "127.0.0.2"},
           {"inbound", {{{"port", 8080}, {"tags", tags1}}, {{"port", 9090}, {"tags", tags2}}}}}}},
        /*generated=*/true);
  };
  // A tag value of 64 characters is a valid tag and an invalid label value.
  dataplane("backend-1", {{"team", "a"}}, {{"version", "v1"}, {"note", std::string(64, 'x')}},
            {{"zone-x", "b"}});
  absl::SleepFor(absl::Milliseconds(2));  // backend-2 is the newer one
  dataplane("backend-2", {{"team", "b"}}, {{"version", "v2"}, {"zone-x", "a"}}, {{"zone-x", "b"}});
  DroppedLabels dropped;
  MeshServiceGeneratorOptions options;
  options.labelPropagation = true;
  options.droppedLabels = &dropped;
  MeshServiceGenerator generator(*manager_, registry_, options);
  generator.generate();
  const json system = json::parse(R"({"kuma.io/display-name": "backend",
    "kuma.io/env": "universal", "kuma.io/managed-by": "meshservice-generator",
    "kuma.io/mesh": "ms", "kuma.io/origin": "zone", "kuma.io/zone": "default"})");
  json want = system;
  // A tie of one Dataplane each: the newer one's values. backend-2's inbounds disagree on zone-x.
  want.update({{"team", "b"},
               {"version", "v2"},
               {"zone-x", "b"},
               {"kuma.io/pkey-ca8b22d0db83a22d", ""},
               {"kuma.io/pkey-5ca4f3850ccc331a", ""},
               {propagationTrackingKey("zone-x"), ""}});
  EXPECT_EQ(get("MeshService", "ms", "backend")["labels"], want);
  EXPECT_GE(dropped.invalid.load(), 1u);          // note
  EXPECT_GE(dropped.inboundConflict.load(), 1u);  // backend-2's zone-x

  // A user's label stays; keys no Dataplane gives any more go.
  auto current = manager_->get(*registry_.byName("MeshService"), {"backend", "ms"});
  ASSERT_TRUE(current.ok());
  model::Resource labelled = **current;
  labelled.meta.labels["owner"] = "me";
  ASSERT_TRUE(manager_->updateGenerated(std::move(labelled)).ok());
  remove("Dataplane", "ms", "backend-2");
  remove("Dataplane", "ms", "backend-1");
  dataplane("backend-1", {{"team", "a"}}, json::object(), json::object());
  generator.generate();
  want = system;
  want.update({{"team", "a"}, {"owner", "me"}, {"kuma.io/pkey-ca8b22d0db83a22d", ""}});
  EXPECT_EQ(get("MeshService", "ms", "backend")["labels"], want);

  // allowedLabelKeys: only those keys.
  options.allowedLabelKeys = {"version"};
  MeshServiceGenerator onlyVersion(*manager_, registry_, options);
  remove("Dataplane", "ms", "backend-1");
  dataplane("backend-1", {{"team", "a"}}, {{"version", "v3"}}, json::object());
  onlyVersion.generate();
  want = system;
  want.update({{"version", "v3"}, {"owner", "me"}, {"kuma.io/pkey-5ca4f3850ccc331a", ""}});
  EXPECT_EQ(get("MeshService", "ms", "backend")["labels"], want);
}

TEST_F(ControllersTest, StatusCountsConnectedHealthyAndTls) {
  createMeshAndBackend();
  create(json::parse(R"({"type": "Dataplane", "mesh": "ms", "name": "backend-2",
      "networking": {"address": "127.0.0.3", "inbound": [
        {"port": 8080, "state": "NotReady", "tags": {"kuma.io/service": "backend"}},
        {"port": 9090, "name": "metrics", "tags": {"kuma.io/service": "backend"}}]}})"));
  MeshServiceGenerator generator(*manager_, registry_, {});
  generator.generate();
  MeshServiceStatusUpdater status(*manager_, registry_);
  status.update();
  json got = get("MeshService", "ms", "backend");
  EXPECT_EQ(got["status"]["dataplaneProxies"], json::parse(R"({"healthy": 1, "total": 2})"));
  EXPECT_EQ(got["spec"]["state"], "Available");
  EXPECT_EQ(got["status"]["tls"], json::parse(R"({"status": "NotReady"})"));
}

// Kuma 2.14.3 answered this status for the same MeshMultiZoneService and MeshService.
TEST_F(ControllersTest, MultiZoneServiceStatusListsMatchedMeshServices) {
  createMeshAndBackend();
  MeshServiceGenerator generator(*manager_, registry_, {});
  generator.generate();
  create(json::parse(R"({"type": "MeshMultiZoneService", "mesh": "ms", "name": "mz",
    "spec": {"selector": {"meshService": {"matchLabels": {"kuma.io/display-name": "backend"}}},
             "ports": [{"port": 80}]}})"));
  create(json::parse(R"({"type": "MeshMultiZoneService", "mesh": "ms", "name": "none",
    "spec": {"selector": {"meshService": {"matchLabels": {"app": "nothing"}}},
             "ports": [{"port": 80}]}})"));
  MeshMultiZoneServiceStatusUpdater status(*manager_, registry_);
  status.update();
  EXPECT_EQ(get("MeshMultiZoneService", "ms", "mz")["status"], json::parse(R"j({
    "meshServices": [{"name": "backend", "namespace": "", "zone": "default", "mesh": "ms"}],
    "conditions": [{"type": "MeshServicesMatched", "status": "True", "reason": "MatchesFound",
                    "message": "Matched 1 MeshService(s)"}]})j"));
  EXPECT_EQ(get("MeshMultiZoneService", "ms", "none")["status"]["conditions"],
            json::parse(R"([{"type": "MeshServicesMatched", "status": "False",
      "reason": "NoMatchesFound",
      "message": "Selector does not match any MeshService in this zone"}])"));
  auto before = manager_->get(*registry_.byName("MeshMultiZoneService"), {"mz", "ms"});
  status.update();
  auto after = manager_->get(*registry_.byName("MeshMultiZoneService"), {"mz", "ms"});
  EXPECT_EQ((*before)->meta.version, (*after)->meta.version);
}

}  // namespace
}  // namespace kuma::services
