#include "bench/xds_load/options.h"

#include <algorithm>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "source/common/go_duration.h"

namespace kuma::bench::load {
namespace {

absl::Status durationFlag(const std::string& flag, const std::string& text,
                          std::chrono::nanoseconds& out) {
  auto parsed = common::parseGoDuration(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", parsed.status().message()));
  }
  if (parsed->count() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": must not be negative"));
  }
  out = *parsed;
  return absl::OkStatus();
}

absl::Status checkAddress(const std::string& address) {
  const auto colon = address.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cp-address: expected host:port, got \"", address, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

const char* protocolName(Protocol protocol) {
  return protocol == Protocol::Delta ? "delta" : "sotw";
}

absl::StatusOr<LoadOptions> parseOptions(const std::vector<std::string>& args) {
  LoadOptions o;
  CLI::App app{"Emulates N Envoys (bootstrapped by kuma-dp) against a Kuma control plane's ADS",
               "kuma-xds-load"};
  std::string protocol = "sotw";
  std::string rampUp = "0s";
  std::string duration = "0s";
  std::string timeout = "60s";
  std::string reconnect = "500ms";
  int64_t progressMs = 1000;
  app.add_option("--cp-address", o.cpAddress, "kuma-cp DP server host:port (TLS)");
  app.add_option("--dataplanes", o.dataplanes, "number of emulated proxies");
  app.add_option("--services", o.services, "number of distinct kuma.io/service values");
  app.add_option("--inbounds", o.inbounds, "inbounds per Dataplane");
  app.add_option("--outbounds", o.outbounds, "explicit outbounds per Dataplane (no TP)");
  app.add_option("--reachable-services", o.reachableServices,
                 "transparent proxying with this many reachableServices per proxy");
  app.add_flag("--transparent-proxy", o.transparentProxy,
               "transparent proxying without reachableServices (every proxy sees every service)");
  app.add_option("--ramp-up", rampUp, "period over which the streams open (Go duration)");
  app.add_option("--protocol", protocol, "sotw or delta");
  auto* durationOpt =
      app.add_option("--duration", duration, "run length from the start; 0 = until SIGINT/SIGTERM");
  app.add_option("--mesh", o.mesh, "mesh of every Dataplane");
  app.add_option("--name-prefix", o.namePrefix, "Dataplane names: <prefix>-<index>");
  app.add_option("--first-index", o.firstIndex, "index of the first proxy");
  app.add_option("--output-json", o.outputJson, "per-proxy results and timelines (JSON)");
  app.add_flag("--summary", o.summary, "print a summary table at the end");
  app.add_flag("--expect-complete", o.expectComplete,
               "exit 1 unless every proxy had a complete ACKed config within --timeout");
  app.add_option("--timeout", timeout, "deadline for complete configs, from the start");
  app.add_option("--ca-cert-file", o.caCertFile, "PEM CA of kuma-cp's DP server certificate");
  app.add_option("--server-name", o.serverName,
                 "name verified against the certificate instead of the --cp-address host");
  app.add_flag("--insecure-skip-verify", o.insecureSkipVerify,
               "do not verify kuma-cp's certificate");
  app.add_option("--proxies-per-connection", o.proxiesPerConnection,
                 "ADS streams sharing one TCP connection (1 = like Envoy)");
  app.add_option("--progress-interval-ms", progressMs, "progress line period; 0 = none");
  app.add_flag("--no-timeline", o.noTimeline, "omit the per-proxy version timeline");
  app.add_option("--reconnect-backoff", reconnect, "first delay before reopening a stream");

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(std::move(reversed));
  } catch (const CLI::CallForHelp&) {
    o.helpRequested = true;
    o.helpText = app.help();
    return o;
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  }

  if (protocol == "sotw") {
    o.protocol = Protocol::Sotw;
  } else if (protocol == "delta") {
    o.protocol = Protocol::Delta;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--protocol: expected sotw or delta, got \"", protocol, "\""));
  }
  if (absl::Status s = durationFlag("--ramp-up", rampUp, o.rampUp); !s.ok()) {
    return s;
  }
  if (absl::Status s = durationFlag("--duration", duration, o.duration); !s.ok()) {
    return s;
  }
  o.durationSet = durationOpt->count() > 0;
  if (absl::Status s = durationFlag("--timeout", timeout, o.timeout); !s.ok()) {
    return s;
  }
  std::chrono::nanoseconds backoff{0};
  if (absl::Status s = durationFlag("--reconnect-backoff", reconnect, backoff); !s.ok()) {
    return s;
  }
  o.reconnectBackoff = std::max(std::chrono::milliseconds(1),
                                std::chrono::duration_cast<std::chrono::milliseconds>(backoff));
  if (progressMs < 0) {
    return absl::InvalidArgumentError("--progress-interval-ms: must not be negative");
  }
  o.progressInterval = std::chrono::milliseconds(progressMs);
  if (absl::Status s = checkAddress(o.cpAddress); !s.ok()) {
    return s;
  }
  if (o.dataplanes == 0) {
    return absl::InvalidArgumentError("--dataplanes: must be at least 1");
  }
  if (o.services == 0) {
    return absl::InvalidArgumentError("--services: must be at least 1");
  }
  if (o.inbounds == 0) {
    return absl::InvalidArgumentError("--inbounds: must be at least 1");
  }
  if (o.proxiesPerConnection == 0) {
    return absl::InvalidArgumentError("--proxies-per-connection: must be at least 1");
  }
  if (o.reachableServices > 0 && o.transparentProxy) {
    return absl::InvalidArgumentError(
        "--reachable-services and --transparent-proxy are exclusive (the latter means all)");
  }
  if ((o.reachableServices > 0 || o.transparentProxy) && o.outbounds > 0) {
    return absl::InvalidArgumentError(
        "--outbounds: must be 0 with transparent proxying (--reachable-services, "
        "--transparent-proxy), as kuma-cp requires");
  }
  if (o.outbounds >= o.services || o.reachableServices >= o.services) {
    if (o.outbounds > 0 || o.reachableServices > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--outbounds/--reachable-services: must be below --services (", o.services,
                       "): a proxy's destinations are the other services"));
    }
  }
  if (o.mesh.empty() || o.mesh.find('.') != std::string::npos) {
    return absl::InvalidArgumentError("--mesh: must be non-empty and without '.' (node id)");
  }
  if (o.namePrefix.empty()) {
    return absl::InvalidArgumentError("--name-prefix: must not be empty");
  }
  if (o.caCertFile.empty() && !o.insecureSkipVerify) {
    return absl::InvalidArgumentError(
        "--ca-cert-file is required (kuma-cp's DP server certificate, e.g. "
        "<workDir>/kuma-cp.crt), or --insecure-skip-verify");
  }
  return o;
}

}  // namespace kuma::bench::load
