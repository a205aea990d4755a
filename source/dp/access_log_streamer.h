#pragma once

// File: access_log_streamer.h
// kuma-dp's part of the Tcp access-log backend (Kuma's app/kuma-dp/pkg/dataplane/accesslogs):
// the control plane points Envoy's file access loggers at the FIFO
// `<workdir>/kuma-al-<name>-<mesh>.sock`; the streamer creates that FIFO (mode 0666, replacing a
// stale file), reads its lines and sends each to the TCP address the line names:
//
//   {"address":"host:port","message":"text\n"}   MeshAccessLog: the message as is
//   {"address":"host:port","message":{...}}       MeshAccessLog Json format: the object + "\n"
//   host:port;text\n                              legacy TrafficLog
//
// One thread, one poll loop. Bounded: a line longer than kMaxLineBytes is dropped, at most
// kMaxDestinations connections are kept (the oldest is closed for a new one), a connect waits at
// most 5 s (Kuma's timeout) and a send at most 5 s. A line whose destination cannot be reached
// is dropped (as Kuma: no retry queue, the FIFO must not back up); a failed send closes the
// connection, the next line to that address reconnects.
//
//   AccessLogStreamer s(path, log);
//   s.start();   // error: the FIFO cannot be created
//   ...
//   s.stop();    // closes the connections, removes the FIFO

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "spdlog/logger.h"

namespace kuma::dp {

class AccessLogStreamer {
 public:
  static constexpr size_t kMaxLineBytes = 1 << 20;
  static constexpr size_t kMaxDestinations = 64;

  AccessLogStreamer(std::string fifoPath, std::shared_ptr<spdlog::logger> log);
  ~AccessLogStreamer();
  AccessLogStreamer(const AccessLogStreamer&) = delete;
  AccessLogStreamer& operator=(const AccessLogStreamer&) = delete;

  absl::Status start();
  void stop();

  /** Lines forwarded and dropped so far (for tests and diagnostics). */
  uint64_t forwarded() const { return forwarded_.load(); }
  uint64_t dropped() const { return dropped_.load(); }

  /**
   * Splits one FIFO line (without its '\n') into destination address and payload, as Kuma's
   * streamer does; false when the line is neither form.
   */
  static bool parseLine(std::string_view line, std::string& address, std::string& payload);

 private:
  void run();

  std::string path_;
  std::shared_ptr<spdlog::logger> log_;
  int fifo_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  std::atomic<uint64_t> forwarded_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace kuma::dp
