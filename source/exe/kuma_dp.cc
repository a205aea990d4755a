// kuma-dp: the data plane agent. `kuma-dp run [flags]`, `kuma-dp version`.
#include <iostream>

#include "CLI/CLI.hpp"
#include "source/common/version.h"
#include "source/exe/version_command.h"
#include "source/dp/concurrency.h"
#include "source/dp/config.h"
#include "source/dp/run.h"

namespace {

constexpr char kRunFooter[] =
    "Configuration: Kuma 2.14's defaults, then KUMA_* environment variables, then flags (a flag\n"
    "wins over its variable). See docs/kuma-dp.md for the full list.\n"
    "\n"
    "Envoy concurrency: --concurrency N > 0 is used as given (this is how Kubernetes'\n"
    "kuma.io/sidecar-proxy-concurrency annotation arrives). Otherwise the cgroup CPU limit\n"
    "(v2 cpu.max, v1 cpu.cfs_quota_us/cpu.cfs_period_us) rounded up, at least 1 (1500m -> 2,\n"
    "7000m -> 7), clamped to [2, 10] on Kubernetes (KUBERNETES_SERVICE_HOST set). No limit:\n"
    "--cpuset-threads (Envoy sizes itself from the CPUs it may use).\n"
    "\n"
    "DNS: --dns-enabled defaults to true as in Kuma, which runs CoreDNS next to Envoy. kuma-cpp\n"
    "ships no CoreDNS and does not drive it yet: pass --dns-enabled=false.\n"
    "\n"
    "Readiness: GET http://127.0.0.1:$KUMA_READINESS_PORT/ready (default 9902) answers 200 READY\n"
    "once Envoy is LIVE, 503 otherwise and \"terminating\" after SIGTERM.\n"
    "Signals: SIGTERM/SIGINT drain (--drain-time) then stop, exit 0; SIGUSR2 drains inbound\n"
    "listeners and keeps running. Exit 1: bad configuration, bootstrap refused or not obtained\n"
    "in time, Envoy exited on its own, or the control plane refused the xDS stream.";

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so that every thread inherits the mask.
  kuma::dp::blockSupervisorSignals();

  CLI::App app{"Dataplane manager for Envoy-based Service Mesh (kuma-cpp)", "kuma-dp"};
  app.require_subcommand(1);

  kuma::dp::RunFlags flags;
  CLI::App* runCmd = app.add_subcommand("run", "Launch Dataplane (Envoy)");
  flags.addTo(runCmd);
  runCmd->footer(kRunFooter);

  bool detailed = false;
  CLI::App* versionCmd = app.add_subcommand("version", "Print version");
  versionCmd->add_flag("-a,--detailed", detailed, "Print detailed version");

  CLI11_PARSE(app, argc, argv);

  if (versionCmd->parsed()) {
    kuma::exe::printVersion(std::cout, "Kuma DP", detailed);
    return 0;
  }
  auto config = kuma::dp::loadConfig(kuma::dp::processEnvironment(), &flags);
  if (!config.ok()) {
    std::cerr << "Error: " << config.status().message() << std::endl;
    return kuma::dp::kExitError;
  }
  return kuma::dp::runDataplane(*config);
}
