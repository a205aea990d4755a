#pragma once

// File: jwt.h
// The small part of JWT (RFC 7519) Kuma's tokens use: compact serialization, base64url without
// padding, RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over OpenSSL. No other algorithms: Kuma signs
// every token it issues with RS256.
//
//   auto token = signRs256({{"alg","RS256"},{"kid","1"},{"typ","JWT"}}, claims, keyPem);
//   auto parsed = parseJwt(*token);             // header and claims, signature not checked yet
//   auto ok = verifyRs256(*parsed, keyPem);      // private or public key PEM

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace kuma::tokens {

/** RFC 4648 §5 alphabet, no padding (as JWT requires). */
std::string base64UrlEncode(std::string_view data);

/** Inverse of base64UrlEncode(). InvalidArgument on characters outside the alphabet. */
absl::StatusOr<std::string> base64UrlDecode(std::string_view data);

/**
 * A compact JWT: `<header>.<claims>.<signature>` with `header` and `claims` serialized as given
 * (key order preserved) and signed with the RSA private key `privateKeyPem` (PKCS#1 or PKCS#8).
 * InvalidArgument when the key cannot be read, InternalError when OpenSSL fails.
 */
absl::StatusOr<std::string> signRs256(const nlohmann::ordered_json& header,
                                      const nlohmann::ordered_json& claims,
                                      const std::string& privateKeyPem);

/** A token split into its parts; nothing is verified yet. */
struct ParsedJwt {
  nlohmann::json header;
  nlohmann::json claims;
  /** `<header>.<claims>` as received: what the signature covers. */
  std::string signingInput;
  /** The decoded signature bytes. */
  std::string signature;
};

/**
 * Splits and decodes a compact JWT. InvalidArgument ("token contains an invalid number of
 * segments", "... is not valid base64url", "... is not a JSON object") on malformed input.
 */
absl::StatusOr<ParsedJwt> parseJwt(std::string_view token);

/**
 * Checks that the header says RS256 and that the signature verifies with `keyPem` (an RSA
 * private key, whose public half is used, or an X.509 SubjectPublicKeyInfo "PUBLIC KEY").
 * Unauthenticated with the reason when it does not; InvalidArgument for an unreadable key.
 */
absl::Status verifyRs256(const ParsedJwt& jwt, const std::string& keyPem);

}  // namespace kuma::tokens
