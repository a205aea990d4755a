#include "bench/xds_load/report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace kuma::bench::load {
namespace {

double round3(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

}  // namespace

EpochClock::EpochClock()
    : steadyStart_(std::chrono::steady_clock::now()),
      epochStartMs_(std::chrono::duration<double, std::milli>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count()) {}

double EpochClock::epochMs(SteadyTime at) const {
  return round3(epochStartMs_ +
                std::chrono::duration<double, std::milli>(at - steadyStart_).count());
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return values[std::min(index, values.size() - 1)];
}

nlohmann::json proxyJson(const ProxySpec& spec, const AdsState& state, const EpochClock& clock,
                         std::optional<bool> completeAtStop) {
  nlohmann::json j;
  j["name"] = spec.name;
  j["services"] = spec.inboundServices;
  j["destinations"] = spec.destinations;
  j["started_ms"] = state.firstStart() ? nlohmann::json(clock.epochMs(*state.firstStart()))
                                       : nlohmann::json(nullptr);
  j["first_complete_ms"] = state.firstComplete()
                               ? nlohmann::json(clock.epochMs(*state.firstComplete()))
                               : nlohmann::json(nullptr);
  if (state.firstStart() && state.firstComplete()) {
    j["ttfc_ms"] = round3(
        std::chrono::duration<double, std::milli>(*state.firstComplete() - *state.firstStart())
            .count());
  } else {
    j["ttfc_ms"] = nullptr;
  }
  j["complete_now"] = completeAtStop.value_or(state.completeOnStream());
  j["streams"] = state.streams();
  j["bytes"] = state.totalBytes();
  j["responses"] = state.totalResponses();
  j["resources_received"] = state.totalResourcesReceived();
  j["decode_errors"] = state.decodeErrors();
  nlohmann::json held = nlohmann::json::object();
  for (size_t t = 0; t < kXdsTypes; ++t) {
    held[xdsTypeName(static_cast<XdsType>(t))] = state.held(static_cast<XdsType>(t));
  }
  j["resources"] = std::move(held);
  j["missing"] = state.missing();
  nlohmann::json timeline = nlohmann::json::array();
  for (const TimelineEvent& e : state.timeline()) {
    timeline.push_back({clock.epochMs(e.at), e.kind, e.detail});
  }
  j["timeline"] = std::move(timeline);
  return j;
}

nlohmann::json reportJson(const LoadOptions& options, const EpochClock& clock, SteadyTime end,
                          std::vector<nlohmann::json> proxies) {
  const double startMs = clock.epochMs(clock.steadyStart());
  const double deadlineMs =
      startMs + std::chrono::duration<double, std::milli>(options.timeout).count();
  std::vector<double> ttfc;
  size_t complete = 0;
  size_t completeInTime = 0;
  size_t completeNow = 0;
  size_t reconnects = 0;
  double bytes = 0;
  double resources = 0;
  double responses = 0;
  for (nlohmann::json& p : proxies) {
    if (!p["first_complete_ms"].is_null()) {
      ++complete;
      const bool inTime = p["first_complete_ms"].get<double>() <= deadlineMs;
      completeInTime += inTime ? 1 : 0;
      p["complete_in_time"] = inTime;
      ttfc.push_back(p["ttfc_ms"].get<double>());
    } else {
      p["complete_in_time"] = false;
    }
    completeNow += p["complete_now"].get<bool>() ? 1 : 0;
    const size_t streams = p["streams"].get<size_t>();
    reconnects += streams > 1 ? streams - 1 : 0;
    bytes += p["bytes"].get<double>();
    resources += p["resources_received"].get<double>();
    responses += p["responses"].get<double>();
  }
  const double n = proxies.empty() ? 1.0 : static_cast<double>(proxies.size());
  nlohmann::json summary = {
      {"protocol", protocolName(options.protocol)},
      {"proxies", proxies.size()},
      {"complete", complete},
      {"complete_in_time", completeInTime},
      {"complete_now", completeNow},
      {"ttfc_ms",
       {{"p50", percentile(ttfc, 50)},
        {"p99", percentile(ttfc, 99)},
        {"max", percentile(ttfc, 100)}}},
      {"bytes_per_proxy", round3(bytes / n)},
      {"resources_per_proxy", round3(resources / n)},
      {"responses_per_proxy", round3(responses / n)},
      {"reconnects", reconnects},
  };
  nlohmann::json opts = {
      {"cp_address", options.cpAddress},
      {"dataplanes", options.dataplanes},
      {"services", options.services},
      {"inbounds", options.inbounds},
      {"outbounds", options.outbounds},
      {"reachable_services", options.reachableServices},
      {"transparent_proxy", options.transparentProxy},
      {"ramp_up_ms", std::chrono::duration<double, std::milli>(options.rampUp).count()},
      {"protocol", protocolName(options.protocol)},
      {"duration_ms", std::chrono::duration<double, std::milli>(options.duration).count()},
      {"timeout_ms", std::chrono::duration<double, std::milli>(options.timeout).count()},
      {"mesh", options.mesh},
      {"name_prefix", options.namePrefix},
      {"first_index", options.firstIndex},
      {"proxies_per_connection", options.proxiesPerConnection},
  };
  return {{"tool", "kuma-xds-load"},       {"options", std::move(opts)},
          {"start_epoch_ms", startMs},     {"end_epoch_ms", clock.epochMs(end)},
          {"summary", std::move(summary)}, {"proxies", std::move(proxies)}};
}

std::string summaryTable(const nlohmann::json& report) {
  const nlohmann::json& s = report.at("summary");
  std::string out =
      absl::StrFormat("%-8s %8s %9s %9s %10s %10s %10s %12s %10s %10s %10s\n", "protocol",
                      "proxies", "complete", "in time", "ttfc p50", "ttfc p99", "ttfc max",
                      "bytes/proxy", "res/proxy", "resp/proxy", "reconnects");
  out += absl::StrFormat(
      "%-8s %8d %9d %9d %8.1fms %8.1fms %8.1fms %12.0f %10.1f %10.1f %10d\n",
      s.at("protocol").get<std::string>(), s.at("proxies").get<int64_t>(),
      s.at("complete").get<int64_t>(), s.at("complete_in_time").get<int64_t>(),
      s.at("ttfc_ms").at("p50").get<double>(), s.at("ttfc_ms").at("p99").get<double>(),
      s.at("ttfc_ms").at("max").get<double>(), s.at("bytes_per_proxy").get<double>(),
      s.at("resources_per_proxy").get<double>(), s.at("responses_per_proxy").get<double>(),
      s.at("reconnects").get<int64_t>());
  return out;
}

}  // namespace kuma::bench::load
