#include "source/server/control_plane.h"

#include <unistd.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "source/api_server/api_server.h"
#include "source/common/logging.h"
#include "source/common/version.h"
#include "source/core/defaults/defaults.h"
#include "source/diagnostics/diagnostics_server.h"
#include "source/core/resources/mesh.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/server/all_types.h"

namespace kuma::server {
namespace {

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) {
    return "localhost";
  }
  return buf;
}

std::string randomHex(size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[rd() % 16];
  }
  return out;
}

std::string uuid() {
  const std::string h = randomHex(32);
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-4", h.substr(13, 3), "-a",
                      h.substr(17, 3), "-", h.substr(20, 12));
}

uint16_t port(uint32_t p) {
  return static_cast<uint16_t>(p);
}

}  // namespace

ControlPlane::~ControlPlane() {
  stop();
}

absl::StatusOr<std::unique_ptr<ControlPlane>> ControlPlane::create(
    std::shared_ptr<const config::KumaCpConfig> config) {
  const config::KumaCpConfig& cfg = *config;
  if (cfg.environment != "universal") {
    return absl::UnimplementedError(absl::StrCat("environment \"", cfg.environment,
                                                 "\" is not supported yet (only universal)"));
  }
  if (cfg.mode == "global") {
    return absl::UnimplementedError("mode \"global\" (multizone) is not supported yet");
  }
  std::unique_ptr<ControlPlane> cp(new ControlPlane());
  cp->config_ = config;
  if (cfg.store.type != "memory") {
    return absl::UnimplementedError(
        absl::StrCat("store type \"", cfg.store.type, "\" is not supported yet (only memory)"));
  }
  cp->store_ = memory::newMemoryStore();
  const model::TypeRegistry& registry = allTypes();
  manager::Options managerOptions;
  managerOptions.zone = cfg.multizone.zone.name;
  managerOptions.unsafeDelete = cfg.store.unsafeDelete;
  managerOptions.upsertConflictRetries = static_cast<int>(cfg.store.upsert.conflictRetryMaxTimes);
  managerOptions.upsertRetryBaseBackoff =
      absl::FromChrono(cfg.store.upsert.conflictRetryBaseBackoff);
  cp->manager_ = std::make_unique<manager::ResourceManager>(*cp->store_, registry, managerOptions);

  // Rules that need the previous version of a resource.
  cp->manager_->setUpdateValidator("Mesh",
                                   [](const model::Resource& old, const model::Resource& updated) {
                                     return resources::validateMeshUpdate(old, updated);
                                   });

  defaults::DefaultsOptions defaultsOptions;
  defaultsOptions.skipMeshCreation = cfg.defaults.skipMeshCreation;
  defaultsOptions.skipTenantResources = cfg.defaults.skipTenantResources;
  defaultsOptions.createMeshRoutingResources = cfg.defaults.createMeshRoutingResources;
  defaults::installMeshDefaults(*cp->manager_, registry, defaultsOptions);
  cp->components_.add(
      std::make_unique<defaults::DefaultsComponent>(*cp->manager_, registry, defaultsOptions));

  if (cfg.apiServer.http.enabled) {
    api_server::ApiServerOptions api;
    api.interface = cfg.apiServer.http.interface;
    api.port = port(cfg.apiServer.http.port);
    api.readOnly = cfg.apiServer.readOnly;
    api.localhostIsAdmin = cfg.apiServer.authn.localhostIsAdmin;
    api.guiEnabled = cfg.apiServer.gui.enabled;
    api.guiBasePath = cfg.apiServer.gui.basePath;
    api.version = version::kKumaCompatible;
    api.buildVersion =
        absl::StrCat("kuma-cpp/", version::kBuildVersion, " (", version::kGitCommit, ")");
    api.hostname = hostname();
    api.instanceId = absl::StrCat(api.hostname, "-", randomHex(4));
    api.clusterId = uuid();
    api.configJson = [config] { return config::toJson(*config); };
    cp->components_.add(
        std::make_unique<api_server::ApiServer>(std::move(api), *cp->manager_, registry));
  }

  diagnostics::DiagnosticsOptions diag;
  diag.port = port(cfg.diagnostics.serverPort);
  ControlPlane* self = cp.get();
  diag.ready = [self] { return self->ready(); };
  cp->components_.add(std::make_unique<diagnostics::DiagnosticsServer>(std::move(diag)));
  return cp;
}

}  // namespace kuma::server
