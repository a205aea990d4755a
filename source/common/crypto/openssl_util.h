#pragma once

// File: openssl_util.h
// RAII owners and small helpers for OpenSSL objects, shared by the crypto and TLS code.

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "absl/status/status.h"

namespace kuma::crypto {

template <typename T, void (*F)(T*)>
struct OpensslDeleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpensslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, OpensslDeleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, OpensslDeleter<X509, X509_free>>;
using X509ExtPtr =
    std::unique_ptr<X509_EXTENSION, OpensslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;

/** InternalError "<what>: <OpenSSL's reason>", clearing OpenSSL's error queue. */
inline absl::Status opensslError(const char* what) {
  char buf[256] = {0};
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  ERR_clear_error();
  return absl::InternalError(std::string(what) + ": " + buf);
}

/** Everything written to a memory BIO. */
inline std::string bioToString(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace kuma::crypto
