#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/pki.h"
#include "source/common/tls/cert.h"
#include "source/dp_server/tls_autoconfig.h"

namespace kuma::tls {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string tempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "dp-tls-XXXXXX").string();
  return mkdtemp(tmpl.data());
}

class TlsCertTest : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_ = tempDir();
};

TEST_F(TlsCertTest, GeneratedCertIsCaWithSans) {
  auto pair = generateSelfSignedServerCert({"cp.example", "localhost", "10.1.2.3", "::1"});
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_THAT(pair->certPem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(pair->keyPem, HasSubstr("PRIVATE KEY"));
  auto ca = firstCertIsCa(pair->certPem);
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(*ca);
  auto sans = certificateSans(pair->certPem);
  ASSERT_TRUE(sans.ok());
  EXPECT_THAT(*sans, ElementsAre("cp.example", "localhost", "10.1.2.3", "::1"));

  // RSA-2048, serverAuth, empty subject, ~10 years.
  BIO* bio = BIO_new_mem_buf(pair->certPem.data(), static_cast<int>(pair->certPem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(EVP_PKEY_bits(X509_get0_pubkey(cert)), 2048);
  EXPECT_EQ(EVP_PKEY_base_id(X509_get0_pubkey(cert)), EVP_PKEY_RSA);
  EXPECT_TRUE(X509_get_extended_key_usage(cert) & XKU_SSL_SERVER);
  EXPECT_TRUE(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN);
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(cert)), 0);
  int days = 0;
  int secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert)), 1);
  EXPECT_GE(days, 3650);
  EXPECT_LE(days, 3655);
  X509_free(cert);
}

TEST_F(TlsCertTest, EmptyHostsIsAnError) {
  EXPECT_FALSE(generateSelfSignedServerCert({}).ok());
}

TEST_F(TlsCertTest, HostMatching) {
  auto pair = generateSelfSignedServerCert({"cp.example", "*.wild.example", "10.1.2.3", "::1"});
  ASSERT_TRUE(pair.ok());
  auto match = [&](const char* host) {
    return hostMatchesCertificate(pair->certPem, host).value();
  };
  EXPECT_TRUE(match("cp.example"));
  EXPECT_TRUE(match("CP.Example"));
  EXPECT_TRUE(match("a.wild.example"));
  EXPECT_TRUE(match("10.1.2.3"));
  EXPECT_TRUE(match("::1"));
  EXPECT_TRUE(match("[::1]"));
  EXPECT_FALSE(match("other.example"));
  EXPECT_FALSE(match("a.b.wild.example"));
  EXPECT_FALSE(match("10.1.2.4"));
  EXPECT_FALSE(match("127.0.0.1"));
  EXPECT_FALSE(match(""));
  EXPECT_FALSE(hostMatchesCertificate("not a pem", "cp.example").ok());
}

TEST_F(TlsCertTest, NonCaCertIsDetected) {
  // A leaf with CA:false, made with the OpenSSL API directly.
  auto ca = generateSelfSignedServerCert({"x"});
  ASSERT_TRUE(ca.ok());
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "CA:FALSE");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(cert, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);

  EXPECT_FALSE(firstCertIsCa(pem).value());
  // Only the first certificate counts.
  EXPECT_FALSE(firstCertIsCa(pem + ca->certPem).value());
  EXPECT_TRUE(firstCertIsCa(ca->certPem + pem).value());
  EXPECT_FALSE(firstCertIsCa("garbage").ok());
  EXPECT_FALSE(firstCertIsCa("").ok());
}

TEST_F(TlsCertTest, AdminCaFromPkiIsCa) {
  auto ca = crypto::generateSelfSignedCa("o", "u", "cn", absl::Hours(1));
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(firstCertIsCa(ca->certPem).value());
  EXPECT_TRUE(certificateSans(ca->certPem).value().empty());
}

TEST_F(TlsCertTest, EnsureGeneratesThenReuses) {
  const std::string work = dir_ + "/nested/work";
  auto first = ensureSelfSignedCertificate(work, {"localhost", "127.0.0.1"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->generated);
  EXPECT_EQ(first->certFile, work + "/kuma-cp.crt");
  EXPECT_EQ(first->keyFile, work + "/kuma-cp.key");
  struct stat st = {};
  ASSERT_EQ(stat(first->keyFile.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string pem = readFile(first->certFile).value();
  EXPECT_THAT(certificateSans(pem).value(), ElementsAre("localhost", "127.0.0.1"));

  auto second = ensureSelfSignedCertificate(work, {"other"});
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(readFile(second->certFile).value(), pem);
}

TEST_F(TlsCertTest, EnsureFailsOnUnwritableDir) {
  const std::string file = dir_ + "/file";
  std::ofstream(file) << "x";
  EXPECT_FALSE(ensureSelfSignedCertificate(file + "/sub", {"localhost"}).ok());
}

TEST_F(TlsCertTest, DefaultHostsHaveLocalhostAndLoopback) {
  auto hosts = defaultCertHosts();
  EXPECT_THAT(hosts, ::testing::Contains("localhost"));
  EXPECT_THAT(hosts, ::testing::Contains("127.0.0.1"));
}

TEST_F(TlsCertTest, ConfigAutoconfigGeneratesAndInherits) {
  config::KumaCpConfig cfg;
  cfg.general.workDir = dir_;
  ASSERT_TRUE(dp_server::autoconfigureTlsCertificate(cfg).ok());
  EXPECT_EQ(cfg.general.tlsCertFile, dir_ + "/kuma-cp.crt");
  EXPECT_EQ(cfg.general.tlsKeyFile, dir_ + "/kuma-cp.key");
  EXPECT_EQ(cfg.dpServer.tlsCertFile, cfg.general.tlsCertFile);
  EXPECT_EQ(cfg.dpServer.tlsKeyFile, cfg.general.tlsKeyFile);
  const std::string pem = readFile(cfg.general.tlsCertFile).value();
  EXPECT_TRUE(firstCertIsCa(pem).value());
  EXPECT_TRUE(hostMatchesCertificate(pem, "localhost").value());
  EXPECT_TRUE(hostMatchesCertificate(pem, "127.0.0.1").value());

  // A configured certificate is left alone, and dpServer keeps its own.
  config::KumaCpConfig custom;
  custom.general.workDir = dir_ + "/other";
  custom.general.tlsCertFile = "/etc/custom.crt";
  custom.general.tlsKeyFile = "/etc/custom.key";
  custom.dpServer.tlsCertFile = "/etc/dp.crt";
  custom.dpServer.tlsKeyFile = "/etc/dp.key";
  ASSERT_TRUE(dp_server::autoconfigureTlsCertificate(custom).ok());
  EXPECT_EQ(custom.general.tlsCertFile, "/etc/custom.crt");
  EXPECT_EQ(custom.dpServer.tlsCertFile, "/etc/dp.crt");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/other/kuma-cp.crt"));
}

}  // namespace
}  // namespace kuma::tls
