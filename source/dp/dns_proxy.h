#pragma once

// File: dns_proxy.h
// kuma-dp's DNS proxy (Kuma 2.14's app/kuma-dp/pkg/dataplane/dnsproxy and its CoreDNS setup;
// spec §7.3, §7.3.1). Two modes, as kuma-dp's:
//  * embedded (KUMA_DNS_PROXY_PORT ≠ 0): answers A/AAAA for the mesh names of the map that Envoy
//    serves on `_kuma:dynamicconfig` /dns (DynamicDnsConfigFetcher polls it with If-None-Match)
//    and forwards every other query to the first resolver of /etc/resolv.conf;
//  * Envoy-first (the CoreDNS default, on --dns-coredns-port): each query goes to Envoy's
//    `kuma:dns` listener (127.0.0.1:<--dns-envoy-port>) first and, on NXDOMAIN, SERVFAIL, NOTIMP,
//    FORMERR, REFUSED or no answer, to /etc/resolv.conf, as Kuma's Corefile does.
// Forwarding and the resolver list are c-ares' (ares_send); one thread serves every socket.
// See docs/adr/0009-dns-proxy-c-ares.md.
//
//   DnsProxyOptions o; o.listen = {{"127.0.0.1", 15053}};
//   KUMA_ASSIGN_OR_RETURN(auto proxy, DnsProxy::start(o));
//   proxy->setMap(parseDnsProxyConfig(body).value());

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "source/dp/envoy_admin.h"

namespace kuma::dp {

/** Kuma's dpapi.DNSProxyConfig as kuma-dp uses it: name → addresses, and the answers' TTL. */
struct DnsProxyMap {
  uint32_t ttl = 0;
  /** Lowercase names without trailing dot ("backend.mesh"). */
  std::unordered_map<std::string, std::vector<std::string>> records;
};

/**
 * Parses `/dns`'s JSON body (`{"records":[{"name","ips":[...]}],"ttl":30,...}`). Bounded: at most
 * kDnsProxyConfigMaxBytes of JSON, 100000 records,
 * names of at most 253 characters, 16 addresses a name. Unparsable addresses are skipped (as
 * Kuma); anything else malformed is InvalidArgument.
 */
absl::StatusOr<DnsProxyMap> parseDnsProxyConfig(std::string_view body);
inline constexpr size_t kDnsProxyConfigMaxBytes = 16u << 20;

struct DnsProxyOptions {
  /** UDP addresses to serve on. */
  std::vector<std::pair<std::string, uint16_t>> listen;
  /** Resolvers of names not in the map (c-ares reads the `nameserver` lines). */
  std::string resolvConf = "/etc/resolv.conf";
  /** Non-empty: these resolvers ("127.0.0.1:5353,...", c-ares' CSV) instead of resolvConf's. */
  std::string upstreamServers;
  /** Non-zero: Envoy-first mode, asking 127.0.0.1:<envoyDnsPort> first; 0: embedded map mode. */
  uint16_t envoyDnsPort = 0;
  /** Queries being forwarded at once; more are answered SERVFAIL. */
  size_t maxPending = 1024;
  std::chrono::milliseconds upstreamTimeout{2000};
};

class DnsProxy {
 public:
  /** Binds every address (an error if one is taken) and starts serving. */
  static absl::StatusOr<std::unique_ptr<DnsProxy>> start(DnsProxyOptions options);
  ~DnsProxy();
  DnsProxy(const DnsProxy&) = delete;
  DnsProxy& operator=(const DnsProxy&) = delete;

  /** Replaces the map; the first call makes configReady() true. */
  void setMap(DnsProxyMap map);
  bool configReady() const;
  void stop();

  struct Impl;

 private:
  explicit DnsProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/**
 * kuma-dp's config fetcher for `/dns`: every `interval`, GET http://localhost/dns on Envoy's
 * `_kuma:dynamicconfig` pipe with `If-None-Match: <last Etag>`; 200 → parse and DnsProxy::setMap,
 * 304 → nothing, 404 or no socket yet → nothing (Envoy has no listener yet).
 */
class DynamicDnsConfigFetcher {
 public:
  DynamicDnsConfigFetcher(std::string socketPath, DnsProxy& proxy,
                          std::chrono::milliseconds interval);
  ~DynamicDnsConfigFetcher();
  void start();
  void stop();
  /** One poll (the thread's step); exposed for tests. */
  void step();

 private:
  std::string socketPath_;
  DnsProxy& proxy_;
  std::chrono::milliseconds interval_;
  std::string etag_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

}  // namespace kuma::dp
