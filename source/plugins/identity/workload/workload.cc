#include "source/plugins/identity/workload/workload.h"

#include "absl/strings/str_cat.h"
#include "source/core/manager/resource_manager.h"

namespace kuma::identity::workload {
namespace {

using namespace policies;  // NOLINT: the schema builders

constexpr size_t kMaxNameLength = 253;

// Go marshals the non-pointer `dataplaneProxies` struct even when empty, with its three counters.
SchemaPtr statusSchema() {
  return object({
      field("dataplaneProxies", withDefault(object({
                                                required("connected", int32()),
                                                required("healthy", int32()),
                                                required("total", int32()),
                                            }),
                                            {{"connected", 0}, {"healthy", 0}, {"total", 0}})),
  });
}

// Kuma's validate(): the display name (the `kuma.io/display-name` label, else the name) is at
// most 253 characters.
void validateResource(const model::Resource& resource, validators::ValidationError& errors) {
  auto it = resource.meta.labels.find(std::string(manager::kDisplayNameLabel));
  const std::string& name = it != resource.meta.labels.end() ? it->second : resource.meta.name;
  if (name.size() > kMaxNameLength) {
    errors.addViolationAt(validators::PathBuilder("name"),
                          absl::StrCat("must not be longer than ", kMaxNameLength, " characters"));
  }
}

}  // namespace

PolicyDefinition definition() {
  PolicyDefinition d;
  d.name = "Workload";
  d.wsPath = "workloads";
  d.shortName = "wl";
  d.singularDisplayName = "Workload";
  d.pluralDisplayName = "Workloads";
  d.isPolicy = false;
  d.includeInFederation = false;
  d.schema = object({});
  d.statusSchema = statusSchema();
  d.validateResource = validateResource;
  return d;
}

}  // namespace kuma::identity::workload
