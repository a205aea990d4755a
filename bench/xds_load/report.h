#pragma once

// File: report.h
// The results of a kuma-xds-load run: per-proxy summaries and timelines as JSON (the raw data
// bench/scenarios.py reads) and the --summary table. Times are milliseconds since the Unix epoch,
// measured on the monotonic clock from one anchor taken at the start (so an external script can
// correlate them with a change it made at wall-clock time T).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/xds_load/ads_state.h"
#include "bench/xds_load/options.h"
#include "bench/xds_load/proxy_spec.h"
#include "nlohmann/json.hpp"

namespace kuma::bench::load {

/** Converts steady-clock times to epoch milliseconds from one anchor pair. */
class EpochClock {
 public:
  EpochClock();
  double epochMs(SteadyTime at) const;
  SteadyTime steadyStart() const { return steadyStart_; }

 private:
  SteadyTime steadyStart_;
  double epochStartMs_;
};

/** Nearest-rank percentile (p in [0, 100]) of unsorted values; 0 for none. */
double percentile(std::vector<double> values, double p);

/**
 * One proxy's entry of the report (see docs/benchmarks.md for the field list).
 * @param completeAtStop whether the proxy held a complete config when the run stopped (the state
 *        itself says "closed" by then); unset = the state's current value.
 */
nlohmann::json proxyJson(const ProxySpec& spec, const AdsState& state, const EpochClock& clock,
                         std::optional<bool> completeAtStop = std::nullopt);

/**
 * The whole report: {"tool", "options", "start_epoch_ms", "end_epoch_ms", "summary", "proxies"}.
 * `timeoutMs` decides "complete_in_time" (first complete config no later than start + timeout).
 */
nlohmann::json reportJson(const LoadOptions& options, const EpochClock& clock, SteadyTime end,
                          std::vector<nlohmann::json> proxies);

/** The human-readable table of report["summary"]. */
std::string summaryTable(const nlohmann::json& report);

}  // namespace kuma::bench::load
