#include "source/common/uuid.h"

#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace kuma::common {

std::string uuidV4() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    // Unreachable with a seeded OpenSSL; still unique within the process: time and a counter.
    static std::atomic<uint64_t> counter{0};
    const auto now = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch() /
                                           std::chrono::nanoseconds(1));
    const uint64_t n = counter.fetch_add(1);
    for (size_t i = 0; i < 8; ++i) {
      b[i] = static_cast<unsigned char>(now >> (i * 8));
      b[i + 8] = static_cast<unsigned char>(n >> (i * 8));
    }
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0f];
  }
  return out;
}

}  // namespace kuma::common
