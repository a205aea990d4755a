#include "source/dp/envoy_admin.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/absl_compat.h"

namespace kuma::dp {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status errnoError(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::StatusOr<std::string> decodeChunked(std::string_view body) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      return absl::DataLossError("truncated chunked body");
    }
    std::string_view sizeText = body.substr(pos, eol - pos);
    sizeText = sizeText.substr(0, sizeText.find(';'));
    size_t size = 0;
    if (!absl::SimpleHexAtoi(common::av(sizeText), &size)) {
      return absl::DataLossError("bad chunk size");
    }
    pos = eol + 2;
    if (size == 0) {
      return out;
    }
    if (pos + size > body.size()) {
      return absl::DataLossError("truncated chunk");
    }
    out.append(body.substr(pos, size));
    pos += size + 2;
  }
}

}  // namespace

std::string EnvoyAdminAddress::describe() const {
  if (!unixPath.empty()) {
    return absl::StrCat("unix:", unixPath);
  }
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<EnvoyAdminAddress> adminAddressFromBootstrap(const nlohmann::json& bootstrap) {
  const nlohmann::json address =
      bootstrap.value("admin", nlohmann::json::object()).value("address", nlohmann::json::object());
  EnvoyAdminAddress out;
  if (address.contains("pipe")) {
    out.unixPath = address["pipe"].value("path", "");
    if (out.unixPath.empty()) {
      return absl::InvalidArgumentError("the bootstrap's admin.address.pipe has no path");
    }
    return out;
  }
  if (address.contains("socketAddress")) {
    const nlohmann::json& sa = address["socketAddress"];
    out.host = sa.value("address", "127.0.0.1");
    if (out.host.empty() || out.host == "0.0.0.0") {
      out.host = "127.0.0.1";
    } else if (out.host == "::") {
      out.host = "::1";
    }
    const nlohmann::json port = sa.value("portValue", nlohmann::json());
    uint32_t value = 0;
    if (port.is_number_unsigned()) {
      value = port.get<uint32_t>();
    } else if (!port.is_string() || !absl::SimpleAtoi(port.get<std::string>(), &value)) {
      return absl::InvalidArgumentError("the bootstrap's admin.address.socketAddress has no port");
    }
    if (value == 0 || value > 65535) {
      return absl::InvalidArgumentError("the bootstrap's admin port is out of range");
    }
    out.port = static_cast<uint16_t>(value);
    return out;
  }
  return absl::InvalidArgumentError(
      "the bootstrap has neither admin.address.pipe nor admin.address.socketAddress");
}

absl::StatusOr<HttpAnswer> parseHttpResponse(std::string_view raw) {
  const size_t headersEnd = raw.find("\r\n\r\n");
  if (headersEnd == std::string_view::npos) {
    return absl::DataLossError("incomplete HTTP response");
  }
  std::vector<std::string> lines = absl::StrSplit(common::av(raw.substr(0, headersEnd)), "\r\n");
  std::vector<std::string> statusLine = absl::StrSplit(lines[0], ' ');
  HttpAnswer answer;
  if (statusLine.size() < 2 || !statusLine[0].starts_with("HTTP/") ||
      !absl::SimpleAtoi(statusLine[1], &answer.status)) {
    return absl::DataLossError(
        absl::StrCat("bad HTTP status line \"", std::string(lines[0]), "\""));
  }
  bool chunked = false;
  std::optional<size_t> length;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) {
      continue;
    }
    const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
    const std::string value(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    if (name == "transfer-encoding" && absl::AsciiStrToLower(value) == "chunked") {
      chunked = true;
    } else if (name == "etag") {
      answer.etag = value;
    } else if (name == "content-length") {
      size_t n = 0;
      if (absl::SimpleAtoi(value, &n)) {
        length = n;
      }
    }
  }
  std::string_view body = raw.substr(headersEnd + 4);
  if (chunked) {
    auto decoded = decodeChunked(body);
    if (!decoded.ok()) {
      return decoded.status();
    }
    answer.body = std::move(*decoded);
  } else if (length.has_value()) {
    if (body.size() < *length) {
      return absl::DataLossError("truncated HTTP body");
    }
    answer.body = std::string(body.substr(0, *length));
  } else {
    answer.body = std::string(body);
  }
  return answer;
}

absl::StatusOr<HttpAnswer> adminRequest(const EnvoyAdminAddress& address, std::string_view method,
                                        std::string_view pathAndQuery,
                                        std::chrono::milliseconds timeout,
                                        std::string_view extraHeaders) {
  int family = AF_UNIX;
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (!address.unixPath.empty()) {
    auto* un = reinterpret_cast<sockaddr_un*>(&storage);
    if (address.unixPath.size() >= sizeof(un->sun_path)) {
      return absl::InvalidArgumentError("admin socket path too long");
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, address.unixPath.c_str(), address.unixPath.size() + 1);
    length = sizeof(sockaddr_un);
  } else if (address.host.find(':') != std::string::npos) {
    family = AF_INET6;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(address.port);
    if (inet_pton(AF_INET6, address.host.c_str(), &in6->sin6_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad admin address ", address.host));
    }
    length = sizeof(sockaddr_in6);
  } else {
    family = AF_INET;
    auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(address.port);
    if (inet_pton(AF_INET, address.host.c_str(), &in4->sin_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad admin address ", address.host));
    }
    length = sizeof(sockaddr_in);
  }
  Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return errnoError("socket");
  }
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    return errnoError(absl::StrCat("connect to Envoy admin ", address.describe()));
  }
  const std::string request =
      absl::StrCat(std::string(method), " ", std::string(pathAndQuery),
                   " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n",
                   std::string(extraHeaders), "\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return errnoError("send to Envoy admin");
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[8192];
  constexpr size_t kMaxResponse = 16 << 20;
  while (raw.size() < kMaxResponse) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errnoError("read from Envoy admin");
    }
    raw.append(buffer, static_cast<size_t>(n));
  }
  return parseHttpResponse(raw);
}

}  // namespace kuma::dp
