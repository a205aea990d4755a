// kuma-xds-load: emulates N Envoys (as bootstrapped by kuma-dp) against a Kuma control plane's
// ADS and reports time to first complete config, bytes, resources and version timelines.
// See docs/benchmarks.md ("Scale scenarios") and bench/scenarios.py, which drives it.

#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "bench/xds_load/load_runner.h"
#include "bench/xds_load/options.h"
#include "bench/xds_load/report.h"

namespace {

using kuma::bench::load::LoadOptions;

void raiseOpenFilesLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      std::perror("kuma-xds-load: setrlimit(RLIMIT_NOFILE)");
    }
  }
}

void printProgress(const kuma::bench::load::LoadRunner& runner, const char* tag) {
  const auto p = runner.progress();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - runner.clock().steadyStart())
          .count();
  std::printf(
      "%s t=%.1fs epoch_ms=%.0f launched=%lu live=%lu complete=%lu complete_now=%lu "
      "responses=%lu bytes=%lu closed=%lu\n",
      tag, elapsed, runner.clock().epochMs(std::chrono::steady_clock::now()),
      static_cast<unsigned long>(p.launched), static_cast<unsigned long>(p.live),
      static_cast<unsigned long>(p.everComplete), static_cast<unsigned long>(p.completeNow),
      static_cast<unsigned long>(p.responses), static_cast<unsigned long>(p.bytes),
      static_cast<unsigned long>(p.closed));
  std::fflush(stdout);
}

int run(const LoadOptions& options) {
  // Signals are taken synchronously by this thread only: block them before gRPC starts threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  raiseOpenFilesLimit();

  kuma::bench::load::LoadRunner runner(options);
  if (absl::Status s = runner.init(); !s.ok()) {
    std::cerr << "kuma-xds-load: " << s.message() << std::endl;
    return 2;
  }
  runner.start();
  const auto start = runner.clock().steadyStart();
  const auto total = static_cast<uint64_t>(options.dataplanes);
  const bool untilComplete = options.expectComplete && !options.durationSet;
  auto nextProgress = start + options.progressInterval;
  bool announced = false;
  while (true) {
    timespec wait{0, 50 * 1000 * 1000};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) {
      std::printf("signal %d: stopping\n", sig);
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    const auto p = runner.progress();
    if (!announced && p.everComplete == total) {
      announced = true;
      printProgress(runner, "all-complete");
    }
    if (options.progressInterval.count() > 0 && now >= nextProgress) {
      printProgress(runner, "progress");
      nextProgress += options.progressInterval;
    }
    if (untilComplete && (p.everComplete == total || now >= start + options.timeout)) {
      break;
    }
    if (options.durationSet && options.duration.count() > 0 && now >= start + options.duration) {
      break;
    }
  }
  printProgress(runner, "final");
  runner.stop();
  const auto end = std::chrono::steady_clock::now();
  nlohmann::json report =
      kuma::bench::load::reportJson(options, runner.clock(), end, runner.proxyReports());
  if (!options.outputJson.empty()) {
    std::ofstream out(options.outputJson);
    out << report.dump() << "\n";
    if (!out) {
      std::cerr << "kuma-xds-load: cannot write " << options.outputJson << std::endl;
      return 2;
    }
  }
  if (options.summary) {
    std::cout << kuma::bench::load::summaryTable(report) << std::flush;
  }
  const auto& summary = report["summary"];
  if (options.expectComplete &&
      summary["complete_in_time"].get<uint64_t>() != summary["proxies"].get<uint64_t>()) {
    std::cerr << "kuma-xds-load: " << summary["complete_in_time"].get<uint64_t>() << " of "
              << summary["proxies"].get<uint64_t>()
              << " proxies had a complete ACKed config within the timeout" << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = kuma::bench::load::parseOptions(args);
  if (!options.ok()) {
    std::cerr << "kuma-xds-load: " << options.status().message() << "\n"
              << "Run with --help for the options." << std::endl;
    return 2;
  }
  if (options->helpRequested) {
    std::cout << options->helpText;
    return 0;
  }
  return run(*options);
}
