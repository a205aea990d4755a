#include "source/dp/bootstrap_client.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "source/common/go_duration.h"
#include "source/common/json_yaml.h"
#include "source/common/version.h"

namespace kuma::dp {
namespace {

constexpr char kNoEndpoint[] =
    "There is no /bootstrap endpoint for provided CP address. Double check if the address passed "
    "to the CP has a DP Server port (5678 by default), not HTTP API (5681 by default)";

// An X509_STORE with every certificate of a PEM bundle; null when none parses.
X509_STORE* storeFromPem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) {
    return nullptr;
  }
  X509_STORE* store = X509_STORE_new();
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    added += X509_STORE_add_cert(store, cert);
    X509_free(cert);
  }
  BIO_free(bio);
  if (added == 0) {
    X509_STORE_free(store);
    return nullptr;
  }
  return store;
}

}  // namespace

bool hasLocalIPv6() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return false;
  }
  bool found = false;
  for (const ifaddrs* a = list; a != nullptr && !found; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET6) {
      continue;
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
    found = !IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
  }
  freeifaddrs(list);
  return found;
}

std::vector<std::string> bootstrapFeatures(const Config& config) {
  // Kuma 2.14 also always sends feature-tcp-accesslog-via-named-pipe and (by default)
  // feature-otel-via-kuma-dp; kuma-cpp's kuma-dp serves neither pipe yet, so it leaves them out
  // and the CP configures Envoy to send logs/telemetry directly.
  std::vector<std::string> features;
  if (config.runtime.strictInboundPorts) {
    features.push_back("feature-strict-inbound-ports");
  }
  if (config.runtime.reusePort) {
    features.push_back("feature-reuse-port");
  }
  if (config.dns.proxyPort != 0) {
    features.push_back("feature-embedded-dns");  // the DNS map comes through _kuma:dynamicconfig
  }
  if (config.runtime.bindOutbounds) {
    features.push_back("feature-bind-outbounds");
  }
  if (config.runtime.xdsTransportProtocolVariant == "DELTA_GRPC") {
    features.push_back("feature-delta-grpc");
  }
  return features;
}

nlohmann::ordered_json buildBootstrapRequest(const Config& config, const BootstrapInputs& in) {
  using OJson = nlohmann::ordered_json;
  std::string mesh = config.dataplane.mesh;
  std::string name = config.dataplane.name;
  std::string resource;
  if (in.dataplane.is_object()) {
    mesh = in.dataplane.value("mesh", "");
    name = in.dataplane.value("name", "");
    resource = in.dataplane.dump();
  }
  OJson body;
  body["mesh"] = mesh;
  body["name"] = name;
  body["proxyType"] = config.dataplane.proxyType;
  body["dataplaneToken"] = in.token;
  body["dataplaneTokenPath"] = config.runtime.tokenPath;
  body["dataplaneResource"] = resource;
  body["version"] = OJson{
      {"kumaDp",
       {{"version", version::kKumaCompatible},
        {"gitTag", absl::StrCat("kuma-cpp-", version::kBuildVersion)},
        {"gitCommit", version::kGitCommit},
        {"buildDate", ""}}},
      {"envoy",
       {{"version", in.envoy.version},
        {"build", in.envoy.build},
        {"kumaDpCompatible", envoyVersionCompatible(in.envoy.version, version::kEnvoyVersion)}}}};
  body["caCert"] = in.caCertPem;
  body["dynamicMetadata"] = nullptr;
  // As Kuma: always --dns-envoy-port, even with DNS off (the CP then still generates `kuma:dns`).
  body["dnsPort"] = config.dns.envoyDnsPort;
  body["readinessPort"] = config.readinessPort;
  body["appProbeProxyDisabled"] = false;  // true would mean "enabled": there is no probe proxy
  body["operatingSystem"] = "linux";
  body["features"] = bootstrapFeatures(config);
  body["resources"] = OJson{{"maxHeapSizeBytes", config.runtime.maxMemoryBytes}};
  body["workdir"] = in.workDir;
  body["metricsResources"] = OJson{{"certPath", config.runtime.metricsCertPath},
                                   {"keyPath", config.runtime.metricsKeyPath}};
  body["systemCaPath"] = in.systemCaPath;
  body["ipv6Enabled"] = config.runtime.ipv6Enabled && in.hasLocalIPv6;
  body["spireResources"] = OJson{{"socketPath", ""}};
  return body;
}

BootstrapOutcome classifyBootstrapAnswer(int status, const std::string& body) {
  if (status == 200) {
    return BootstrapOutcome::Ok;
  }
  if (status == 0 || status >= 500) {
    return BootstrapOutcome::RetryTransient;
  }
  if (status == 404) {
    const std::string trimmed(absl::StripAsciiWhitespace(body));
    if (trimmed.empty()) {
      return BootstrapOutcome::RetryNotFound;
    }
    // Kuma matches Go's "404: Page Not Found"; net/http's mux says "404 page not found".
    if (absl::EqualsIgnoreCase(trimmed, "404: Page Not Found") ||
        absl::EqualsIgnoreCase(trimmed, "404 page not found")) {
      return BootstrapOutcome::FatalNoEndpoint;
    }
  }
  if (status >= 400 && status < 500) {
    return BootstrapOutcome::FatalInvalid;
  }
  return BootstrapOutcome::RetryTransient;  // 1xx/3xx: unexpected, try again
}

absl::StatusOr<BootstrapResponse> decodeBootstrapAnswer(const std::string& contentType,
                                                        const std::string& body) {
  BootstrapResponse out;
  if (contentType.find("yaml") != std::string::npos) {
    out.bootstrapYaml = body;
  } else {
    auto document = common::parseJson(body);
    const nlohmann::json doc = document.ok() ? std::move(*document) : nlohmann::json();
    if (!doc.is_object() || !doc.contains("bootstrap") || !doc["bootstrap"].is_string()) {
      return absl::InvalidArgumentError(
          "the control plane's /bootstrap answer has no \"bootstrap\" string");
    }
    if (!absl::Base64Unescape(doc["bootstrap"].get<std::string>(), &out.bootstrapYaml)) {
      return absl::InvalidArgumentError(
          "the control plane's /bootstrap answer: \"bootstrap\" is not base64");
    }
    out.sidecarConfiguration = doc.value("kumaSidecarConfiguration", nlohmann::json());
  }
  auto parsed = common::parseYaml(out.bootstrapYaml);
  if (!parsed.ok() || !parsed->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the Envoy bootstrap from the control plane is not a YAML object: ",
        parsed.ok() ? std::string("wrong type") : std::string(parsed.status().message())));
  }
  out.bootstrap = std::move(*parsed);
  return out;
}

absl::StatusOr<BootstrapClient> BootstrapClient::create(Options options) {
  BootstrapClient c;
  std::string rest;
  if (options.url.starts_with("https://")) {
    c.https_ = true;
    rest = options.url.substr(8);
  } else if (options.url.starts_with("http://")) {
    rest = options.url.substr(7);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid control plane URL \"", options.url, "\": want http(s)://host:port"));
  }
  while (!rest.empty() && rest.back() == '/') {
    rest.pop_back();
  }
  if (rest.empty() || rest.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid control plane URL \"", options.url, "\": want http(s)://host:port"));
  }
  std::string portText;
  if (rest.front() == '[') {  // [v6]:port
    const size_t close = rest.find(']');
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("invalid control plane URL \"", options.url,
                                                     "\": unterminated IPv6 address"));
    }
    c.host_ = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid control plane URL \"", options.url, "\""));
      }
      portText = rest.substr(close + 2);
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    c.host_ = rest.substr(0, colon);
    portText = rest.substr(colon + 1);
  } else {
    c.host_ = rest;
  }
  c.port_ = c.https_ ? 443 : 80;
  if (!portText.empty() &&
      (!absl::SimpleAtoi(portText, &c.port_) || c.port_ <= 0 || c.port_ > 65535)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid control plane URL \"", options.url, "\": bad port"));
  }
  if (c.host_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid control plane URL \"", options.url, "\": no host"));
  }
  if (!options.sleep) {
    options.sleep = [](std::chrono::nanoseconds d) {
      std::this_thread::sleep_for(d);
      return true;
    };
  }
  if (!options.log) {
    options.log = [](const std::string&) {};
  }
  c.options_ = std::move(options);
  return c;
}

BootstrapClient::Answer BootstrapClient::post(const std::string& body) const {
  std::unique_ptr<httplib::ClientImpl> client;
  httplib::SSLClient* sslClient = nullptr;
  if (https_) {
    auto ssl = std::make_unique<httplib::SSLClient>(host_, port_);
    ssl->enable_server_certificate_verification(!options_.skipVerify);
    if (!options_.caCertFile.empty()) {
      ssl->set_ca_cert_path(options_.caCertFile.c_str());
    } else if (!options_.caCertPem.empty()) {
      if (X509_STORE* store = storeFromPem(options_.caCertPem)) {
        ssl->set_ca_cert_store(store);
      }
    }
    sslClient = ssl.get();
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(host_, port_);
  }
  const auto secs = options_.requestTimeout.count() / 1000;
  const auto usecs = (options_.requestTimeout.count() % 1000) * 1000;
  client->set_connection_timeout(secs, usecs);
  client->set_read_timeout(secs, usecs);
  client->set_write_timeout(secs, usecs);
  Answer answer;
  auto res = client->Post("/bootstrap", {{"accept", "application/json"}}, body, "application/json");
  if (!res) {
    answer.error = httplib::to_string(res.error());
    if (sslClient != nullptr) {
      if (const long verify = sslClient->get_openssl_verify_result(); verify != X509_V_OK) {
        answer.error += absl::StrCat(" (certificate: ", X509_verify_cert_error_string(verify), ")");
      }
    }
    return answer;
  }
  answer.status = res->status;
  answer.body = res->body;
  answer.contentType = res->get_header_value("content-type");
  return answer;
}

absl::StatusOr<BootstrapResponse> BootstrapClient::fetch(const std::string& body) const {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + options_.maxDuration;
  std::string last;
  for (int attempt = 1;; ++attempt) {
    const Answer answer = post(body);
    switch (classifyBootstrapAnswer(answer.status, answer.body)) {
      case BootstrapOutcome::Ok:
        return decodeBootstrapAnswer(answer.contentType, answer.body);
      case BootstrapOutcome::FatalNoEndpoint:
        return absl::FailedPreconditionError(kNoEndpoint);
      case BootstrapOutcome::FatalInvalid:
        return absl::FailedPreconditionError(absl::StrCat("Invalid request: ", answer.body));
      case BootstrapOutcome::RetryNotFound:
        last =
            "Dataplane entity not found: it is not in the control plane yet, or a dataplane "
            "definition (--dataplane-file) is needed";
        break;
      case BootstrapOutcome::RetryTransient:
        last = answer.status == 0
                   ? absl::StrCat("could not reach the control plane at ", options_.url, ": ",
                                  answer.error)
                   : absl::StrCat("the control plane answered ", answer.status, ": ",
                                  std::string(absl::StripAsciiWhitespace(answer.body)));
        break;
    }
    if (std::chrono::steady_clock::now() + options_.backoff > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "could not fetch the bootstrap configuration within ",
          common::formatGoDuration(options_.maxDuration), " (", attempt, " attempts): ", last));
    }
    options_.log(absl::StrCat(last, "; retrying in ", common::formatGoDuration(options_.backoff)));
    if (!options_.sleep(options_.backoff)) {
      return absl::CancelledError("stopped while waiting for the bootstrap configuration");
    }
  }
}

}  // namespace kuma::dp
