#include "source/core/manager/resource_manager.h"

#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/core/store/errors.h"
#include "source/core/validators/validation_error.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "test/store_conformance/test_types.h"

namespace kuma::manager {
namespace {

using store::conformance::jsonOf;
using store::conformance::jsonSpec;
using store::conformance::makeJsonDescriptor;
using store::conformance::makeResource;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using validators::ValidationError;
using validators::Violation;

std::vector<Violation> violationsOf(const absl::Status& status) {
  auto errors = ValidationError::fromStatus(status);
  return errors ? errors->violations() : std::vector<Violation>{};
}

model::TypeRegistry makeRegistry() {
  model::TypeRegistry registry;
  registry.add(makeJsonDescriptor("Mesh", "meshes", model::Scope::Global));

  auto dataplane = makeJsonDescriptor("Dataplane", "dataplanes", model::Scope::Mesh);
  dataplane.providedByZone = true;
  dataplane.isProxy = true;
  dataplane.validate = [](const model::Resource& r, ValidationError& errors) {
    if (!jsonOf(r).contains("address")) {
      errors.addViolation("networking.address", "address can't be empty");
    }
  };
  registry.add(std::move(dataplane));

  auto policy = makeJsonDescriptor("TestPolicy", "testpolicies", model::Scope::Mesh);
  policy.providedByZone = true;
  policy.applyDefaults = [](const model::Resource& r,
                            const model::DefaultingContext& ctx) -> model::SpecConstSharedPtr {
    nlohmann::json spec = jsonOf(r);
    if (spec.contains("zone")) {
      return nullptr;
    }
    spec["zone"] = ctx.zone;
    return jsonSpec(spec);
  };
  policy.validate = [](const model::Resource& r, ValidationError& errors) {
    if (!jsonOf(r).contains("zone")) {
      errors.addViolation("zone", "must be set");
    }
  };
  registry.add(std::move(policy));

  registry.add(makeJsonDescriptor("GlobalThing", "globalthings", model::Scope::Global));

  auto insight = makeJsonDescriptor("TestInsight", "testinsights", model::Scope::Mesh);
  insight.providedByZone = true;
  insight.readOnly = true;
  registry.add(std::move(insight));
  return registry;
}

class ResourceManagerTest : public ::testing::Test {
 protected:
  ResourceManagerTest() { reset(Options{}); }

  void reset(Options options) {
    options.upsertRetryBaseBackoff = absl::ZeroDuration();
    manager_.reset();
    store_ = memory::newMemoryStore();
    manager_ = std::make_unique<ResourceManager>(*store_, registry_, options);
  }

  const model::ResourceTypeDescriptor& type(std::string_view name) {
    const auto* d = registry_.byName(name);
    EXPECT_NE(d, nullptr) << name;
    return *d;
  }

  model::ResourceConstSharedPtr mustCreate(model::Resource resource) {
    auto created = manager_->create(std::move(resource));
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : nullptr;
  }

  model::ResourceConstSharedPtr mustCreateMesh(const std::string& name,
                                               nlohmann::json spec = nlohmann::json::object()) {
    return mustCreate(makeResource(type("Mesh"), "", name, std::move(spec)));
  }

  model::Resource dataplane(const std::string& mesh, const std::string& name,
                            std::map<std::string, std::string> labels = {}) {
    return makeResource(type("Dataplane"), mesh, name, {{"address", "10.0.0.1"}},
                        std::move(labels));
  }

  model::TypeRegistry registry_ = makeRegistry();
  store::ResourceStorePtr store_;
  std::unique_ptr<ResourceManager> manager_;
};

TEST_F(ResourceManagerTest, ComputesLabels) {
  reset(Options{.zone = "zone-1"});
  auto mesh = mustCreateMesh("default");
  ASSERT_NE(mesh, nullptr);
  EXPECT_THAT(mesh->meta.labels, IsEmpty());

  auto dp = mustCreate(dataplane("default", "dp-1", {{"team", "a"}}));
  ASSERT_NE(dp, nullptr);
  EXPECT_EQ(dp->meta.labels, (std::map<std::string, std::string>{
                                 {"kuma.io/env", "universal"},
                                 {"kuma.io/mesh", "default"},
                                 {"kuma.io/origin", "zone"},
                                 {"kuma.io/proxy-type", "sidecar"},
                                 {"kuma.io/zone", "zone-1"},
                                 {"team", "a"},
                             }));

  auto gateway = mustCreate(dataplane("default", "gw-1", {{"kuma.io/proxy-type", "gateway"}}));
  ASSERT_NE(gateway, nullptr);
  EXPECT_THAT(gateway->meta.labels, Contains(Pair("kuma.io/proxy-type", "gateway")));

  auto policy = mustCreate(makeResource(type("TestPolicy"), "default", "p-1"));
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->meta.labels.count("kuma.io/proxy-type"), 0u);
  EXPECT_THAT(policy->meta.labels, Contains(Pair("kuma.io/origin", "zone")));

  auto global = mustCreate(makeResource(type("GlobalThing"), "", "g-1"));
  ASSERT_NE(global, nullptr);
  EXPECT_THAT(global->meta.labels, IsEmpty());
}

// Kuma's managers store what the control plane generates (CA and signing-key Secrets, insights)
// without computed labels; only the REST API computes them.
TEST_F(ResourceManagerTest, GeneratedResourcesCarryNoComputedLabels) {
  reset(Options{.zone = "zone-1"});
  ASSERT_NE(mustCreateMesh("default"), nullptr);
  auto generated = manager_->createGenerated(makeResource(
      type("TestPolicy"), "default", "gen-1", nlohmann::json{{"zone", "z"}}, {{"team", "a"}}));
  ASSERT_TRUE(generated.ok()) << generated.status();
  EXPECT_EQ((*generated)->meta.labels, (std::map<std::string, std::string>{{"team", "a"}}));

  // A read-only type is written only by the control plane: never computed labels, also not on
  // update.
  auto insight = mustCreate(makeResource(type("TestInsight"), "default", "web-1"));
  ASSERT_NE(insight, nullptr);
  EXPECT_THAT(insight->meta.labels, IsEmpty());
  model::Resource changed = *insight;
  auto updated = manager_->update(std::move(changed));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_THAT((*updated)->meta.labels, IsEmpty());

  // The same type written normally gets them.
  auto normal = mustCreate(makeResource(type("TestPolicy"), "default", "p-1"));
  ASSERT_NE(normal, nullptr);
  EXPECT_THAT(normal->meta.labels, Contains(Pair("kuma.io/mesh", "default")));
}

TEST_F(ResourceManagerTest, ReportsEveryViolationTogether) {
  mustCreateMesh("default");
  model::Resource bad = makeResource(type("Dataplane"), "my mesh", "Bad_Name", {},
                                     {{"bad key!", "ok"}, {"fine", "-bad-"}});
  auto created = manager_->create(bad);
  ASSERT_TRUE(absl::IsInvalidArgument(created.status())) << created.status();
  EXPECT_EQ(created.status().message(), "Resource is not valid");
  auto violations = violationsOf(created.status());
  auto fields = [&] {
    std::vector<std::string> out;
    for (const auto& v : violations) {
      out.push_back(v.field);
    }
    return out;
  }();
  EXPECT_THAT(fields, Contains("name"));
  EXPECT_THAT(fields, Contains("mesh"));
  EXPECT_THAT(fields, Contains("labels[\"bad key!\"]"));
  EXPECT_THAT(fields, Contains("labels[\"fine\"]"));
  EXPECT_THAT(fields, Contains("networking.address"));
  EXPECT_THAT(violations,
              Contains(Violation{"name",
                                 "invalid characters. A lowercase RFC 1123 subdomain must consist "
                                 "of lower case alphanumeric characters, '-' or '.', and must "
                                 "start and end with an alphanumeric character"}));
  EXPECT_THAT(violations,
              Contains(Violation{"mesh",
                                 "invalid characters. Valid characters are numbers, lowercase "
                                 "latin letters and '-', '_', '.' symbols."}));
  // Nothing was stored.
  auto all = manager_->list(type("Dataplane"), {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total, 0u);
}

TEST_F(ResourceManagerTest, NameLengthRules) {
  auto empty = manager_->create(makeResource(type("Mesh"), "", ""));
  EXPECT_THAT(violationsOf(empty.status()), ElementsAre(Violation{"name", "cannot be empty"}));

  auto tooLong = manager_->create(makeResource(type("GlobalThing"), "", std::string(254, 'a')));
  EXPECT_THAT(violationsOf(tooLong.status()),
              ElementsAre(Violation{"name", "value length must less or equal 253"}));
  EXPECT_NE(mustCreate(makeResource(type("GlobalThing"), "", std::string(253, 'a'))), nullptr);

  auto longMesh = manager_->create(makeResource(type("Mesh"), "", std::string(64, 'm')));
  EXPECT_THAT(violationsOf(longMesh.status()),
              ElementsAre(Violation{"name", "value length must less or equal 63"}));
  EXPECT_NE(mustCreateMesh(std::string(63, 'm')), nullptr);

  auto meshOnGlobal = manager_->create(makeResource(type("GlobalThing"), "default", "g"));
  EXPECT_THAT(violationsOf(meshOnGlobal.status()),
              ElementsAre(Violation{"mesh", "must be empty for a global resource"}));

  auto noMesh = manager_->create(makeResource(type("TestPolicy"), "", "p"));
  EXPECT_THAT(violationsOf(noMesh.status()), ElementsAre(Violation{"mesh", "cannot be empty"}));
}

TEST_F(ResourceManagerTest, MeshMustExist) {
  auto created = manager_->create(dataplane("nope", "dp-1"));
  ASSERT_TRUE(absl::IsInvalidArgument(created.status())) << created.status();
  EXPECT_EQ(created.status().message(), "Mesh is not found");
  EXPECT_THAT(violationsOf(created.status()),
              ElementsAre(Violation{"mesh", "mesh of name nope is not found"}));

  auto upserted = manager_->upsert(dataplane("nope", "dp-1"));
  EXPECT_EQ(upserted.status().message(), "Mesh is not found");
}

TEST_F(ResourceManagerTest, DeletingAMeshCascades) {
  mustCreateMesh("m1");
  mustCreateMesh("m2");
  mustCreate(makeResource(type("TestPolicy"), "m1", "p-1"));
  mustCreate(makeResource(type("TestPolicy"), "m2", "p-1"));
  ASSERT_TRUE(manager_->remove(type("Mesh"), {"m1", ""}).ok());
  EXPECT_TRUE(store::isNotFound(manager_->get(type("TestPolicy"), {"p-1", "m1"}).status()));
  EXPECT_TRUE(manager_->get(type("TestPolicy"), {"p-1", "m2"}).ok());
  EXPECT_TRUE(store::isNotFound(manager_->remove(type("Mesh"), {"m1", ""})));
}

TEST_F(ResourceManagerTest, MeshWithDataplanesCannotBeDeleted) {
  mustCreateMesh("m1");
  mustCreateMesh("m2");
  mustCreate(dataplane("m1", "dp-1"));
  mustCreate(dataplane("m2", "dp-1"));
  absl::Status status = manager_->remove(type("Mesh"), {"m1", ""});
  ASSERT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(violationsOf(status),
              ElementsAre(Violation{
                  "mesh", "unable to delete mesh, there are still some dataplanes attached"}));
  EXPECT_TRUE(manager_->get(type("Mesh"), {"m1", ""}).ok());

  ASSERT_TRUE(manager_->remove(type("Dataplane"), {"dp-1", "m1"}).ok());
  EXPECT_TRUE(manager_->remove(type("Mesh"), {"m1", ""}).ok());
}

TEST_F(ResourceManagerTest, UnsafeDeleteRemovesMeshWithDataplanes) {
  reset(Options{.unsafeDelete = true});
  mustCreateMesh("m1");
  mustCreate(dataplane("m1", "dp-1"));
  ASSERT_TRUE(manager_->remove(type("Mesh"), {"m1", ""}).ok());
  EXPECT_TRUE(store::isNotFound(manager_->get(type("Dataplane"), {"dp-1", "m1"}).status()));
}

TEST_F(ResourceManagerTest, UpsertReportsCreatedThenUpdated) {
  mustCreateMesh("default");
  auto first = manager_->upsert(dataplane("default", "dp-1", {{"v", "1"}}));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);

  model::Resource next = dataplane("default", "dp-1", {{"v", "2"}});
  next.spec = jsonSpec({{"address", "10.0.0.2"}});
  next.meta.version = "garbage";  // ignored by upsert
  auto second = manager_->upsert(next);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->created);
  EXPECT_NE(second->resource->meta.version, first->resource->meta.version);
  EXPECT_EQ(second->resource->meta.creationTime, first->resource->meta.creationTime);
  EXPECT_EQ(jsonOf(*second->resource)["address"], "10.0.0.2");
  EXPECT_THAT(second->resource->meta.labels, Contains(Pair("v", "2")));
  EXPECT_THAT(second->resource->meta.labels, Contains(Pair("kuma.io/origin", "zone")));

  // Validation applies to the update path too.
  model::Resource invalid = dataplane("default", "dp-1");
  invalid.spec = jsonSpec(nlohmann::json::object());
  auto third = manager_->upsert(invalid);
  EXPECT_THAT(violationsOf(third.status()),
              ElementsAre(Violation{"networking.address", "address can't be empty"}));
}

TEST_F(ResourceManagerTest, ConcurrentUpsertsAllSucceedAndCreateOnce) {
  mustCreateMesh("default");
  std::atomic<int> created{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; i++) {
        auto result =
            manager_->upsert(dataplane("default", "dp-1", {{"writer", absl::StrCat(t, "-", i)}}));
        if (!result.ok()) {
          failed++;
        } else if (result->created) {
          created++;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(created.load(), 1);
  auto got = manager_->get(type("Dataplane"), {"dp-1", "default"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->meta.version, "100");
}

TEST_F(ResourceManagerTest, UpdateNeedsTheCurrentVersion) {
  mustCreateMesh("default");
  auto dp = mustCreate(dataplane("default", "dp-1"));
  ASSERT_NE(dp, nullptr);
  auto updated = manager_->update(*dp);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_TRUE(store::isConflict(manager_->update(*dp).status()));
  EXPECT_TRUE(store::isNotFound(manager_->update(dataplane("default", "dp-2")).status()));
}

TEST_F(ResourceManagerTest, ImmutableLabelsCannotChange) {
  mustCreateMesh("default");
  auto dp = mustCreate(dataplane("default", "dp-1", {{"kuma.io/display-name", "first"}}));
  ASSERT_NE(dp, nullptr);

  model::Resource changed = *dp;
  changed.meta.labels["kuma.io/origin"] = "global";
  changed.meta.labels["kuma.io/display-name"] = "second";
  auto refused = manager_->update(changed);
  ASSERT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_THAT(
      violationsOf(refused.status()),
      ElementsAre(Violation{"labels[\"kuma.io/origin\"]",
                            "is immutable, cannot be changed from \"zone\" to \"global\""},
                  Violation{"labels[\"kuma.io/display-name\"]",
                            "is immutable, cannot be changed from \"first\" to \"second\""}));

  // Omitting them keeps them; other labels may change freely.
  model::Resource omitted = *dp;
  omitted.meta.labels = {{"team", "b"}};
  auto updated = manager_->update(omitted);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_THAT((*updated)->meta.labels, Contains(Pair("kuma.io/display-name", "first")));
  EXPECT_THAT((*updated)->meta.labels, Contains(Pair("kuma.io/origin", "zone")));
  EXPECT_THAT((*updated)->meta.labels, Contains(Pair("team", "b")));
}

TEST_F(ResourceManagerTest, ZoneAndMeshLabelsMustMatch) {
  mustCreateMesh("default");
  auto wrongZone = manager_->create(dataplane("default", "dp-1", {{"kuma.io/zone", "other"}}));
  EXPECT_THAT(violationsOf(wrongZone.status()),
              ElementsAre(Violation{"labels[\"kuma.io/zone\"]",
                                    "kuma.io/zone label should have default value"}));
  auto rightZone = manager_->create(dataplane("default", "dp-1", {{"kuma.io/zone", "default"}}));
  EXPECT_TRUE(rightZone.ok()) << rightZone.status();

  auto wrongMesh = manager_->create(dataplane("default", "dp-2", {{"kuma.io/mesh", "other"}}));
  auto violations = violationsOf(wrongMesh.status());
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "labels[\"kuma.io/mesh\"]");
}

TEST_F(ResourceManagerTest, AppliesDefaultsBeforeValidation) {
  reset(Options{.zone = "east"});
  mustCreateMesh("default");
  auto policy = mustCreate(makeResource(type("TestPolicy"), "default", "p-1"));
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(jsonOf(*policy)["zone"], "east");

  // A resource without a spec gets the type's empty spec.
  model::Resource noSpec = makeResource(type("Mesh"), "", "bare");
  noSpec.spec = nullptr;
  auto bare = manager_->create(noSpec);
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_NE((*bare)->spec, nullptr);
}

TEST_F(ResourceManagerTest, MeshCreatedHooksRunAfterCreation) {
  std::vector<std::string> seen;
  manager_->onMeshCreated([&](const model::Resource& mesh) {
    seen.push_back(mesh.meta.name);
    // The hook can write mesh-scoped resources: the Mesh exists already.
    auto created = manager_->create(
        makeResource(type("TestPolicy"), mesh.meta.name, "default-" + mesh.meta.name));
    return created.status();
  });
  mustCreateMesh("m1");
  EXPECT_THAT(seen, ElementsAre("m1"));
  EXPECT_TRUE(manager_->get(type("TestPolicy"), {"default-m1", "m1"}).ok());

  // Not called for updates or other types.
  auto mesh = manager_->get(type("Mesh"), {"m1", ""});
  ASSERT_TRUE(mesh.ok());
  ASSERT_TRUE(manager_->update(**mesh).ok());
  mustCreate(makeResource(type("GlobalThing"), "", "g"));
  EXPECT_THAT(seen, ElementsAre("m1"));

  // A failing hook fails the create; defaults go away with the Mesh (owned by it).
  manager_->onMeshCreated([](const model::Resource&) { return absl::InternalError("boom"); });
  auto failed = manager_->create(makeResource(type("Mesh"), "", "m2"));
  EXPECT_EQ(failed.status(), absl::InternalError("boom"));
  ASSERT_TRUE(manager_->remove(type("Mesh"), {"m2", ""}).ok());
  EXPECT_TRUE(store::isNotFound(manager_->get(type("TestPolicy"), {"default-m2", "m2"}).status()));
}

TEST_F(ResourceManagerTest, UpdateValidatorCanRefuse) {
  manager_->setUpdateValidator(
      "Mesh", [](const model::Resource& old, const model::Resource& updated) -> absl::Status {
        if (jsonOf(old).value("ca", "") != jsonOf(updated).value("ca", "")) {
          ValidationError errors;
          errors.addViolation("mtls.enabledBackend", "Changing CA is forbidden");
          return errors.toStatus();
        }
        return absl::OkStatus();
      });
  auto mesh = mustCreateMesh("m1", {{"ca", "ca-1"}});
  ASSERT_NE(mesh, nullptr);
  model::Resource changed = *mesh;
  changed.spec = jsonSpec({{"ca", "ca-2"}});
  auto refused = manager_->update(changed);
  EXPECT_THAT(violationsOf(refused.status()),
              ElementsAre(Violation{"mtls.enabledBackend", "Changing CA is forbidden"}));
  model::Resource same = *mesh;
  same.spec = jsonSpec({{"ca", "ca-1"}, {"other", true}});
  EXPECT_TRUE(manager_->update(same).ok());
}

}  // namespace
}  // namespace kuma::manager

namespace kuma::manager {
namespace {

// A write validator (Kuma's per-type managers, e.g. RateLimit's ExternalService check) refuses
// creates and updates of its type only; it runs after the spec validation.
TEST_F(ResourceManagerTest, WriteValidatorRefusesCreateAndUpdateOfItsType) {
  manager_->setWriteValidator("TestPolicy", [](const model::Resource& r) -> absl::Status {
    if (jsonOf(r).value("forbidden", false)) {
      ValidationError errors;
      errors.addViolation("ratelimit", "refused");
      return errors.toStatus();
    }
    return absl::OkStatus();
  });
  ASSERT_NE(mustCreateMesh("m1", nlohmann::json::object()), nullptr);
  auto refused =
      manager_->create(makeResource(type("TestPolicy"), "m1", "p", {{"forbidden", true}}));
  EXPECT_THAT(violationsOf(refused.status()), ElementsAre(Violation{"ratelimit", "refused"}));
  auto created = manager_->create(makeResource(type("TestPolicy"), "m1", "p"));
  ASSERT_TRUE(created.ok()) << created.status();
  model::Resource changed = **created;
  changed.spec = jsonSpec({{"forbidden", true}});
  EXPECT_THAT(violationsOf(manager_->update(changed).status()),
              ElementsAre(Violation{"ratelimit", "refused"}));
  // Other types are not concerned.
  EXPECT_NE(mustCreateMesh("m2", {{"forbidden", true}}), nullptr);
}

}  // namespace
}  // namespace kuma::manager
