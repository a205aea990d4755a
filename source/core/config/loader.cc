#include "source/core/config/loader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "source/common/absl_compat.h"
#include "source/common/json_yaml.h"
#include "source/core/config/fields.h"

extern char** environ;  // NOLINT: POSIX

namespace kuma::config {
namespace {

using common::av;

// A value in an error message; never throws (a string that is not UTF-8 is shown with U+FFFD).
std::string shown(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The field table as a tree of YAML keys, for walking a document.
struct KeyNode {
  std::vector<std::pair<std::string, std::unique_ptr<KeyNode>>> children;
  const FieldDescriptor* field = nullptr;

  KeyNode* child(const std::string& name) {
    for (auto& [key, node] : children) {
      if (key == name) {
        return node.get();
      }
    }
    children.emplace_back(name, std::make_unique<KeyNode>());
    return children.back().second.get();
  }

  // encoding/json: an exact match wins, otherwise the first case-insensitive one.
  const KeyNode* match(std::string_view name) const {
    for (const auto& [key, node] : children) {
      if (key == name) {
        return node.get();
      }
    }
    for (const auto& [key, node] : children) {
      if (absl::EqualsIgnoreCase(key, av(name))) {
        return node.get();
      }
    }
    return nullptr;
  }
};

const KeyNode& keyTree() {
  static const KeyNode* const kTree = [] {
    auto* root = new KeyNode();
    for (const FieldDescriptor& f : configFields()) {
      KeyNode* node = root;
      for (absl::string_view segment : absl::StrSplit(f.path, '.')) {
        node = node->child(std::string(segment));
      }
      node->field = &f;
    }
    return root;
  }();
  return *kTree;
}

void walk(KumaCpConfig& config, const KeyNode& node, const nlohmann::json& object,
          const std::string& prefix, std::vector<std::string>& warnings,
          std::vector<std::string>& errors) {
  for (const auto& [key, value] : object.items()) {
    const std::string path = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
    const KeyNode* child = node.match(key);
    if (child == nullptr) {
      warnings.push_back(absl::StrCat("unknown configuration key \"", path, "\""));
      continue;
    }
    if (child->field != nullptr) {
      const absl::Status status = child->field->setFromYaml(config, value, warnings);
      if (!status.ok()) {
        errors.push_back(absl::StrCat("invalid value ", shown(value), " for ", child->field->path,
                                      ": ", status.message()));
      }
      continue;
    }
    if (value.is_null()) {
      continue;  // encoding/json: null into a struct is a no-op
    }
    if (!value.is_object()) {
      errors.push_back(absl::StrCat("invalid value ", shown(value), " for ", path,
                                    ": cannot unmarshal ", value.type_name(), " into an object"));
      continue;
    }
    walk(config, *child, value, path, warnings, errors);
  }
}

absl::Status joinErrors(const std::vector<std::string>& errors) {
  if (errors.empty()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
}

absl::StatusOr<LoadedConfig> finishLoading(LoadedConfig loaded, const nlohmann::json* document,
                                           const Environment& env) {
  if (document != nullptr) {
    const absl::Status status = applyYaml(loaded.config, *document, loaded.warnings);
    if (!status.ok()) {
      return status;
    }
  }
  const absl::Status envStatus = applyEnvironment(loaded.config, env, loaded.warnings);
  if (!envStatus.ok()) {
    return envStatus;
  }
  if (loaded.config.mode == "standalone") {
    loaded.warnings.push_back("mode \"standalone\" is deprecated, use \"zone\" instead");
  }
  const absl::Status valid = validate(loaded.config);
  if (!valid.ok()) {
    return valid;
  }
  return loaded;
}

}  // namespace

absl::Status applyYaml(KumaCpConfig& config, const nlohmann::json& document,
                       std::vector<std::string>& warnings) {
  if (document.is_null()) {
    return absl::OkStatus();
  }
  if (!document.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid configuration document: cannot unmarshal ", document.type_name(),
                     " into an object"));
  }
  std::vector<std::string> errors;
  walk(config, keyTree(), document, "", warnings, errors);
  return joinErrors(errors);
}

absl::Status applyEnvironment(KumaCpConfig& config, const Environment& env,
                              std::vector<std::string>& warnings) {
  std::vector<std::string> errors;
  for (const FieldDescriptor& f : configFields()) {
    if (f.envVar.empty()) {
      continue;
    }
    auto it = env.find(f.envVar);
    if (it == env.end()) {
      continue;
    }
    const absl::Status status = f.setFromEnv(config, it->second);
    if (!status.ok()) {
      errors.push_back(absl::StrCat("invalid value \"", it->second, "\" for ", f.path, " (",
                                    f.envVar, "): ", status.message()));
    }
  }
  // pkg/config/app/kuma-cp/deprecate.go
  for (const auto& [old, replacement] :
       {std::pair<std::string_view, std::string_view>{"KUMA_METRICS_MESH_MIN_RESYNC_TIMEOUT",
                                                      "KUMA_METRICS_MESH_MIN_RESYNC_INTERVAL"},
        {"KUMA_METRICS_MESH_MAX_RESYNC_TIMEOUT", "KUMA_METRICS_MESH_FULL_RESYNC_INTERVAL"}}) {
    if (env.count(std::string(old)) > 0) {
      warnings.push_back(
          absl::StrCat(av(old), " is deprecated and ignored, use ", av(replacement), " instead"));
    }
  }
  return joinErrors(errors);
}

absl::StatusOr<LoadedConfig> loadConfig(const std::optional<std::string>& yamlFile,
                                        const Environment& env) {
  if (!yamlFile.has_value()) {
    return finishLoading(LoadedConfig{}, nullptr, env);
  }
  std::ifstream in(*yamlFile, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("failed to read configuration file \"", *yamlFile,
                                            "\": ", std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto document = common::parseYaml(buffer.str());
  if (!document.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("failed to parse configuration file \"",
                                                   *yamlFile, "\": ", document.status().message()));
  }
  return finishLoading(LoadedConfig{}, &*document, env);
}

absl::StatusOr<LoadedConfig> loadConfigFromString(std::string_view yaml, const Environment& env) {
  auto document = common::parseYaml(yaml);
  if (!document.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to parse configuration: ", document.status().message()));
  }
  return finishLoading(LoadedConfig{}, &*document, env);
}

Environment processEnvironment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view kv(*entry);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

void inheritGeneralTls(KumaCpConfig& config) {
  const GeneralConfig& general = config.general;
  auto inherit = [&general](std::string& cert, std::string& key) {
    if (cert.empty()) {
      cert = general.tlsCertFile;
      key = general.tlsKeyFile;
    }
  };
  inherit(config.dpServer.tlsCertFile, config.dpServer.tlsKeyFile);
  inherit(config.apiServer.https.tlsCertFile, config.apiServer.https.tlsKeyFile);
  inherit(config.monitoringAssignmentServer.tlsCertFile,
          config.monitoringAssignmentServer.tlsKeyFile);
  inherit(config.diagnostics.tlsCertFile, config.diagnostics.tlsKeyFile);
  inherit(config.multizone.global.kds.tlsCertFile, config.multizone.global.kds.tlsKeyFile);
}

absl::Status autoconfigure(KumaCpConfig& config, const Environment& env) {
  if (config.general.workDir.empty()) {
    auto home = env.find("HOME");
    if (home == env.end() || home->second.empty()) {
      return absl::FailedPreconditionError(
          "general.workDir is empty and $HOME is not defined to derive it");
    }
    std::string dir = home->second;
    while (dir.size() > 1 && dir.back() == '/') {
      dir.pop_back();
    }
    config.general.workDir = dir == "/" ? "/.kuma" : dir + "/.kuma";
  }
  if (config.bootstrapServer.params.xdsPort == 0) {
    config.bootstrapServer.params.xdsPort = config.dpServer.port;
  }
  const bool kubernetes = config.environment == "kubernetes";
  if (config.dpServer.authn.dpProxy.type.empty()) {
    config.dpServer.authn.dpProxy.type = kubernetes ? "serviceAccountToken" : "dpToken";
  }
  if (config.dpServer.authn.zoneProxy.type.empty()) {
    config.dpServer.authn.zoneProxy.type = kubernetes ? "serviceAccountToken" : "zoneToken";
  }
  if (config.store.type == "kubernetes") {
    config.dpServer.authn.enableReloadableTokens = true;
  }
  inheritGeneralTls(config);
  return absl::OkStatus();
}

}  // namespace kuma::config
