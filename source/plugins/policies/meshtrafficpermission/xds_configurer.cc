#include "source/plugins/policies/meshtrafficpermission/xds_configurer.h"

#include "absl/strings/str_join.h"
#include "api/mesh/v1alpha1/traffic_permission.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "source/common/logging.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/policies/trafficroute/xds_configurer.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/inbound_tls.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::meshtrafficpermission {

using xds::kTlsTransportSocket;

std::shared_ptr<const mtp::MeshPermissions> permissionsOf(const xds::MeshContext& context) {
  return context.memo<mtp::MeshPermissions>(
      "mtp|permissions", [&]() -> std::shared_ptr<const mtp::MeshPermissions> {
        std::vector<model::ResourceConstSharedPtr> mtps;
        for (const xds::PolicyEntry& entry : context.policies(xds::kMeshTrafficPermission)) {
          mtps.push_back(entry.resource);
        }
        return std::make_shared<const mtp::MeshPermissions>(mtp::MeshPermissions::build(
            context.meshName(), context.mesh(), mtps, context.trafficPermissions()));
      });
}

std::string_view XdsConfigurer::policyType() const {
  return xds::kMeshTrafficPermission;
}

int XdsConfigurer::order() const {
  return 1100;  // Kuma's MeshTrafficPermission order
}

// Traffic permissions (spec §8.4): each inbound's RBAC on its filter chains that carry Kuma's mTLS
// transport socket. PERMISSIVE's plaintext and application-TLS chains carry no client identity
// for the principals to match, so, as in Kuma, they stay without RBAC.
absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const nlohmann::json*>& /*specs*/,
                                  xds::ResourceSet& resources) const {
  if (proxy.inbounds == nullptr || proxy.inbounds->empty()) {
    return absl::OkStatus();
  }
  std::shared_ptr<const mtp::MeshPermissions> permissions = permissionsOf(*proxy.mesh);
  if (!permissions->mtlsEnabled()) {
    return absl::OkStatus();  // no mTLS: permissions have no effect
  }
  absl::StatusOr<mtp::DataplaneView> view = mtp::dataplaneView(*proxy.dataplane);
  if (!view.ok()) {
    return view.status();
  }
  const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane);
  for (const xds::InboundTarget& inbound : *proxy.inbounds) {
    auto* listener = resources.find<envoy::config::listener::v3::Listener>(inbound.listenerName);
    if (listener == nullptr) {
      continue;
    }
    const std::optional<mtp::InboundRbac> rbac = mtp::computeInboundRbac(
        *permissions, *view, mtp::inboundView(spec->networking().inbound(inbound.index)));
    if (!rbac.has_value()) {
      continue;
    }
    if (rbac->ignoredRules) {
      logging::logger("xds-generator")
          ->warn(
              "{}.{} {}: MeshTrafficPermission {} uses rules[], which is not supported yet; "
              "they allow nothing",
              proxy.dataplane->meta.mesh, proxy.dataplane->meta.name, inbound.listenerName,
              absl::StrJoin(rbac->origins, ", "));
    }
    for (auto& chain : *listener->mutable_filter_chains()) {
      if (chain.transport_socket().name() != kTlsTransportSocket) {
        continue;
      }
      if (absl::Status s = mtp::configureFilterChain(*rbac, inbound.listenerName, chain); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

void XdsConfigurer::attachments(const xds::ProxyContext& proxy,
                                std::vector<xds::PolicyAttachment>& out) const {
  // Kuma's BuildTrafficPermissionMap: the legacy TrafficPermission that best matches each
  // inbound (MeshTrafficPermissions are matched by the inspect module).
  const auto& permissions = proxy.mesh->trafficPermissions();
  if (permissions.empty()) {
    return;
  }
  for (const auto& inbound : trafficroute::inspectedInbounds(*proxy.dataplane)) {
    if (const model::Resource* p =
            trafficroute::selectInboundConnectionPolicy<mesh::v1alpha1::TrafficPermission>(
                permissions, inbound.tags)) {
      out.push_back({xds::PolicyAttachment::Kind::Inbound, inbound.name, inbound.service, p});
    }
  }
}

}  // namespace kuma::policies::meshtrafficpermission
