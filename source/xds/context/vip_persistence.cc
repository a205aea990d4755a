#include "source/xds/context/vip_persistence.h"

#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "source/common/json_yaml.h"
#include "source/common/logging.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/mesh_types.h"
#include "source/core/resources/system_types.h"

namespace kuma::xds {
namespace {

const std::string kPrefix = "kuma-";
const std::string kSuffix = "-dns-vips";
constexpr size_t kMaxConfigBytes = 64u << 20;

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

std::string vipConfigText(const MeshContext& context) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  // The view is ordered by (kind, name), which is the order of the keys' text too (one digit).
  for (const auto& [entry, vo] : context.virtualOutboundView().entries()) {
    if (vo.address.empty() || vo.outbounds.empty()) {
      continue;
    }
    nlohmann::ordered_json item;
    item["address"] = vo.address;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const VipOutboundEntry& o : vo.outbounds) {
      nlohmann::ordered_json outbound;
      outbound["Port"] = o.port;
      outbound["TagSet"] = o.tags;
      outbound["Origin"] = o.origin;
      list.push_back(std::move(outbound));
    }
    item["outbounds"] = std::move(list);
    doc[entry.key()] = std::move(item);
  }
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

VipPersistence::VipPersistence(store::ResourceStore& store, const model::TypeRegistry& registry,
                               std::function<bool()> leader, absl::Duration flushInterval)
    : store_(store),
      configType_(registry.byName(resources::kConfigType)),
      meshType_(registry.byName(resources::kMeshType)),
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
  system::v1alpha1::Config config;
  config.set_config(vipConfigText(context));
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
