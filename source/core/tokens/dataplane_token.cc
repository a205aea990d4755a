#include "source/core/tokens/dataplane_token.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "source/common/go_duration.h"
#include "source/common/json_yaml.h"
#include "source/common/uuid.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/core/tokens/jwt.h"
#include "source/core/validators/validation_error.h"

namespace kuma::tokens {
namespace {

using nlohmann::json;

constexpr char kSigningKeyPrefix[] = "dataplane-token-signing-key-";
constexpr char kWorkloadLabel[] = "kuma.io/workload";
// Clock skew allowance between the issuer and the proxies' clocks (Kuma's).
constexpr absl::Duration kBackdate = absl::Seconds(5);

absl::Status refused(std::string_view reason) {
  return absl::UnauthenticatedError(std::string(reason));
}

std::optional<uint64_t> parseKid(std::string_view s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// The member of `object` whose key equals `key` ignoring case (Go's encoding/json matching);
// an exact match wins.
const json* member(const json& object, std::string_view key) {
  if (auto it = object.find(std::string(key)); it != object.end()) {
    return &*it;
  }
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (absl::EqualsIgnoreCase(it.key(), absl::string_view(key.data(), key.size()))) {
      return &*it;
    }
  }
  return nullptr;
}

// A string member, "" when absent or null. False when present with another type.
bool stringMember(const json& object, std::string_view key, std::string& out) {
  const json* v = member(object, key);
  if (v == nullptr || v->is_null()) {
    return true;
  }
  if (!v->is_string()) {
    return false;
  }
  out = v->get<std::string>();
  return true;
}

// `{"k": ["v", ...]}`, null or absent. False on any other shape.
bool tagsMember(const json& object, std::string_view key,
                std::map<std::string, std::vector<std::string>>& out) {
  const json* v = member(object, key);
  if (v == nullptr || v->is_null()) {
    return true;
  }
  if (!v->is_object()) {
    return false;
  }
  for (auto it = v->begin(); it != v->end(); ++it) {
    std::vector<std::string>& values = out[it.key()];
    if (it->is_null()) {
      continue;
    }
    if (!it->is_array()) {
      return false;
    }
    for (const json& item : *it) {
      if (!item.is_string()) {
        return false;
      }
      values.push_back(item.get<std::string>());
    }
  }
  return true;
}

// A NumericDate claim (seconds, possibly fractional) when present.
absl::StatusOr<std::optional<absl::Time>> dateClaim(const json& claims, const char* key) {
  auto it = claims.find(key);
  if (it == claims.end() || it->is_null()) {
    return std::nullopt;
  }
  if (!it->is_number()) {
    return absl::UnauthenticatedError(
        absl::StrCat("could not parse token: token has invalid claims: ", key, " is not a number"));
  }
  // absl::Seconds(double) saturates to ±InfiniteDuration past the int64 range (a token issued
  // with a validFor of centuries has an exp of ~1e10 s, 1e19 ns); a cast of the nanoseconds
  // would be undefined there.
  return absl::UnixEpoch() + absl::Seconds(it->get<double>());
}

absl::StatusOr<DataplaneClaims> claimsFromJson(const json& claims) {
  DataplaneClaims out;
  DataplaneIdentity& id = out.identity;
  if (!stringMember(claims, "Name", id.name) || !stringMember(claims, "Mesh", id.mesh) ||
      !stringMember(claims, "Type", id.type) || !stringMember(claims, "Workload", id.workload) ||
      !tagsMember(claims, "Tags", id.tags)) {
    return refused(
        "could not parse token: claims Name, Mesh, Tags, Type or Workload are malformed");
  }
  if (auto jti = claims.find("jti"); jti != claims.end() && !jti->is_null()) {
    if (!jti->is_string()) {
      return refused("could not parse token: claim jti is not a string");
    }
    out.jti = jti->get<std::string>();
  }
  auto iat = dateClaim(claims, "iat");
  auto nbf = dateClaim(claims, "nbf");
  auto exp = dateClaim(claims, "exp");
  for (const auto* s : {&iat, &nbf, &exp}) {
    if (!s->ok()) {
      return s->status();
    }
  }
  out.issuedAt = iat->value_or(absl::InfinitePast());
  out.notBefore = nbf->value_or(absl::InfinitePast());
  out.expiresAt = exp->value_or(absl::InfiniteFuture());
  return out;
}

// The Dataplane's tags: union of its inbound tags and gateway tags (Kuma's TagSet).
std::map<std::string, std::set<std::string>> dataplaneTags(
    const mesh::v1alpha1::Dataplane& dataplane) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& inbound : dataplane.networking().inbound()) {
    for (const auto& [k, v] : inbound.tags()) {
      out[k].insert(v);
    }
  }
  if (dataplane.networking().has_gateway()) {
    for (const auto& [k, v] : dataplane.networking().gateway().tags()) {
      out[k].insert(v);
    }
  }
  return out;
}

std::string quotedList(const std::vector<std::string>& values) {
  std::vector<std::string> quoted;
  for (const auto& v : values) {
    quoted.push_back(absl::StrCat("\"", v, "\""));
  }
  return absl::StrCat("[", absl::StrJoin(quoted, " "), "]");
}

}  // namespace

std::string dataplaneSigningKeyName(const std::string& mesh, const std::string& kid) {
  return absl::StrCat(kSigningKeyPrefix, mesh, "-", kid);
}

std::string dataplaneRevocationsName(const std::string& mesh) {
  return absl::StrCat("dataplane-token-revocations-", mesh);
}

absl::StatusOr<DataplaneTokenRequest> parseDataplaneTokenRequest(std::string_view body) {
  auto document = common::parseJson(body);
  const json parsed = document.ok() ? std::move(*document) : json();
  DataplaneTokenRequest out;
  DataplaneIdentity& id = out.identity;
  std::string validFor;
  if (!parsed.is_object() || !stringMember(parsed, "name", id.name) ||
      !stringMember(parsed, "mesh", id.mesh) || !stringMember(parsed, "type", id.type) ||
      !stringMember(parsed, "workload", id.workload) ||
      !stringMember(parsed, "validFor", validFor) || !tagsMember(parsed, "tags", id.tags)) {
    return absl::InvalidArgumentError("");
  }
  validators::ValidationError errors;
  if (id.mesh.empty()) {
    errors.addViolation("mesh", "cannot be empty");
  }
  out.validFor = kDefaultTokenValidity;
  if (!validFor.empty()) {
    auto d = common::parseGoDuration(validFor);
    if (d.ok()) {
      out.validFor = absl::FromChrono(*d);
    } else {
      errors.addViolation("validFor", absl::StrCat("is invalid: ", d.status().message()));
    }
  }
  if (!id.type.empty() && id.type != "dataplane" && id.type != "ingress" && id.type != "egress") {
    errors.addViolation("type", absl::StrCat("\"", id.type,
                                             "\" is not a valid proxy type, expected one of: "
                                             "dataplane, ingress, egress"));
  }
  if (!errors.empty()) {
    return errors.toStatus("Invalid request");
  }
  return out;
}

DataplaneSigningKeys::DataplaneSigningKeys(const manager::ResourceManager& manager,
                                           const model::TypeRegistry& registry)
    : manager_(manager), secretType_(registry.byName(std::string(resources::kSecretType))) {}

absl::StatusOr<std::string> DataplaneSigningKeys::secretData(const std::string& mesh,
                                                             const std::string& name) const {
  if (secretType_ == nullptr) {
    return absl::InternalError("the Secret type is not registered");
  }
  auto found = manager_.get(*secretType_, {name, mesh});
  if (!found.ok()) {
    return found.status();
  }
  const auto* secret = model::protoSpecOf<mesh::v1alpha1::Secret>(**found);
  if (secret == nullptr) {
    return absl::InternalError(absl::StrCat("Secret ", name, " has no readable spec"));
  }
  return secret->data().value();
}

absl::StatusOr<std::pair<std::string, std::string>> DataplaneSigningKeys::latest(
    const std::string& mesh) const {
  if (secretType_ == nullptr) {
    return absl::InternalError("the Secret type is not registered");
  }
  const std::string prefix = absl::StrCat(kSigningKeyPrefix, mesh, "-");
  store::ListOptions options;
  options.mesh = mesh;
  options.nameContains = prefix;
  auto list = manager_.list(*secretType_, options);
  if (!list.ok()) {
    return list.status();
  }
  std::optional<uint64_t> best;
  model::ResourceConstSharedPtr bestResource;
  for (const auto& r : list->items) {
    if (!absl::StartsWith(r->meta.name, prefix)) {
      continue;
    }
    auto kid = parseKid(std::string_view(r->meta.name).substr(prefix.size()));
    if (kid.has_value() && (!best.has_value() || *kid > *best)) {
      best = kid;
      bestResource = r;
    }
  }
  if (!best.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("there is no signing key in the Control Plane for mesh \"", mesh,
                     "\": create the Secret ", prefix, "<kid> holding a PKCS#1 RSA key"));
  }
  const auto* secret = model::protoSpecOf<mesh::v1alpha1::Secret>(*bestResource);
  if (secret == nullptr) {
    return absl::InternalError(
        absl::StrCat("Secret ", bestResource->meta.name, " has no readable spec"));
  }
  return std::make_pair(std::to_string(*best), secret->data().value());
}

absl::StatusOr<std::string> DataplaneSigningKeys::byKid(const std::string& mesh,
                                                        const std::string& kid) const {
  auto data = secretData(mesh, dataplaneSigningKeyName(mesh, kid));
  if (absl::IsNotFound(data.status())) {
    return absl::NotFoundError(
        absl::StrCat("there is no signing key with KID ", kid, " for mesh \"", mesh, "\""));
  }
  return data;
}

absl::StatusOr<std::set<std::string>> DataplaneSigningKeys::revoked(const std::string& mesh) const {
  auto data = secretData(mesh, dataplaneRevocationsName(mesh));
  if (absl::IsNotFound(data.status())) {
    return std::set<std::string>{};
  }
  if (!data.ok()) {
    return data.status();
  }
  std::set<std::string> out;
  for (absl::string_view jti : absl::StrSplit(*data, ',')) {
    jti = absl::StripAsciiWhitespace(jti);
    if (!jti.empty()) {
      out.emplace(jti);
    }
  }
  return out;
}

DataplaneTokenIssuer::DataplaneTokenIssuer(const manager::ResourceManager& manager,
                                           const model::TypeRegistry& registry, Clock now)
    : keys_(manager, registry), now_(std::move(now)) {}

absl::StatusOr<std::string> DataplaneTokenIssuer::issue(const DataplaneIdentity& identity,
                                                        absl::Duration validFor) const {
  if (identity.mesh.empty()) {
    return absl::InvalidArgumentError("mesh cannot be empty");
  }
  auto key = keys_.latest(identity.mesh);
  if (!key.ok()) {
    return key.status();
  }
  const absl::Time now = now_();
  const absl::Time issued = now - kBackdate;
  nlohmann::ordered_json tags = nlohmann::ordered_json::object();
  for (const auto& [k, values] : identity.tags) {
    tags[k] = values;
  }
  nlohmann::ordered_json claims;
  claims["Name"] = identity.name;
  claims["Mesh"] = identity.mesh;
  claims["Tags"] = std::move(tags);
  claims["Type"] = identity.type;
  claims["Workload"] = identity.workload;
  claims["exp"] = absl::ToUnixSeconds(issued + validFor + kBackdate);
  claims["nbf"] = absl::ToUnixSeconds(issued);
  claims["iat"] = absl::ToUnixSeconds(issued);
  claims["jti"] = common::uuidV4();
  const nlohmann::ordered_json header = {{"alg", "RS256"}, {"kid", key->first}, {"typ", "JWT"}};
  return signRs256(header, claims, key->second);
}

DataplaneTokenValidator::DataplaneTokenValidator(const manager::ResourceManager& manager,
                                                 const model::TypeRegistry& registry, Clock now)
    : keys_(manager, registry), now_(std::move(now)) {}

absl::StatusOr<DataplaneClaims> DataplaneTokenValidator::validate(std::string_view token,
                                                                  const std::string& mesh) const {
  auto jwt = parseJwt(token);
  if (!jwt.ok()) {
    return refused(absl::StrCat("could not parse token: ", jwt.status().message()));
  }
  const auto kid = jwt->header.find("kid");
  if (kid == jwt->header.end() || !kid->is_string()) {
    return refused("could not parse token: JWT token must have kid header");
  }
  auto key = keys_.byKid(mesh, kid->get<std::string>());
  if (absl::IsNotFound(key.status())) {
    return refused(absl::StrCat("could not parse token: ", key.status().message()));
  }
  if (!key.ok()) {
    return key.status();
  }
  absl::Status verified = verifyRs256(*jwt, *key);
  if (!verified.ok()) {
    return absl::Status(
        absl::IsInvalidArgument(verified) ? absl::StatusCode::kInternal : verified.code(),
        absl::StrCat("could not parse token: ", verified.message()));
  }
  auto claims = claimsFromJson(jwt->claims);
  if (!claims.ok()) {
    return claims.status();
  }
  claims->kid = kid->get<std::string>();
  const absl::Time now = now_();
  if (now >= claims->expiresAt) {
    return refused("could not parse token: token has invalid claims: token is expired");
  }
  if (now < claims->notBefore) {
    return refused("could not parse token: token has invalid claims: token is not valid yet");
  }
  auto revoked = keys_.revoked(mesh);
  if (!revoked.ok()) {
    return revoked.status();
  }
  if (!claims->jti.empty() && revoked->contains(claims->jti)) {
    return refused("token is revoked");
  }
  return claims;
}

absl::Status checkDataplaneClaims(const DataplaneClaims& claims, const model::Resource& dataplane) {
  const DataplaneIdentity& id = claims.identity;
  if (!id.name.empty() && id.name != dataplane.meta.name) {
    return refused(absl::StrCat("proxy name from requestor: ", dataplane.meta.name,
                                " is different than in token: ", id.name));
  }
  if (!id.mesh.empty() && id.mesh != dataplane.meta.mesh) {
    return refused(absl::StrCat("proxy mesh from requestor: ", dataplane.meta.mesh,
                                " is different than in token: ", id.mesh));
  }
  if (!id.type.empty() && id.type != "dataplane") {
    return refused(
        absl::StrCat("proxy type from requestor: dataplane is different than in token: ", id.type));
  }
  if (!id.tags.empty()) {
    const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dataplane);
    const auto tags =
        spec != nullptr ? dataplaneTags(*spec) : std::map<std::string, std::set<std::string>>{};
    for (const auto& [key, allowed] : id.tags) {
      auto it = tags.find(key);
      if (it == tags.end()) {
        return refused(absl::StrCat("required tag \"", key, "\" is missing"));
      }
      for (const std::string& value : it->second) {
        if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
          return refused(absl::StrCat("value \"", value, "\" of tag \"", key,
                                      "\" is not allowed with this token. Allowed values in "
                                      "token are ",
                                      quotedList(allowed)));
        }
      }
    }
  }
  if (!id.workload.empty()) {
    auto label = dataplane.meta.labels.find(kWorkloadLabel);
    const std::string actual = label == dataplane.meta.labels.end() ? "" : label->second;
    if (actual != id.workload) {
      return refused(absl::StrCat("proxy workload from requestor: \"", actual,
                                  "\" is different than in token: \"", id.workload, "\""));
    }
  }
  return absl::OkStatus();
}

DataplaneTokenEndpoint dataplaneTokenEndpoint(const manager::ResourceManager& manager,
                                              const model::TypeRegistry& registry,
                                              bool enableIssuer) {
  return [issuer = std::make_shared<const DataplaneTokenIssuer>(manager, registry), enableIssuer](
             const std::string& body,
             const std::function<absl::Status()>& authorize) -> absl::StatusOr<std::string> {
    auto request = parseDataplaneTokenRequest(body);
    if (!request.ok()) {
      return request.status();
    }
    if (absl::Status allowed = authorize(); !allowed.ok()) {
      return allowed;
    }
    if (!enableIssuer) {
      return absl::FailedPreconditionError("issuing tokens using the control plane is disabled.");
    }
    return issuer->issue(request->identity, request->validFor);
  };
}

}  // namespace kuma::tokens
