#pragma once

// File: dataplane_token.h
// Kuma's dataplane tokens (spec §4.5, §6.2): RS256 JWTs whose claims name the proxy a token is
// for (`Name`, `Mesh`, `Tags`, `Type`, `Workload`, Go field names as JSON keys), signed with the
// mesh's Secret `dataplane-token-signing-key-<mesh>-<kid>` and revocable by listing their `jti`
// in the Secret `dataplane-token-revocations-<mesh>`.
//
//   DataplaneTokenIssuer issuer(manager, registry);
//   auto token = issuer.issue({.name = "dp-1", .mesh = "default"}, absl::Hours(24));
//   DataplaneTokenValidator validator(manager, registry);
//   auto claims = validator.validate(*token, "default");       // signature, exp/nbf, revocation
//   absl::Status s = checkDataplaneClaims(*claims, dataplane);   // the proxy matches the claims
//
// Keys and revocations are read through the ResourceManager on every call, so rotating a key or
// revoking a token takes effect at once.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kuma/model/resource.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::tokens {

/** `dataplane-token-signing-key-<mesh>-<kid>`: the mesh Secret holding a PKCS#1 RSA key. */
std::string dataplaneSigningKeyName(const std::string& mesh, const std::string& kid);

/** `dataplane-token-revocations-<mesh>`: the mesh Secret listing revoked jtis, comma-separated. */
std::string dataplaneRevocationsName(const std::string& mesh);

/** Who a token is for; empty fields (and an empty tag map) do not constrain the proxy. */
struct DataplaneIdentity {
  // Braced defaults let callers use designated initializers under -Wextra.
  std::string name{};
  std::string mesh{};
  std::map<std::string, std::vector<std::string>> tags{};
  /** "", "dataplane", "ingress" or "egress". */
  std::string type{};
  std::string workload{};
};

/** The verified content of a token. */
struct DataplaneClaims {
  DataplaneIdentity identity;
  std::string jti;
  std::string kid;
  absl::Time issuedAt = absl::InfinitePast();
  absl::Time notBefore = absl::InfinitePast();
  absl::Time expiresAt = absl::InfiniteFuture();
};

/** Body of `POST /tokens/dataplane`, validated. */
struct DataplaneTokenRequest {
  DataplaneIdentity identity;
  absl::Duration validFor;
};

/** Default validity when the request's `validFor` is empty: 10 years, as Kuma. */
inline constexpr absl::Duration kDefaultTokenValidity = absl::Hours(24 * 365 * 10);

/**
 * Parses a `POST /tokens/dataplane` body:
 * `{"name","mesh","tags":{k:[v]},"type","workload","validFor":"<Go duration>"}` (keys matched
 * case-insensitively, unknown keys ignored, as Go's encoding/json does).
 * @return InvalidArgument with an empty message when the body is not such a JSON object (Kuma
 *         answers 400 with an empty body), or a validation status
 *         (validators::ValidationError::toStatus) with `mesh`: "cannot be empty",
 *         `validFor`: "is invalid: ...", `type`: "... is not a valid proxy type".
 */
absl::StatusOr<DataplaneTokenRequest> parseDataplaneTokenRequest(std::string_view body);

/** Reads signing keys and revocation lists of meshes from Secrets. */
class DataplaneSigningKeys {
 public:
  /** Both must outlive this object; `registry` must know the Secret type. */
  DataplaneSigningKeys(const manager::ResourceManager& manager,
                       const model::TypeRegistry& registry);

  /**
   * The key with the highest numeric `<kid>` of `mesh`, as (kid, PEM).
   * NotFound ("there is no signing key ...") when the mesh has none.
   */
  absl::StatusOr<std::pair<std::string, std::string>> latest(const std::string& mesh) const;

  /** The PEM of key `kid` of `mesh`; NotFound when absent. */
  absl::StatusOr<std::string> byKid(const std::string& mesh, const std::string& kid) const;

  /** The revoked jtis of `mesh` (empty when the revocation Secret does not exist). */
  absl::StatusOr<std::set<std::string>> revoked(const std::string& mesh) const;

 private:
  absl::StatusOr<std::string> secretData(const std::string& mesh, const std::string& name) const;

  const manager::ResourceManager& manager_;
  const model::ResourceTypeDescriptor* const secretType_;
};

using Clock = std::function<absl::Time()>;

/** Issues tokens signed with the newest signing key of the identity's mesh. */
class DataplaneTokenIssuer {
 public:
  DataplaneTokenIssuer(const manager::ResourceManager& manager, const model::TypeRegistry& registry,
                       Clock now = &absl::Now);

  /**
   * A token for `identity` (whose mesh must be set) valid for `validFor`: iat = nbf = now − 5s,
   * exp = now + validFor, a random UUID v4 as jti.
   * @return the compact JWT; NotFound when the mesh has no signing key; InvalidArgument for an
   *         empty mesh or an unreadable key.
   */
  absl::StatusOr<std::string> issue(const DataplaneIdentity& identity,
                                    absl::Duration validFor) const;

 private:
  DataplaneSigningKeys keys_;
  Clock now_;
};

/** Verifies tokens against the signing keys and revocations of a mesh. */
class DataplaneTokenValidator {
 public:
  DataplaneTokenValidator(const manager::ResourceManager& manager,
                          const model::TypeRegistry& registry, Clock now = &absl::Now);

  /**
   * Verifies a token presented by a proxy of `mesh`: structure, `kid` header, RS256 signature
   * with `dataplane-token-signing-key-<mesh>-<kid>`, exp/nbf against now, jti not revoked.
   * @return the claims; Unauthenticated with the reason when the token is refused (no
   *         "authentication failed" prefix); other codes for store failures.
   */
  absl::StatusOr<DataplaneClaims> validate(std::string_view token, const std::string& mesh) const;

 private:
  DataplaneSigningKeys keys_;
  Clock now_;
};

/**
 * Whether a Dataplane may use a token with these claims (spec §6.2): `Name` and `Mesh` equal the
 * resource's, `Type` is "dataplane", every token tag exists on the proxy (inbound and gateway
 * tags) with all of the proxy's values listed in the token, and `Workload` equals the proxy's
 * `kuma.io/workload` label. Empty claims do not constrain.
 * @return OK, or Unauthenticated with the first mismatch.
 */
absl::Status checkDataplaneClaims(const DataplaneClaims& claims, const model::Resource& dataplane);

/** Handler of `POST /tokens/dataplane` (ApiServerOptions::issueDataplaneToken's shape). */
using DataplaneTokenEndpoint = std::function<absl::StatusOr<std::string>(
    const std::string& body, const std::function<absl::Status()>& authorize)>;

/**
 * The REST endpoint in Kuma's order: parse and validate the body (parseDataplaneTokenRequest
 * errors), then `authorize()` (its error is returned as is), then FailedPrecondition
 * "issuing tokens using the control plane is disabled." unless `enableIssuer`
 * (dpServer.authn.dpProxy.dpToken.enableIssuer), then issue (NotFound without a signing key).
 * `manager` and `registry` must outlive the returned function.
 */
DataplaneTokenEndpoint dataplaneTokenEndpoint(const manager::ResourceManager& manager,
                                              const model::TypeRegistry& registry,
                                              bool enableIssuer);

}  // namespace kuma::tokens
