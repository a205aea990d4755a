#include "source/dp_server/client_hello.h"

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kuma::dp_server {
namespace {

/** The first flight of a real OpenSSL client offering `alpn` (wire format) and SNI. */
std::string clientHello(const std::vector<std::string>& alpn) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);
  SSL_set_tlsext_host_name(ssl, "cp.example");
  if (!alpn.empty()) {
    std::string wire;
    for (const auto& p : alpn) {
      wire += static_cast<char>(p.size());
      wire += p;
    }
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  SSL_connect(ssl);  // wants to read: the ClientHello is now in wbio
  char* data = nullptr;
  const long len = BIO_get_mem_data(wbio, &data);
  std::string out(data, static_cast<size_t>(len));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

TEST(ClientHelloTest, OffersH2) {
  EXPECT_EQ(inspectClientHello(clientHello({"h2"})), ClientHelloVerdict::kOffersH2);
  EXPECT_EQ(inspectClientHello(clientHello({"http/1.1", "h2"})), ClientHelloVerdict::kOffersH2);
}

TEST(ClientHelloTest, NoH2IsOther) {
  EXPECT_EQ(inspectClientHello(clientHello({})), ClientHelloVerdict::kOther);
  EXPECT_EQ(inspectClientHello(clientHello({"http/1.1"})), ClientHelloVerdict::kOther);
  EXPECT_EQ(inspectClientHello(clientHello({"h2c", "h3"})), ClientHelloVerdict::kOther);
}

TEST(ClientHelloTest, TruncatedNeedsMore) {
  const std::string hello = clientHello({"h2"});
  ASSERT_GT(hello.size(), 50u);
  EXPECT_EQ(inspectClientHello(""), ClientHelloVerdict::kNeedMore);
  EXPECT_EQ(inspectClientHello(hello.substr(0, 3)), ClientHelloVerdict::kNeedMore);
  EXPECT_EQ(inspectClientHello(hello.substr(0, hello.size() - 1)), ClientHelloVerdict::kNeedMore);
}

TEST(ClientHelloTest, NotTlsIsOther) {
  EXPECT_EQ(inspectClientHello("POST /bootstrap HTTP/1.1\r\n"), ClientHelloVerdict::kOther);
  EXPECT_EQ(inspectClientHello(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")),
            ClientHelloVerdict::kOther);
}

TEST(ClientHelloTest, MalformedIsOther) {
  std::string hello = clientHello({"h2"});
  // Handshake type other than ClientHello.
  std::string wrongType = hello;
  wrongType[5] = 0x02;
  EXPECT_EQ(inspectClientHello(wrongType), ClientHelloVerdict::kOther);
  // Handshake length larger than the record.
  std::string badLen = hello;
  badLen[6] = static_cast<char>(0x7f);
  EXPECT_EQ(inspectClientHello(badLen), ClientHelloVerdict::kOther);
  // A record holding garbage.
  const std::string garbage("\x16\x03\x01\x00\x04\x01\x00\x00\x00", 9);
  EXPECT_EQ(inspectClientHello(garbage), ClientHelloVerdict::kOther);
}

}  // namespace
}  // namespace kuma::dp_server
