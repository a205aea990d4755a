#pragma once

// A strict reader of the Prometheus text format for the metrics tests: every line must be a
// `# HELP`, a `# TYPE` or a sample `name{label="value",...} number`; anything else fails.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kuma::metrics::testing {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family → counter | gauge | histogram | …
  std::vector<Sample> samples;

  /** Samples named `name` whose labels include every entry of `labels`. */
  std::vector<Sample> find(const std::string& name,
                           const std::map<std::string, std::string>& labels = {}) const;
  /** The value of the single matching sample; nullopt for none or several. */
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const;
};

absl::StatusOr<Exposition> parseExposition(const std::string& text);

}  // namespace kuma::metrics::testing
