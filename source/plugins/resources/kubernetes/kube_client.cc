#include "source/plugins/resources/kubernetes/kube_client.h"

#include "source/common/json_yaml.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <csignal>
#include <exception>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace kuma::k8s {

TokenBucket::TokenBucket(double qps, int burst, Clock clock, Sleep sleep)
    : qps_(qps),
      burst_(std::max(1, burst)),
      clock_(clock ? std::move(clock) : [] { return absl::Now(); }),
      sleep_(sleep ? std::move(sleep) : [](absl::Duration d) { absl::SleepFor(d); }),
      tokens_(std::max(1, burst)),
      last_(clock_()) {}

absl::Duration TokenBucket::take() {
  if (qps_ <= 0) {
    return absl::ZeroDuration();
  }
  absl::Duration wait;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_();
    if (now > last_) {
      tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * qps_);
      last_ = now;
    }
    // Reserve the token now (the balance may go negative): waiters queue fairly in time.
    tokens_ -= 1;
    if (tokens_ >= 0) {
      return absl::ZeroDuration();
    }
    wait = absl::Seconds(-tokens_ / qps_);
  }
  sleep_(wait);
  return wait;
}

namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr memBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

/** An X509_STORE with every certificate of `pem`; nullptr when there is none. */
X509_STORE* caStore(const std::string& pem) {
  BioPtr bio = memBio(pem);
  if (!bio) {
    return nullptr;
  }
  X509_STORE* store = X509_STORE_new();
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, cert) == 1) {
      added++;
    }
    X509_free(cert);
  }
  if (added == 0) {
    X509_STORE_free(store);
    return nullptr;
  }
  return store;
}

/** The parsed client certificate and key (null when not PEM). */
std::pair<std::unique_ptr<X509, X509Deleter>, std::unique_ptr<EVP_PKEY, KeyDeleter>>
clientCredentials(const KubeConnection& c) {
  BioPtr certBio = memBio(c.clientCertPem);
  BioPtr keyBio = memBio(c.clientKeyPem);
  return {std::unique_ptr<X509, X509Deleter>(
              PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr)),
          std::unique_ptr<EVP_PKEY, KeyDeleter>(
              PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr))};
}

std::chrono::microseconds toChrono(absl::Duration d) {
  return std::chrono::microseconds(absl::ToInt64Microseconds(d));
}

/** Idle connections kept per client family (the store's client and its siblings). */
constexpr size_t kMaxIdleConnections = 16;

bool retryableStatus(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace

struct KubeClient::ActiveWatch {
  absl::Mutex mu;
  httplib::SSLClient* client ABSL_GUARDED_BY(mu) = nullptr;
};

struct KubeClient::Shared {
  Shared(double qps, int burst) : bucket(qps, burst) {}
  TokenBucket bucket;
  /**
   * Idle keep-alive connections of the client and its siblings: a request takes one (or opens
   * one) and gives it back when the exchange completed, so the TLS handshake, the SSL_CTX and
   * the CA parse are paid once per connection instead of once per request.
   */
  absl::Mutex poolMu;
  std::vector<std::unique_ptr<httplib::SSLClient>> idle ABSL_GUARDED_BY(poolMu);
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> throttled{0};
  std::atomic<int64_t> throttledNanos{0};
  std::atomic<uint64_t> retries{0};
};

KubeClient::KubeClient(KubeConnection connection, KubeClientOptions options,
                       std::shared_ptr<Shared> shared)
    : connection_(std::move(connection)), options_(options), shared_(std::move(shared)) {}

std::unique_ptr<KubeClient> KubeClient::sibling() const {
  return std::unique_ptr<KubeClient>(new KubeClient(connection_, options_, shared_));
}

std::unique_ptr<KubeClient> KubeClient::withOwnRateLimit() const {
  return withOwnRateLimit(options_);
}

std::unique_ptr<KubeClient> KubeClient::withOwnRateLimit(const KubeClientOptions& options) const {
  return std::unique_ptr<KubeClient>(
      new KubeClient(connection_, options, std::make_shared<Shared>(options.qps, options.burst)));
}

absl::StatusOr<std::unique_ptr<KubeClient>> KubeClient::create(KubeConnection connection,
                                                               KubeClientOptions options) {
  if (connection.host.empty()) {
    return absl::InvalidArgumentError("kubernetes client: no API server host");
  }
  // OpenSSL writes to the socket with write(): a connection the server (or stop()) closed would
  // raise SIGPIPE and kill the process. The write's EPIPE is handled as an error instead.
  static const bool sigpipeIgnored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)sigpipeIgnored;
  if (!connection.caPem.empty()) {
    X509_STORE* store = caStore(connection.caPem);
    if (store == nullptr) {
      return absl::InvalidArgumentError("kubernetes client: the CA holds no PEM certificate");
    }
    X509_STORE_free(store);
  }
  if (!connection.clientCertPem.empty()) {
    auto [cert, key] = clientCredentials(connection);
    if (!cert || !key) {
      return absl::InvalidArgumentError(
          "kubernetes client: the client certificate or key is not PEM");
    }
  }
  auto shared = std::make_shared<Shared>(options.qps, options.burst);
  return std::unique_ptr<KubeClient>(
      new KubeClient(std::move(connection), options, std::move(shared)));
}

namespace {

std::unique_ptr<httplib::SSLClient> makeHttpClient(const KubeConnection& c,
                                                   const KubeClientOptions& o,
                                                   absl::Duration readTimeout,
                                                   bool keepAlive = false) {
  std::unique_ptr<httplib::SSLClient> client;
  if (!c.clientCertPem.empty()) {
    auto [cert, key] = clientCredentials(c);
    // SSL_CTX_use_certificate/PrivateKey take their own references.
    client = std::make_unique<httplib::SSLClient>(c.host, c.port, cert.get(), key.get());
  } else {
    client = std::make_unique<httplib::SSLClient>(c.host, c.port);
  }
  if (!c.caPem.empty()) {
    client->set_ca_cert_store(caStore(c.caPem));  // the SSL_CTX owns the store
  }
  client->enable_server_certificate_verification(!c.insecureSkipVerify);
  if (!c.bearerToken.empty()) {
    client->set_bearer_token_auth(c.bearerToken.c_str());
  }
  if (!o.userAgent.empty()) {
    client->set_default_headers({{"User-Agent", o.userAgent}});
  }
  client->set_connection_timeout(toChrono(o.connectTimeout));
  client->set_read_timeout(toChrono(readTimeout));
  client->set_write_timeout(toChrono(o.requestTimeout));
  client->set_keep_alive(keepAlive);
  return client;
}

}  // namespace

void KubeClient::throttle() {
  shared_->requests++;
  const absl::Duration waited = shared_->bucket.take();
  if (waited > absl::ZeroDuration()) {
    shared_->throttled++;
    shared_->throttledNanos += absl::ToInt64Nanoseconds(waited);
  }
}

absl::StatusOr<KubeResponse> KubeClient::request(const std::string& method, const std::string& path,
                                                 const std::string& body,
                                                 const std::string& contentType) {
  absl::Status last;
  for (int attempt = 0; attempt <= options_.maxRetries; attempt++) {
    {
      absl::MutexLock lock(&watchesMu_);
      if (cancelled_) {  // shutting down: no new attempt
        return absl::CancelledError("kubernetes client is shut down");
      }
    }
    if (attempt > 0) {
      shared_->retries++;
      absl::SleepFor(options_.retryBackoff * (1 << std::min(attempt - 1, 6)));
    }
    throttle();
    try {
      // Reads reuse an idle kept-alive connection. Writes reuse a client (its SSL_CTX and
      // parsed CA: most of the cost of a request) but on a connection of their own: with writes
      // on reused connections the store conformance suite saw, now and then, one committed
      // write more than the writers were told of, and a write must never be applied unseen.
      const bool keepAlive = method == "GET";
      std::unique_ptr<httplib::SSLClient> client;
      {
        absl::MutexLock lock(&shared_->poolMu);
        if (!shared_->idle.empty()) {
          client = std::move(shared_->idle.back());
          shared_->idle.pop_back();
        }
      }
      if (!client) {
        client = makeHttpClient(connection_, options_, options_.requestTimeout, keepAlive);
      } else if (!keepAlive) {
        client->stop();  // close the kept-alive connection, keep the context
      }
      client->set_keep_alive(keepAlive);
      httplib::Request req;
      req.method = method;
      req.path = path;
      req.headers.emplace("Accept", "application/json");
      if (!body.empty()) {
        req.body = body;
        req.headers.emplace("Content-Type", contentType);
      }
      std::string received;
      bool tooBig = false;
      req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
        if (received.size() + len > options_.maxResponseBytes) {
          tooBig = true;
          return false;
        }
        received.append(data, len);
        return true;
      };
      httplib::Result answer = client->send(req);
      if (tooBig) {
        return absl::ResourceExhaustedError(absl::StrCat(method, " ", path,
                                                         ": the response is larger than ",
                                                         options_.maxResponseBytes, " bytes"));
      }
      if (!answer) {
        last = absl::UnavailableError(absl::StrCat("kubernetes API ", method, " ", path, ": ",
                                                   httplib::to_string(answer.error())));
        // A write whose answer was lost may have been applied: only reads are replayed.
        if (method != "GET") {
          return last;
        }
        continue;
      }
      {
        // The exchange completed: the client (and a kept-alive connection) can serve the next.
        absl::MutexLock lock(&shared_->poolMu);
        if (shared_->idle.size() < kMaxIdleConnections) {
          shared_->idle.push_back(std::move(client));
        }
      }
      if (retryableStatus(answer->status) && (method == "GET" || answer->status == 429) &&
          attempt < options_.maxRetries) {
        last = absl::UnavailableError(
            absl::StrCat("kubernetes API ", method, " ", path, ": HTTP ", answer->status));
        continue;
      }
      return KubeResponse{answer->status, std::move(received)};
    } catch (const std::exception& e) {
      return absl::InternalError(
          absl::StrCat("kubernetes API ", method, " ", path, ": ", e.what()));
    }
  }
  return last;
}

absl::Status KubeClient::watch(const std::string& path,
                               const std::function<bool(std::string_view)>& onEvent) {
  auto active = std::make_shared<ActiveWatch>();
  {
    absl::MutexLock lock(&watchesMu_);
    if (cancelled_) {
      return absl::CancelledError("kubernetes client is shut down");
    }
    watches_.push_back(active);
  }
  struct Cleanup {
    KubeClient& self;
    std::shared_ptr<ActiveWatch> active;
    ~Cleanup() {
      absl::MutexLock lock(&self.watchesMu_);
      self.watches_.erase(std::remove(self.watches_.begin(), self.watches_.end(), active),
                          self.watches_.end());
    }
  } cleanup{*this, active};
  throttle();
  try {
    std::unique_ptr<httplib::SSLClient> client =
        makeHttpClient(connection_, options_, options_.requestTimeout);
    {
      absl::MutexLock lock(&active->mu);
      active->client = client.get();
    }
    {
      absl::MutexLock lock(&watchesMu_);
      if (cancelled_) {
        absl::MutexLock l(&active->mu);
        active->client = nullptr;
        return absl::CancelledError("kubernetes client is shut down");
      }
    }
    std::string pending;
    bool stoppedByHandler = false;
    bool tooBig = false;
    std::string errorBody;
    int status = 0;
    httplib::Request req;
    req.method = "GET";
    req.path = path;
    req.headers.emplace("Accept", "application/json");
    req.response_handler = [&](const httplib::Response& response) {
      status = response.status;
      return true;
    };
    req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
      if (status != 200) {
        if (errorBody.size() < 4096) {
          errorBody.append(data, std::min(len, 4096 - errorBody.size()));
        }
        return true;
      }
      pending.append(data, len);
      size_t start = 0;
      for (size_t nl = pending.find('\n'); nl != std::string::npos;
           nl = pending.find('\n', start)) {
        std::string_view line(pending.data() + start, nl - start);
        start = nl + 1;
        if (!line.empty() && !onEvent(line)) {
          stoppedByHandler = true;
          return false;
        }
      }
      pending.erase(0, start);
      if (pending.size() > options_.maxWatchEventBytes) {
        tooBig = true;
        return false;
      }
      return true;
    };
    httplib::Result answer = client->send(req);
    {
      absl::MutexLock lock(&active->mu);
      active->client = nullptr;
    }
    if (tooBig) {
      return absl::ResourceExhaustedError("a watch event is larger than the limit");
    }
    if (stoppedByHandler) {
      return absl::OkStatus();
    }
    if (status == 410) {
      return absl::OutOfRangeError(absl::StrCat("watch ", path, ": HTTP 410 Gone ", errorBody));
    }
    if (status != 0 && status != 200) {
      return absl::UnavailableError(
          absl::StrCat("watch ", path, ": HTTP ", status, " ", errorBody));
    }
    if (!answer) {
      {
        absl::MutexLock lock(&watchesMu_);
        if (cancelled_) {
          return absl::CancelledError("kubernetes client is shut down");
        }
      }
      return absl::UnavailableError(
          absl::StrCat("watch ", path, ": ", httplib::to_string(answer.error())));
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    absl::MutexLock lock(&active->mu);
    active->client = nullptr;
    return absl::InternalError(absl::StrCat("watch ", path, ": ", e.what()));
  }
}

void KubeClient::cancelWatches() {
  std::vector<std::shared_ptr<ActiveWatch>> watches;
  {
    absl::MutexLock lock(&watchesMu_);
    cancelled_ = true;
    watches = watches_;
  }
  for (const auto& w : watches) {
    absl::MutexLock lock(&w->mu);
    if (w->client != nullptr) {
      w->client->stop();
    }
  }
}

KubeClientStats KubeClient::stats() const {
  KubeClientStats out;
  out.requests = shared_->requests.load();
  out.throttled = shared_->throttled.load();
  out.throttledTime = absl::Nanoseconds(shared_->throttledNanos.load());
  out.retries = shared_->retries.load();
  return out;
}

std::string kubeApiMessage(const KubeResponse& response) {
  if (auto status = common::parseJson(response.body); status.ok()) {
    std::string message = common::jsonString(*status, "message");
    if (!message.empty()) {
      return message;
    }
  }
  return response.body.substr(0, 300);
}

absl::Status kubeApiError(const std::string& what, const KubeResponse& response) {
  const std::string text = absl::StrCat("kubernetes API: ", what, ": HTTP ", response.status, ": ",
                                        kubeApiMessage(response));
  if (response.status >= 500 || response.status == 429) {
    return absl::UnavailableError(text);
  }
  if (response.status == 400 || response.status == 422) {
    return absl::InvalidArgumentError(text);
  }
  return absl::InternalError(text);
}

}  // namespace kuma::k8s
