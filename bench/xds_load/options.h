#pragma once

// File: options.h
// Command line of kuma-xds-load (see docs/benchmarks.md, "Scale scenarios"). Parsing is separate
// from main() so that the rules (ranges, mutually exclusive modes, durations) are unit-tested.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kuma::bench::load {

enum class Protocol { Sotw, Delta };

/** "sotw" or "delta". */
const char* protocolName(Protocol protocol);

struct LoadOptions {
  /** kuma-cp's DP server (TLS, gRPC over h2), host:port. */
  std::string cpAddress = "127.0.0.1:5678";
  size_t dataplanes = 100;
  size_t services = 10;
  /** Inbounds per Dataplane; inbound slots take the services round-robin. */
  size_t inbounds = 1;
  /** Explicit `networking.outbound` entries per Dataplane (the next services after its own). */
  size_t outbounds = 0;
  /** > 0: transparent proxying with `reachableServices` = the next K services. */
  size_t reachableServices = 0;
  /** Transparent proxying without `reachableServices`: every proxy sees every service. */
  bool transparentProxy = false;
  /** Streams open evenly over this period. */
  std::chrono::nanoseconds rampUp{0};
  Protocol protocol = Protocol::Sotw;
  /** How long the run lasts from its start; 0 = until SIGINT/SIGTERM (see durationSet). */
  std::chrono::nanoseconds duration{0};
  /** --duration was given (with --expect-complete and no duration the run ends when complete). */
  bool durationSet = false;
  std::string mesh = "default";
  std::string namePrefix = "load";
  /** Index of the first proxy (several generators can emulate disjoint sets). */
  size_t firstIndex = 0;
  std::string outputJson;
  bool summary = false;
  /** Exit 1 unless every proxy had a complete, ACKed config within `timeout` of the start. */
  bool expectComplete = false;
  std::chrono::nanoseconds timeout = std::chrono::seconds(60);
  /** PEM CA that signed kuma-cp's DP server certificate. */
  std::string caCertFile;
  /** TLS name checked against the certificate (and sent as SNI) instead of the target host. */
  std::string serverName;
  bool insecureSkipVerify = false;
  /** Streams sharing one channel (one TCP connection); 1 = one connection per proxy, as Envoy. */
  size_t proxiesPerConnection = 1;
  /** A `progress` line on stdout this often; 0 = none. */
  std::chrono::milliseconds progressInterval{1000};
  /** Do not record the per-proxy version timeline (smaller JSON for huge runs). */
  bool noTimeline = false;
  /** First delay before a stream that ended is reopened (doubles up to 5s, with jitter). */
  std::chrono::milliseconds reconnectBackoff{500};

  /** Set by parseOptions for --help: print this text and exit 0. */
  bool helpRequested = false;
  std::string helpText;
};

/**
 * Parses and checks the command line (args excludes the program name).
 * @return InvalidArgument with a message naming the flag for any bad value or combination.
 */
absl::StatusOr<LoadOptions> parseOptions(const std::vector<std::string>& args);

}  // namespace kuma::bench::load
