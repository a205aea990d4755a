// The CA backends on the Mesh write path (spec §3.4, §8.1): builtin Secrets appear on Mesh
// create/update, provided CAs are validated like the spec (400 with field paths).

#include "source/core/resources/mesh.h"
#include "source/core/ca/mesh_ca.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "source/core/ca/builtin_ca_manager.h"
#include "source/core/ca/certs.h"
#include "source/core/ca/secret_util.h"
#include "source/core/model/rest_codec.h"
#include "source/core/resources/mesh_types.h"
#include "source/core/store/errors.h"
#include "source/plugins/resources/memory/memory_store.h"

namespace kuma::ca {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class MeshCaTest : public ::testing::Test {
 protected:
  MeshCaTest() {
    resources::registerMeshTypes(registry_);
    store_ = memory::newMemoryStore();
    manager_ = std::make_unique<manager::ResourceManager>(*store_, registry_);
    cas_ = defaultCaManagers(*manager_, registry_);
    installMeshCa(*manager_, cas_);
  }

  model::Resource resource(const std::string& type, const json& body) {
    auto parsed = model::fromRestJson(*registry_.byName(type), body);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? parsed->resource : model::Resource{};
  }

  absl::Status upsertMesh(const json& body) {
    return manager_->upsert(resource("Mesh", body)).status();
  }

  std::vector<std::string> secretNames(const std::string& mesh) {
    store::ListOptions options;
    options.mesh = mesh;
    auto list = manager_->list(*registry_.byName("Secret"), options);
    std::vector<std::string> names;
    for (const auto& r : list->items) {
      names.push_back(r->meta.name);
    }
    return names;
  }

  static json builtinMesh(const std::string& name, const std::string& enabled) {
    return {
        {"type", "Mesh"},
        {"name", name},
        {"mtls",
         {{"enabledBackend", enabled}, {"backends", {{{"name", "ca-1"}, {"type", "builtin"}}}}}}};
  }

  static json providedMesh(const std::string& name, const json& cert, const json& key) {
    return {
        {"type", "Mesh"},
        {"name", name},
        {"mtls",
         {{"enabledBackend", "ca-1"},
          {"backends",
           {{{"name", "ca-1"}, {"type", "provided"}, {"conf", {{"cert", cert}, {"key", key}}}}}}}}};
  }

  absl::Status createSecret(const std::string& mesh, const std::string& name,
                            const std::string& bytes) {
    return manager_
        ->create(resource("Secret", {{"type", "Secret"},
                                     {"mesh", mesh},
                                     {"name", name},
                                     {"data", absl::Base64Escape(bytes)}}))
        .status();
  }

  static std::vector<validators::Violation> violations(const absl::Status& status) {
    auto errors = validators::ValidationError::fromStatus(status);
    return errors.has_value() ? errors->violations() : std::vector<validators::Violation>{};
  }

  model::TypeRegistry registry_;
  store::ResourceStorePtr store_;
  std::unique_ptr<manager::ResourceManager> manager_;
  CaManagers cas_;
};

TEST_F(MeshCaTest, BuiltinSecretsAppearOnCreate) {
  ASSERT_TRUE(upsertMesh(builtinMesh("demo", "ca-1")).ok());
  EXPECT_THAT(secretNames("demo"),
              ElementsAre("demo.ca-builtin-cert-ca-1", "demo.ca-builtin-key-ca-1"));
  // Kuma's Secret format: PEM bytes, base64 in `data`.
  auto stored = manager_->get(*registry_.byName("Secret"), {"demo.ca-builtin-cert-ca-1", "demo"});
  ASSERT_TRUE(stored.ok());
  auto rest = model::toRestJson(**stored);
  std::string pem;
  ASSERT_TRUE(absl::Base64Unescape(rest["data"].get<std::string>(), &pem));
  auto info = describeCertificate(pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->subject, "O = Kuma, OU = Mesh, CN = demo");
  EXPECT_THAT(info->uris, ElementsAre("spiffe://demo"));
  auto key = readSecret(*manager_, registry_, "demo", "demo.ca-builtin-key-ca-1");
  ASSERT_TRUE(key.ok());
  EXPECT_THAT(*key, HasSubstr("BEGIN RSA PRIVATE KEY"));
  validators::ValidationError errors;
  validateSigningPair({pem, *key}, errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();
}

TEST_F(MeshCaTest, BuiltinSecretsOwnedByTheMesh) {
  ASSERT_TRUE(upsertMesh(builtinMesh("demo", "ca-1")).ok());
  ASSERT_TRUE(manager_->remove(*registry_.byName("Mesh"), {"demo", ""}).ok());
  EXPECT_TRUE(secretNames("demo").empty());
}

TEST_F(MeshCaTest, BuiltinSecretsAppearOnUpdateAndAreKept) {
  ASSERT_TRUE(upsertMesh({{"type", "Mesh"}, {"name", "demo"}}).ok());
  EXPECT_TRUE(secretNames("demo").empty());
  // A backend without enabling mTLS is ensured too (as Kuma).
  ASSERT_TRUE(upsertMesh(builtinMesh("demo", "")).ok());
  auto first = readSecret(*manager_, registry_, "demo", "demo.ca-builtin-cert-ca-1");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(upsertMesh(builtinMesh("demo", "ca-1")).ok());
  auto second = readSecret(*manager_, registry_, "demo", "demo.ca-builtin-cert-ca-1");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);  // never regenerated over an existing CA
}

TEST_F(MeshCaTest, BuiltinConfValidated) {
  json mesh = builtinMesh("demo", "ca-1");
  mesh["mtls"]["backends"][0]["conf"] = {{"caCert", {{"RSAbits", 100}, {"expiration", "1h30m"}}}};
  auto status = upsertMesh(mesh);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  auto v = violations(status);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].field, "mtls.backends[0].conf.caCert.RSAbits");
  EXPECT_EQ(v[1].field, "mtls.backends[0].conf.caCert.expiration");
  EXPECT_EQ(v[1].message, "has to be a valid format");
  EXPECT_TRUE(secretNames("demo").empty());
}

TEST_F(MeshCaTest, BuiltinCaHonoursConf) {
  json mesh = builtinMesh("demo", "ca-1");
  mesh["mtls"]["backends"][0]["conf"] = {{"caCert", {{"RSAbits", 3072}, {"expiration", "1y"}}}};
  ASSERT_TRUE(upsertMesh(mesh).ok());
  auto pem = readSecret(*manager_, registry_, "demo", "demo.ca-builtin-cert-ca-1");
  ASSERT_TRUE(pem.ok());
  auto info = describeCertificate(*pem);
  EXPECT_EQ(info->notAfter - info->notBefore, absl::Hours(24 * 365) + absl::Seconds(10));
}

TEST_F(MeshCaTest, ProvidedMissingSecretIs400) {
  ASSERT_TRUE(upsertMesh({{"type", "Mesh"}, {"name", "p"}}).ok());
  auto status = upsertMesh(providedMesh("p", {{"secret", "ca-cert"}}, {{"secret", "ca-key"}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // Kuma 2.14.3's answer: the key is loaded first, its failure reported on both parts.
  auto v = violations(status);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].field, "mtls.backends[0].conf.cert");
  EXPECT_EQ(v[1].field, "mtls.backends[0].conf.key");
  for (const auto& violation : v) {
    EXPECT_EQ(violation.message,
              "could not load data: resource not found: type=\"Secret\" name=\"ca-key\" "
              "mesh=\"p\"");
  }
}

TEST_F(MeshCaTest, ProvidedDataSourceShapes) {
  auto status = upsertMesh(providedMesh("p", json::object(), {{"inlineString", ""}}));
  auto v = violations(status);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].field, "mtls.backends[0].conf.cert");
  EXPECT_EQ(v[0].message,
            "data source has to be chosen. Available sources: secret, file, inline, inlineString");
  EXPECT_EQ(v[1].field, "mtls.backends[0].conf.key.inlineString");
  EXPECT_EQ(v[1].message, "cannot be empty");

  v = violations(
      upsertMesh(providedMesh("p", {{"file", "/a"}, {"secret", "b"}}, {{"inline", "%%"}})));
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].message, "only one data source can be chosen");
  EXPECT_EQ(v[1].field, "mtls.backends[0].conf.key.inline");
}

TEST_F(MeshCaTest, ProvidedNotACaIs400) {
  auto root = generateRootCa("x", 2048, absl::Hours(10), absl::Now());
  auto leaf =
      issueIdentityCert(*root, "x", {{"kuma.io/service", {"a"}}}, absl::Hours(1), absl::Now());
  ASSERT_TRUE(leaf.ok());
  auto status = upsertMesh(providedMesh("p", {{"inlineString", leaf->certPem}},
                                        {{"inline", absl::Base64Escape(leaf->keyPem)}}));
  auto v = violations(status);
  ASSERT_EQ(v.size(), 2u) << status;
  EXPECT_EQ(v[0].field, "mtls.backends[0].conf.cert[0]");
  EXPECT_THAT(v[0].message, HasSubstr("basic constraint 'CA' must be set to 'true'"));
}

TEST_F(MeshCaTest, ProvidedFromSecretsFileAndInline) {
  auto root = generateRootCa("custom", 2048, absl::Hours(10), absl::Now());
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(upsertMesh({{"type", "Mesh"}, {"name", "p"}}).ok());
  ASSERT_TRUE(createSecret("p", "ca-cert", root->certPem).ok());
  ASSERT_TRUE(createSecret("p", "ca-key", root->keyPem).ok());
  ASSERT_TRUE(upsertMesh(providedMesh("p", {{"secret", "ca-cert"}}, {{"secret", "ca-key"}})).ok());
  EXPECT_THAT(secretNames("p"), ::testing::Not(::testing::Contains(HasSubstr("builtin"))));

  const std::string path = ::testing::TempDir() + "/provided-ca.pem";
  std::ofstream(path) << root->certPem;
  ASSERT_TRUE(upsertMesh({{"type", "Mesh"}, {"name", "q"}}).ok());
  ASSERT_TRUE(upsertMesh(providedMesh("q", {{"file", path}},
                                      {{"inline", absl::Base64Escape(root->keyPem)}}))
                  .ok());
  const CaManager* provided = cas_.find("provided");
  ASSERT_NE(provided, nullptr);
  Backend backend;
  backend.set_name("ca-1");
  backend.set_type("provided");
  auto& fields = *backend.mutable_conf()->mutable_fields();
  (*fields["cert"].mutable_struct_value()->mutable_fields())["file"].set_string_value(path);
  (*fields["key"].mutable_struct_value()->mutable_fields())["inlineString"].set_string_value(
      root->keyPem);
  auto pair = provided->signingPair("q", backend);
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(pair->certPem, root->certPem);
  EXPECT_EQ(pair->keyPem, root->keyPem);
  std::remove(path.c_str());
  auto missing = provided->signingPair("q", backend);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MeshCaTest, ProvidedSecretDeletedLaterBlocksMeshWrites) {
  auto root = generateRootCa("custom", 2048, absl::Hours(10), absl::Now());
  ASSERT_TRUE(upsertMesh({{"type", "Mesh"}, {"name", "p"}}).ok());
  ASSERT_TRUE(createSecret("p", "ca-cert", root->certPem).ok());
  ASSERT_TRUE(createSecret("p", "ca-key", root->keyPem).ok());
  const json mesh = providedMesh("p", {{"secret", "ca-cert"}}, {{"secret", "ca-key"}});
  ASSERT_TRUE(upsertMesh(mesh).ok());
  ASSERT_TRUE(manager_->remove(*registry_.byName("Secret"), {"ca-key", "p"}).ok());
  auto v = violations(upsertMesh(mesh));
  ASSERT_EQ(v.size(), 2u);  // on cert and key, as Kuma
  EXPECT_THAT(v[0].message, HasSubstr("name=\"ca-key\""));
}

TEST(IdentityLifetime, DefaultsAndRotationExpiration) {
  Backend backend;
  EXPECT_EQ(identityLifetime(backend), absl::Hours(24));
  backend.mutable_dp_cert()->mutable_rotation()->set_expiration("1m");
  EXPECT_EQ(identityLifetime(backend), absl::Minutes(1));
  backend.mutable_dp_cert()->mutable_rotation()->set_expiration("0");
  EXPECT_EQ(identityLifetime(backend), absl::Hours(24));
}

TEST(EnabledCaBackend, OnlyWhenNamed) {
  mesh::v1alpha1::Mesh mesh;
  EXPECT_EQ(resources::enabledCaBackend(mesh), nullptr);
  auto* b = mesh.mutable_mtls()->add_backends();
  b->set_name("ca-1");
  EXPECT_EQ(resources::enabledCaBackend(mesh), nullptr);
  mesh.mutable_mtls()->set_enabled_backend("ca-1");
  EXPECT_EQ(resources::enabledCaBackend(mesh), b);
}

}  // namespace
}  // namespace kuma::ca
