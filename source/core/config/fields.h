#pragma once

// File: fields.h
// The field table: every configurable leaf of KumaCpConfig declared once, binding its YAML/JSON
// path (Kuma's JSON tags, e.g. "xdsServer.dataplaneConfigurationRefreshInterval"), its
// environment variable (Kuma's envconfig tag upper-cased) and an accessor into the struct.
// YAML loading, environment loading, `GET /config` rendering and the tests all iterate this one
// table, so a key can never be loadable from YAML but missing from the env or the JSON dump.
//
//   for (const FieldDescriptor& f : configFields()) {
//     std::cout << f.path << " " << f.envVar << " = " << f.toJson(cfg) << "\n";
//   }

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "source/core/config/config.h"

namespace kuma::config {

/** How a leaf is typed in YAML and in the environment. */
enum class FieldKind {
  String,
  Bool,
  /** Any integer member; the range comes from the member's C++ type. */
  Integer,
  /** Go duration: YAML string ("1s") or number (nanoseconds); env string. */
  Duration,
  /** YAML list of strings; env comma-separated. */
  StringList,
  /** YAML map of strings; env `k:v,k2:v2`. */
  StringMap,
  /** YAML list of integers; env comma-separated. */
  PortList,
  /** YAML only: `[{kid, key | keyFile, mesh}]`. */
  PublicKeys,
};

/** Mutable pointer to a leaf member, typed. */
using FieldRef = std::variant<std::string*, bool*, int32_t*, int64_t*, uint32_t*, Duration*,
                              StringList*, StringMap*, PortList*, PublicKeyList*>;
/** Read-only pointer to a leaf member, typed. */
using ConstFieldRef = std::variant<const std::string*, const bool*, const int32_t*, const int64_t*,
                                   const uint32_t*, const Duration*, const StringList*,
                                   const StringMap*, const PortList*, const PublicKeyList*>;

/** One configurable leaf. Instances live in the static table returned by configFields(). */
struct FieldDescriptor {
  /** Dotted path of Kuma's JSON keys, e.g. "store.postgres.tls.caPath". */
  std::string path;
  /** Environment variable, e.g. "KUMA_STORE_POSTGRES_TLS_CA_PATH"; empty when YAML-only. */
  std::string envVar;
  FieldKind kind = FieldKind::String;
  /** Rendered as kSanitizedValue by toJson(const KumaCpConfig&). */
  bool sensitive = false;
  std::function<FieldRef(KumaCpConfig&)> ref;
  std::function<ConstFieldRef(const KumaCpConfig&)> cref;

  /** The current value as JSON (not sanitized): durations as Go strings, lists as arrays. */
  nlohmann::ordered_json toJson(const KumaCpConfig& config) const;

  /**
   * Sets the leaf from an environment value, the way Go's envconfig does (ParseBool, ParseInt
   * with base prefixes, comma-separated lists, `k:v` maps, Go durations).
   * @return InvalidArgument with the parser's message (e.g. `time: invalid duration "x"`); the
   *         caller adds the key and variable name.
   */
  absl::Status setFromEnv(KumaCpConfig& config, std::string_view value) const;

  /**
   * Sets the leaf from a YAML value (already converted to JSON), with sigs.k8s.io/yaml +
   * encoding/json semantics: null leaves scalars untouched and clears lists/maps; scalars are
   * accepted for string targets; a number is nanoseconds for durations.
   * @param warnings receives unknown keys inside structured values (public keys).
   * @return InvalidArgument with the reason; the caller adds the key.
   */
  absl::Status setFromYaml(KumaCpConfig& config, const nlohmann::json& value,
                           std::vector<std::string>& warnings) const;
};

/** The table, in the order of Kuma's kuma-cp.defaults.yaml. Built once, never mutated. */
const std::vector<FieldDescriptor>& configFields();

/** The descriptor with exactly this path, or nullptr. */
const FieldDescriptor* findField(std::string_view path);

}  // namespace kuma::config
