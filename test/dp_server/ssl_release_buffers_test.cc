#include "source/dp_server/ssl_release_buffers.h"

#include <dlfcn.h>

#include <algorithm>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "openssl/bio.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"
#include "source/common/tls/cert.h"

namespace kuma::dp_server {
namespace {

using SslNewFn = SSL* (*)(SSL_CTX*);

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

TEST(SslReleaseBuffersTest, SslNewOfTheProcessIsTheInterposer) {
  EXPECT_TRUE(sslReleaseBuffersActive());
}

TEST(SslReleaseBuffersTest, NewSslObjectsReleaseTheirBuffers) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(SSL_CTX_get_mode(ctx.get()) & SSL_MODE_RELEASE_BUFFERS, 0);  // the CTX is untouched
  SslPtr direct(SSL_new(ctx.get()));
  ASSERT_NE(direct, nullptr);
  EXPECT_NE(SSL_get_mode(direct.get()) & SSL_MODE_RELEASE_BUFFERS, 0);
  // The lookup a shared library's call (gRPC's) binds to.
  auto global = reinterpret_cast<SslNewFn>(dlsym(RTLD_DEFAULT, "SSL_new"));
  ASSERT_NE(global, nullptr);
  SslPtr viaGlobal(global(ctx.get()));
  ASSERT_NE(viaGlobal, nullptr);
  EXPECT_NE(SSL_get_mode(viaGlobal.get()) & SSL_MODE_RELEASE_BUFFERS, 0);
}

TEST(SslReleaseBuffersTest, NullContextYieldsNull) {
  EXPECT_EQ(SSL_new(nullptr), nullptr);
}

// Both ends in memory with the mode on: a handshake and records larger than one TLS record.
TEST(SslReleaseBuffersTest, TrafficIsUnchanged) {
  auto cert = tls::generateSelfSignedServerCert({"localhost"});
  ASSERT_TRUE(cert.ok()) << cert.status();
  SslCtxPtr serverCtx(SSL_CTX_new(TLS_server_method()));
  SslCtxPtr clientCtx(SSL_CTX_new(TLS_client_method()));
  ASSERT_NE(serverCtx, nullptr);
  ASSERT_NE(clientCtx, nullptr);
  BIO* certBio = BIO_new_mem_buf(cert->certPem.data(), static_cast<int>(cert->certPem.size()));
  X509* x509 = PEM_read_bio_X509(certBio, nullptr, nullptr, nullptr);
  BIO_free(certBio);
  BIO* keyBio = BIO_new_mem_buf(cert->keyPem.data(), static_cast<int>(cert->keyPem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(keyBio, nullptr, nullptr, nullptr);
  BIO_free(keyBio);
  ASSERT_NE(x509, nullptr);
  ASSERT_NE(key, nullptr);
  ASSERT_EQ(SSL_CTX_use_certificate(serverCtx.get(), x509), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(serverCtx.get(), key), 1);
  X509_free(x509);
  EVP_PKEY_free(key);

  SslPtr server(SSL_new(serverCtx.get()));
  SslPtr client(SSL_new(clientCtx.get()));
  BIO* serverIo = nullptr;
  BIO* clientIo = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&serverIo, 0, &clientIo, 0), 1);
  SSL_set_bio(server.get(), serverIo, serverIo);
  SSL_set_bio(client.get(), clientIo, clientIo);
  SSL_set_accept_state(server.get());
  SSL_set_connect_state(client.get());
  bool done = false;
  for (int i = 0; i < 20 && !done; ++i) {
    const int c = SSL_do_handshake(client.get());
    const int s = SSL_do_handshake(server.get());
    done = c == 1 && s == 1;
  }
  ASSERT_TRUE(done);

  std::string sent;
  for (int i = 0; sent.size() < 40000; ++i) {
    sent += std::to_string(i) + ",";
  }
  std::string received;
  size_t offset = 0;
  char buf[4096];
  while (received.size() < sent.size()) {
    if (offset < sent.size()) {
      const int chunk = static_cast<int>(std::min<size_t>(sent.size() - offset, 5000));
      const int n = SSL_write(server.get(), sent.data() + offset, chunk);
      if (n > 0) {
        offset += static_cast<size_t>(n);
      }
    }
    int n = 0;
    while ((n = SSL_read(client.get(), buf, sizeof(buf))) > 0) {
      received.append(buf, static_cast<size_t>(n));
    }
    ASSERT_EQ(SSL_get_error(client.get(), n), SSL_ERROR_WANT_READ);
  }
  EXPECT_EQ(received, sent);
}

}  // namespace
}  // namespace kuma::dp_server
