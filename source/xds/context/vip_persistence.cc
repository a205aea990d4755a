#include "source/xds/context/vip_persistence.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "api/mesh/v1alpha1/external_service.pb.h"
#include "source/common/json_yaml.h"
#include "source/common/logging.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/core/resources/system_types.h"
#include "source/core/resources/validation_helpers.h"
#include "source/xds/envoy/inbound_tls.h"

namespace kuma::xds {
namespace {

using mesh::v1alpha1::Dataplane;
using mesh::v1alpha1::ExternalService;

const std::string kPrefix = "kuma-";
const std::string kSuffix = "-dns-vips";
constexpr size_t kMaxConfigBytes = 64u << 20;

// One OutboundEntry of Kuma's view (its JSON uses Go's field names).
struct Outbound {
  uint32_t port = 0;
  std::string service;
  std::string origin;
};

// Kuma's VirtualOutboundMeshView.Add: a second outbound on a port already taken is dropped.
void add(std::map<std::string, std::vector<Outbound>>& view, const std::string& key,
         Outbound outbound) {
  auto& list = view[key];
  for (const Outbound& o : list) {
    if (o.port == outbound.port) {
      return;
    }
  }
  list.push_back(std::move(outbound));
  std::stable_sort(list.begin(), list.end(),
                   [](const Outbound& a, const Outbound& b) { return a.port < b.port; });
}

// ExternalService `networking.address` is host:port.
std::pair<std::string, uint32_t> hostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return {address, 0};
  }
  return {address.substr(0, colon), port};
}

}  // namespace

std::string vipConfigName(std::string_view mesh) {
  return kPrefix + std::string(mesh) + kSuffix;
}

std::string meshOfVipConfig(std::string_view name) {
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.substr(0, kPrefix.size()) != kPrefix ||
      name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return "";
  }
  return std::string(name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size()));
}

absl::StatusOr<std::map<std::string, std::string>> parseVipConfig(std::string_view text) {
  std::map<std::string, std::string> view;
  if (text.empty()) {
    return view;
  }
  if (text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError("VIP config larger than 64 MiB");
  }
  auto doc = common::parseJson(text);
  if (!doc.ok()) {
    return doc.status();
  }
  if (!doc->is_object()) {
    return absl::InvalidArgumentError("VIP config is not a JSON object");
  }
  if (doc->contains("perService") || doc->contains("PerService")) {
    return absl::InvalidArgumentError("VIP config in the tag-first layout is not supported");
  }
  for (const auto& [key, value] : doc->items()) {
    // HostnameEntry text: "<type number>:<name>".
    const size_t colon = key.find(':');
    int kind = 0;
    if (colon == std::string::npos || colon == 0 || colon + 1 == key.size() ||
        !absl::SimpleAtoi(key.substr(0, colon), &kind) || kind < 0 || kind > 2) {
      return absl::InvalidArgumentError(absl::StrCat("VIP config: bad entry \"", key, "\""));
    }
    if (!value.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("VIP config: entry \"", key, "\" is not an object"));
    }
    auto address = value.find("address");
    if (address == value.end() || !address->is_string() ||
        address->get_ref<const std::string&>().empty()) {
      continue;
    }
    view[absl::StrCat(kind, ":", key.substr(colon + 1))] = address->get<std::string>();
  }
  return view;
}

std::string vipConfigText(const MeshContext& context,
                          const std::vector<model::ResourceConstSharedPtr>& listed) {
  std::map<std::string, std::vector<Outbound>> outbounds;
  const std::string serviceTag(resources::kServiceTag);
  for (const auto& dp : context.dataplanes()) {
    const auto* spec = model::protoSpecOf<Dataplane>(*dp);
    if (spec == nullptr) {
      continue;
    }
    for (const auto& inbound : spec->networking().inbound()) {
      auto svc = inbound.tags().find(serviceTag);
      if (svc == inbound.tags().end() || svc->second.empty() ||
          inbound.state() == Dataplane::Networking::Inbound::Ignored ||
          inbound.port() == kTcpPortReserved) {
        continue;
      }
      add(outbounds, absl::StrCat("0:", svc->second), {0, svc->second, "service"});
    }
  }
  std::vector<model::ResourceConstSharedPtr> externalServices = listed;
  std::erase(externalServices, nullptr);
  std::sort(externalServices.begin(), externalServices.end(),
            [](const auto& a, const auto& b) { return a->meta.name < b->meta.name; });
  for (const auto& es : externalServices) {
    const auto* spec = model::protoSpecOf<ExternalService>(*es);
    if (spec == nullptr) {
      continue;
    }
    auto svc = spec->tags().find(serviceTag);
    const std::string service = svc == spec->tags().end() ? "" : svc->second;
    const auto [host, esPort] = hostPort(spec->networking().address());
    const uint32_t port = esPort;
    if (!service.empty()) {
      add(outbounds, absl::StrCat("0:", service), {port, service, "service"});
    }
    if (!spec->networking().disable_host_dns_entry() && !host.empty()) {
      add(outbounds, absl::StrCat("1:", host),
          {port, service, absl::StrCat("external-service:", es->meta.name)});
    }
  }
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  for (const auto& [key, address] : context.vipAllocation()) {  // sorted as Go sorts map keys
    auto it = outbounds.find(key);
    if (it == outbounds.end() || address.empty()) {
      continue;
    }
    nlohmann::ordered_json entry;
    entry["address"] = address;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const Outbound& o : it->second) {
      nlohmann::ordered_json item;
      item["Port"] = o.port;
      item["TagSet"] = {{serviceTag, o.service}};
      item["Origin"] = o.origin;
      list.push_back(std::move(item));
    }
    entry["outbounds"] = std::move(list);
    doc[key] = std::move(entry);
  }
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

VipPersistence::VipPersistence(store::ResourceStore& store, const model::TypeRegistry& registry,
                               std::function<bool()> leader, absl::Duration flushInterval)
    : store_(store),
      configType_(registry.byName(resources::kConfigType)),
      meshType_(registry.byName(resources::kMeshType)),
      esType_(registry.byName(resources::kExternalServiceType)),
      leader_(std::move(leader)),
      flushInterval_(flushInterval) {
  thread_ = std::thread([this] { loop(); });
}

VipPersistence::~VipPersistence() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  flush();
}

std::map<std::string, std::string> VipPersistence::load(const std::string& mesh) {
  std::map<std::string, std::string> view;
  if (configType_ == nullptr) {
    return view;
  }
  auto log = logging::logger("dns-vips");
  auto stored = store_.get(*configType_, {vipConfigName(mesh), ""});
  if (stored.ok()) {
    const auto* spec = model::protoSpecOf<system::v1alpha1::Config>(**stored);
    auto parsed = parseVipConfig(spec == nullptr ? "" : spec->config());
    if (parsed.ok()) {
      view = std::move(*parsed);
    } else {
      log->warn("ignoring the stored VIPs of mesh {}: {}", mesh,
                std::string(parsed.status().message()));
    }
  } else if (!absl::IsNotFound(stored.status())) {
    log->warn("could not read the stored VIPs of mesh {}: {}", mesh,
              std::string(stored.status().message()));
  }
  absl::MutexLock lock(&mu_);
  known_[mesh] = view;
  return view;
}

void VipPersistence::save(MeshContextConstSharedPtr context) {
  if (context == nullptr || configType_ == nullptr || meshType_ == nullptr ||
      (leader_ && !leader_())) {
    return;
  }
  const std::string& mesh = context->meshName();
  absl::MutexLock lock(&mu_);
  auto it = known_.find(mesh);
  if (it != known_.end() && it->second == context->vipAllocation()) {
    pending_.erase(mesh);  // moved back before it was written
    return;
  }
  pending_[mesh] = std::move(context);
}

void VipPersistence::flush() {
  absl::MutexLock writer(&writeMu_);
  std::map<std::string, MeshContextConstSharedPtr> batch;
  {
    absl::MutexLock lock(&mu_);
    batch.swap(pending_);
  }
  for (const auto& [mesh, context] : batch) {
    write(*context);
  }
}

void VipPersistence::loop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.Await(absl::Condition(
        +[](VipPersistence* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
          return self->stopping_ || !self->pending_.empty();
        },
        this));
    if (stopping_) {
      break;
    }
    // Let a burst of allocations settle, then write the latest of each mesh.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), flushInterval_);
    mu_.Unlock();
    flush();
    mu_.Lock();
  }
}

void VipPersistence::write(const MeshContext& context) {
  if (leader_ && !leader_()) {
    return;
  }
  const std::string& mesh = context.meshName();
  auto log = logging::logger("dns-vips");
  std::vector<model::ResourceConstSharedPtr> externalServices;
  if (esType_ != nullptr) {
    store::ListOptions byMesh;
    byMesh.mesh = mesh;
    auto listed = store_.list(*esType_, byMesh);
    if (!listed.ok()) {
      log->warn("could not store the VIPs of mesh {}: {}", mesh,
                std::string(listed.status().message()));
      return;
    }
    externalServices = std::move(listed->items);
  }
  system::v1alpha1::Config config;
  config.set_config(vipConfigText(context, externalServices));
  model::Resource resource;
  resource.descriptor = configType_;
  resource.meta.name = vipConfigName(mesh);
  resource.spec = resources::makeConfigSpec(std::move(config));
  absl::Status status;
  auto existing = store_.get(*configType_, {resource.meta.name, ""});
  if (existing.ok()) {
    resource.meta.version = (*existing)->meta.version;
    status = store_.update(std::move(resource)).status();
  } else if (absl::IsNotFound(existing.status())) {
    store::CreateOptions options;
    options.owner = store::TypedResourceKey{meshType_, {mesh, ""}};
    status = store_.create(std::move(resource), options).status();
  } else {
    status = existing.status();
  }
  if (!status.ok()) {
    log->warn("could not store the VIPs of mesh {}: {}", mesh, std::string(status.message()));
    return;
  }
  log->debug("stored {} VIPs of mesh {}", context.vipAllocation().size(), mesh);
  absl::MutexLock lock(&mu_);
  known_[mesh] = context.vipAllocation();
}

void VipPersistence::forget(const std::string& mesh) {
  absl::MutexLock lock(&mu_);
  known_.erase(mesh);
}

}  // namespace kuma::xds
