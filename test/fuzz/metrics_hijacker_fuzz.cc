// Fuzz target: kuma-dp's metrics hijacker parsers (docs/fuzzing.md, source/dp/metrics_hijacker.h):
// the `/meshmetric` document from Envoy's dynamic-config listener and the Prometheus text it
// filters and labels (Envoy's stats, an application's answer).
//
// Input: first byte even → the rest is a `/meshmetric` JSON body; odd → the rest is Prometheus
// text, filtered with the Basic profile and with All, then labelled.
// Oracles: a parsed config stays within its bounds (applications, ports); filtering never
// grows the text; labelling keeps the number of lines.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "source/dp/metrics_hijacker.h"
#include "test/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  if (size == 0) {
    return 0;
  }
  const std::string_view input = fuzz::asText(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    auto config = dp::parseMeshMetricConfig(input);
    if (config.ok()) {
      FUZZ_CHECK(config->applications.size() <= dp::MetricsHijacker::kMaxApplications,
                 "applications bounded");
      for (const auto& app : config->applications) {
        FUZZ_CHECK(app.port >= 1 && app.port <= 65535, absl::StrCat("port ", app.port));
      }
    }
    return 0;
  }
  dp::MeshMetricConfig basic;
  basic.exclude = {{"Contains", "rq"}};
  dp::MeshMetricConfig all;
  all.profiles = {"All"};
  all.include = {{"Regex", "^envoy_.*_total$"}};
  for (const auto* config : {&basic, &all}) {
    const std::string filtered = dp::filterEnvoyMetrics(input, *config);
    FUZZ_CHECK(filtered.size() <= input.size() + 1 + std::count(input.begin(), input.end(), '\n'),
               "filtering does not grow the text");
  }
  std::string text(input);
  const std::string labelled = dp::addLabels(text, {{"mesh", "default"}, {"kuma.zone", "z\"1"}});
  size_t lines = std::count(text.begin(), text.end(), '\n');
  if (!text.empty() && text.back() != '\n') {
    ++lines;
  }
  FUZZ_CHECK(static_cast<size_t>(std::count(labelled.begin(), labelled.end(), '\n')) == lines,
             "labelling keeps the lines");
  return 0;
}
