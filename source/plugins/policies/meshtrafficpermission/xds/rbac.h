#pragma once

// File: rbac.h
// Envoy RBAC for one inbound of a sidecar, from the mesh's MeshTrafficPermissions and legacy
// TrafficPermissions, as Kuma 2.14 generates it (spec §8.4, §3.5, §3.7):
//
// * Some MeshTrafficPermission selects the inbound (top-level targetRef) → its `from` rules:
//   principals of Allow and AllowWithShadowDeny rules in policy "MeshTrafficPermission"
//   (an empty policies map denies everything), shadow rules (DENY) for AllowWithShadowDeny.
//   HTTP filter chains get `envoy.filters.http.rbac` first in the HCM, others
//   `envoy.filters.network.rbac` first in the chain.
// * Otherwise, when some legacy TrafficPermission matches any inbound of the proxy → the network
//   RBAC filter of the inbound's best TrafficPermission (policy named after it; no policy when
//   none matches this inbound), on every chain.
// * Otherwise → deny all (MeshTrafficPermission shape with no policy).
//
// Only mTLS meshes get RBAC: computeInboundRbac() returns nullopt when the Mesh has no enabled
// mTLS backend, and the caller applies the result only to filter chains that carry Kuma's TLS
// transport socket (the mTLS chain in PERMISSIVE mode).
//
// The result depends only on the mesh's permissions and the proxy's name, labels and inbound
// tags, so a permission change alters exactly the proxies whose inbounds it selects (or, for
// the legacy fallback, that match a TrafficPermission); every other proxy renders byte-identical
// listeners.
//
//   MeshPermissions perms = MeshPermissions::build(context.meshName(), context.mesh(),
//                                                  mtps, trafficPermissions);
//   KUMA_ASSIGN_OR_RETURN(DataplaneView dp, dataplaneView(dataplaneResource));
//   if (auto rbac = computeInboundRbac(perms, dp, dp.inbounds[i])) {
//     KUMA_RETURN_IF_ERROR(configureFilterChain(*rbac, "inbound:10.0.0.1:8080", mtlsChain));
//   }

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "envoy/config/listener/v3/listener_components.pb.h"
#include "envoy/config/rbac/v3/rbac.pb.h"
#include "envoy/extensions/filters/http/rbac/v3/rbac.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/rbac/v3/rbac.pb.h"
#include "kuma/model/resource.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/core/target_ref.h"
#include "source/plugins/policies/meshtrafficpermission/xds/from_rules.h"

namespace kuma::policies::mtp {

inline constexpr char kNetworkRbacFilter[] = "envoy.filters.network.rbac";
inline constexpr char kHttpRbacFilter[] = "envoy.filters.http.rbac";
inline constexpr char kHcmFilter[] = "envoy.filters.network.http_connection_manager";
/** Name of the single RBAC policy rendered from MeshTrafficPermission rules. */
inline constexpr char kMtpPolicyName[] = "MeshTrafficPermission";

using Tags = std::map<std::string, std::string>;

/** One inbound of a Dataplane, as permissions see it. */
struct InboundView {
  uint32_t port = 0;
  /** The inbound's `name` (Dataplane targetRef `sectionName`); may be empty. */
  std::string name;
  Tags tags;
};

/** The proxy, as permissions see it. */
struct DataplaneView {
  std::string name;
  Tags labels;
  std::vector<InboundView> inbounds;
};

/** The view of one Dataplane inbound (port, name, tags). */
InboundView inboundView(const mesh::v1alpha1::Dataplane::Networking::Inbound& inbound);

/**
 * The view of a Dataplane resource (meta name and labels, every inbound's port, name and tags).
 * @return InvalidArgument when the spec is not a Dataplane.
 */
absl::StatusOr<DataplaneView> dataplaneView(const model::Resource& dataplane);

/** The permissions of one mesh, parsed and ordered once, shared by all its proxies. Immutable. */
class MeshPermissions {
 public:
  struct Options {
    /** Kuma's default; false = `KUMA_MESH_TRAFFIC_PERMISSION_DISABLE_CLIQUES_ALGORITHM=true`. */
    bool useCliques = true;
  };

  /**
   * @param meshName the mesh (SPIFFE IDs `spiffe://<mesh>/<service>`)
   * @param mesh the Mesh spec (RBAC only when `mtls.enabledBackend` is set)
   * @param meshTrafficPermissions MeshTrafficPermission resources of the mesh, any order;
   *        resources whose spec is not a policy spec are skipped
   * @param trafficPermissions legacy TrafficPermission resources of the mesh, any order;
   *        resources whose spec is not a TrafficPermission are skipped
   */
  static MeshPermissions build(
      std::string meshName, const mesh::v1alpha1::Mesh& mesh,
      const std::vector<model::ResourceConstSharedPtr>& meshTrafficPermissions,
      const std::vector<model::ResourceConstSharedPtr>& trafficPermissions, Options options);
  static MeshPermissions build(
      std::string meshName, const mesh::v1alpha1::Mesh& mesh,
      const std::vector<model::ResourceConstSharedPtr>& meshTrafficPermissions,
      const std::vector<model::ResourceConstSharedPtr>& trafficPermissions) {
    return build(std::move(meshName), mesh, meshTrafficPermissions, trafficPermissions, Options());
  }

  const std::string& meshName() const { return meshName_; }
  bool mtlsEnabled() const { return mtlsEnabled_; }
  const Options& options() const { return options_; }

  /** A MeshTrafficPermission with its parsed top-level targetRef. */
  struct Mtp {
    std::string name;
    TargetRef targetRef;
    nlohmann::json spec;
  };
  /** A TrafficPermission's selectors. */
  struct Tp {
    std::string name;
    absl::Time creationTime;
    std::vector<Tags> sources;
    std::vector<Tags> destinations;
  };

  /** MeshTrafficPermissions in ascending precedence (the last one wins on merge). */
  const std::vector<Mtp>& meshTrafficPermissions() const { return mtps_; }
  /** TrafficPermissions sorted by name. */
  const std::vector<Tp>& trafficPermissions() const { return tps_; }

 private:
  std::string meshName_;
  bool mtlsEnabled_ = false;
  Options options_;
  std::vector<Mtp> mtps_;
  std::vector<Tp> tps_;
};

/** Where the RBAC of an inbound comes from (decides the filter kind). */
enum class RbacSource {
  /** MeshTrafficPermission rules, or the synthetic deny-all: HTTP filter in HCM chains. */
  MeshTrafficPermission,
  /** A legacy TrafficPermission: always the network filter. */
  TrafficPermission,
};

/** What one inbound's mTLS filter chains need. */
struct InboundRbac {
  RbacSource source = RbacSource::MeshTrafficPermission;
  /** ALLOW rules; an empty policies map denies everything. */
  envoy::config::rbac::v3::RBAC rules;
  /** DENY shadow rules (only for AllowWithShadowDeny principals). */
  std::optional<envoy::config::rbac::v3::RBAC> shadowRules;
  /** Names of the MeshTrafficPermissions that selected the inbound, in precedence order. */
  std::vector<std::string> origins;
  /**
   * Some selecting MeshTrafficPermission uses `rules[]` (xDS matcher API), which is not rendered:
   * those entries allow nothing (fail closed). The caller should log it.
   */
  bool ignoredRules = false;
};

/**
 * Kuma's MeshTrafficPermission precedence for one inbound (see the file comment).
 * @return nullopt when the mesh has no mTLS (the plugin has no effect), else the inbound's RBAC.
 */
std::optional<InboundRbac> computeInboundRbac(const MeshPermissions& permissions,
                                              const DataplaneView& dataplane,
                                              const InboundView& inbound);

/**
 * The top-level targetRef selection of one inbound (spec §3.6): Mesh (sidecars), MeshSubset by
 * inbound tags, MeshService / MeshServiceSubset by `kuma.io/service` (and tags), Dataplane by
 * name or labels, then `sectionName` (inbound name or port).
 */
bool selectsInbound(const TargetRef& ref, const DataplaneView& dataplane,
                    const InboundView& inbound);

/**
 * The legacy TrafficPermission of an inbound: among those with a destination selector matching
 * the inbound's tags, the most specific selector wins (more tags, then more exact values), ties
 * go to the later created one, then to the name sorting first. nullptr when none matches.
 */
const MeshPermissions::Tp* bestTrafficPermission(const MeshPermissions& permissions,
                                                 const Tags& inboundTags);

/** `envoy.extensions.filters.network.rbac.v3.RBAC` {statPrefix "<sanitized listener>.", ...}. */
envoy::extensions::filters::network::rbac::v3::RBAC networkRbac(const InboundRbac& rbac,
                                                                std::string_view listenerName);
/** `envoy.extensions.filters.http.rbac.v3.RBAC` {rules, shadowRules}. */
envoy::extensions::filters::http::rbac::v3::RBAC httpRbac(const InboundRbac& rbac);

/** The `envoy.filters.network.rbac` listener filter (typed config packed deterministically). */
envoy::config::listener::v3::Filter networkFilter(const InboundRbac& rbac,
                                                  std::string_view listenerName);
/** The `envoy.filters.http.rbac` HTTP filter. */
envoy::extensions::filters::network::http_connection_manager::v3::HttpFilter httpFilter(
    const InboundRbac& rbac);

/**
 * Inserts the RBAC into an inbound filter chain whose filters are already packed: removes any
 * existing `envoy.filters.network.rbac`; then, for MeshTrafficPermission RBAC on a chain with an
 * HTTP connection manager, prepends `envoy.filters.http.rbac` to the HCM's HTTP filters
 * (re-packing the HCM); otherwise prepends `envoy.filters.network.rbac` to the chain.
 * @return InvalidArgument when the HCM's typed config does not unpack.
 */
absl::Status configureFilterChain(const InboundRbac& rbac, std::string_view listenerName,
                                  envoy::config::listener::v3::FilterChain& chain);

}  // namespace kuma::policies::mtp
