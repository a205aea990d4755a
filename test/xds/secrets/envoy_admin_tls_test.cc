// The Envoy Admin CA's certificates (spec §7.4, Kuma `pkg/envoy/admin/tls`): per-Dataplane
// server certificates for the admin listener, the control plane's client certificate, both
// chaining to the CA, with the SANs and key usages the admin listener and the client check.

#include "source/xds/secrets/envoy_admin_tls.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/openssl_util.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/core/resources/mesh_types.h"

namespace kuma::xds {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const crypto::CertAndKey& testCa() {
  static const crypto::CertAndKey ca =
      *crypto::generateSelfSignedCa("Kuma", "Mesh", "Envoy Admin CA", absl::Hours(24));
  return ca;
}

crypto::X509Ptr parseCert(const std::string& pem) {
  crypto::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return crypto::X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

crypto::PkeyPtr parseKey(const std::string& pem) {
  crypto::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return crypto::PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// Verifies `pem` against `caPem` for `purpose` (X509_PURPOSE_SSL_SERVER / _CLIENT).
bool verifies(const std::string& pem, const std::string& caPem, int purpose) {
  crypto::X509Ptr cert = parseCert(pem);
  crypto::X509Ptr ca = parseCert(caPem);
  if (!cert || !ca) {
    return false;
  }
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

// "DNS:x" / "IP:1.2.3.4" of every SAN.
std::vector<std::string> sans(const std::string& pem) {
  std::vector<std::string> out;
  crypto::X509Ptr cert = parseCert(pem);
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      const auto* s = name->d.dNSName;
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<size_t>(ASN1_STRING_length(s))));
    } else if (name->type == GEN_IPADD) {
      const auto* s = name->d.iPAddress;
      char text[64] = {0};
      inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text,
                sizeof(text));
      out.push_back("IP:" + std::string(text));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

EnvoyAdminTls::CaLoader fixedCa(std::atomic<int>* loads = nullptr) {
  return [loads]() -> absl::StatusOr<std::string> {
    if (loads != nullptr) {
      ++*loads;
    }
    return testCa().certPem + testCa().keyPem;
  };
}

TEST(EnvoyAdminTls, ServerCertificateIsForTheDataplaneAddressesAndChainsToTheCa) {
  EnvoyAdminTls tls(fixedCa());
  auto certs = tls.serverCerts("default", "web-1", "10.0.0.1", "192.168.1.5");
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_THAT(sans((*certs)->certPem), ElementsAre("IP:10.0.0.1", "IP:192.168.1.5"));
  EXPECT_TRUE(verifies((*certs)->certPem, testCa().certPem, X509_PURPOSE_SSL_SERVER));
  EXPECT_FALSE(verifies((*certs)->certPem, testCa().certPem, X509_PURPOSE_SSL_CLIENT));
  // The trusted CA handed to Envoy is the certificate alone, never the CA's key.
  EXPECT_EQ((*certs)->caPem, testCa().certPem);
  EXPECT_THAT((*certs)->caPem, ::testing::Not(HasSubstr("PRIVATE KEY")));
  crypto::PkeyPtr key = parseKey((*certs)->keyPem);
  ASSERT_TRUE(key);
  EXPECT_EQ(EVP_PKEY_base_id(key.get()), EVP_PKEY_EC);
  crypto::X509Ptr cert = parseCert((*certs)->certPem);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(cert.get())), 0);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  // A same advertised address adds nothing; a DNS name becomes a DNS SAN.
  auto same = tls.serverCerts("default", "web-2", "10.0.0.2", "10.0.0.2");
  ASSERT_TRUE(same.ok());
  EXPECT_THAT(sans((*same)->certPem), ElementsAre("IP:10.0.0.2"));
  auto named = tls.serverCerts("default", "web-3", "fd00::3", "web-3.example");
  ASSERT_TRUE(named.ok());
  EXPECT_THAT(sans((*named)->certPem), ElementsAre("IP:fd00::3", "DNS:web-3.example"));
}

TEST(EnvoyAdminTls, ServerCertificatesAreCachedPerDataplaneUntilTheAddressChanges) {
  std::atomic<int> loads = 0;
  EnvoyAdminTls tls(fixedCa(&loads));
  auto first = tls.serverCerts("default", "web-1", "10.0.0.1", "");
  auto again = tls.serverCerts("default", "web-1", "10.0.0.1", "");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->get(), again->get());
  EXPECT_EQ(tls.serverCertsIssued(), 1u);
  auto other = tls.serverCerts("other", "web-1", "10.0.0.1", "");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->get(), first->get());
  auto moved = tls.serverCerts("default", "web-1", "10.0.0.9", "");
  ASSERT_TRUE(moved.ok());
  EXPECT_NE(moved->get(), first->get());
  EXPECT_THAT(sans((*moved)->certPem), ElementsAre("IP:10.0.0.9"));
  tls.forget("default", "web-1");
  auto reissued = tls.serverCerts("default", "web-1", "10.0.0.9", "");
  ASSERT_TRUE(reissued.ok());
  EXPECT_NE(reissued->get(), moved->get());
  EXPECT_EQ(tls.serverCertsIssued(), 4u);
  EXPECT_EQ(loads.load(), 1) << "the CA is read once";
}

TEST(EnvoyAdminTls, ClientCertificateIsTheControlPlanesAndIssuedOnce) {
  EnvoyAdminTls tls(fixedCa());
  auto client = tls.clientCerts();
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_THAT(sans(client->certPem), ElementsAre("DNS:kuma-cp"));
  EXPECT_TRUE(verifies(client->certPem, testCa().certPem, X509_PURPOSE_SSL_CLIENT));
  EXPECT_FALSE(verifies(client->certPem, testCa().certPem, X509_PURPOSE_SSL_SERVER));
  EXPECT_EQ(client->caPem, testCa().certPem);
  crypto::PkeyPtr key = parseKey(client->keyPem);
  ASSERT_TRUE(key);
  EXPECT_EQ(EVP_PKEY_base_id(key.get()), EVP_PKEY_RSA);
  auto again = tls.clientCerts();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->certPem, client->certPem);
}

TEST(EnvoyAdminTls, AMissingCaFailsAndIsAskedForAgain) {
  std::atomic<int> loads = 0;
  bool present = false;
  EnvoyAdminTls tls([&]() -> absl::StatusOr<std::string> {
    ++loads;
    if (!present) {
      return absl::NotFoundError("GlobalSecret envoy-admin-ca not found");
    }
    return testCa().certPem + testCa().keyPem;
  });
  auto missing = tls.serverCerts("default", "web-1", "10.0.0.1", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("Envoy Admin CA"));
  EXPECT_FALSE(tls.clientCerts().ok());
  present = true;
  EXPECT_TRUE(tls.serverCerts("default", "web-1", "10.0.0.1", "").ok());
  EXPECT_TRUE(tls.clientCerts().ok());
  EXPECT_EQ(loads.load(), 3);
}

TEST(EnvoyAdminTls, RefusesAnUnusableCaOrAnEmptyAddress) {
  EnvoyAdminTls onlyCert([]() -> absl::StatusOr<std::string> { return testCa().certPem; });
  EXPECT_EQ(onlyCert.serverCerts("default", "web-1", "10.0.0.1", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  const crypto::CertAndKey other =
      *crypto::generateSelfSignedCa("Kuma", "Mesh", "Other", absl::Hours(1));
  EnvoyAdminTls mismatched(
      [&]() -> absl::StatusOr<std::string> { return testCa().certPem + other.keyPem; });
  EXPECT_EQ(mismatched.serverCerts("default", "web-1", "10.0.0.1", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EnvoyAdminTls tls(fixedCa());
  EXPECT_EQ(tls.serverCerts("default", "web-1", "", "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EnvoyAdminTls, LoadsTheGlobalSecretFromTheStore) {
  model::TypeRegistry registry;
  resources::registerMeshTypes(registry);
  auto store = memory::newMemoryStore();
  manager::ResourceManager manager(*store, registry);
  EXPECT_EQ(loadEnvoyAdminCa(manager, registry).status().code(), absl::StatusCode::kNotFound);
  const std::string data = testCa().certPem + testCa().keyPem;
  auto body = model::fromRestJson(
      *registry.byName("GlobalSecret"),
      {{"type", "GlobalSecret"}, {"name", "envoy-admin-ca"}, {"data", absl::Base64Escape(data)}});
  ASSERT_TRUE(body.ok()) << body.status();
  ASSERT_TRUE(manager.create(std::move(body->resource)).ok());
  auto loaded = loadEnvoyAdminCa(manager, registry);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, data);
}

}  // namespace
}  // namespace kuma::xds
