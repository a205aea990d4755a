// Fuzz target: the kuma-cp configuration loader (docs/fuzzing.md).
//
// Input: a YAML config file, optionally followed by a line `#KUMA_ENV` and then environment
// variables, one `NAME=VALUE` a line. The loader runs defaults → YAML → environment → validate()
// (loadConfigFromString), then autoconfigure() and toJson() (`GET /config`). The oracle: the
// effective configuration, written as YAML, loads again (same environment) to the same one.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/absl_compat.h"
#include "source/common/json_yaml.h"
#include "source/core/config/config.h"
#include "source/core/config/loader.h"
#include "test/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;  // NOLINT
  const std::string_view input = fuzz::asText(data, size);
  constexpr std::string_view kMarker = "\n#KUMA_ENV\n";
  std::string_view yaml = input;
  config::Environment env;
  if (const size_t at = input.find(kMarker); at != std::string_view::npos) {
    yaml = input.substr(0, at);
    for (absl::string_view line :
         absl::StrSplit(common::av(input.substr(at + kMarker.size())), '\n')) {
      const size_t eq = line.find('=');
      if (eq != absl::string_view::npos) {
        env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
      }
    }
  }
  auto loaded = config::loadConfigFromString(yaml, env);
  if (!loaded.ok()) {
    return 0;
  }
  env.emplace("HOME", "/home/kuma");
  const absl::Status autoconfigured = config::autoconfigure(loaded->config, env);
  FUZZ_CHECK(autoconfigured.ok(), autoconfigured.ToString());
  // Dumped the way GET /config must (Go's json.Marshal): bytes that are not UTF-8 (the
  // environment is not checked) become U+FFFD instead of an exception.
  auto dump = [](const nlohmann::ordered_json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  const nlohmann::ordered_json effective = config::toJson(loaded->config);
  const std::string effectiveText = dump(effective);

  // What `GET /config` shows, loaded as a config file with the same environment, is the same
  // configuration (the sanitized password reads back as the placeholder, sanitized again). The
  // environment is needed: a map from the environment replaces the default one, while a map
  // from YAML is merged into it (Go's encoding/json), so the file alone can differ.
  // Written from the dumped text, as a user would save it: non-UTF-8 bytes from the environment
  // are U+FFFD there (a config file must be UTF-8), and the environment overrides them again.
  const std::string yamlAgain = common::toYaml(nlohmann::ordered_json::parse(effectiveText));
  auto again = config::loadConfigFromString(yamlAgain, env);
  FUZZ_CHECK(again.ok(), absl::StrCat("the effective configuration does not load: ",
                                      again.status().ToString(), "\n", yamlAgain));
  const absl::Status autoconfiguredAgain = config::autoconfigure(again->config, env);
  FUZZ_CHECK(autoconfiguredAgain.ok(), autoconfiguredAgain.ToString());
  const std::string effectiveAgain = dump(config::toJson(again->config));
  FUZZ_CHECK(effectiveAgain == effectiveText,
             absl::StrCat("the effective configuration changed through YAML:\n", effectiveText,
                          "\n", effectiveAgain));
  return 0;
}
