#include "bench/xds_load/load_runner.h"

#include <deque>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace kuma::bench::load {

namespace discovery = envoy::service::discovery::v3;

// ---------------------------------------------------------------------------------------------
// Scheduler

Scheduler::Scheduler() : thread_([this] { loop(); }) {}

Scheduler::~Scheduler() {
  stop();
}

void Scheduler::at(SteadyTime when, std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      return;
    }
    items_.push(Item{when, seq_++, std::move(fn)});
  }
  cv_.notify_one();
}

void Scheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    items_ = {};
  }
  cv_.notify_one();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Scheduler::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (items_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const SteadyTime when = items_.top().when;
    if (std::chrono::steady_clock::now() < when) {
      cv_.wait_until(lock, when);
      continue;
    }
    std::function<void()> fn = std::move(const_cast<Item&>(items_.top()).fn);
    items_.pop();
    lock.unlock();
    fn();
    lock.lock();
  }
}

// ---------------------------------------------------------------------------------------------
// Proxy and its streams

class StreamBase {
 public:
  virtual ~StreamBase() = default;
  virtual void cancel() = 0;
};

class Proxy {
 public:
  Proxy(const LoadOptions& options, size_t index)
      : spec(makeProxySpec(options, index)),
        state(options.protocol, makeNode(options, spec), !options.noTimeline),
        group((index - options.firstIndex) / options.proxiesPerConnection),
        rng(static_cast<uint32_t>(index)) {}

  const ProxySpec spec;
  mutable std::mutex mu;
  AdsState state;  // guarded by mu
  const size_t group;
  // Touched by the scheduler thread (launch) and by OnDone; guarded by mu.
  StreamBase* live = nullptr;
  std::vector<std::unique_ptr<StreamBase>> streams;  // every stream ever opened, kept until the end
  std::chrono::milliseconds backoff{0};
  std::mt19937 rng;
  std::optional<bool> completeAtStop;  // set by LoadRunner::stop()
};

template <typename Req, typename Resp>
class AdsStream : public StreamBase, public grpc::ClientBidiReactor<Req, Resp> {
 public:
  AdsStream(LoadRunner& runner, Proxy& proxy) : runner_(runner), proxy_(proxy) {}

  void start(discovery::AggregatedDiscoveryService::Stub& stub) {
    // Like Envoy's ADS stream: wait for the channel to (re)connect instead of failing fast.
    context_.set_wait_for_ready(true);
    std::vector<Req> first;
    {
      std::lock_guard<std::mutex> lock(proxy_.mu);
      first = startRequests(std::chrono::steady_clock::now());
    }
    if constexpr (std::is_same_v<Req, discovery::DiscoveryRequest>) {
      stub.async()->StreamAggregatedResources(&context_, this);
    } else {
      stub.async()->DeltaAggregatedResources(&context_, this);
    }
    this->StartRead(&response_);
    enqueue(std::move(first));
    this->StartCall();
  }

  void cancel() override { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      return;  // OnDone follows
    }
    const auto now = std::chrono::steady_clock::now();
    runner_.responses_.fetch_add(1, std::memory_order_relaxed);
    runner_.bytes_.fetch_add(response_.ByteSizeLong(), std::memory_order_relaxed);
    std::vector<Req> requests;
    {
      std::lock_guard<std::mutex> lock(proxy_.mu);
      requests = onResponse(now);
    }
    // Release the response's memory (a cleared message keeps its buffers).
    response_ = Resp();
    enqueue(std::move(requests));
    this->StartRead(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      return;
    }
    Req* next = nullptr;
    {
      std::lock_guard<std::mutex> lock(writeMu_);
      pending_.pop_front();
      if (!pending_.empty()) {
        next = &pending_.front();
      } else {
        writing_ = false;
      }
    }
    if (next != nullptr) {
      this->StartWrite(next);
      return;
    }
    // Every ACK written: a complete config is now ACKed.
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(proxy_.mu);
    if (!proxy_.state.completeOnStream() && proxy_.state.complete()) {
      const bool first = !proxy_.state.firstComplete().has_value();
      proxy_.state.markCompleteAcked(now);
      wasComplete_ = true;
      runner_.completeNow_.fetch_add(1);
      if (first) {
        runner_.everComplete_.fetch_add(1);
      }
      proxy_.backoff = std::chrono::milliseconds(0);
    }
  }

  void OnDone(const grpc::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(proxy_.mu);
      proxy_.state.markClosed(
          std::chrono::steady_clock::now(),
          absl::StrCat(static_cast<int>(status.error_code()), " ", status.error_message()));
    }
    response_ = Resp();
    runner_.onStreamDone(proxy_, wasComplete_);
  }

 private:
  std::vector<Req> startRequests(SteadyTime now) {
    if constexpr (std::is_same_v<Req, discovery::DiscoveryRequest>) {
      return proxy_.state.startSotw(now);
    } else {
      return proxy_.state.startDelta(now);
    }
  }
  std::vector<Req> onResponse(SteadyTime now) {
    if constexpr (std::is_same_v<Req, discovery::DiscoveryRequest>) {
      return proxy_.state.onSotwResponse(response_, now);
    } else {
      return proxy_.state.onDeltaResponse(response_, now);
    }
  }

  void enqueue(std::vector<Req> requests) {
    if (requests.empty()) {
      return;
    }
    Req* first = nullptr;
    {
      std::lock_guard<std::mutex> lock(writeMu_);
      for (Req& r : requests) {
        pending_.push_back(std::move(r));
      }
      if (!writing_) {
        writing_ = true;
        first = &pending_.front();
      }
    }
    if (first != nullptr) {
      this->StartWrite(first);
    }
  }

  LoadRunner& runner_;
  Proxy& proxy_;
  grpc::ClientContext context_;
  Resp response_;
  std::mutex writeMu_;
  std::deque<Req> pending_;  // front = the write in flight
  bool writing_ = false;
  bool wasComplete_ = false;  // touched by OnWriteDone and OnDone, never concurrently
};

// ---------------------------------------------------------------------------------------------
// LoadRunner

LoadRunner::LoadRunner(LoadOptions options) : options_(std::move(options)) {}

LoadRunner::~LoadRunner() {
  stop();
  if (live_.load() > 0) {
    // A stream did not finish after the cancel: its reactions may still run, so its proxy (and
    // the channels) must outlive us. The process is about to exit anyway.
    for (auto& proxy : proxies_) {
      (void)proxy.release();
    }
    for (auto& channel : channels_) {
      (void)channel.release();
    }
  }
}

absl::Status LoadRunner::init() {
  if (options_.insecureSkipVerify) {
    grpc::experimental::TlsChannelCredentialsOptions tls;
    tls.set_verify_server_certs(false);
    tls.set_check_call_host(false);
    tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    credentials_ = grpc::experimental::TlsCredentials(tls);
  } else {
    std::ifstream in(options_.caCertFile);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("--ca-cert-file: cannot read ", options_.caCertFile));
    }
    std::stringstream pem;
    pem << in.rdbuf();
    if (pem.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--ca-cert-file: no PEM certificate in ", options_.caCertFile));
    }
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pem.str();
    credentials_ = grpc::SslCredentials(ssl);
  }
  if (credentials_ == nullptr) {
    return absl::InternalError("could not create the TLS channel credentials");
  }
  proxies_.reserve(options_.dataplanes);
  for (size_t i = 0; i < options_.dataplanes; ++i) {
    proxies_.push_back(std::make_unique<Proxy>(options_, options_.firstIndex + i));
  }
  const size_t groups =
      (options_.dataplanes + options_.proxiesPerConnection - 1) / options_.proxiesPerConnection;
  channels_.resize(groups);
  return absl::OkStatus();
}

LoadRunner::Channel& LoadRunner::channelFor(size_t group) {
  std::unique_ptr<Channel>& c = channels_[group];
  if (c == nullptr) {
    grpc::ChannelArguments args;
    // One TCP connection per channel (gRPC would otherwise share subchannels between channels
    // with the same target and arguments), i.e. one per proxy by default, as real Envoys.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, -1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 500);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    if (!options_.serverName.empty()) {
      args.SetSslTargetNameOverride(options_.serverName);
    }
    c = std::make_unique<Channel>();
    c->channel = grpc::CreateCustomChannel(options_.cpAddress, credentials_, args);
    c->stub = discovery::AggregatedDiscoveryService::NewStub(c->channel);
  }
  return *c;
}

void LoadRunner::start() {
  const auto begin = clock_.steadyStart();
  const size_t n = proxies_.size();
  for (size_t i = 0; i < n; ++i) {
    const auto offset = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        options_.rampUp * static_cast<double>(i) / static_cast<double>(n));
    Proxy* proxy = proxies_[i].get();
    scheduler_.at(begin + offset, [this, proxy] { launch(*proxy); });
  }
}

void LoadRunner::launch(Proxy& proxy) {
  if (stopping_.load()) {
    return;
  }
  Channel& channel = channelFor(proxy.group);
  // One stream type per protocol; everything else about opening it is the same.
  const auto open = [&](auto s) {
    auto* raw = s.get();
    {
      std::lock_guard<std::mutex> lock(proxy.mu);
      proxy.streams.push_back(std::move(s));
      proxy.live = raw;
    }
    launched_.fetch_add(1);
    live_.fetch_add(1);
    raw->start(*channel.stub);
  };
  if (options_.protocol == Protocol::Sotw) {
    open(std::make_unique<AdsStream<discovery::DiscoveryRequest, discovery::DiscoveryResponse>>(
        *this, proxy));
  } else {
    open(std::make_unique<
         AdsStream<discovery::DeltaDiscoveryRequest, discovery::DeltaDiscoveryResponse>>(*this,
                                                                                         proxy));
  }
}

void LoadRunner::onStreamDone(Proxy& proxy, bool wasComplete) {
  if (wasComplete) {
    completeNow_.fetch_sub(1);
  }
  closed_.fetch_add(1);
  std::chrono::milliseconds delay{0};
  {
    std::lock_guard<std::mutex> lock(proxy.mu);
    proxy.live = nullptr;
    // Envoy-like reconnect: jittered exponential backoff, reset by a complete config.
    proxy.backoff = proxy.backoff.count() == 0
                        ? options_.reconnectBackoff
                        : std::min(proxy.backoff * 2, std::chrono::milliseconds(5000));
    std::uniform_int_distribution<int64_t> jitter(proxy.backoff.count() / 2, proxy.backoff.count());
    delay = std::chrono::milliseconds(jitter(proxy.rng));
  }
  if (!stopping_.load()) {
    Proxy* p = &proxy;
    scheduler_.at(std::chrono::steady_clock::now() + delay, [this, p] { launch(*p); });
  }
  // Last: stop() may destroy everything once live_ reaches 0.
  live_.fetch_sub(1);
}

Progress LoadRunner::progress() const {
  Progress p;
  p.launched = launched_.load();
  p.live = live_.load();
  p.everComplete = everComplete_.load();
  p.completeNow = completeNow_.load();
  p.responses = responses_.load();
  p.bytes = bytes_.load();
  p.closed = closed_.load();
  return p;
}

void LoadRunner::stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  scheduler_.stop();
  // The scheduler no longer opens streams: the live pointers only go to null now.
  for (auto& proxy : proxies_) {
    StreamBase* live = nullptr;
    {
      std::lock_guard<std::mutex> lock(proxy->mu);
      live = proxy->live;
      proxy->completeAtStop = proxy->state.completeOnStream();
    }
    if (live != nullptr) {
      live->cancel();  // the object stays owned by proxy->streams until the end
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (live_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::vector<nlohmann::json> LoadRunner::proxyReports() const {
  std::vector<nlohmann::json> out;
  out.reserve(proxies_.size());
  for (const auto& proxy : proxies_) {
    std::lock_guard<std::mutex> lock(proxy->mu);
    out.push_back(proxyJson(proxy->spec, proxy->state, clock_, proxy->completeAtStop));
  }
  return out;
}

}  // namespace kuma::bench::load
