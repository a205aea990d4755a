#pragma once

// File: dns_message.h
// The few DNS wire operations kuma-dp's embedded DNS proxy needs (RFC 1035 §4): read the first
// question of a query, answer it with A/AAAA records, or answer an error code. Names are decoded
// by c-ares (ares_expand_name, bounded and pointer-loop safe); the rest is the fixed 12-byte
// header and the question's type/class. Every packet is hostile: malformed input is an error,
// never a read past the buffer. See docs/adr/0009-dns-proxy-c-ares.md.
//
//   auto q = parseDnsQuery(packet);          // q->name "backend.mesh", q->type 1 (A)
//   std::string reply = buildDnsAnswer(packet, *q, {"240.0.0.0"}, 30);

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kuma::dp {

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeAAAA = 28;
inline constexpr uint16_t kDnsClassIN = 1;
inline constexpr uint8_t kDnsRcodeNoError = 0;
inline constexpr uint8_t kDnsRcodeFormErr = 1;
inline constexpr uint8_t kDnsRcodeServFail = 2;
inline constexpr uint8_t kDnsRcodeNxDomain = 3;
/** Largest DNS message kuma-dp reads or sends over UDP (EDNS0 payloads included). */
inline constexpr size_t kDnsMaxUdpMessage = 4096;

struct DnsQuery {
  uint16_t id = 0;
  uint16_t flags = 0;  // header bytes 2-3 (QR, opcode, RD, ...)
  uint16_t questions = 0;
  /** First question: lowercase, no trailing dot ("backend.mesh"). */
  std::string name;
  uint16_t type = 0;
  uint16_t qclass = 0;
  /** Offset just past the first question (header + QNAME + QTYPE + QCLASS). */
  size_t questionEnd = 0;
};

/**
 * The header and first question of `packet`. InvalidArgument when it is not a query (QR set),
 * is shorter than its header or question, or the name does not decode.
 */
absl::StatusOr<DnsQuery> parseDnsQuery(std::string_view packet);

/**
 * Authoritative NOERROR answer to `query` (parsed from `packet`): the first question echoed,
 * then one A (IPv4 `ips`) or AAAA (IPv6 `ips`) record per address of the question's type, with
 * `ttl`. Addresses of the other family are skipped (an empty answer: NODATA, as Kuma).
 */
std::string buildDnsAnswer(std::string_view packet, const DnsQuery& query,
                           const std::vector<std::string>& ips, uint32_t ttl);

/**
 * A reply with `rcode` and no records: the header of `packet` (id, opcode, RD) with QR and RA
 * set, and its first question when `query` parsed it (`query` may be null for FORMERR).
 */
std::string buildDnsError(std::string_view packet, const DnsQuery* query, uint8_t rcode);

/** `message` with its 16-bit id replaced (no-op for messages shorter than 2 bytes). */
void setDnsId(std::string& message, uint16_t id);

/** The rcode (low 4 bits of byte 3) of a message, or -1 when it is shorter than a header. */
int dnsRcode(std::string_view message);

}  // namespace kuma::dp
