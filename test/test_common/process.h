#pragma once

// File: process.h
// Runs the real kuma-cp binary for end-to-end tests: free loopback ports, its own work dir,
// output captured to a file, bounded waits (never a fixed sleep as an assertion).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kuma::test {

/** A currently free TCP port on 127.0.0.1 (within $KUMA_TEST_PORT_RANGE `low-high` when set). */
uint16_t freePort();

/** $KUMA_BUILD_DIR/bin/<name>. */
std::string binaryPath(const std::string& name);

/** A fresh temporary directory, removed by the caller's fixture if wanted. */
std::string makeTempDir(const std::string& prefix);

struct ExitResult {
  int exitCode = -1;  // -1: killed after the timeout
  std::string output;
};

/** Runs a binary to completion (stdin closed) and returns its exit code and combined output. */
ExitResult runToExit(const std::string& binary, const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));

/** Any child process with its output captured to a file; killed on destruction. */
class ChildProcess {
 public:
  static std::unique_ptr<ChildProcess> start(const std::string& binary,
                                             const std::vector<std::string>& args,
                                             const std::map<std::string, std::string>& env,
                                             const std::string& logPath);
  ~ChildProcess();

  /** Still running? (reaps it when it exited) */
  bool running();
  /** Sends `signal` and waits up to `timeout`. @return exit code, 128+signal, or -1. */
  int stop(int signal, std::chrono::milliseconds timeout);
  std::string output() const;
  pid_t pid() const { return pid_; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int exitCode_ = -1;
  std::string logPath_;
};

/** Polls `condition` every 50 ms until it holds or `timeout` passes. @return whether it held. */
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

class KumaCp {
 public:
  struct Options {
    std::vector<std::string> args = {"run"};
    std::map<std::string, std::string> env;
    /** Written to a file and passed with -c when set. */
    std::optional<std::string> configYaml;
    std::chrono::milliseconds readyTimeout = std::chrono::seconds(30);
  };

  /** Starts kuma-cp on free ports and waits until GET /ready on diagnostics answers 200. */
  static absl::StatusOr<std::unique_ptr<KumaCp>> start(Options options);
  ~KumaCp();

  uint16_t apiPort() const { return apiPort_; }
  uint16_t diagnosticsPort() const { return diagnosticsPort_; }
  uint16_t dpServerPort() const { return dpServerPort_; }
  const std::string& workDir() const { return workDir_; }
  pid_t pid() const { return pid_; }

  /** Sends `signal` and waits up to `timeout` for exit. @return exit code, or -1 on timeout. */
  int stop(int signal, std::chrono::milliseconds timeout);
  /** Everything the process printed so far. */
  std::string output() const;

 private:
  KumaCp() = default;
  pid_t pid_ = -1;
  uint16_t apiPort_ = 0;
  uint16_t diagnosticsPort_ = 0;
  uint16_t dpServerPort_ = 0;
  std::string workDir_;
  std::string logPath_;
};

}  // namespace kuma::test
