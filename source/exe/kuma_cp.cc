// kuma-cp: the control plane. `kuma-cp run [-c kuma-cp.yaml]`, `kuma-cp migrate up [-c ...]`,
// `kuma-cp install crds`, `kuma-cp version`.
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "source/common/logging.h"
#include "source/common/version.h"
#include "source/exe/version_command.h"
#include "source/core/config/config.h"
#include "source/core/config/loader.h"
#include "source/dp_server/tls_autoconfig.h"
#include "source/plugins/k8s/crds.h"
#include "source/plugins/resources/postgres/migrations.h"
#include "source/server/all_types.h"
#include "source/server/control_plane.h"

namespace {

constexpr auto kShutdownDeadline = std::chrono::seconds(10);
constexpr char kHeapSampleVariable[] = "TCMALLOC_SAMPLE_PARAMETER";
constexpr char kHeapSampleBytes[] =
    "524288";  // one sample per 512 KiB allocated, gperftools' usual

/** Built-in defaults, then the file (-c), then KUMA_* variables; errors go to stderr. */
std::optional<kuma::config::LoadedConfig> loadCpConfig(const std::string& configFile) {
  std::optional<std::string> file;
  if (!configFile.empty()) {
    file = configFile;
  }
  auto loaded = kuma::config::loadConfig(file, kuma::config::processEnvironment());
  if (!loaded.ok()) {
    std::cerr << "Error: could not load the configuration: " << loaded.status().message()
              << std::endl;
    return std::nullopt;
  }
  const kuma::config::Environment env = kuma::config::processEnvironment();
  if (absl::Status s = kuma::config::autoconfigure(loaded->config, env); !s.ok()) {
    std::cerr << "Error: " << s.message() << std::endl;
    return std::nullopt;
  }
  return std::move(*loaded);
}

/** `kuma-cp migrate up`: Kuma's outcomes and messages (spec §12.2). */
int migrateUp(const std::string& configFile) {
  std::optional<kuma::config::LoadedConfig> loaded = loadCpConfig(configFile);
  if (!loaded.has_value()) {
    return 1;
  }
  for (const auto& warning : loaded->warnings) {
    kuma::logging::logger("kuma-cp")->warn("{}", warning);
  }
  const kuma::config::StoreConfig& store = loaded->config.store;
  if (store.type != "postgres") {
    std::string kind = store.type;
    if (!kind.empty()) {
      kind[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(kind[0])));
    }
    std::cerr << "Error: migrations are not supported for " << kind << " resource store"
              << std::endl;
    return 1;
  }
  namespace postgres = kuma::store::postgres;
  absl::StatusOr<postgres::ConnectionSettings> settings =
      postgres::connectionSettingsFromConfig(store.postgres);
  if (!settings.ok()) {
    std::cerr << "Error: " << settings.status().message() << std::endl;
    return 1;
  }
  absl::StatusOr<postgres::MigrateOutcome> outcome =
      postgres::migrateUp(*settings, store.postgres.tolerateNewerDBVersions);
  if (!outcome.ok()) {
    std::cerr << "Error: " << outcome.status().message() << std::endl;
    return 1;
  }
  if (*outcome == postgres::MigrateOutcome::Migrated) {
    std::cout << "DB has been migrated for Kuma " << kuma::version::kKumaCompatible << std::endl;
  } else {
    std::cout << "DB has already been migrated for Kuma " << kuma::version::kKumaCompatible
              << std::endl;
  }
  return 0;
}

int run(const std::string& configFile, const std::string& logLevel, char** argv) {
  if (absl::Status s = kuma::logging::setGlobalLevel(logLevel); !s.ok()) {
    std::cerr << "Error: " << s.message() << std::endl;
    return 1;
  }
  auto log = kuma::logging::logger("kuma-cp");
  std::optional<kuma::config::LoadedConfig> loaded = loadCpConfig(configFile);
  if (!loaded.has_value()) {
    return 1;
  }
  // general.tlsCertFile empty → <workDir>/kuma-cp.crt|.key, inherited by dpServer & co.
  if (absl::Status s = kuma::dp_server::autoconfigureTlsCertificate(loaded->config); !s.ok()) {
    std::cerr << "Error: " << s.message() << std::endl;
    return 1;
  }
  for (const auto& warning : loaded->warnings) {
    log->warn("{}", warning);
  }
  // Heap profiles need tcmalloc's allocation sampling, which tcmalloc reads from the environment
  // only when it loads: with the debug endpoints on, restart once with sampling enabled.
  if (loaded->config.diagnostics.debugEndpoints && std::getenv(kHeapSampleVariable) == nullptr) {
    setenv(kHeapSampleVariable, kHeapSampleBytes, 1);
    execv("/proc/self/exe", argv);
    log->warn("could not restart with {} set; heap profiles will be unavailable",
              kHeapSampleVariable);
  }
  auto config = std::make_shared<const kuma::config::KumaCpConfig>(std::move(loaded->config));

  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto cp = kuma::server::ControlPlane::create(config);
  if (!cp.ok()) {
    log->error("unable to set up Control Plane runtime: {}", cp.status().ToString());
    std::cerr << "Error: " << cp.status().message() << std::endl;
    return 1;
  }
  if (absl::Status s = (*cp)->start(); !s.ok()) {
    std::cerr << "Error: could not start the control plane: " << s.message() << std::endl;
    return 1;
  }
  log->info("kuma-cp started (compatible with Kuma {}, kuma-cpp {})",
            kuma::version::kKumaCompatible, kuma::version::kBuildVersion);
  int received = 0;
  sigwait(&signals, &received);
  log->info("received signal {}, stopping", received == SIGINT ? "SIGINT" : "SIGTERM");
  // Graceful stop, bounded: if a component hangs, leave anyway.
  std::thread([] {
    std::this_thread::sleep_for(kShutdownDeadline);
    kuma::logging::logger("kuma-cp")->error("graceful shutdown took too long, exiting");
    _exit(1);
  }).detach();
  (*cp)->stop();
  cp->reset();
  log->info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's abseil is built without NDEBUG, so every absl::Mutex acquisition also maintains a
  // lock-order graph for deadlock detection (GraphCycles: 3.7 % of kuma-cp's CPU with 5000
  // proxies, docs/benchmarks.md). The tests keep it on; the product turns it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"Universal Control Plane for Envoy-based Service Mesh (kuma-cpp)", "kuma-cp"};
  app.require_subcommand(1);

  std::string configFile;
  std::string logLevel = "info";
  CLI::App* runCmd = app.add_subcommand("run", "Launch Control Plane");
  runCmd->add_option("-c,--config-file", configFile, "configuration file")
      ->check(CLI::ExistingFile);
  runCmd->add_option("--log-level", logLevel, "log level: one of off|info|debug")
      ->check(CLI::IsMember({"off", "info", "debug"}));
  runCmd->footer(
      "Configuration: built-in defaults, then the YAML file (-c), then KUMA_* environment\n"
      "variables, with Kuma 2.14's keys and names (see docs/config.md). Unknown keys are\n"
      "reported as warnings; invalid values stop the start with a message naming the key.");

  CLI::App* migrateCmd =
      app.add_subcommand("migrate", "Migrate database to which Control Plane is connected");
  migrateCmd->require_subcommand(1);
  CLI::App* migrateUpCmd =
      migrateCmd->add_subcommand("up", "Apply the newest schema migrations to the database");
  migrateUpCmd->add_option("-c,--config-file", configFile, "configuration file")
      ->check(CLI::ExistingFile);
  migrateUpCmd->add_option("--log-level", logLevel, "log level: one of off|info|debug")
      ->check(CLI::IsMember({"off", "info", "debug"}));

  CLI::App* installCmd =
      app.add_subcommand("install", "Install Kuma on Kubernetes (prints the resources to apply)");
  installCmd->require_subcommand(1);
  CLI::App* installCrdsCmd = installCmd->add_subcommand(
      "crds", "Print Kuma's CustomResourceDefinitions (as `kumactl install crds` does)");
  installCrdsCmd->footer(
      "Generated from kuma-cpp's own resource types and policy schemas (docs/kubernetes.md).\n"
      "Apply them with: kuma-cp install crds | kubectl apply -f -");

  bool detailed = false;
  CLI::App* versionCmd = app.add_subcommand("version", "Print version");
  versionCmd->add_flag("-a,--detailed", detailed, "Print detailed version");

  CLI11_PARSE(app, argc, argv);

  if (versionCmd->parsed()) {
    kuma::exe::printVersion(std::cout, "Kuma", detailed);
    return 0;
  }
  if (installCrdsCmd->parsed()) {
    std::cout << kuma::k8s::crdsYaml(kuma::k8s::generateCrds(kuma::server::allTypes()));
    return std::cout.good() ? 0 : 1;
  }
  if (migrateUpCmd->parsed()) {
    if (absl::Status s = kuma::logging::setGlobalLevel(logLevel); !s.ok()) {
      std::cerr << "Error: " << s.message() << std::endl;
      return 1;
    }
    return migrateUp(configFile);
  }
  return run(configFile, logLevel, argv);
}
