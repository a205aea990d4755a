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
#include "source/common/crypto/openssl_util.h"
#include "source/common/crypto/pki.h"

namespace kuma::tls {
namespace {

using crypto::BioPtr;
using crypto::OpensslDeleter;
using crypto::X509Ptr;
using BasicConstraintsPtr =
    std::unique_ptr<BASIC_CONSTRAINTS, OpensslDeleter<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>>;

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;

bool isIp(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
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
  std::string san;
  for (const std::string& host : hosts) {
    absl::StrAppend(&san, san.empty() ? "" : ",", isIp(host) ? "IP:" : "DNS:", host);
  }
  crypto::SelfSignedCertSpec spec;
  // Empty subject (as Kuma): identity is carried by the SANs only, so the SAN extension must be
  // critical (RFC 5280 4.2.1.6).
  spec.extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                     {NID_key_usage, "critical,keyEncipherment,digitalSignature,keyCertSign"},
                     {NID_ext_key_usage, "serverAuth"},
                     {NID_subject_alt_name, "critical," + san}};
  spec.validity = validity;
  auto generated = crypto::generateSelfSignedCert(spec);
  if (!generated.ok()) {
    return generated.status();
  }
  return PemCertAndKey{std::move(generated->certPem), std::move(generated->keyPem)};
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
