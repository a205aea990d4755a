#include "source/core/tokens/jwt.h"

#include <openssl/pem.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "source/common/crypto/openssl_util.h"
#include "source/common/json_yaml.h"

namespace kuma::tokens {
namespace {

using crypto::BioPtr;
using crypto::PkeyPtr;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, crypto::OpensslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>>;

// An RSA key from PEM: a private key (PKCS#1 or PKCS#8) or, when `allowPublic`, a public key.
absl::StatusOr<PkeyPtr> readRsaKey(const std::string& pem, bool allowPublic) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return crypto::opensslError("BIO_new_mem_buf");
  }
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key && allowPublic) {
    ERR_clear_error();
    BioPtr again(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    key.reset(PEM_read_bio_PUBKEY(again.get(), nullptr, nullptr, nullptr));
  }
  ERR_clear_error();
  if (!key) {
    return absl::InvalidArgumentError("could not parse the signing key: not an RSA key in PEM");
  }
  if (!EVP_PKEY_is_a(key.get(), "RSA")) {
    return absl::InvalidArgumentError("could not parse the signing key: not an RSA key");
  }
  return key;
}

absl::StatusOr<nlohmann::json> decodeJsonPart(std::string_view part, const char* what) {
  auto raw = base64UrlDecode(part);
  if (!raw.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid base64url"));
  }
  auto document = common::parseJson(*raw);
  if (!document.ok() || !document->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a JSON object"));
  }
  return std::move(*document);
}

}  // namespace

std::string base64UrlEncode(std::string_view data) {
  std::string out;
  absl::WebSafeBase64Escape(absl::string_view(data.data(), data.size()), &out);
  return out;
}

absl::StatusOr<std::string> base64UrlDecode(std::string_view data) {
  // JWT forbids padding; absl would accept it.
  if (data.find('=') != std::string_view::npos) {
    return absl::InvalidArgumentError("padding is not allowed in base64url");
  }
  std::string out;
  if (!absl::WebSafeBase64Unescape(absl::string_view(data.data(), data.size()), &out)) {
    return absl::InvalidArgumentError("invalid base64url");
  }
  return out;
}

absl::StatusOr<std::string> signRs256(const nlohmann::ordered_json& header,
                                      const nlohmann::ordered_json& claims,
                                      const std::string& privateKeyPem) {
  auto key = readRsaKey(privateKeyPem, /*allowPublic=*/false);
  if (!key.ok()) {
    return key.status();
  }
  const std::string input =
      absl::StrCat(base64UrlEncode(header.dump()), ".", base64UrlEncode(claims.dump()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key->get()) != 1) {
    return crypto::opensslError("EVP_DigestSignInit");
  }
  size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()) != 1) {
    return crypto::opensslError("EVP_DigestSign");
  }
  std::vector<unsigned char> signature(length);
  if (EVP_DigestSign(ctx.get(), signature.data(), &length, data, input.size()) != 1) {
    return crypto::opensslError("EVP_DigestSign");
  }
  return absl::StrCat(
      input, ".",
      base64UrlEncode(std::string_view(reinterpret_cast<const char*>(signature.data()), length)));
}

absl::StatusOr<ParsedJwt> parseJwt(std::string_view token) {
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return absl::InvalidArgumentError("token contains an invalid number of segments");
  }
  ParsedJwt out;
  auto header = decodeJsonPart(token.substr(0, first), "token header");
  if (!header.ok()) {
    return header.status();
  }
  auto claims = decodeJsonPart(token.substr(first + 1, second - first - 1), "token claims");
  if (!claims.ok()) {
    return claims.status();
  }
  auto signature = base64UrlDecode(token.substr(second + 1));
  if (!signature.ok()) {
    return absl::InvalidArgumentError("token signature is not valid base64url");
  }
  out.header = std::move(*header);
  out.claims = std::move(*claims);
  out.signingInput = std::string(token.substr(0, second));
  out.signature = std::move(*signature);
  return out;
}

absl::Status verifyRs256(const ParsedJwt& jwt, const std::string& keyPem) {
  const auto alg = jwt.header.find("alg");
  if (alg == jwt.header.end() || !alg->is_string() || *alg != "RS256") {
    return absl::UnauthenticatedError(absl::StrCat(
        "signing method ", alg == jwt.header.end() ? std::string("(none)") : alg->dump(),
        " is invalid: only RS256 is accepted"));
  }
  auto key = readRsaKey(keyPem, /*allowPublic=*/true);
  if (!key.ok()) {
    return key.status();
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key->get()) != 1) {
    return crypto::opensslError("EVP_DigestVerifyInit");
  }
  const int verified = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(jwt.signature.data()), jwt.signature.size(),
      reinterpret_cast<const unsigned char*>(jwt.signingInput.data()), jwt.signingInput.size());
  ERR_clear_error();
  if (verified != 1) {
    return absl::UnauthenticatedError("token signature is invalid");
  }
  return absl::OkStatus();
}

}  // namespace kuma::tokens
