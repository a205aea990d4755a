#include "source/plugins/policies/core/inbound_policies.h"

#include <string>

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/policies/core/rules.h"
#include "source/xds/context/mesh_context.h"

namespace kuma::policies {

std::vector<const nlohmann::json*> specsForInbound(const xds::ProxyContext& proxy,
                                                   std::string_view type,
                                                   const std::vector<const nlohmann::json*>& specs,
                                                   int inboundIndex) {
  if (proxy.mesh == nullptr || proxy.dataplane == nullptr) {
    return specs;
  }
  const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane);
  if (dp == nullptr || inboundIndex < 0 || inboundIndex >= dp->networking().inbound_size()) {
    return specs;
  }
  const auto& inbound = dp->networking().inbound(inboundIndex);
  ProxyView view;
  view.name = proxy.dataplane->meta.name;
  view.labels = proxy.dataplane->meta.labels;
  view.inboundTags.emplace_back(inbound.tags().begin(), inbound.tags().end());
  const std::vector<xds::PolicyEntry>& entries = proxy.mesh->policies(type);
  std::vector<const nlohmann::json*> out;
  for (const nlohmann::json* spec : specs) {
    const xds::PolicyEntry* entry = nullptr;
    for (const xds::PolicyEntry& e : entries) {
      if (e.spec == spec) {
        entry = &e;
        break;
      }
    }
    if (entry == nullptr) {
      out.push_back(spec);
      continue;
    }
    const TargetRef& ref = entry->targetRef;
    if (ref.kind == "Dataplane" && !ref.sectionName.empty()) {
      if (ref.sectionName != inbound.name() && ref.sectionName != std::to_string(inbound.port())) {
        continue;
      }
    }
    if (selectsProxy(ref, view)) {
      out.push_back(spec);
    }
  }
  return out;
}

}  // namespace kuma::policies
