#include "source/dp/dns_message.h"

#include <arpa/inet.h>
#include <ares.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace kuma::dp {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr uint16_t kFlagQr = 0x8000;
constexpr uint16_t kFlagAa = 0x0400;
constexpr uint16_t kFlagRd = 0x0100;
constexpr uint16_t kFlagRa = 0x0080;
constexpr uint16_t kOpcodeMask = 0x7800;

uint16_t read16(std::string_view p, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[at]) << 8) |
                               static_cast<uint8_t>(p[at + 1]));
}

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

// Header of a reply to `flags`: QR, the query's opcode and RD, RA, and `rcode`.
void putReplyHeader(std::string& out, uint16_t id, uint16_t flags, bool authoritative,
                    uint8_t rcode, uint16_t questions, uint16_t answers) {
  put16(out, id);
  uint16_t reply = kFlagQr | (flags & (kOpcodeMask | kFlagRd)) | kFlagRa | (rcode & 0x0f);
  if (authoritative) {
    reply |= kFlagAa;
  }
  put16(out, reply);
  put16(out, questions);
  put16(out, answers);
  put16(out, 0);
  put16(out, 0);
}

}  // namespace

absl::StatusOr<DnsQuery> parseDnsQuery(std::string_view packet) {
  if (packet.size() < kHeaderSize) {
    return absl::InvalidArgumentError("DNS message shorter than its header");
  }
  if (packet.size() > kDnsMaxUdpMessage) {
    return absl::InvalidArgumentError("DNS message too large");
  }
  DnsQuery q;
  q.id = read16(packet, 0);
  q.flags = read16(packet, 2);
  q.questions = read16(packet, 4);
  if ((q.flags & kFlagQr) != 0) {
    return absl::InvalidArgumentError("not a DNS query (QR set)");
  }
  if (q.questions == 0) {
    return absl::InvalidArgumentError("DNS query without a question");
  }
  const auto* base = reinterpret_cast<const unsigned char*>(packet.data());
  char* name = nullptr;
  long encodedLength = 0;
  // c-ares bounds every read by the buffer and rejects pointer loops and over-long names.
  if (ares_expand_name(base + kHeaderSize, base, static_cast<int>(packet.size()), &name,
                       &encodedLength) != ARES_SUCCESS ||
      name == nullptr) {
    return absl::InvalidArgumentError("DNS question name does not decode");
  }
  q.name = absl::AsciiStrToLower(name);
  ares_free_string(name);
  while (!q.name.empty() && q.name.back() == '.') {
    q.name.pop_back();
  }
  const size_t afterName = kHeaderSize + static_cast<size_t>(encodedLength);
  if (encodedLength <= 0 || afterName + 4 > packet.size()) {
    return absl::InvalidArgumentError("DNS question truncated");
  }
  q.type = read16(packet, afterName);
  q.qclass = read16(packet, afterName + 2);
  q.questionEnd = afterName + 4;
  return q;
}

std::string buildDnsAnswer(std::string_view packet, const DnsQuery& query,
                           const std::vector<std::string>& ips, uint32_t ttl) {
  std::vector<std::string> rdata;
  for (const std::string& ip : ips) {
    if (query.type == kDnsTypeA) {
      in_addr a{};
      if (ip.find(':') == std::string::npos && inet_pton(AF_INET, ip.c_str(), &a) == 1) {
        rdata.emplace_back(reinterpret_cast<const char*>(&a), sizeof(a));
      }
    } else if (query.type == kDnsTypeAAAA) {
      in6_addr a{};
      if (ip.find(':') != std::string::npos && inet_pton(AF_INET6, ip.c_str(), &a) == 1) {
        rdata.emplace_back(reinterpret_cast<const char*>(&a), sizeof(a));
      }
    }
  }
  std::string out;
  out.reserve(query.questionEnd + rdata.size() * 28);
  putReplyHeader(out, query.id, query.flags, /*authoritative=*/true, kDnsRcodeNoError, 1,
                 static_cast<uint16_t>(rdata.size()));
  out.append(packet.substr(kHeaderSize, query.questionEnd - kHeaderSize));
  for (const std::string& data : rdata) {
    put16(out, 0xC000 | kHeaderSize);  // the name: a pointer to the question's
    put16(out, query.type);
    put16(out, kDnsClassIN);
    put32(out, ttl);
    put16(out, static_cast<uint16_t>(data.size()));
    out.append(data);
  }
  return out;
}

std::string buildDnsError(std::string_view packet, const DnsQuery* query, uint8_t rcode) {
  std::string out;
  const uint16_t id = packet.size() >= 2 ? read16(packet, 0) : 0;
  const uint16_t flags = packet.size() >= 4 ? read16(packet, 2) : 0;
  const bool withQuestion = query != nullptr && query->questionEnd <= packet.size();
  putReplyHeader(out, id, flags, /*authoritative=*/false, rcode, withQuestion ? 1 : 0, 0);
  if (withQuestion) {
    out.append(packet.substr(kHeaderSize, query->questionEnd - kHeaderSize));
  }
  return out;
}

void setDnsId(std::string& message, uint16_t id) {
  if (message.size() >= 2) {
    message[0] = static_cast<char>(id >> 8);
    message[1] = static_cast<char>(id & 0xff);
  }
}

int dnsRcode(std::string_view message) {
  if (message.size() < kHeaderSize) {
    return -1;
  }
  return static_cast<uint8_t>(message[3]) & 0x0f;
}

}  // namespace kuma::dp
