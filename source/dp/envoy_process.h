#pragma once

// File: envoy_process.h
// Envoy as kuma-dp's child (spec §9): its command line, the `envoy --version` probe, and the
// running process whose output is forwarded line by line (kuma-dp watches it for the control
// plane refusing the ADS stream).

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "source/dp/concurrency.h"
#include "source/dp/config.h"

namespace kuma::dp {

/**
 * Kuma's Envoy command line: `--config-path <bootstrap> --drain-time-s <s> --drain-strategy
 * immediate --disable-hot-restart --log-level <l> [--component-log-level <c>]` then
 * `--concurrency N` or `--cpuset-threads`. --disable-hot-restart keeps Envoys on one host apart
 * (no shared memory, so no --base-id is needed).
 */
std::vector<std::string> envoyArgs(const Config& config, const std::string& bootstrapPath,
                                   const ConcurrencyDecision& concurrency);

/** Runs `binary args...` to completion (stdout+stderr captured), killed after `timeout`. */
absl::StatusOr<std::string> runForOutput(const std::string& binary,
                                         const std::vector<std::string>& args,
                                         std::chrono::milliseconds timeout);

/**
 * The reason when an Envoy log line says the control plane closed the ADS stream as
 * UNAUTHENTICATED (16) or PERMISSION_DENIED (7), e.g.
 * `... gRPC config stream to ads_cluster closed: 16, authentication failed: ...` → the text
 * after the code. nullopt for any other line.
 */
std::optional<std::string> adsRefusalIn(std::string_view line);

class EnvoyProcess {
 public:
  using LineHandler = std::function<void(std::string_view line)>;

  /**
   * Starts Envoy with signals unblocked, SIGKILLed if kuma-dp dies. Its stdout and stderr go
   * through one pipe; each line is written to kuma-dp's stderr and passed to `onLine` (on the
   * pump thread).
   */
  static absl::StatusOr<std::unique_ptr<EnvoyProcess>> start(const std::string& binary,
                                                             const std::vector<std::string>& args,
                                                             LineHandler onLine);
  /** Kills Envoy if it still runs, and joins the pump thread. */
  ~EnvoyProcess();

  pid_t pid() const { return pid_; }
  /** Reaps Envoy if it has exited. @return its exit code, or 128+signal. */
  std::optional<int> exited();
  /** SIGTERM, then SIGKILL after `grace`. @return the exit code (or 128+signal). */
  int stop(std::chrono::milliseconds grace);

 private:
  EnvoyProcess() = default;
  pid_t pid_ = -1;
  std::optional<int> exitCode_;
  std::thread pump_;
};

/** "exit code N" or "signal SIGX" for an exit code from EnvoyProcess. */
std::string describeExit(int code);

}  // namespace kuma::dp
