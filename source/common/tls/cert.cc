#include "source/common/tls/cert.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace kuma::tls {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using BasicConstraintsPtr =
    std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>>;

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;

absl::Status opensslError(const char* what) {
  char buf[256] = {0};
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  ERR_clear_error();
  return absl::InternalError(absl::StrCat(what, ": ", buf));
}

std::string bioToString(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

bool isIp(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool addExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

absl::StatusOr<X509Ptr> parseFirstCert(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!cert) {
    return absl::InvalidArgumentError("could not parse certificate");
  }
  return cert;
}

std::string ipToString(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {0};
  const int len = ASN1_STRING_length(ip);
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  if (len == 4) {
    inet_ntop(AF_INET, data, buf, sizeof(buf));
  } else if (len == 16) {
    inet_ntop(AF_INET6, data, buf, sizeof(buf));
  }
  return buf;
}

absl::Status writeFile(const std::string& path, const std::string& content, mode_t mode) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return absl::InternalError(absl::StrCat("could not write ", path, ": ", std::strerror(errno)));
  }
  out << content;
  out.close();
  if (!out) {
    return absl::InternalError(absl::StrCat("could not write ", path));
  }
  std::filesystem::permissions(path, static_cast<std::filesystem::perms>(mode),
                               std::filesystem::perm_options::replace, ec);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PemCertAndKey> generateSelfSignedServerCert(const std::vector<std::string>& hosts,
                                                           absl::Duration validity) {
  if (hosts.empty()) {
    return absl::InvalidArgumentError("at least one host is required for the certificate SANs");
  }
  PkeyPtr key(EVP_RSA_gen(2048));
  if (!key) {
    return opensslError("RSA key generation failed");
  }
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  // A few minutes in the past tolerates clock skew between the CP and its proxies.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -5 * 60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(validity));
  // Empty subject (as Kuma): identity is carried by the SANs only.
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509_set_pubkey(cert.get(), key.get());
  std::string san;
  for (const std::string& host : hosts) {
    absl::StrAppend(&san, san.empty() ? "" : ",", isIp(host) ? "IP:" : "DNS:", host);
  }
  // With an empty subject the SAN extension must be critical (RFC 5280 4.2.1.6).
  if (!addExtension(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !addExtension(cert.get(), NID_key_usage,
                    "critical,keyEncipherment,digitalSignature,keyCertSign") ||
      !addExtension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !addExtension(cert.get(), NID_subject_alt_name, "critical," + san)) {
    return opensslError("adding certificate extensions failed");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return opensslError("signing the certificate failed");
  }
  BioPtr certBio(BIO_new(BIO_s_mem()));
  BioPtr keyBio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(certBio.get(), cert.get()) ||
      !PEM_write_bio_PrivateKey_traditional(keyBio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                            nullptr)) {
    return opensslError("PEM encoding failed");
  }
  return PemCertAndKey{bioToString(certBio.get()), bioToString(keyBio.get())};
}

std::vector<std::string> defaultCertHosts() {
  std::vector<std::string> hosts;
  char name[256] = {0};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') {
    hosts.emplace_back(name);
  }
  hosts.emplace_back("localhost");
  struct ifaddrs* addrs = nullptr;
  if (getifaddrs(&addrs) == 0) {
    for (struct ifaddrs* a = addrs; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr) {
        continue;
      }
      char buf[INET6_ADDRSTRLEN] = {0};
      if (a->ifa_addr->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf,
                  sizeof(buf));
      } else if (a->ifa_addr->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, buf,
                  sizeof(buf));
      } else {
        continue;
      }
      if (std::find(hosts.begin(), hosts.end(), buf) == hosts.end()) {
        hosts.emplace_back(buf);
      }
    }
    freeifaddrs(addrs);
  }
  return hosts;
}

absl::StatusOr<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("could not read ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<CertFiles> ensureSelfSignedCertificate(const std::string& workDir,
                                                      const std::vector<std::string>& hosts) {
  CertFiles files;
  files.certFile = workDir + "/kuma-cp.crt";
  files.keyFile = workDir + "/kuma-cp.key";
  std::error_code ec;
  if (std::filesystem::exists(files.certFile, ec) && std::filesystem::exists(files.keyFile, ec)) {
    return files;
  }
  std::filesystem::create_directories(workDir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("could not create the work directory ", workDir, ": ", ec.message()));
  }
  auto pair = generateSelfSignedServerCert(hosts);
  if (!pair.ok()) {
    return pair.status();
  }
  if (absl::Status s = writeFile(files.keyFile, pair->keyPem, 0600); !s.ok()) {
    return s;
  }
  if (absl::Status s = writeFile(files.certFile, pair->certPem, 0644); !s.ok()) {
    return s;
  }
  files.generated = true;
  return files;
}

absl::StatusOr<bool> firstCertIsCa(std::string_view pem) {
  auto cert = parseFirstCert(pem);
  if (!cert.ok()) {
    return cert.status();
  }
  int critical = 0;
  BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert->get(), NID_basic_constraints, &critical, nullptr)));
  if (!bc) {
    return true;  // no BasicConstraints: Go's BasicConstraintsValid is false, accepted
  }
  return bc->ca != 0;
}

absl::StatusOr<std::vector<std::string>> certificateSans(std::string_view pem) {
  auto cert = parseFirstCert(pem);
  if (!cert.ok()) {
    return cert.status();
  }
  std::vector<std::string> dns;
  std::vector<std::string> ips;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert->get(), NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type == GEN_DNS) {
        const ASN1_IA5STRING* s = name->d.dNSName;
        dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<size_t>(ASN1_STRING_length(s)));
      } else if (name->type == GEN_IPADD) {
        ips.push_back(ipToString(name->d.iPAddress));
      }
    }
  }
  dns.insert(dns.end(), ips.begin(), ips.end());
  return dns;
}

absl::StatusOr<bool> hostMatchesCertificate(std::string_view pem, std::string_view host) {
  auto cert = parseFirstCert(pem);
  if (!cert.ok()) {
    return cert.status();
  }
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  if (h.empty()) {
    return false;
  }
  int rc = 0;
  if (isIp(h)) {
    rc = X509_check_ip_asc(cert->get(), h.c_str(), 0);
  } else {
    rc = X509_check_host(cert->get(), h.data(), h.size(), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                         nullptr);
  }
  ERR_clear_error();
  return rc == 1;
}

}  // namespace kuma::tls
