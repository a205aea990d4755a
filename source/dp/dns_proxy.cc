#include "source/dp/dns_proxy.h"

#include <arpa/inet.h>
#include <ares.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "source/common/logging.h"
#include "source/dp/dns_message.h"

namespace kuma::dp {
namespace {

constexpr size_t kMaxRecords = 100000;
constexpr size_t kMaxIpsPerName = 16;
constexpr size_t kMaxNameLength = 253;

std::once_flag aresInit;

// The reply to a forwarded query as the client may receive it over UDP: too large → truncated
// (TC set, the question kept), so that the client retries over TCP with its resolver.
std::string clientReply(std::string reply, std::string_view query, const DnsQuery& parsed) {
  if (reply.size() <= kDnsMaxUdpMessage) {
    return reply;
  }
  std::string out = buildDnsError(query, &parsed, static_cast<uint8_t>(dnsRcode(reply)));
  out[2] = static_cast<char>(static_cast<uint8_t>(out[2]) | 0x02);  // TC
  return out;
}

}  // namespace

absl::StatusOr<DnsProxyMap> parseDnsProxyConfig(std::string_view body) {
  if (body.size() > kDnsProxyConfigMaxBytes) {
    return absl::InvalidArgumentError("DNS proxy config too large");
  }
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("DNS proxy config is not a JSON object");
  }
  DnsProxyMap map;
  if (auto ttl = doc.find("ttl"); ttl != doc.end()) {
    if (!ttl->is_number_unsigned() || ttl->get<uint64_t>() > UINT32_MAX) {
      return absl::InvalidArgumentError("DNS proxy config: ttl is not a 32-bit unsigned number");
    }
    map.ttl = ttl->get<uint32_t>();
  }
  auto records = doc.find("records");
  if (records == doc.end() || records->is_null()) {
    return map;
  }
  if (!records->is_array() || records->size() > kMaxRecords) {
    return absl::InvalidArgumentError("DNS proxy config: records must be an array (bounded)");
  }
  for (const nlohmann::json& r : *records) {
    if (!r.is_object() || !r.contains("name") || !r["name"].is_string()) {
      return absl::InvalidArgumentError("DNS proxy config: a record without a name");
    }
    std::string name = absl::AsciiStrToLower(r["name"].get<std::string>());
    while (!name.empty() && name.back() == '.') {
      name.pop_back();
    }
    if (name.empty() || name.size() > kMaxNameLength) {
      return absl::InvalidArgumentError("DNS proxy config: a record name is empty or too long");
    }
    std::vector<std::string>& ips = map.records[name];
    if (auto list = r.find("ips"); list != r.end() && !list->is_null()) {
      if (!list->is_array() || list->size() > kMaxIpsPerName) {
        return absl::InvalidArgumentError("DNS proxy config: ips must be an array (bounded)");
      }
      for (const nlohmann::json& ip : *list) {
        if (!ip.is_string()) {
          continue;
        }
        const std::string text = ip.get<std::string>();
        in6_addr buf{};
        if (inet_pton(AF_INET, text.c_str(), &buf) == 1 ||
            inet_pton(AF_INET6, text.c_str(), &buf) == 1) {
          ips.push_back(text);
        }
      }
    }
  }
  return map;
}

// ---------------------------------------------------------------------------------------------

struct DnsProxy::Impl {
  struct Socket {
    int fd = -1;
  };
  // One forwarded query: c-ares' callback gets it back.
  struct Pending {
    Impl* impl = nullptr;
    int fd = -1;
    sockaddr_storage client{};
    socklen_t clientLength = 0;
    std::string packet;
    DnsQuery query;
    bool triedEnvoy = false;
  };

  DnsProxyOptions options;
  std::vector<Socket> sockets;
  ares_channel upstream = nullptr;
  ares_channel envoy = nullptr;  // Envoy-first mode only
  size_t pending = 0;
  mutable std::mutex mu;
  std::shared_ptr<const DnsProxyMap> map;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::thread thread;
  std::shared_ptr<spdlog::logger> log = logging::logger("dns-proxy");

  ~Impl() {
    shutdown();
    for (const Socket& s : sockets) {
      ::close(s.fd);
    }
    if (upstream != nullptr) {
      ares_destroy(upstream);
    }
    if (envoy != nullptr) {
      ares_destroy(envoy);
    }
  }

  void shutdown() {
    stopping = true;
    if (thread.joinable()) {
      thread.join();
    }
  }

  absl::Status init() {
    std::call_once(aresInit, [] { ares_library_init(ARES_LIB_INIT_ALL); });
    ares_options o{};
    o.flags = ARES_FLAG_NOCHECKRESP;  // hand every answer (NXDOMAIN, SERVFAIL, ...) back as is
    o.timeout = static_cast<int>(options.upstreamTimeout.count());
    o.tries = 2;
    std::string resolvConf = options.resolvConf;
    o.resolvconf_path = resolvConf.data();
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_RESOLVCONF;
    if (int rc = ares_init_options(&upstream, &o, mask); rc != ARES_SUCCESS) {
      return absl::UnavailableError(absl::StrCat("cannot read the resolvers of ",
                                                 options.resolvConf, ": ", ares_strerror(rc)));
    }
    if (!options.upstreamServers.empty()) {
      if (int rc = ares_set_servers_ports_csv(upstream, options.upstreamServers.c_str());
          rc != ARES_SUCCESS) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bad DNS upstream servers \"", options.upstreamServers, "\": ", ares_strerror(rc)));
      }
    }
    if (options.envoyDnsPort != 0) {
      o.tries = 1;
      if (int rc = ares_init_options(&envoy, &o, mask & ~ARES_OPT_RESOLVCONF); rc != ARES_SUCCESS) {
        return absl::UnavailableError(absl::StrCat("c-ares: ", ares_strerror(rc)));
      }
      const std::string server = absl::StrCat("127.0.0.1:", options.envoyDnsPort);
      if (int rc = ares_set_servers_ports_csv(envoy, server.c_str()); rc != ARES_SUCCESS) {
        return absl::UnavailableError(absl::StrCat("c-ares: ", ares_strerror(rc)));
      }
    }
    for (const auto& [address, port] : options.listen) {
      sockaddr_storage storage{};
      socklen_t length = 0;
      int family = AF_INET;
      if (address.find(':') != std::string::npos) {
        family = AF_INET6;
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) != 1) {
          return absl::InvalidArgumentError(absl::StrCat("bad DNS proxy address ", address));
        }
        length = sizeof(sockaddr_in6);
      } else {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        if (inet_pton(AF_INET, address.c_str(), &in4->sin_addr) != 1) {
          return absl::InvalidArgumentError(absl::StrCat("bad DNS proxy address ", address));
        }
        length = sizeof(sockaddr_in);
      }
      const int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) {
        return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
      }
      sockets.push_back(Socket{fd});
      if (family == AF_INET6) {
        int yes = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof(yes));
      }
      if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
        return absl::UnavailableError(absl::StrCat("cannot listen on ", address, ":", port,
                                                   " (UDP) for DNS: ", std::strerror(errno)));
      }
    }
    return absl::OkStatus();
  }

  void reply(int fd, const sockaddr_storage& client, socklen_t length, const std::string& msg) {
    ::sendto(fd, msg.data(), msg.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&client),
             length);
  }

  void forward(std::unique_ptr<Pending> p, ares_channel channel) {
    ++pending;
    Pending* raw = p.release();
    ares_send(channel, reinterpret_cast<const unsigned char*>(raw->packet.data()),
              static_cast<int>(raw->packet.size()), &Impl::onAnswer, raw);
  }

  static void onAnswer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<Pending> p(static_cast<Pending*>(arg));
    Impl* impl = p->impl;
    --impl->pending;
    const bool destroyed = status == ARES_EDESTRUCTION || status == ARES_ECANCELLED;
    std::string answer;
    if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
      answer.assign(reinterpret_cast<const char*>(abuf), static_cast<size_t>(alen));
    }
    if (p->triedEnvoy && !destroyed) {
      // Kuma's Corefile: fall back to the host's resolvers on these codes (or no answer).
      const int rcode = dnsRcode(answer);
      if (answer.empty() || rcode == 1 || rcode == 2 || rcode == 3 || rcode == 4 || rcode == 5) {
        p->triedEnvoy = false;
        impl->forward(std::move(p), impl->upstream);
        return;
      }
    }
    if (destroyed) {
      return;
    }
    if (answer.empty()) {
      impl->log->debug("forwarding {} failed: {}", p->query.name, ares_strerror(status));
      impl->reply(p->fd, p->client, p->clientLength,
                  buildDnsError(p->packet, &p->query, kDnsRcodeServFail));
      return;
    }
    setDnsId(answer, p->query.id);
    impl->reply(p->fd, p->client, p->clientLength,
                clientReply(std::move(answer), p->packet, p->query));
  }

  void handle(int fd, std::string_view packet, const sockaddr_storage& client, socklen_t length) {
    auto query = parseDnsQuery(packet);
    if (!query.ok()) {
      // Only answer what looks like a query header (never reflect responses back).
      if (packet.size() >= 12 && (static_cast<uint8_t>(packet[2]) & 0x80) == 0) {
        reply(fd, client, length, buildDnsError(packet, nullptr, kDnsRcodeFormErr));
      }
      return;
    }
    if (options.envoyDnsPort == 0 && (query->type == kDnsTypeA || query->type == kDnsTypeAAAA)) {
      std::shared_ptr<const DnsProxyMap> current;
      {
        std::lock_guard lock(mu);
        current = map;
      }
      if (current != nullptr) {
        if (auto it = current->records.find(query->name); it != current->records.end()) {
          reply(fd, client, length, buildDnsAnswer(packet, *query, it->second, current->ttl));
          return;
        }
      }
    }
    if (pending >= options.maxPending) {
      reply(fd, client, length, buildDnsError(packet, &*query, kDnsRcodeServFail));
      return;
    }
    auto p = std::make_unique<Pending>();
    p->impl = this;
    p->fd = fd;
    p->client = client;
    p->clientLength = length;
    p->packet = std::string(packet);
    p->query = *query;
    p->triedEnvoy = envoy != nullptr;
    forward(std::move(p), envoy != nullptr ? envoy : upstream);
  }

  void loop() {
    std::vector<char> buffer(kDnsMaxUdpMessage + 1);
    while (!stopping) {
      std::vector<pollfd> fds;
      for (const Socket& s : sockets) {
        fds.push_back(pollfd{s.fd, POLLIN, 0});
      }
      const size_t ownCount = fds.size();
      std::vector<std::pair<ares_channel, ares_socket_t>> aresFds;
      for (ares_channel channel : {upstream, envoy}) {
        if (channel == nullptr) {
          continue;
        }
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        const int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
          short events = 0;
          if (ARES_GETSOCK_READABLE(bits, i)) {
            events |= POLLIN;
          }
          if (ARES_GETSOCK_WRITABLE(bits, i)) {
            events |= POLLOUT;
          }
          if (events != 0) {
            fds.push_back(pollfd{socks[i], events, 0});
            aresFds.emplace_back(channel, socks[i]);
          }
        }
      }
      int timeoutMs = 100;  // also how soon stop() is noticed
      for (ares_channel channel : {upstream, envoy}) {
        if (channel == nullptr) {
          continue;
        }
        timeval max{0, 100000};
        timeval tv{};
        if (const timeval* t = ares_timeout(channel, &max, &tv); t != nullptr) {
          timeoutMs =
              std::min<int>(timeoutMs, static_cast<int>(t->tv_sec * 1000 + t->tv_usec / 1000));
        }
      }
      const int n = ::poll(fds.data(), fds.size(), std::max(timeoutMs, 1));
      if (n < 0 && errno != EINTR) {
        log->error("poll: {}", std::strerror(errno));
        return;
      }
      for (size_t i = 0; i < ownCount; ++i) {
        if ((fds[i].revents & POLLIN) == 0) {
          continue;
        }
        // Drain a bounded batch per socket so one busy client cannot starve the others.
        for (int batch = 0; batch < 64; ++batch) {
          sockaddr_storage client{};
          socklen_t length = sizeof(client);
          const ssize_t got = ::recvfrom(fds[i].fd, buffer.data(), buffer.size(), 0,
                                         reinterpret_cast<sockaddr*>(&client), &length);
          if (got < 0) {
            break;
          }
          if (static_cast<size_t>(got) > kDnsMaxUdpMessage) {
            continue;  // larger than any query we accept: dropped
          }
          handle(fds[i].fd, std::string_view(buffer.data(), static_cast<size_t>(got)), client,
                 length);
        }
      }
      // c-ares: process ready sockets and timeouts (ARES_SOCKET_BAD: only timeouts).
      for (ares_channel channel : {upstream, envoy}) {
        if (channel == nullptr) {
          continue;
        }
        bool any = false;
        for (size_t i = ownCount; i < fds.size(); ++i) {
          if (aresFds[i - ownCount].first != channel || fds[i].revents == 0) {
            continue;
          }
          any = true;
          const bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
          const bool writable = (fds[i].revents & POLLOUT) != 0;
          ares_process_fd(channel, readable ? fds[i].fd : ARES_SOCKET_BAD,
                          writable ? fds[i].fd : ARES_SOCKET_BAD);
        }
        if (!any) {
          ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        }
      }
    }
  }
};

DnsProxy::DnsProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DnsProxy::~DnsProxy() {
  stop();
}

absl::StatusOr<std::unique_ptr<DnsProxy>> DnsProxy::start(DnsProxyOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  if (absl::Status s = impl->init(); !s.ok()) {
    return s;
  }
  Impl* raw = impl.get();
  raw->thread = std::thread([raw] { raw->loop(); });
  return std::unique_ptr<DnsProxy>(new DnsProxy(std::move(impl)));
}

void DnsProxy::setMap(DnsProxyMap map) {
  auto next = std::make_shared<const DnsProxyMap>(std::move(map));
  const size_t count = next->records.size();
  {
    std::lock_guard lock(impl_->mu);
    impl_->map = std::move(next);
  }
  if (!impl_->ready.exchange(true)) {
    impl_->log->info("DNS proxy received first configuration ({} records)", count);
  }
}

bool DnsProxy::configReady() const {
  return impl_->ready;
}

void DnsProxy::stop() {
  if (impl_) {
    impl_->shutdown();
  }
}

// ---------------------------------------------------------------------------------------------

DynamicDnsConfigFetcher::DynamicDnsConfigFetcher(std::string socketPath, DnsProxy& proxy,
                                                 std::chrono::milliseconds interval)
    : socketPath_(std::move(socketPath)), proxy_(proxy), interval_(interval) {}

DynamicDnsConfigFetcher::~DynamicDnsConfigFetcher() {
  stop();
}

void DynamicDnsConfigFetcher::start() {
  thread_ = std::thread([this] {
    while (!stop_) {
      step();
      const auto until = std::chrono::steady_clock::now() + interval_;
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  });
}

void DynamicDnsConfigFetcher::stop() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
}

void DynamicDnsConfigFetcher::step() {
  EnvoyAdminAddress address;
  address.unixPath = socketPath_;
  const std::string headers =
      etag_.empty() ? std::string() : absl::StrCat("If-None-Match: ", etag_, "\r\n");
  auto answer = adminRequest(address, "GET", "/dns", std::chrono::seconds(5), headers);
  if (!answer.ok()) {
    return;  // no socket yet (Envoy without the listener) or connection refused: try again
  }
  const std::string previous = etag_;
  etag_.clear();  // as Kuma: refetch after any error
  switch (answer->status) {
    case 200: {
      auto map = parseDnsProxyConfig(answer->body);
      if (!map.ok()) {
        logging::logger("dns-proxy")
            ->warn("bad DNS config from Envoy: {}", std::string(map.status().message()));
        return;
      }
      proxy_.setMap(std::move(*map));
      etag_ = answer->etag;
      return;
    }
    case 304:
      etag_ = previous;
      return;
    case 404:
      return;
    default:
      logging::logger("dns-proxy")
          ->warn("fetching /dns from Envoy: unexpected status {}", answer->status);
  }
}

}  // namespace kuma::dp
