#include "source/dp_server/client_hello.h"

#include <cstddef>
#include <cstdint>

namespace kuma::dp_server {
namespace {

constexpr uint8_t kHandshakeRecord = 0x16;
constexpr uint8_t kClientHello = 0x01;
constexpr uint16_t kAlpnExtension = 16;

/** Bounds-checked big-endian reader over one buffer. */
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool u8(uint32_t& out) { return read(1, out); }
  bool u16(uint32_t& out) { return read(2, out); }
  bool u24(uint32_t& out) { return read(3, out); }
  bool skip(size_t n) {
    if (data_.size() - pos_ < n) {
      return false;
    }
    pos_ += n;
    return true;
  }
  bool sub(size_t n, Reader& out) {
    if (data_.size() - pos_ < n) {
      return false;
    }
    out = Reader(data_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool empty() const { return pos_ == data_.size(); }
  std::string_view bytes(size_t n) const { return data_.substr(pos_, n); }

 private:
  bool read(size_t n, uint32_t& out) {
    if (data_.size() - pos_ < n) {
      return false;
    }
    out = 0;
    for (size_t i = 0; i < n; ++i) {
      out = (out << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    }
    pos_ += n;
    return true;
  }
  std::string_view data_;
  size_t pos_ = 0;
};

bool alpnOffersH2(Reader ext) {
  uint32_t listLen = 0;
  Reader list(std::string_view{});
  if (!ext.u16(listLen) || !ext.sub(listLen, list)) {
    return false;
  }
  while (!list.empty()) {
    uint32_t len = 0;
    if (!list.u8(len)) {
      return false;
    }
    if (list.bytes(len) == "h2") {
      return true;
    }
    if (!list.skip(len)) {
      return false;
    }
  }
  return false;
}

}  // namespace

ClientHelloVerdict inspectClientHello(std::string_view bytes) {
  if (bytes.empty()) {
    return ClientHelloVerdict::kNeedMore;
  }
  if (static_cast<uint8_t>(bytes[0]) != kHandshakeRecord) {
    return ClientHelloVerdict::kOther;
  }
  if (bytes.size() < 5) {
    return ClientHelloVerdict::kNeedMore;
  }
  Reader header(bytes.substr(0, 5));
  uint32_t type = 0;
  uint32_t version = 0;
  uint32_t recordLen = 0;
  header.u8(type);
  header.u16(version);
  header.u16(recordLen);
  if (bytes.size() < 5 + static_cast<size_t>(recordLen)) {
    return ClientHelloVerdict::kNeedMore;
  }
  Reader hs(bytes.substr(5, recordLen));
  uint32_t hsType = 0;
  uint32_t hsLen = 0;
  Reader hello(std::string_view{});
  // A ClientHello split over several records is legal but no client on this port sends one.
  if (!hs.u8(hsType) || hsType != kClientHello || !hs.u24(hsLen) || !hs.sub(hsLen, hello)) {
    return ClientHelloVerdict::kOther;
  }
  uint32_t len = 0;
  if (!hello.skip(2 + 32) ||                  // client_version, random
      !hello.u8(len) || !hello.skip(len) ||   // session_id
      !hello.u16(len) || !hello.skip(len) ||  // cipher_suites
      !hello.u8(len) || !hello.skip(len)) {   // compression_methods
    return ClientHelloVerdict::kOther;
  }
  if (hello.empty()) {
    return ClientHelloVerdict::kOther;  // no extensions at all
  }
  Reader exts(std::string_view{});
  if (!hello.u16(len) || !hello.sub(len, exts)) {
    return ClientHelloVerdict::kOther;
  }
  while (!exts.empty()) {
    uint32_t extType = 0;
    uint32_t extLen = 0;
    Reader ext(std::string_view{});
    if (!exts.u16(extType) || !exts.u16(extLen) || !exts.sub(extLen, ext)) {
      return ClientHelloVerdict::kOther;
    }
    if (extType == kAlpnExtension) {
      return alpnOffersH2(ext) ? ClientHelloVerdict::kOffersH2 : ClientHelloVerdict::kOther;
    }
  }
  return ClientHelloVerdict::kOther;
}

}  // namespace kuma::dp_server
