// Fuzz target: dataplane tokens (docs/fuzzing.md).
//
// Input: byte 0 selects what the rest is (modulo 3):
//   0 a token as a proxy presents it: parseJwt() and DataplaneTokenValidator::validate();
//   1 a `POST /tokens/dataplane` body: parseDataplaneTokenRequest(); a request that parses is
//     issued and the token validated: the oracle is that it is valid and carries the identity;
//   2 the claims of a token: signed with the mesh's key (as an issuer outside kuma-cp could),
//     then validated and checked against a Dataplane, which reaches the claim parsing behind the
//     signature check.
// The world: a memory store with Mesh `default`, its signing key (kid 1, RSA 1024 to keep the
// fuzzer fast) and a revocation list; a fixed clock.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "source/common/crypto/pki.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/rest_codec.h"
#include "source/core/tokens/dataplane_token.h"
#include "source/core/tokens/jwt.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "test/fuzz/fuzz_util.h"

namespace kuma::fuzz {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

struct World {
  store::ResourceStorePtr store = memory::newMemoryStore();
  std::unique_ptr<manager::ResourceManager> manager;
  std::string keyPem;
  model::Resource dataplane;
  std::unique_ptr<tokens::DataplaneTokenIssuer> issuer;
  std::unique_ptr<tokens::DataplaneTokenValidator> validator;

  World() {
    const model::TypeRegistry& registry = server::allTypes();
    manager = std::make_unique<manager::ResourceManager>(*store, registry);
    auto key = crypto::generateRsaKeyPem(1024);
    FUZZ_CHECK(key.ok(), key.status().ToString());
    keyPem = *key;
    put({{"type", "Mesh"}, {"name", "default"}});
    put({{"type", "Secret"},
         {"mesh", "default"},
         {"name", tokens::dataplaneSigningKeyName("default", "1")},
         {"data", absl::Base64Escape(keyPem)}});
    put({{"type", "Secret"},
         {"mesh", "default"},
         {"name", tokens::dataplaneRevocationsName("default")},
         {"data", absl::Base64Escape("revoked-1, revoked-2")}});
    auto dp = model::fromRestJson(
        *registry.byName("Dataplane"),
        {{"type", "Dataplane"},
         {"mesh", "default"},
         {"name", "dp-1"},
         {"labels", {{"kuma.io/workload", "web"}}},
         {"networking",
          {{"address", "10.0.0.1"},
           {"inbound",
            {{{"port", 8080}, {"tags", {{"kuma.io/service", "web"}, {"version", "v1"}}}}}}}}});
    FUZZ_CHECK(dp.ok(), dp.status().ToString());
    dataplane = dp->resource;
    issuer =
        std::make_unique<tokens::DataplaneTokenIssuer>(*manager, registry, [] { return kNow; });
    validator =
        std::make_unique<tokens::DataplaneTokenValidator>(*manager, registry, [] { return kNow; });
  }

  void put(const nlohmann::json& object) {
    const auto* type = server::allTypes().byName(object["type"].get<std::string>());
    auto body = model::fromRestJson(*type, object);
    FUZZ_CHECK(body.ok(), body.status().ToString());
    auto stored = manager->upsert(std::move(body->resource));
    FUZZ_CHECK(stored.ok(), stored.status().ToString());
  }
};

World& world() {
  static World* const w = new World();
  return *w;
}

void presentToken(std::string_view token) {
  (void)tokens::parseJwt(token);
  auto claims = world().validator->validate(token, "default");
  if (claims.ok()) {
    (void)tokens::checkDataplaneClaims(*claims, world().dataplane);
  }
}

void issueAndValidate(std::string_view body) {
  auto request = tokens::parseDataplaneTokenRequest(body);
  if (!request.ok()) {
    return;
  }
  const tokens::DataplaneIdentity& identity = request->identity;
  auto token = world().issuer->issue(identity, request->validFor);
  if (!token.ok()) {
    FUZZ_CHECK(identity.mesh != "default",
               absl::StrCat("cannot issue a token of mesh default: ", token.status().ToString()));
    return;
  }
  auto claims = world().validator->validate(*token, identity.mesh);
  if (request->validFor < absl::Seconds(1)) {
    return;  // expired at once (or within the second it was issued)
  }
  FUZZ_CHECK(claims.ok(), absl::StrCat("a token just issued is refused: ",
                                       claims.status().ToString(), "\n", std::string(body)));
  const tokens::DataplaneIdentity& got = claims->identity;
  FUZZ_CHECK(
      got.name == identity.name && got.mesh == identity.mesh && got.tags == identity.tags &&
          got.type == identity.type && got.workload == identity.workload,
      absl::StrCat("a token does not carry the identity it was issued for\n", std::string(body)));
  (void)tokens::checkDataplaneClaims(*claims, world().dataplane);
}

void signAndValidate(std::string_view claimsText) {
  const auto claims =
      nlohmann::ordered_json::parse(claimsText, nullptr, /*allow_exceptions=*/false);
  if (!claims.is_object()) {
    return;
  }
  const nlohmann::ordered_json header = {{"alg", "RS256"}, {"kid", "1"}, {"typ", "JWT"}};
  auto token = tokens::signRs256(header, claims, world().keyPem);
  FUZZ_CHECK(token.ok(), token.status().ToString());
  presentToken(*token);
}

}  // namespace
}  // namespace kuma::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  if (size < 1) {
    return 0;
  }
  const std::string_view rest = fuzz::asText(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      fuzz::presentToken(rest);
      break;
    case 1:
      fuzz::issueAndValidate(rest);
      break;
    default:
      fuzz::signAndValidate(rest);
      break;
  }
  return 0;
}
