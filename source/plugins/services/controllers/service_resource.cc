#include "source/plugins/services/controllers/service_resource.h"

#include <algorithm>
#include <tuple>

#include "source/common/logging.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/store/errors.h"
#include "source/plugins/policies/core/schema_spec.h"

namespace kuma::services {

SpecAndStatus specAndStatusOf(const model::Resource& resource) {
  SpecAndStatus out;
  if (const policies::SchemaSpec* spec = policies::schemaSpecOf(resource)) {
    out.spec = spec->spec();
    if (const nlohmann::ordered_json* status = spec->status()) {
      out.status = *status;
    }
  }
  return out;
}

absl::StatusOr<model::Resource> withSpecAndStatus(const model::Resource& resource,
                                                  const nlohmann::json& spec,
                                                  const nlohmann::json& status) {
  if (resource.descriptor == nullptr || !resource.descriptor->parseSpec) {
    return absl::InternalError("resource without a type");
  }
  auto parsed = resource.descriptor->parseSpec(nlohmann::json{{"spec", spec}, {"status", status}});
  if (!parsed.ok()) {
    return parsed.status();
  }
  model::Resource out = resource;
  out.spec = std::move(*parsed);
  return out;
}

absl::Status writeSpecAndStatus(manager::ResourceManager& manager, const model::Resource& resource,
                                const nlohmann::json& spec, const nlohmann::json& status,
                                std::string_view component, std::string_view what) {
  auto next = withSpecAndStatus(resource, spec, status);
  absl::Status written =
      next.ok() ? manager.updateGenerated(std::move(*next)).status() : next.status();
  auto log = logging::logger(std::string(component));
  if (store::isConflict(written)) {
    log->info(
        "couldn't update the {} of {} {} (mesh {}): it was modified in another place; will "
        "try again in the next interval",
        what, resource.descriptor->name, resource.meta.name, resource.meta.mesh);
  } else if (!written.ok()) {
    log->error("couldn't update the {} of {} {} (mesh {}): {}", what, resource.descriptor->name,
               resource.meta.name, resource.meta.mesh, written.ToString());
  }
  return written;
}

std::vector<model::ResourceConstSharedPtr> byCreationTime(
    std::vector<model::ResourceConstSharedPtr> items) {
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return std::tie(a->meta.creationTime, a->meta.name) <
           std::tie(b->meta.creationTime, b->meta.name);
  });
  return items;
}

bool isLocalResource(const model::Resource& resource) {
  auto it = resource.meta.labels.find(manager::kOriginLabel);
  return it == resource.meta.labels.end() || it->second == "zone";
}

bool labelSelectorMatches(const nlohmann::json& selector,
                          const std::map<std::string, std::string>& labels) {
  auto match = selector.find("matchLabels");
  if (match == selector.end() || !match->is_object()) {
    return true;
  }
  for (const auto& [key, value] : match->items()) {
    auto it = labels.find(key);
    if (it == labels.end() || !value.is_string() ||
        it->second != value.get_ref<const std::string&>()) {
      return false;
    }
  }
  return true;
}

bool tagSelectorMatches(const nlohmann::json& selector,
                        const google::protobuf::Map<std::string, std::string>& tags) {
  if (!selector.is_object()) {
    return false;
  }
  for (const auto& [key, value] : selector.items()) {
    auto it = tags.find(key);
    if (it == tags.end() || !value.is_string()) {
      return false;
    }
    const std::string& want = value.get_ref<const std::string&>();
    if (want != "*" && want != it->second) {
      return false;
    }
  }
  return true;
}

bool dataplaneInsightOnline(const mesh::v1alpha1::DataplaneInsight& insight) {
  for (const auto& subscription : insight.subscriptions()) {
    if (subscription.has_connect_time() && !subscription.has_disconnect_time()) {
      return true;
    }
  }
  return false;
}

}  // namespace kuma::services
