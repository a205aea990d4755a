#include "source/dp/run.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/common/go_duration.h"
#include "source/common/logging.h"
#include "source/dp/access_log_streamer.h"
#include "source/dp/metrics_hijacker.h"
#include "source/dp/bootstrap_client.h"
#include "source/dp/concurrency.h"
#include "source/dp/dataplane_template.h"
#include "source/dp/dns.h"
#include "source/dp/dns_proxy.h"
#include "source/dp/envoy_admin.h"
#include "source/dp/envoy_process.h"
#include "source/dp/envoy_version.h"
#include "source/dp/readiness.h"

namespace kuma::dp {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kEnvoyStopGrace = 10s;
constexpr auto kTick = 200ms;
constexpr auto kLivenessPoll = 1s;
constexpr auto kAdminTimeout = 2s;
// Kuma 2.14's readiness reporter waits this long for the embedded DNS proxy's first map.
constexpr auto kDnsConfigGateTimeout = 15s;
const char* const kSystemCaPaths[] = {"/etc/ssl/certs/ca-certificates.crt",
                                      "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
                                      "/etc/ssl/cert.pem"};

absl::StatusOr<std::string> readWholeFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", what, " \"", path, "\""));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string systemCaPath() {
  for (const char* p : kSystemCaPaths) {
    std::error_code ec;
    if (fs::exists(p, ec)) {
      return p;
    }
  }
  return "";
}

sigset_t supervisorSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGCHLD);
  return set;
}

// Waits up to `d` for SIGTERM/SIGINT. @return the signal, or 0 when the time passed.
int waitForStopSignal(std::chrono::nanoseconds d) {
  const sigset_t set = supervisorSignals();
  const auto deadline = std::chrono::steady_clock::now() + d;
  while (true) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) {
      return 0;
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    const int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      return sig;
    }
  }
}

// Removes the temporary work dir kuma-dp created, on every way out.
class TempDirGuard {
 public:
  explicit TempDirGuard(std::string dir) : dir_(std::move(dir)) {}
  ~TempDirGuard() {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

 private:
  std::string dir_;
};

// What the Envoy log pump has seen of ADS refusals.
class RefusalWatch {
 public:
  void onLine(std::string_view line) {
    if (auto reason = adsRefusalIn(line)) {
      std::lock_guard lock(mu_);
      ++count_;
      reason_ = *reason;
    }
  }
  std::pair<int, std::string> get() const {
    std::lock_guard lock(mu_);
    return {count_, reason_};
  }

 private:
  mutable std::mutex mu_;
  int count_ = 0;
  std::string reason_;
};

class Supervisor {
 public:
  explicit Supervisor(const Config& config) : config_(config), log_(logging::logger("kuma-dp")) {}

  int run() {
    if (config_.transparentProxy || !config_.transparentProxyConfig.empty()) {
      return fail(
          "transparent proxying (--transparent-proxy) is not supported by kuma-cpp's "
          "kuma-dp yet");
    }
    for (const std::string& w : config_.warnings) {
      log_->warn("{}", w);
    }

    BootstrapInputs inputs;
    const RuntimeConfig& rt = config_.runtime;
    if (!rt.resource.empty() || !rt.resourcePath.empty()) {
      std::string text = rt.resource;
      if (!rt.resourcePath.empty()) {
        auto file = readWholeFile(rt.resourcePath, "the dataplane file");
        if (!file.ok()) {
          return fail(std::string(file.status().message()));
        }
        text = std::move(*file);
      }
      auto dp = parseDataplaneTemplate(text, rt.resourceVars, config_.dataplane.proxyType);
      if (!dp.ok()) {
        return fail(std::string(dp.status().message()));
      }
      inputs.dataplane = std::move(*dp);
    }
    inputs.token = rt.token;
    if (!rt.tokenPath.empty()) {
      auto token = readWholeFile(rt.tokenPath, "the dataplane token file");
      if (!token.ok()) {
        return fail(std::string(token.status().message()));
      }
      inputs.token = std::string(absl::StripAsciiWhitespace(*token));
    }
    inputs.caCertPem = config_.controlPlane.caCert;
    if (!config_.controlPlane.caCertFile.empty()) {
      auto ca = readWholeFile(config_.controlPlane.caCertFile, "the CA certificate file");
      if (!ca.ok()) {
        return fail(std::string(ca.status().message()));
      }
      inputs.caCertPem = std::move(*ca);
    }
    inputs.systemCaPath = systemCaPath();
    inputs.hasLocalIPv6 = hasLocalIPv6();

    std::string workDir = rt.workDir;
    std::optional<TempDirGuard> tempGuard;
    if (workDir.empty()) {
      std::string tmpl = (fs::temp_directory_path() / "kuma-dp-XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) {
        return fail(
            absl::StrCat("cannot create a temporary work directory: ", std::strerror(errno)));
      }
      chmod(tmpl.c_str(), 0711);
      workDir = tmpl;
      tempGuard.emplace(workDir);
    } else {
      std::error_code ec;
      fs::create_directories(workDir, ec);
      if (ec) {
        return fail(
            absl::StrCat("cannot create the work directory \"", workDir, "\": ", ec.message()));
      }
    }
    inputs.workDir = workDir;

    auto versionOut = runForOutput(rt.binaryPath, {"--version"}, 30s);
    if (!versionOut.ok()) {
      return fail(absl::StrCat("cannot run Envoy (--binary-path ", rt.binaryPath,
                               "): ", versionOut.status().message()));
    }
    auto envoyVersion = parseEnvoyVersion(*versionOut);
    if (!envoyVersion.ok()) {
      return fail(std::string(envoyVersion.status().message()));
    }
    inputs.envoy = *envoyVersion;
    log_->info("Envoy {} ({})", inputs.envoy.version, inputs.envoy.build);

    ConcurrencyInputs ci;
    ci.explicitConcurrency = rt.concurrency;
    ci.cgroupRoot = processCgroupRoot();
    ci.onKubernetes = config_.onKubernetes;
    ConcurrencyDecision concurrency;
    if (auto d = decideConcurrency(ci); d.ok()) {
      concurrency = *d;
    } else {
      log_->warn("{}; letting Envoy size its workers from the cpuset",
                 std::string(d.status().message()));
      concurrency.reason = "CPU limit unreadable";
    }
    log_->info("Envoy concurrency: {}", concurrency.reason);

    BootstrapClient::Options bo;
    bo.url = config_.controlPlane.url;
    bo.caCertFile = config_.controlPlane.caCertFile;
    bo.caCertPem = config_.controlPlane.caCert;
    bo.skipVerify = config_.controlPlane.skipVerify;
    bo.backoff = config_.controlPlane.retryBackoff;
    bo.maxDuration = config_.controlPlane.retryMaxDuration;
    bo.sleep = [](std::chrono::nanoseconds d) { return waitForStopSignal(d) == 0; };
    bo.log = [this](const std::string& m) { log_->info("{}", m); };
    auto client = BootstrapClient::create(bo);
    if (!client.ok()) {
      return fail(std::string(client.status().message()));
    }
    const std::string body = buildBootstrapRequest(config_, inputs).dump(2);
    auto bootstrap = client->fetch(body);
    if (!bootstrap.ok()) {
      if (absl::IsCancelled(bootstrap.status())) {
        log_->info("stopped before the bootstrap configuration arrived");
        return kExitOk;
      }
      return fail(std::string(bootstrap.status().message()));
    }
    const std::string bootstrapPath = workDir + "/bootstrap.yaml";
    {
      std::ofstream out(bootstrapPath, std::ios::trunc);
      out << bootstrap->bootstrapYaml;
      if (!out) {
        return fail(absl::StrCat("cannot write ", bootstrapPath));
      }
    }
    auto admin = adminAddressFromBootstrap(bootstrap->bootstrap);
    if (!admin.ok()) {
      return fail(std::string(admin.status().message()));
    }
    admin_ = *admin;
    log_->info("bootstrap written to {}; Envoy admin on {}", bootstrapPath, admin_.describe());

    std::string bind = "127.0.0.1";
    const nlohmann::json& sidecar = bootstrap->sidecarConfiguration;
    if (sidecar.is_object()) {
      const std::string address =
          sidecar.value("networking", nlohmann::json::object()).value("address", std::string());
      if (address.find(':') != std::string::npos) {
        bind = "::1";
      }
    }
    readiness_ = std::make_unique<ReadinessReporter>(admin_, bind, config_.readinessPort);
    if (absl::Status s = startDns(workDir); !s.ok()) {
      return fail(std::string(s.message()));
    }
    if (absl::Status s = readiness_->start(); !s.ok()) {
      return fail(std::string(s.message()));
    }

    // The Tcp access-log backend's FIFO (Kuma's AccessLogSocketName of the bootstrap's workdir,
    // name and mesh): Envoy writes there, the streamer forwards the lines.
    {
      std::string mesh = config_.dataplane.mesh;
      std::string name = config_.dataplane.name;
      if (inputs.dataplane.is_object()) {
        mesh = inputs.dataplane.value("mesh", "");
        name = inputs.dataplane.value("name", "");
      }
      std::string fifo = absl::StrCat(workDir, "/kuma-al-", name, "-", mesh);
      if (fifo.size() > 98) {
        fifo.resize(98);
      }
      accessLogs_ = std::make_unique<AccessLogStreamer>(fifo + ".sock", log_);
      if (absl::Status s = accessLogs_->start(); !s.ok()) {
        return fail(std::string(s.message()));
      }
      // The metrics hijacker (Kuma's MetricsHijackerSocketName): the cluster
      // `_kuma:metrics:hijacker` of MeshMetric's `_kuma:metrics:prometheus:*` listeners and
      // `kuma:metrics:hijacker` of the legacy Mesh `metrics` listener.
      std::string hijackerSocket = absl::StrCat(workDir, "/kuma-mh-", name, "-", mesh);
      if (hijackerSocket.size() > 98) {
        hijackerSocket.resize(98);
      }
      MetricsHijacker::Options metrics;
      metrics.socketPath = hijackerSocket + ".sock";
      metrics.admin = admin_;
      metrics.dynamicConfigSocket = dynamicConfigSocket(workDir);
      if (sidecar.is_object()) {
        const std::string address =
            sidecar.value("networking", nlohmann::json::object()).value("address", std::string());
        if (!address.empty()) {
          metrics.defaultAddress = address;
        }
        // The legacy Mesh `metrics` backend's applications (bounded like MeshMetric's).
        const nlohmann::json aggregate =
            sidecar.value("metrics", nlohmann::json::object()).value("aggregate", nlohmann::json());
        if (aggregate.is_array()) {
          for (const auto& app : aggregate) {
            if (!app.is_object() || metrics.aggregate.size() >= MetricsHijacker::kMaxApplications) {
              continue;
            }
            const auto text = [&app](const char* key) {
              auto it = app.find(key);
              return it != app.end() && it->is_string() ? it->get<std::string>() : std::string();
            };
            auto port = app.find("port");
            metrics.aggregate.push_back(
                {text("name"), text("address"), text("path"),
                 port != app.end() && port->is_number_unsigned() && port->get<uint64_t>() <= 65535
                     ? static_cast<uint32_t>(port->get<uint64_t>())
                     : 0});
          }
        }
      }
      metricsHijacker_ = std::make_unique<MetricsHijacker>(std::move(metrics), log_);
      if (absl::Status s = metricsHijacker_->start(); !s.ok()) {
        return fail(std::string(s.message()));
      }
    }

    const std::vector<std::string> args = envoyArgs(config_, bootstrapPath, concurrency);
    log_->info("starting Envoy: {} {}", rt.binaryPath, absl::StrJoin(args, " "));
    auto envoy = EnvoyProcess::start(rt.binaryPath, args,
                                     [this](std::string_view line) { refusals_.onLine(line); });
    if (!envoy.ok()) {
      return fail(std::string(envoy.status().message()));
    }
    envoy_ = std::move(*envoy);
    return supervise();
  }

 private:
  int fail(const std::string& message) {
    std::cerr << "Error: " << message << std::endl;
    stopAll();
    return kExitError;
  }

  // Kuma's MeshMetricsDynamicConfigurationSocketName: where the CP puts `_kuma:dynamicconfig`.
  static std::string dynamicConfigSocket(const std::string& workDir) {
    std::string base = absl::StrCat(workDir, "/kuma-mesh-metric-config");
    return absl::StrCat(base.substr(0, std::min<size_t>(base.size(), 98)), ".sock");
  }

  // kuma-dp's DNS proxy (source/dp/dns.h): the embedded one also gates readiness on its first
  // map from Envoy, as Kuma 2.14's.
  absl::Status startDns(const std::string& workDir) {
    const DnsPlan plan = planDns(config_.dns);
    if (!plan.run) {
      return absl::OkStatus();
    }
    DnsProxyOptions options;
    options.listen = plan.listen;
    options.envoyDnsPort = plan.envoyDnsPort;
    // kuma-cpp only, for tests: the resolvers of non-mesh names instead of /etc/resolv.conf's.
    if (const char* upstream = std::getenv("KUMA_DNS_PROXY_UPSTREAM");
        upstream != nullptr && *upstream) {
      options.upstreamServers = upstream;
    }
    auto proxy = DnsProxy::start(options);
    if (!proxy.ok()) {
      return proxy.status();
    }
    dnsProxy_ = std::move(*proxy);
    log_->info("DNS proxy on {}:{} ({})", plan.listen.front().first, plan.listen.front().second,
               plan.embedded
                   ? "embedded, map from Envoy's /dns"
                   : absl::StrCat("asking Envoy's DNS on 127.0.0.1:", plan.envoyDnsPort, " first"));
    if (plan.embedded) {
      dnsFetcher_ = std::make_unique<DynamicDnsConfigFetcher>(
          dynamicConfigSocket(workDir), *dnsProxy_,
          std::chrono::duration_cast<std::chrono::milliseconds>(
              std::max<std::chrono::nanoseconds>(config_.runtime.dynamicConfigRefresh, 100ms)));
      dnsFetcher_->start();
      DnsProxy* raw = dnsProxy_.get();
      readiness_->setDnsGate([raw] { return raw->configReady(); }, kDnsConfigGateTimeout);
    }
    return absl::OkStatus();
  }

  void stopAll() {
    if (dnsFetcher_) {
      dnsFetcher_->stop();
    }
    if (dnsProxy_) {
      dnsProxy_->stop();
    }
    if (envoy_) {
      envoy_->stop(kEnvoyStopGrace);
      envoy_.reset();
    }
    if (readiness_) {
      readiness_->stop();
    }
    if (accessLogs_) {
      accessLogs_->stop();
    }
    if (metricsHijacker_) {
      metricsHijacker_->stop();
    }
  }

  bool envoyLive() {
    auto answer = adminRequest(admin_, "GET", "/ready", kAdminTimeout);
    return answer.ok() && answer->status == 200 &&
           absl::StripAsciiWhitespace(answer->body) == "LIVE";
  }

  void adminPost(const std::string& path) {
    auto answer = adminRequest(admin_, "POST", path, kAdminTimeout);
    if (!answer.ok() || answer->status != 200) {
      log_->warn("Envoy admin POST {} failed: {}", path,
                 answer.ok() ? absl::StrCat("status ", answer->status)
                             : std::string(answer.status().message()));
    }
  }

  int supervise() {
    const sigset_t set = supervisorSignals();
    bool live = false;
    auto nextLivenessPoll = std::chrono::steady_clock::now();
    while (true) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(kTick).count();
      timespec ts{0, static_cast<long>(ns)};
      const int sig = sigtimedwait(&set, nullptr, &ts);
      if (sig == SIGTERM || sig == SIGINT) {
        return shutdown(sig);
      }
      if (sig == SIGUSR2) {
        log_->info("SIGUSR2: draining inbound listeners");
        adminPost("/drain_listeners?inboundonly&graceful&skip_exit");
      }
      if (auto code = envoy_->exited()) {
        envoy_.reset();
        return fail(absl::StrCat("Envoy exited unexpectedly (", describeExit(*code),
                                 "); kuma-dp stops and does not restart it"));
      }
      if (!live && std::chrono::steady_clock::now() >= nextLivenessPoll) {
        live = envoyLive();
        nextLivenessPoll = std::chrono::steady_clock::now() + kLivenessPoll;
        if (live) {
          log_->info("Envoy is LIVE: it received its configuration from the control plane");
        }
      }
      if (!live) {
        const auto [count, reason] = refusals_.get();
        if (count >= kAdsRefusalsBeforeExit) {
          return fail(absl::StrCat("the control plane refused this data plane proxy's xDS stream (",
                                   count, " times): ", reason));
        }
      }
    }
  }

  int shutdown(int sig) {
    log_->info("received {}: draining for {}", sig == SIGINT ? "SIGINT" : "SIGTERM",
               common::formatGoDuration(config_.dataplane.drainTime));
    readiness_->setTerminating();
    adminPost("/healthcheck/fail");
    const int again = waitForDrain();
    if (again != 0) {
      log_->info("second stop signal: not waiting for the drain to finish");
    }
    if (envoy_) {
      const int code = envoy_->stop(kEnvoyStopGrace);
      log_->info("Envoy stopped ({})", describeExit(code));
      envoy_.reset();
    }
    readiness_->stop();
    if (accessLogs_) {
      accessLogs_->stop();
    }
    if (metricsHijacker_) {
      metricsHijacker_->stop();
    }
    if (dnsFetcher_) {
      dnsFetcher_->stop();
    }
    if (dnsProxy_) {
      dnsProxy_->stop();
    }
    log_->info("stopped");
    return kExitOk;
  }

  // Waits the drain time, unless Envoy exits or a second stop signal arrives.
  int waitForDrain() {
    const auto deadline = std::chrono::steady_clock::now() + config_.dataplane.drainTime;
    while (std::chrono::steady_clock::now() < deadline) {
      if (envoy_->exited().has_value()) {
        return 0;
      }
      const auto left = deadline - std::chrono::steady_clock::now();
      if (const int sig = waitForStopSignal(std::min<std::chrono::nanoseconds>(left, kTick));
          sig != 0) {
        return sig;
      }
    }
    return 0;
  }

  const Config& config_;
  std::shared_ptr<spdlog::logger> log_;
  EnvoyAdminAddress admin_;
  RefusalWatch refusals_;
  std::unique_ptr<ReadinessReporter> readiness_;
  std::unique_ptr<AccessLogStreamer> accessLogs_;
  std::unique_ptr<MetricsHijacker> metricsHijacker_;
  std::unique_ptr<DnsProxy> dnsProxy_;
  std::unique_ptr<DynamicDnsConfigFetcher> dnsFetcher_;
  std::unique_ptr<EnvoyProcess> envoy_;
};

}  // namespace

void blockSupervisorSignals() {
  const sigset_t set = supervisorSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int runDataplane(const Config& config) {
  if (absl::Status s = logging::setGlobalLevel(config.logLevel); !s.ok()) {
    std::cerr << "Error: " << s.message() << std::endl;
    return kExitError;
  }
  Supervisor supervisor(config);
  return supervisor.run();
}

}  // namespace kuma::dp
