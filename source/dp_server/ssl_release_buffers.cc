#include "source/dp_server/ssl_release_buffers.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include "openssl/ssl.h"

namespace {

using SslNewFn = SSL* (*)(SSL_CTX*);

// libssl's own SSL_new: the next definition after this executable in lookup order.
SslNewFn realSslNew() {
  static const SslNewFn fn = [] {
    void* sym = dlvsym(RTLD_NEXT, "SSL_new", "OPENSSL_3.0.0");
    if (sym == nullptr) {
      sym = dlsym(RTLD_NEXT, "SSL_new");
    }
    if (sym == nullptr) {
      // Without it no TLS connection can be made at all: fail loudly rather than later.
      std::fprintf(stderr, "fatal: libssl's SSL_new not found: %s\n", dlerror());
      std::abort();
    }
    return reinterpret_cast<SslNewFn>(sym);
  }();
  return fn;
}

}  // namespace

extern "C" SSL* SSL_new(SSL_CTX* ctx) {
  SSL* ssl = realSslNew()(ctx);
  if (ssl != nullptr) {
    SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  }
  return ssl;
}

namespace kuma::dp_server {

bool sslReleaseBuffersActive() {
  // What a shared library's call to SSL_new binds to (the global scope, executable first).
  return dlsym(RTLD_DEFAULT, "SSL_new") == reinterpret_cast<void*>(&SSL_new);
}

}  // namespace kuma::dp_server
