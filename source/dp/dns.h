#pragma once

// File: dns.h
// Where kuma-dp's DNS proxy runs (Kuma 2.14's kuma-dp: app/kuma-dp/cmd/run.go). With
// --dns-enabled (the default):
//  * KUMA_DNS_PROXY_PORT ≠ 0: the embedded DNS proxy on that port, fed by Envoy's
//    `_kuma:dynamicconfig` /dns (kuma-dp sends feature-embedded-dns);
//  * otherwise Kuma runs CoreDNS on --dns-coredns-port forwarding to Envoy's `kuma:dns` listener
//    (--dns-envoy-port) and then to /etc/resolv.conf. kuma-cpp ships no CoreDNS: its own DNS
//    proxy does the same on the same port (source/dp/dns_proxy.h).
// kuma-cpp's kuma-dp has no --transparent-proxy, so it binds the loopback address, where Kuma
// binds for an IPv4 transparent-proxy config (and where iptables' REDIRECT of local DNS traffic
// arrives).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "source/dp/config.h"

namespace kuma::dp {

/** The file `name` resolves to: itself when it contains '/', else searched in `pathEnv`. */
std::string findExecutable(const std::string& name, const std::string& pathEnv);

struct DnsPlan {
  /** false: no DNS proxy (--dns-enabled=false, or both ports 0). */
  bool run = false;
  /** true: the map comes from Envoy's /dns; false: Envoy's `kuma:dns` listener is asked first. */
  bool embedded = false;
  std::vector<std::pair<std::string, uint16_t>> listen;
  /** Envoy-first mode: Envoy's `kuma:dns` port. */
  uint16_t envoyDnsPort = 0;
};

DnsPlan planDns(const DnsConfig& dns);

}  // namespace kuma::dp
