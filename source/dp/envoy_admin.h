#pragma once

// File: envoy_admin.h
// A small blocking HTTP/1.1 client for Envoy's admin API, which kuma-cp's bootstrap puts on a
// Unix socket (`admin.address.pipe.path`, the 2.14 default) or on 127.0.0.1:<port>
// (`admin.address.socketAddress`). cpp-httplib 0.11 cannot dial Unix sockets, hence this.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace kuma::dp {

struct EnvoyAdminAddress {
  /** Non-empty: a Unix socket. */
  std::string unixPath;
  std::string host;
  uint16_t port = 0;

  std::string describe() const;
};

/** The admin address of an Envoy bootstrap (proto-JSON names). */
absl::StatusOr<EnvoyAdminAddress> adminAddressFromBootstrap(const nlohmann::json& bootstrap);

struct HttpAnswer {
  int status = 0;
  std::string body;
  /** The `Etag` response header (empty when absent). */
  std::string etag;
};

/**
 * One request (`Connection: close`, empty body), bounded by `timeout` for connect, send and each
 * read. Handles Content-Length, chunked and read-to-close bodies. `extraHeaders`: more request
 * header lines, each ending in "\r\n".
 */
absl::StatusOr<HttpAnswer> adminRequest(const EnvoyAdminAddress& address, std::string_view method,
                                        std::string_view pathAndQuery,
                                        std::chrono::milliseconds timeout,
                                        std::string_view extraHeaders = "");

/** Parses a raw HTTP/1.1 response (status line, headers, body). */
absl::StatusOr<HttpAnswer> parseHttpResponse(std::string_view raw);

}  // namespace kuma::dp
