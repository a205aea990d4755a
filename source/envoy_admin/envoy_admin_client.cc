#include "source/envoy_admin/envoy_admin_client.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "source/common/crypto/openssl_util.h"

namespace kuma::envoy_admin {
namespace {

// The body quoted in an error: enough to tell what Envoy said, never a whole dump.
constexpr size_t kQuotedBodyBytes = 512;

// A trust store with every certificate of `pem`; nullptr when there is none.
X509_STORE* trustStore(const std::string& pem) {
  crypto::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509_STORE* store = X509_STORE_new();
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    added += X509_STORE_add_cert(store, cert);
    X509_free(cert);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (added == 0) {
    X509_STORE_free(store);
    return nullptr;
  }
  return store;
}

// An mTLS client of `target` presenting `certs`, verifying the server against their CA.
absl::StatusOr<std::unique_ptr<httplib::ClientImpl>> mtlsClient(
    const EnvoyAdminTarget& target, const xds::EnvoyAdminClientCerts& certs) {
  crypto::BioPtr certBio(
      BIO_new_mem_buf(certs.certPem.data(), static_cast<int>(certs.certPem.size())));
  crypto::X509Ptr cert(PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr));
  crypto::BioPtr keyBio(
      BIO_new_mem_buf(certs.keyPem.data(), static_cast<int>(certs.keyPem.size())));
  crypto::PkeyPtr key(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  X509_STORE* store = trustStore(certs.caPem);
  if (!cert || !key || store == nullptr) {
    if (store != nullptr) {
      X509_STORE_free(store);
    }
    return absl::InternalError("the Envoy Admin client certificate is not usable");
  }
  // The SSL context takes its own references to the certificate and the key.
  auto client = std::make_unique<httplib::SSLClient>(target.host, static_cast<int>(target.port),
                                                     cert.get(), key.get());
  client->set_ca_cert_store(store);  // owned by the client from here
  if (!client->is_valid()) {
    return absl::InternalError("could not set up the TLS client of the Envoy admin API");
  }
  client->enable_server_certificate_verification(true);
  return client;
}

}  // namespace

EnvoyAdminTarget envoyAdminTarget(const mesh::v1alpha1::Dataplane& spec,
                                  uint32_t defaultAdminPort) {
  EnvoyAdminTarget target;
  const auto& net = spec.networking();
  target.host = net.advertised_address().empty() ? net.address() : net.advertised_address();
  target.port = net.admin().port() != 0 ? net.admin().port() : defaultAdminPort;
  return target;
}

EnvoyAdminClient::EnvoyAdminClient(CertsProvider certs, EnvoyAdminClientOptions options)
    : certs_(std::move(certs)), options_(options) {}

absl::StatusOr<std::string> EnvoyAdminClient::get(const EnvoyAdminTarget& target,
                                                  const std::string& pathAndQuery) const {
  return exchange("GET", target, pathAndQuery);
}

absl::Status EnvoyAdminClient::postQuit(const EnvoyAdminTarget& target) const {
  absl::StatusOr<std::string> answer = exchange("POST", target, "/quitquitquit");
  if (!answer.ok() && absl::IsUnavailable(answer.status()) &&
      absl::EndsWith(answer.status().message(), ": Read")) {
    return absl::OkStatus();  // Envoy went down before it answered: it is quitting (Kuma: EOF)
  }
  return answer.status();
}

absl::StatusOr<std::string> EnvoyAdminClient::exchange(const std::string& method,
                                                       const EnvoyAdminTarget& target,
                                                       const std::string& pathAndQuery) const {
  if (target.host.empty() || target.port == 0 || target.port > 65535) {
    return absl::InvalidArgumentError("the Dataplane has no admin address");
  }
  std::unique_ptr<httplib::ClientImpl> client;
  if (target.host == "127.0.0.1") {
    client = std::make_unique<httplib::ClientImpl>(target.host, static_cast<int>(target.port));
  } else {
    absl::StatusOr<xds::EnvoyAdminClientCerts> certs = certs_();
    if (!certs.ok()) {
      return certs.status();
    }
    auto tls = mtlsClient(target, *certs);
    if (!tls.ok()) {
      return tls.status();
    }
    client = std::move(*tls);
  }
  client->set_connection_timeout(options_.connectTimeout);
  client->set_read_timeout(options_.ioTimeout);
  client->set_write_timeout(options_.ioTimeout);
  client->set_keep_alive(false);
  std::string body;
  bool tooLarge = false;
  const size_t limit = options_.maxResponseBytes;
  auto receive = [&body, &tooLarge, limit](const char* data, size_t length) {
    if (body.size() + length > limit) {
      tooLarge = true;
      return false;
    }
    body.append(data, length);
    return true;
  };
  httplib::Request request;
  request.method = method;
  request.path = pathAndQuery;
  request.content_receiver = [&receive](const char* data, size_t length, uint64_t, uint64_t) {
    return receive(data, length);
  };
  httplib::Result res = client->send(request);
  if (tooLarge) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the Envoy admin answer to ", pathAndQuery, " exceeds ", limit, " bytes"));
  }
  if (!res) {
    return absl::UnavailableError(absl::StrCat("unable to send ", method, " to ", pathAndQuery,
                                               " at ", target.host, ":", target.port, ": ",
                                               httplib::to_string(res.error())));
  }
  if (res->status != 200) {
    return absl::InternalError(absl::StrCat("envoy response [", res->status, "] [",
                                            body.substr(0, kQuotedBodyBytes), "]"));
  }
  return body;
}

}  // namespace kuma::envoy_admin
