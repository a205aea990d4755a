#pragma once

// File: loader.h
// Loading kuma-cp's configuration the way Kuma 2.14 does (pkg/config/loader.go):
//   1. built-in defaults (KumaCpConfig{}),
//   2. the YAML file given with `kuma-cp run -c FILE`: sigs.k8s.io/yaml semantics, i.e. keys are
//      matched case-insensitively (Go encoding/json) and a duration is a Go duration string or a
//      number of nanoseconds; unknown keys are not an error (Kuma ignores them, we also report
//      them as warnings),
//   3. KUMA_* environment variables (envconfig semantics),
//   4. validate().
// Then, at start, autoconfigure() fills the values Kuma derives from others (workDir, xdsPort...).
//
//   auto env = kuma::config::processEnvironment();
//   KUMA_ASSIGN_OR_RETURN(auto loaded, kuma::config::loadConfig(configFile, env));
//   for (const auto& w : loaded.warnings) { KUMA_LOG(warn, "{}", w); }
//   KUMA_RETURN_IF_ERROR(kuma::config::autoconfigure(loaded.config, env));

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "source/core/config/config.h"

namespace kuma::config {

using Environment = std::map<std::string, std::string>;

/** A loaded, validated configuration plus the non-fatal findings made while loading it. */
struct LoadedConfig {
  KumaCpConfig config;
  /** e.g. `unknown configuration key "xdsServer.foo"`, deprecation notices. */
  std::vector<std::string> warnings;
};

/**
 * Defaults → YAML file → environment → validate().
 * @param yamlFile path given with `-c`; std::nullopt for none.
 * @param env the process environment (processEnvironment()), explicit for testability.
 * @return the config, or NotFound (unreadable file) / InvalidArgument (malformed YAML, a value
 *         that does not parse — the message names the key, the env var if any and the value —
 *         or failed validation, listing every violation).
 */
absl::StatusOr<LoadedConfig> loadConfig(const std::optional<std::string>& yamlFile,
                                        const Environment& env);

/** Like loadConfig(), with the YAML document given as text (empty text: no document). */
absl::StatusOr<LoadedConfig> loadConfigFromString(std::string_view yaml, const Environment& env);

/**
 * Applies a parsed YAML document (as JSON) on top of `config`. Does not validate.
 * @param warnings receives one `unknown configuration key "a.b"` per unknown key.
 * @return InvalidArgument listing every value that could not be applied (the others are applied).
 */
absl::Status applyYaml(KumaCpConfig& config, const nlohmann::json& document,
                       std::vector<std::string>& warnings);

/**
 * Applies every variable of the field table present in `env`. Unknown KUMA_* variables are
 * ignored (as in Kuma). Does not validate.
 * @param warnings receives deprecation notices.
 * @return InvalidArgument listing every variable whose value does not parse.
 */
absl::Status applyEnvironment(KumaCpConfig& config, const Environment& env,
                              std::vector<std::string>& warnings);

/** A copy of the current process environment. */
Environment processEnvironment();

/**
 * The config-level part of Kuma's autoconfiguration (pkg/core/bootstrap/autoconfig.go), minus
 * certificate generation and network-interface probing:
 *   - general.workDir empty → $HOME/.kuma (HOME read from `env`);
 *   - bootstrapServer.params.xdsPort 0 → dpServer.port;
 *   - dpServer.authn.dpProxy.type / zoneProxy.type empty → dpToken / zoneToken on Universal,
 *     serviceAccountToken on Kubernetes;
 *   - dpServer.authn.enableReloadableTokens forced true with the kubernetes store;
 *   - inheritGeneralTls().
 * Idempotent. @return FailedPrecondition when workDir must be derived but HOME is unset.
 */
absl::Status autoconfigure(KumaCpConfig& config, const Environment& env);

/**
 * Empty cert/key files of dpServer, apiServer.https, monitoringAssignmentServer, diagnostics and
 * multizone.global.kds take general.tlsCertFile / tlsKeyFile. Call again after the runtime has
 * generated general's certificate. Idempotent.
 */
void inheritGeneralTls(KumaCpConfig& config);

}  // namespace kuma::config
